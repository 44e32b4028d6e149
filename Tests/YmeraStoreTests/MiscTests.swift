import Foundation
import Testing
import YmeraCore

@testable import YmeraStore

@Suite("Journal: files, breakers, learning, data directory")
struct MiscTests {
    static func mode(_ path: String) throws -> Int {
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        return (attrs[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test("the database, its -wal and -shm files are mode 0600; the directory 0700")
    func fileModes() throws {
        let dir = try TempDir()
        let data = dir.url.appendingPathComponent("nested/ymera", isDirectory: true)
        let j = try Journal.open(directory: data)
        try j.append(RunScript.rich(runID: "run-mode").events)
        let db = j.databaseURL.path
        for path in [db, db + "-wal", db + "-shm"] {
            #expect(FileManager.default.fileExists(atPath: path), "\(path) missing")
            #expect(try Self.mode(path) == 0o600, "\(path)")
        }
        #expect(try Self.mode(data.path) == 0o700)
        // A database file created earlier with a wider mode is narrowed on open.
        try j.close()
        chmod(db, 0o644)
        _ = try Journal.open(directory: data)
        #expect(try Self.mode(db) == 0o600)
    }

    @Test("an open breaker survives a restart until its cool-down ends")
    func breakersPersist() throws {
        let dir = try TempDir()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        do {
            let j = try Journal.open(directory: dir.url)
            try j.saveBreaker(model: "groq/llama-3.1-8b-instant", state: .open, reason: "5 failures in 60 s",
                              openedAt: t0, cooldownUntil: t0.addingTimeInterval(300))
            try j.saveBreaker(model: "gemini/flash", state: .open, reason: "quota limit 0",
                              openedAt: t0, cooldownUntil: t0.addingTimeInterval(3600))
            try j.saveBreaker(model: "sim/x", state: .open, reason: "x", openedAt: t0, cooldownUntil: t0.addingTimeInterval(600))
            try j.saveBreaker(model: "sim/x", state: .closed, reason: "probe ok", openedAt: nil, cooldownUntil: nil)
            try j.close()
        }
        let j = try Journal.open(directory: dir.url)
        let soon = try j.loadBreakers(now: t0.addingTimeInterval(60))
        #expect(soon.map(\.model) == ["gemini/flash", "groq/llama-3.1-8b-instant"])
        #expect(soon.last?.reason == "5 failures in 60 s")
        #expect(soon.last?.openedAt == t0)
        #expect(soon.last?.remainingCooldown(now: t0.addingTimeInterval(60)) == 240)
        #expect(try j.loadBreakers(now: t0.addingTimeInterval(301)).map(\.model) == ["gemini/flash"])
        #expect(try j.loadBreakers(now: t0.addingTimeInterval(3601)).isEmpty)
    }

    @Test("finished runs become the recommender's history; similar() filters by type and complexity")
    func executionHistory() async throws {
        let dir = try TempDir()
        let j = try Journal.open(directory: dir.url)
        let base = Date(timeIntervalSince1970: 1_790_000_000)
        for (i, c) in [0.2, 0.55, 0.6, 0.65, 0.9].enumerated() {
            var s = RunScript(runID: "exec-\(i)", seed: UInt64(i))
            s.emit(.runPlanned(RunScript.plan(runID: s.runID, task: "t\(i)", complexity: c, strategy: i == 2 ? .cascade : .multiModel,
                                              createdAt: base.addingTimeInterval(Double(i) * 60))), after: 0)
            s.phase("generation", model: ModelID("sim/gen\(i)"), text: "out", score: 0.5 + Double(i) / 10, nanos: 1000)
            s.emit(i == 3 ? .runFailed(.init(reason: "x")) : .runFinished(.init()))
            try j.append(s.events)
        }
        // An unfinished run is not history yet.
        var open = RunScript(runID: "exec-open")
        open.emit(.runPlanned(RunScript.plan(runID: "exec-open", task: "t", complexity: 0.6)), after: 0)
        try j.append(open.events)

        let similar = try await j.similar(to: .code, complexity: 0.6, tolerance: 0.06, limit: 10)
        #expect(similar.map(\.runID) == ["exec-3", "exec-2", "exec-1"])
        #expect(similar.map(\.succeeded) == [false, true, true])
        #expect(similar[1].strategy == .cascade)
        #expect(similar[1].modelsByStep == ["generation": "sim/gen2"])
        #expect(similar[1].score == 0.7)
        #expect(similar[1].cost.money.nanodollars == 1000)
        #expect(try await j.similar(to: .code, complexity: 0.6, tolerance: 0.06, limit: 1).map(\.runID) == ["exec-3"])
        #expect(try await j.similar(to: .text, complexity: 0.6, tolerance: 1, limit: 10).isEmpty)
        // record() adds or replaces.
        var r = similar[0]
        r.runID = "external"
        r.finishedAt = base.addingTimeInterval(86_400)
        try await j.record(r)
        #expect(try await j.similar(to: .code, complexity: 0.6, tolerance: 0.06, limit: 1).map(\.runID) == ["external"])
    }

    @Test("data directory: --data-dir, then YMERA_HOME, then XDG_DATA_HOME/ymera, then ~/.local/share/ymera")
    func dataDirectory() {
        #expect(Journal.defaultDataDirectory(environment: ["HOME": "/home/u"]).path == "/home/u/.local/share/ymera")
        #expect(Journal.defaultDataDirectory(environment: ["HOME": "/home/u", "XDG_DATA_HOME": "/xdg"]).path == "/xdg/ymera")
        #expect(Journal.defaultDataDirectory(environment: ["HOME": "/home/u", "XDG_DATA_HOME": "relative"]).path
                == "/home/u/.local/share/ymera")
        #expect(Journal.defaultDataDirectory(environment: ["XDG_DATA_HOME": "/xdg", "YMERA_HOME": "/y"]).path == "/y")
        #expect(DataDirectory.resolve(explicit: "/explicit", environment: ["YMERA_HOME": "/y"]).path == "/explicit")
        #expect(DataDirectory.resolve(explicit: nil, environment: ["YMERA_HOME": "/y"]).path == "/y")
    }
}

@Suite("Terminal sanitizer")
struct SanitizerTests {
    @Test("escape sequences and controls are removed; text, newlines and tabs stay")
    func strips() {
        #expect(TerminalSanitizer.sanitize("a\u{1B}[31;1mred\u{1B}[0m b") == "ared b")
        #expect(TerminalSanitizer.sanitize("x\u{1B}]0;evil title\u{07}y") == "xy")
        #expect(TerminalSanitizer.sanitize("x\u{1B}]8;;http://e\u{1B}\\link\u{1B}]8;;\u{1B}\\y") == "xlinky")
        #expect(TerminalSanitizer.sanitize("x\u{1B}P1$qm\u{1B}\\y") == "xy")
        #expect(TerminalSanitizer.sanitize("x\u{9B}2Jy\u{85}z") == "xyz")
        #expect(TerminalSanitizer.sanitize("bell\u{07} back\u{08}space\u{7F}") == "bell backspace")
        #expect(TerminalSanitizer.sanitize("line1\r\nline2\tend") == "line1\nline2\tend")
        #expect(TerminalSanitizer.sanitize("abc\u{202E}fed\u{2066}") == "abcfed")
        #expect(TerminalSanitizer.sanitize("日本語 ✓ café") == "日本語 ✓ café")
        #expect(TerminalSanitizer.sanitize("\u{1B}(Bplain\u{1B}") == "plain")
        #expect(TerminalSanitizer.sanitize("a\nb", keepNewlines: false) == "a b")
    }

    @Test("a table cell is one line, squeezed and cut with an ellipsis")
    func cell() {
        #expect(TerminalSanitizer.cell("  two\n\nlines  here ", limit: 40) == "two lines here")
        #expect(TerminalSanitizer.cell("abcdefghij", limit: 5) == "abcd…")
        #expect(TerminalSanitizer.cell("abcde", limit: 5) == "abcde")
    }
}

@Suite("Journal: breakers through the engine's registry")
struct BreakerRegistryTests {
    @Test("an opened breaker is saved by the listener and re-opened in a new registry until its cool-down ends")
    func roundTrip() throws {
        let dir = try TempDir()
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        do {
            let j = try Journal.open(directory: dir.url, now: clock.function)
            let registry = ResilienceRegistry(listener: j.breakerListener(now: clock.function))
            let t = registry.forceOpen("groq/llama-3.1-8b-instant", nowMs: 0, forMs: 60_000, reason: "quota_exhausted")
            #expect(t?.to == .open)
            _ = registry.forceOpen("sim/b", nowMs: 0, forMs: 60_000, reason: "auth")
            _ = registry.reset("sim/b", nowMs: 1)
            try j.close()
        }
        clock.advance(20)
        let j = try Journal.open(directory: dir.url, now: clock.function)
        let fresh = ResilienceRegistry()
        let restored = try j.restoreBreakers(into: fresh, nowMs: 5_000, now: clock.now)
        #expect(restored.map(\.model) == ["groq/llama-3.1-8b-instant"])
        // About 40 s of cool-down left: no call is admitted now, one is after it.
        let wait = try #require(fresh.peek("groq/llama-3.1-8b-instant", nowMs: 5_000))
        #expect(wait > 39_000 && wait <= 40_000)
        #expect(fresh.peek("sim/b", nowMs: 5_000) == nil)
        clock.advance(41)
        #expect(try j.restoreBreakers(into: ResilienceRegistry(), nowMs: 0, now: clock.now).isEmpty)
    }
}
