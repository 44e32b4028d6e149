import Foundation
import Synchronization
import Testing
import YmeraCore

@testable import YmeraStore

@Suite("Journal: export")
struct ExportTests {
    @Test("JSON export holds the plan, every event and the summary")
    func json() throws {
        let dir = try TempDir()
        let j = try Journal.open(directory: dir.url)
        let script = RunScript.rich(runID: "run-export")
        try j.append(script.events)
        let text = try j.export("run-export", format: .json)
        let live = RunState.replay(script.events)
        // The command line's JSON conventions: snake_case keys, the flat event form.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["format", "version", "run", "plan", "events", "summary"])
        let plan = try #require(object["plan"] as? [String: Any])
        #expect(plan["run_id"] as? String == "run-export")
        #expect(plan["task"] as? String == live.task)
        #expect((plan["steps"] as? [Any])?.count == live.plan?.steps.count)
        let events = try #require(object["events"] as? [[String: Any]])
        let recorded = try j.events("run-export")
        #expect(events.map { $0["type"] as? String } == recorded.map(\.typeName))
        #expect(events.map { $0["seq"] as? Int } == recorded.map(\.seq))
        #expect(events.first?["t_ms"] as? Int == 0)
        let text2 = events.compactMap { $0["type"] as? String == "text_delta" && $0["step"] as? String == "generation" ? $0["text"] as? String : nil }
        let streamed = script.events.compactMap { e -> String? in
            if case .textDelta(let p) = e.kind, p.step == "generation" { return p.text }
            return nil
        }
        #expect(text2.joined() == streamed.joined())
        let summary = try #require(object["summary"] as? [String: Any])
        #expect(summary["status"] as? String == "succeeded")
        #expect(summary["cost_usd"] as? Double == live.summary.costUSD)
        #expect(summary["tokens"] as? Int == live.summary.tokens)
        #expect((summary["phases"] as? [Any])?.count == live.summary.phases.count)
        #expect((object["run"] as? [String: Any])?["id"] as? String == "run-export")
    }

    @Test("Markdown export is a readable report: phases, models, scores, costs, outputs; no escapes")
    func markdown() throws {
        let dir = try TempDir()
        let j = try Journal.open(directory: dir.url)
        var s = RunScript(runID: "run-md")
        s.emit(.runPlanned(RunScript.plan(runID: "run-md", task: "Explain \u{1B}[31mred\u{1B}[0m text")), after: 0)
        s.phase("planning", model: "sim/planner", text: "Step one.\n```swift\nlet x = 1\n```\nDone \u{1B}]0;pwned\u{07}here", score: 0.82, nanos: 2_500_000)
        s.emit(.stepStarted(.init(step: "generation", model: "groq/llama-3.1-8b-instant", attempt: 1, purpose: .initial)))
        s.emit(.attemptFailed(.init(step: "generation", model: "groq/llama-3.1-8b-instant", attempt: 1, errorClass: .rateLimit,
                                    message: "429 Too Many Requests", httpStatus: 429)))
        s.emit(.stepFailed(.init(step: "generation", errorClass: .rateLimit, reason: "no model left")))
        s.emit(.runFailed(.init(reason: "generation failed")))
        try j.append(s.events)
        let md = try j.export("run-md", format: .markdown)
        #expect(md.hasPrefix("# Run run-md"))
        #expect(md.contains("Explain red text"))
        #expect(!md.contains("\u{1B}"))
        #expect(!md.contains("pwned\u{07}"))
        #expect(md.contains("| planning | planning | sim/planner | 1 | done | 0.82 |"))
        #expect(md.contains("$0.0025"))
        #expect(md.contains("| generation | generation | groq/llama-3.1-8b-instant | 1 | failed |"))
        #expect(md.contains("rate_limit (HTTP 429) — 429 Too Many Requests"))
        // The output holds a ``` fence, so the report's fence is longer.
        #expect(md.contains("````\nStep one.\n```swift\nlet x = 1\n```\nDone here\n````"))
        #expect(md.contains("| Status | failed — generation failed |"))
    }
}

@Suite("Journal: prune")
struct PruneTests {
    static func fill(_ j: Journal, count: Int, clock: ManualClock) throws {
        for i in 0..<count {
            var s = RunScript(runID: String(format: "run-%03d", i), seed: UInt64(i))
            let created = clock.now.addingTimeInterval(Double(i - count) * 86_400)
            s.emit(.runPlanned(RunScript.plan(runID: s.runID, task: "task number \(i) token\(i)", createdAt: created)), after: 0)
            s.phase("planning", model: "sim/a", text: "output of run \(i) uniq\(i) words here")
            s.emit(.runFinished(.init()))
            try j.append(s.events)
        }
    }

