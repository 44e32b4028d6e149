import Testing
@testable import YmeraTUI

@Suite struct KeymapTests {
    @Test func noKeyIsBoundTwiceInOneContext() {
        for ctx in KeyContext.allCases {
            var seen: [Key: Command] = [:]
            for b in Keymap.bindings where b.contexts.contains(ctx) {
                for k in b.keys {
                    #expect(seen[k] == nil, "\(k.label) bound twice in \(ctx)")
                    seen[k] = b.command
                }
            }
        }
    }

    @Test func footerHintsAndHelpComeFromTheSameTable() {
        let help = Keymap.helpSections().flatMap { $0.1 }.map { $0.1 }
        for ctx in KeyContext.allCases {
            for (key, _) in Keymap.hints(for: [ctx]) {
                let b = Keymap.bindings.first { $0.keys.first?.label == key && $0.contexts.contains(ctx) }
                #expect(b != nil)
                if let b { #expect(help.contains(b.help)) }
            }
        }
    }

    @Test func specificContextsWinOverGlobal() {
        #expect(Keymap.command(for: .char("m"), in: [.plan, .global]) == .changeModel)
        #expect(Keymap.command(for: .char("m"), in: [.run, .global]) == .swapModel)
        #expect(Keymap.command(for: .char("q"), in: [.run, .global]) == .quit)
        #expect(Keymap.command(for: .char("j"), in: [.history, .global]) == .down)
    }

    @Test func issueKeysAreBound() {
        let ctx: [KeyContext] = [.run, .global]
        #expect(Keymap.command(for: .char("p"), in: ctx) == .pauseResume)
        #expect(Keymap.command(for: .char("r"), in: ctx) == .retry)
        #expect(Keymap.command(for: .char("x"), in: ctx) == .cancel)
        #expect(Keymap.command(for: .char("b"), in: ctx) == .breaker)
        #expect(Keymap.command(for: .char("n"), in: ctx) == .newTask)
        #expect(Keymap.command(for: .char("H"), in: ctx) == .history)
        #expect(Keymap.command(for: .char("?"), in: ctx) == .help)
        #expect(Keymap.command(for: .char(":"), in: ctx) == .commandLine)
        #expect(Keymap.command(for: .ctrl("l"), in: ctx) == .redraw)
        #expect(Keymap.command(for: .char("/"), in: [.history, .global]) == .filter)
        for k in [Key.up, .down, .left, .right, .char("h"), .char("j"), .char("k"), .char("l"), .enter, .escape] {
            #expect(Keymap.command(for: k, in: [.run, .runs, .global]) != nil, "\(k.label)")
        }
    }

    @Test func decodesTerminalCharacters() {
        #expect(Terminal.decodeChar(13) == .enter)
        #expect(Terminal.decodeChar(27) == .escape)
        #expect(Terminal.decodeChar(127) == .backspace)
        #expect(Terminal.decodeChar(12) == .ctrl("l"))
        #expect(Terminal.decodeChar(0x65E5) == .char("日"))
    }
}
