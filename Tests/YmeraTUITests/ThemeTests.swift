import Foundation
import Testing
@testable import YmeraTUI

@Suite struct ThemeTests {
    static var themesDir: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("themes").path
    }

    @Test func shippedFilesMatchTheEmbeddedCopies() throws {
        for (name, text) in BuiltinThemes.all {
            let file = try String(contentsOfFile: Self.themesDir + "/\(name).toml", encoding: .utf8)
            #expect(file == text + "\n", "themes/\(name).toml differs from BuiltinThemes (regenerate it)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.themesDir).filter { $0.hasSuffix(".toml") }
        #expect(Set(files) == Set(BuiltinThemes.all.map { $0.0 + ".toml" }))
    }

    @Test(arguments: ["default", "light", "high-contrast", "solarized"])
    func everyShippedThemeLoads(name: String) throws {
        let t = try Theme.load(named: name, monochrome: false)
        #expect(t.name == name)
        #expect(t[.running] != t[.failed])
    }

    @Test func aThemeOverridesOnlyWhatItChanges() throws {
        let d = try Theme.load(named: "default", monochrome: false)
        let l = try Theme.load(named: "light", monochrome: false)
        // light sets the palette's accent: roles that use it change...
        #expect(l[.title].fg == .rgb(0x00, 0x5F, 0xD7))
        #expect(d[.title].fg == .rgb(0x5F, 0xAF, 0xFF))
        // ...and keep the default's attributes, which light does not mention.
        #expect(l[.title].attrs == d[.title].attrs)
        #expect(l[.failed].attrs == d[.failed].attrs)
        // A role light does not touch and whose colours are not from the palette is the default's.
        #expect(l[.paused] == d[.paused])
    }

    @Test func monochromeUsesAttributesOnly() throws {
        let m = try Theme.load(named: "default", monochrome: true)
        for role in Role.allCases {
            #expect(m[role].fg == .default && m[role].bg == .default)
        }
        #expect(m[.failed].attrs.contains(.reverse))
        #expect(m[.running].attrs.contains(.bold))
        #expect(m[.selected].attrs.contains(.reverse))
        #expect(m[.retrying].attrs.contains(.underline))
    }

    @Test func userThemeFileInASearchPathOverridesAndErrorsAreClear() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-theme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "name = \"mine\"\n[role.done]\nfg = \"#010203\"\n".write(to: dir.appendingPathComponent("mine.toml"), atomically: true, encoding: .utf8)
        let t = try Theme.load(named: "mine", searchPaths: [dir.path], monochrome: false)
        #expect(t[.done].fg == .rgb(1, 2, 3))
        #expect(t[.failed] == Theme.standard()[.failed])

        try "[role.dnoe]\nfg = \"red\"\n".write(to: dir.appendingPathComponent("typo.toml"), atomically: true, encoding: .utf8)
        #expect(throws: ThemeError.self) { try Theme.load(named: "typo", searchPaths: [dir.path], monochrome: false) }
        try "[role.done]\nfg = \"chartreuse-ish\"\n".write(to: dir.appendingPathComponent("bad.toml"), atomically: true, encoding: .utf8)
        do {
            _ = try Theme.load(named: "bad", searchPaths: [dir.path], monochrome: false)
            Issue.record("an unknown colour must fail")
        } catch {
            #expect("\(error)".contains("chartreuse-ish"))
        }
        #expect(throws: ThemeError.self) { try Theme.load(named: "no-such-theme", monochrome: false) }
    }

    @Test func coloursDegradeToWhatTheTerminalHas() {
        #expect(ColorMath.nearest256(0x5F, 0xAF, 0xFF) == 75)
        #expect(ColorMath.nearest256(0x80, 0x80, 0x80) == 244)
        #expect(ColorMath.nearest256(0, 0, 0) == 16)
        #expect(ColorMath.nearestBasic(250, 10, 10, count: 8) == 1)
        #expect(ColorMath.nearestBasic(10, 10, 250, count: 16) == 4)
        #expect(ColorMath.nearestBasic(90, 90, 250, count: 16) == 12)
    }
}
