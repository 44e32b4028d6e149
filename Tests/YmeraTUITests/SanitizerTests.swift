import Testing
@testable import YmeraTUI
import YmeraCore

@Suite struct SanitizerTests {
    @Test func stripsEscapeSequencesFromModelOutput() {
        let evil = "ok\u{1B}[31mred\u{1B}[0m \u{1B}]0;title\u{07}x \u{1B}]8;;http://e.vil\u{1B}\\link\u{1B}]8;;\u{1B}\\ \u{1B}P1$r\u{1B}\\y \u{1B}(Bz \u{1B}c"
        #expect(Sanitizer.clean(evil) == "okred x link y z ")
    }

    @Test func stripsC0C1AndBidi() {
        #expect(Sanitizer.clean("a\u{07}b\u{08}c\u{7F}d") == "abcd")
        #expect(Sanitizer.clean("x\u{9B}2Jy") == "xy")  // 8-bit CSI with its parameters
        #expect(Sanitizer.clean("p\u{9D}0;t\u{9C}q") == "pq")  // 8-bit OSC ... ST
        #expect(Sanitizer.clean("abc\u{202E}fed\u{2066}x\u{2069}") == "abcfedx")
        #expect(Sanitizer.clean("l1\r\nl2\rl3\tz") == "l1\nl2\nl3    z")
        #expect(Sanitizer.line("a\nb") == "a b")
    }

    @Test func keepsOrdinaryUnicode() {
        let s = "héllo 日本 👩‍💻 → ✓"
        #expect(Sanitizer.clean(s) == s)
    }

    @Test func unterminatedSequencesSwallowNothingVisibleAfterThem() {
        #expect(Sanitizer.clean("a\u{1B}[") == "a")
        #expect(Sanitizer.clean("a\u{1B}]never ends") == "a")
        #expect(Sanitizer.clean("a\u{1B}") == "a")
    }

    @Test func outputPaneNeverDrawsEscapes() async {
        let events = await Fixtures.events()
        let app = Fixtures.withRun(events, width: 120, height: 40, select: "research")
        let canvas = Dashboard.render(app, theme: .standard())
        for y in 0..<canvas.height {
            for x in 0..<canvas.width {
                let ch = canvas[x, y].char
                for s in ch.unicodeScalars { #expect(s.value >= 0x20 && !(0x7F..<0xA0).contains(s.value)) }
            }
        }
        #expect(!canvas.plainText().contains("pwned"))
    }
}
