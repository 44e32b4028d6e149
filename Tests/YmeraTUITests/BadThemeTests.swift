import Foundation
import Testing
@testable import YmeraTUI

/// Bad input table (issue 20): a theme with every colour wrong.
@Suite("Bad input: a theme with every colour wrong")
struct BadThemeTests {
    @Test("every wrong colour is named with its file and key, control characters never reach the message")
    func everyColourWrong() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-badtheme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Every role: fg, bg and attrs wrong; one value carries an escape sequence; the name is borrowed.
        var text = "name = \"light\"\n"
        for role in Role.allCases {
            text += "[role.\(role.rawValue)]\nfg = \"not-a-colour-\(role.rawValue)\"\nbg = \"#12345\"\nattrs = [\"blink\"]\n"
        }
        text = text.replacingOccurrences(of: "not-a-colour-\(Role.allCases[0].rawValue)", with: "evil\\u001b[31m")
        let file = dir.appendingPathComponent("wrong.toml")
        try text.write(to: file, atomically: true, encoding: .utf8)

        var message = ""
        do {
            _ = try Theme.load(named: "wrong", searchPaths: [dir.path], monochrome: false)
            Issue.record("a theme with every colour wrong loaded")
        } catch {
            message = "\(error)"
        }
        let count = Role.allCases.count * 3
        #expect(message.contains("\(count) wrong values"), "\(message.prefix(300))")
        // Each line names the file (not the borrowed name) and the key.
        let lines = message.split(separator: "\n").dropFirst()
        #expect(lines.prefix(40).allSatisfy { $0.contains(file.path) }, "\(lines.first ?? "")")
        #expect(message.contains("role.\(Role.allCases[1].rawValue).fg: unknown colour 'not-a-colour-\(Role.allCases[1].rawValue)'"))
        #expect(message.contains("unknown attribute 'blink'"))
        #expect(message.contains("… and \(count - 40) more") || count <= 40)
        #expect(!message.unicodeScalars.contains { $0.value == 0x1B || ($0.value < 0x20 && $0 != "\n") })
        // The escape sequence is dropped whole (ESC and its parameters), the rest of the value kept.
        #expect(message.contains("unknown colour 'evil'"))

        // In monochrome only `mono` matters: the same file loads.
        _ = try Theme.load(named: "wrong", searchPaths: [dir.path], monochrome: true)
    }

    @Test("one wrong colour: one line naming the file and key")
    func oneColourWrong() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-badtheme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("one.toml")
        try "[role.done]\nfg = \"chartreuse-ish\"\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: ThemeError.self) { try Theme.load(named: "one", searchPaths: [dir.path], monochrome: false) }
        do { _ = try Theme.load(named: "one", searchPaths: [dir.path], monochrome: false) } catch {
            #expect("\(error)".hasPrefix(file.path + ": role.done.fg: unknown colour 'chartreuse-ish'"), "\(error)")
            #expect(!"\(error)".contains("\n"))
        }
    }
}