    @Test("--keep N keeps the N newest and removes the rest's events, outputs and search entries")
    func keepNewest() throws {
        let dir = try TempDir()
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let j = try Journal.open(directory: dir.url, now: clock.function)
        try Self.fill(j, count: 10, clock: clock)
        #expect(try j.runs(RunFilter(search: "uniq2")).count == 1)
        let result = try j.prune(keep: 3, vacuum: true)
        #expect(result.runs == 7)
        #expect(result.events > 7 * 4)
        #expect(try j.runs(RunFilter(limit: nil)).map(\.id) == ["run-009", "run-008", "run-007"])
        #expect(try j.runs(RunFilter(search: "uniq2")).isEmpty)
        #expect(try j.runs(RunFilter(search: "token2")).isEmpty)
        #expect(try j.runs(RunFilter(search: "uniq8")).map(\.id) == ["run-008"])
        #expect(try j.events("run-002").isEmpty)
        #expect(try j.steps("run-002").isEmpty)
        #expect(try j.integrityCheck() == "ok")
        let orphans = try j.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT count(*) FROM steps WHERE run_id NOT IN (SELECT id FROM runs)) + (SELECT count(*) FROM attempts WHERE run_id NOT IN (SELECT id FROM runs)) + (SELECT count(*) FROM events WHERE run_id NOT IN (SELECT id FROM runs))")
        }
        #expect(orphans == 0)
    }

    @Test("--older-than DAYS removes runs started before the cutoff")
    func olderThan() throws {
        let dir = try TempDir()
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let j = try Journal.open(directory: dir.url, now: clock.function)
        try Self.fill(j, count: 10, clock: clock)
        // Runs were started 10, 9, … 1 days ago.
        let result = try j.prune(olderThanDays: 4.5)
        #expect(result.runs == 6)
        #expect(try j.runs(RunFilter(limit: nil)).map(\.id) == ["run-009", "run-008", "run-007", "run-006"])
        #expect(try j.integrityCheck() == "ok")
        #expect(throws: JournalError.self) { try j.prune(keep: -1) }
    }
}

/// Records the delays a replay asks for instead of sleeping.
final class SleepRecorder: Sendable {
    let delays = Mutex<[Duration]>([])
    var sleep: ReplaySequence.Sleep { { [self] d in self.delays.withLock { $0.append(d) } } }
}

@Suite("Journal: replay")
struct ReplayTests {
    @Test("replay re-emits the recorded events in order with their spacing divided by the speed")
    func orderAndSpeed() async throws {
        let dir = try TempDir()
        let j = try Journal.open(directory: dir.url)
        let script = RunScript.rich(runID: "run-replay")
        try j.append(script.events)
        let recorded = try j.events("run-replay")

        let sleeper = SleepRecorder()
        var out: [RunEvent] = []
        for try await e in try j.replay("run-replay", speed: 4, sleep: sleeper.sleep) { out.append(e) }
        #expect(out == recorded)
        #expect(RunState.replay(out).comparable == RunState.replay(script.events).comparable)
        let asked = sleeper.delays.withLock { $0 }
        let expected = zip(recorded, recorded.dropFirst()).map { max(0, $1.elapsedMs - $0.elapsedMs) }.filter { $0 > 0 }
            .map { Duration.microseconds(Int64($0) * 1000 / 4) }
        #expect(asked == expected)
        let total = asked.reduce(Duration.zero, +)
        #expect(total == .milliseconds(recorded.last!.elapsedMs) / 4)

        // Speed 2 waits twice as long as speed 4; a gap cap bounds each wait.
        let slow = SleepRecorder()
        for try await _ in try j.replay("run-replay", speed: 2, sleep: slow.sleep) {}
        #expect(slow.delays.withLock { $0 }.reduce(Duration.zero, +) == total * 2)
        let capped = SleepRecorder()
        for try await _ in try j.replay("run-replay", speed: 0.001, maxGap: .milliseconds(5), sleep: capped.sleep) {}
        #expect(capped.delays.withLock { $0 }.allSatisfy { $0 <= .milliseconds(5) })
        #expect(throws: JournalError.self) { try j.replay("run-replay", speed: 0) }
        #expect(throws: JournalError.runNotFound("nope")) { try j.replay("nope") }
    }
}
