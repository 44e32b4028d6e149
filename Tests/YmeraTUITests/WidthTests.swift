import Glibc
import Testing
@testable import YmeraTUI

@_silgen_name("wcwidth") private func c_wcwidth(_ c: Int32) -> Int32

@Suite struct WidthTests {
    @Test func knownCases() {
        #expect(DisplayWidth.of("abc") == 3)
        #expect(DisplayWidth.of("日本語") == 6)
        #expect(DisplayWidth.of("한국어") == 6)
        #expect(DisplayWidth.of("e\u{301}") == 1)  // e + combining acute
        #expect(DisplayWidth.of("👍") == 2)
        #expect(DisplayWidth.of("👍🏽") == 2)  // skin tone modifier
        #expect(DisplayWidth.of("👩‍💻") == 2)  // ZWJ sequence
        #expect(DisplayWidth.of("🇫🇷") == 2)  // flag
        #expect(DisplayWidth.of("❤️") == 2)  // VS16 emoji presentation
        #expect(DisplayWidth.of("1️⃣") == 2)  // keycap
        #expect(DisplayWidth.of("ｆｕｌｌ") == 8)  // fullwidth forms
        #expect(DisplayWidth.of("→✓…") == 3)
        #expect(DisplayWidth.of("a\u{200B}b") == 2)  // zero-width space
    }

    @Test func agreesWithGlibcWcwidthOnSingleScalars() {
        let loc = setlocale(LC_ALL, "C.UTF-8")
        #expect(loc != nil)
        // Ranges where Unicode width is settled: Latin, Greek, Cyrillic, combining marks, CJK,
        // Hangul, kana, fullwidth forms, box drawing, common emoji.
        let ranges: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0xA1...0x2FF, 0x300...0x36F, 0x370...0x3FF, 0x400...0x4FF, 0x2500...0x257F,
            0x3041...0x3096, 0x30A1...0x30FA, 0x4E00...0x4E80, 0xAC00...0xAC80, 0xFF01...0xFF60,
            0x1F600...0x1F64F, 0x1F680...0x1F6C5,
        ]
        var mismatches: [String] = []
        for r in ranges {
            for v in r {
                guard let s = Unicode.Scalar(v) else { continue }
                let theirs = Int(c_wcwidth(Int32(v)))
                guard theirs >= 0 else { continue }
                if DisplayWidth.of(s) != theirs { mismatches.append(String(v, radix: 16) + ":\(DisplayWidth.of(s))≠\(theirs)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(20))")
    }

    @Test func truncateAndPadUseDisplayWidth() {
        #expect(DisplayWidth.truncate("日本語テキスト", to: 7) == "日本語…")
        #expect(DisplayWidth.of(DisplayWidth.pad("日本", to: 7)) == 7)
        #expect(DisplayWidth.truncate("short", to: 10) == "short")
    }

    @Test func canvasPlacesWideCharactersInTwoCells() {
        var c = Canvas(width: 6, height: 1)
        c.text("a日b", x: 0, y: 0, .plain)
        #expect(c[1, 0].char == "日" && c[1, 0].width == 2)
        #expect(c[2, 0].width == 0)
        #expect(c[3, 0].char == "b")
        // A wide character that does not fit at the edge is not drawn half.
        var d = Canvas(width: 3, height: 1)
        d.text("ab日", x: 0, y: 0, .plain)
        #expect(d.plainText() == "ab")
        // Overwriting half of a wide character blanks the other half.
        c.text("x", x: 2, y: 0, .plain)
        #expect(c.plainText() == "a xb")
    }
}
