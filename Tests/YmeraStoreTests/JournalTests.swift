import Foundation
import GRDB
import Testing
import YmeraCore

@testable import YmeraStore

@Suite("Journal: append, rebuild, browsing tables")
struct JournalTests {
    @Test("a run rebuilt from its journal equals the live-folded run")
    func rebuildEqualsLiveFold() throws {
        let dir = try TempDir()
        let script = RunScript.rich(runID: "run-rebuild")
        let live = RunState.replay(script.events)
        #expect(live.status == .succeeded)
        #expect(live.anomalies == 0)

        // Appended in uneven batches, as a recorder would.
        do {
            let journal = try Journal.open(directory: dir.url)
            var rng = SeededRNG(seed: 3)
            var rest = script.events[...]
            while !rest.isEmpty {
                let n = Int.random(in: 1...9, using: &rng)
                try journal.append(Array(rest.prefix(n)))
                rest = rest.dropFirst(n)
            }
            try journal.close()
        }
        let reopened = try Journal.open(directory: dir.url)
        let rebuilt = try #require(try reopened.state("run-rebuild"))
        #expect(rebuilt.comparable == live.comparable)
        #expect(rebuilt.anomalies == 0)
        #expect(rebuilt.steps["generation"]?.output == "func parseISODate(_ text: String) -> Date? {\n    // zanzibar checksum\n    return nil\n}\n")

        // Non-text events come back identical and in order; text comes back as the same text per step.
        let events = try reopened.events("run-rebuild")
        let nonText = { (e: [RunEvent]) in e.filter { if case .textDelta = $0.kind { false } else { true } } }
        #expect(nonText(events) == nonText(script.events))
        func text(_ e: [RunEvent], _ step: String) -> String {
            e.compactMap { if case .textDelta(let p) = $0.kind, p.step == step { p.text } else { nil } }.joined()
        }
        for step in ["planning", "generation", "review#1", "review#2", "validation"] {
            #expect(text(events, step) == text(script.events, step))
        }
        // Deltas were coalesced: far fewer rows than deltas.
        let deltas = script.events.filter { $0.typeName == "text_delta" }.count
        let rows = events.filter { $0.typeName == "text_delta" }.count
        #expect(rows * 3 < deltas)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.seq < $1.seq })
    }

    @Test("browsing tables follow the run: runs, steps, attempts")
    func browsingTables() throws {
        let dir = try TempDir()
        let journal = try Journal.open(directory: dir.url)
        let script = RunScript.rich(runID: "run-tables")
        try journal.append(script.events)
        let live = RunState.replay(script.events)

        let run = try #require(try journal.run("run-tables"))
        #expect(run.status == .succeeded)
        #expect(run.task == "Write a Swift function that parses ISO dates")
        #expect(run.taskType == .code)
        #expect(run.strategy == .multiModel)
        #expect(run.serving == .simulated)
        #expect(run.cost == live.cost)
        #expect(run.cost.unpricedTokens == 104)
        #expect(run.tokens == live.usage.totalTokens)
        #expect(run.score == live.summary.score)
        #expect(run.durationMs == live.elapsedMs)
        #expect(run.startedAt == Date(timeIntervalSince1970: 1_790_000_000))

        let steps = try journal.steps("run-tables")
        #expect(steps.map(\.stepID) == ["planning", "generation", "review", "review#1", "review#2", "validation"])
        let gen = try #require(steps.first { $0.stepID == "generation" })
        #expect(gen.model == "sim/fallback")
        #expect(gen.attempts == 2)
        #expect(gen.status == .done)
        #expect(gen.score == 0.74)
        #expect(gen.outputChars == live.steps["generation"]!.output.count)

        let attempts = try journal.attempts("run-tables").filter { $0.stepID == "generation" }
        #expect(attempts.count == 2)
        #expect(attempts[0].status == .failed)
        #expect(attempts[0].errorClass == .connectionReset)
        #expect(attempts[0].model == "groq/llama-3.1-8b-instant")
        #expect(attempts[1].status == .done)
        #expect(attempts[1].purpose == .fallback)
        #expect(attempts[1].tokens == 380)
        #expect(attempts[1].cost.money.nanodollars == 120_000)
    }

    @Test("each output is stored once, with no per-step snapshot")
    func outputStoredOnce() throws {
        let dir = try TempDir()
        let journal = try Journal.open(directory: dir.url)
        var s = RunScript(runID: "run-once")
        s.emit(.runPlanned(RunScript.plan(runID: "run-once", task: "count words")), after: 0)
        let marker = "quokkamarker"
        let text = (0..<40).map { "\(marker)\($0) word" }.joined(separator: " ")
        s.phase("planning", model: "sim/a", text: text)
        s.emit(.runFinished(.init()))
        try journal.append(s.events)
        let occurrences = try journal.pool.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT (SELECT count(*) FROM events WHERE text LIKE '%quokkamarker17 %')
                         + (SELECT count(*) FROM events WHERE payload LIKE '%quokkamarker17 %')
                         + (SELECT count(*) FROM runs WHERE task LIKE '%quokkamarker17 %')
                         + (SELECT count(*) FROM steps WHERE title LIKE '%quokkamarker17 %')
                    """)
        }
        #expect(occurrences == 1)
        // The search index is external-content: it holds tokens, not a second copy of the text.
        let shadow = try journal.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE name LIKE 'events_fts%'")
        }
        #expect(!shadow.contains("events_fts_content"))
    }

    @Test("a repeated append does not duplicate events")
    func idempotentAppend() throws {
        let dir = try TempDir()
        let journal = try Journal.open(directory: dir.url)
        let script = RunScript.rich(runID: "run-dup")
        try journal.append(script.events)
        try journal.append(script.events[0..<10])
        let again = try Journal.open(directory: dir.url)
        #expect(try again.state("run-dup")?.comparable == RunState.replay(script.events).comparable)
    }

    @Test("the recorder makes a finished step durable before record returns")
    func recorderCheckpoints() async throws {
        let dir = try TempDir()
        let journal = try Journal.open(directory: dir.url)
        let recorder = JournalRecorder(journal: journal, maxBatch: 10_000, maxDelay: .seconds(3600))
        let script = RunScript.rich(runID: "run-rec", finish: false)
        let doneIndex = try #require(script.events.firstIndex {
            if case .stepDone(let p) = $0.kind { p.step == "planning" } else { false }
        })
        for e in script.events[...doneIndex] { try await recorder.record(e) }
        // Another connection (as after a crash) sees the planning phase finished with its output.
        let other = try Journal.open(directory: dir.url)
        let seen = try #require(try other.state("run-rec"))
        #expect(seen.steps["planning"]?.status == .done)
        #expect(seen.steps["planning"]?.output == RunState.replay(script.events[...doneIndex]).steps["planning"]?.output)
        for e in script.events[(doneIndex + 1)...] { try await recorder.record(e) }
        try await recorder.finish()
        #expect(try other.state("run-rec")?.comparable == RunState.replay(script.events).comparable)
    }

    @Test("the recorder keeps up with a fast stream and loses nothing")
    func recorderStream() async throws {
        let dir = try TempDir()
        let journal = try Journal.open(directory: dir.url)
        let recorder = JournalRecorder(journal: journal, maxBatch: 64)
        var s = RunScript(runID: "run-fast")
        s.emit(.runPlanned(RunScript.plan(runID: "run-fast", task: "a long essay")), after: 0)
        s.emit(.stepStarted(.init(step: "generation", model: "sim/a", attempt: 1, purpose: .initial)))
        let words = (0..<5000).map { "w\($0)" }.joined(separator: " ")
        s.stream("generation", words, maxPiece: 4)
        s.emit(.stepDone(.init(step: "generation", model: "sim/a", outputChars: words.count)))
        s.emit(.runFinished(.init()))
        for e in s.events { try await recorder.record(e) }
        try await recorder.finish()
        let state = try #require(try Journal.open(directory: dir.url).state("run-fast"))
        #expect(state.steps["generation"]?.output == words)
        #expect(try journal.runs(RunFilter(search: "w4321")).map(\.id) == ["run-fast"])
        // Words far apart in the output (stored in different rows) and a word of the task together.
        #expect(try journal.runs(RunFilter(search: "w12 w4990 essay")).map(\.id) == ["run-fast"])
        #expect(try journal.runs(RunFilter(search: "w12 w4990 nowhere")).isEmpty)
        #expect(try journal.runs(RunFilter(search: "w49*  essay")).map(\.id) == ["run-fast"])
        #expect(try journal.runs(RunFilter(search: "-- ;")).isEmpty)
    }
}

@Suite("Journal: interrupted runs and resume")
struct InterruptedTests {
    static let deadOwner = ProcessIdentity(pid: 2_147_000_000, startTicks: 1)

    @Test("a run cut off shows as interrupted; resume data holds finished steps with output and cost")
    func interruptedAndResume() throws {
        let dir = try TempDir()
        let script = RunScript.rich(runID: "run-cut", finish: false)
        var s = script
        do {
            let writer = try Journal.open(directory: dir.url, owner: Self.deadOwner)
            try writer.append(script.events)
            // An attempt of validation was under way when the process died.
            s.emit(.stepStarted(.init(step: "validation", model: "sim/validation-model", attempt: 1, purpose: .initial)))
            s.stream("validation", "checking the ")
            try writer.append(s.events.suffix(from: script.events.count))
            try writer.sync()
        }
        let journal = try Journal.open(directory: dir.url)
        #expect(try journal.run("run-cut")?.status == .interrupted)
        #expect(try journal.runs(RunFilter(status: .interrupted)).map(\.id) == ["run-cut"])
        let state = try #require(try journal.state("run-cut"))
        #expect(state.status == .interrupted)
        #expect(state.steps["validation"]?.status == .pending)
        #expect(try journal.steps("run-cut").first { $0.stepID == "validation" }?.status == .pending)

        let resume = try journal.resumeData("run-cut")
        #expect(resume.plan.runID == "run-cut")
        #expect(resume.finishedSteps.map(\.stepID) == ["planning", "generation", "review", "review#1", "review#2"])
        let gen = try #require(resume.finished("generation"))
        #expect(gen.output.hasPrefix("func parseISODate"))
        #expect(gen.cost.money.nanodollars == 120_000)
        #expect(gen.model == "sim/fallback")
        #expect(resume.lastSeq == s.events.last!.seq)
        // The engine's resume point continues the numbering after the last journaled event.
        let point = try journal.resumePoint("run-cut")
        #expect(point.prior.lastSeq == s.events.last!.seq)
        #expect(point.prior.status == .interrupted)
        #expect(point.prior.plan?.runID == "run-cut")

        // The engine resumes: new events continue the numbering; the run ends succeeded.
        var more = RunScript(runID: "run-cut")
        more.seq = resume.lastSeq
        more.t = resume.elapsedMs
        more.emit(.runResumed(.init(keptSteps: resume.finishedSteps.map(\.stepID))))
        more.phase("validation", model: "sim/validation-model", text: "All checked.", score: 0.9)
        more.emit(.runFinished(.init()))
        try journal.append(more.events)
        let done = try #require(try Journal.open(directory: dir.url).state("run-cut"))
        #expect(done.status == .succeeded)
        #expect(done.steps["validation"]?.output == "All checked.")
        #expect(done.steps["generation"]?.output == gen.output)
        // Finished steps were not billed again.
        #expect(done.cost == RunState.replay(script.events).cost + Cost(money: Money(nanodollars: 50_000)))
        #expect(try journal.run("run-cut")?.status == .succeeded)
    }

    @Test("a run whose writer still lives is not interrupted")
    func liveRunIsNotInterrupted() throws {
        let dir = try TempDir()
        // Written by another process that is alive (our parent).
        let parent = ProcessIdentity(pid: getppid(), startTicks: ProcessIdentity.startTicks(of: getppid()) ?? 0)
        let writer = try Journal.open(directory: dir.url, owner: parent)
        let script = RunScript.rich(runID: "run-live", finish: false)
        try writer.append(script.events)
        let reader = try Journal.open(directory: dir.url)
        #expect(try reader.run("run-live")?.status == .running)
        #expect(try reader.state("run-live")?.status == .running)
    }
}

@Suite("Journal: events arriving out of order")
struct OrderingTests {
    @Test("events that arrive before earlier ones are journaled in sequence order")
    func reorders() throws {
        let dir = try TempDir()
        let script = RunScript.rich(runID: "run-order")
        var rng = SeededRNG(seed: 11)
        // Swap neighbours within small windows, as two tasks emitting at once would.
        var shuffled = script.events
        var i = 1
        while i + 3 < shuffled.count {
            shuffled[i..<(i + 3)].shuffle(using: &rng)
            i += 3
        }
        #expect(shuffled != script.events)
        let j = try Journal.open(directory: dir.url)
        for e in shuffled { try j.append(e) }
        let state = try #require(try Journal.open(directory: dir.url).state("run-order"))
        #expect(state.comparable == RunState.replay(script.events).comparable)
        #expect(state.anomalies == 0)
    }

    @Test("the observer sink journals events recorded from many threads at once")
    func sinkFromManyThreads() async throws {
        let dir = try TempDir()
        let j = try Journal.open(directory: dir.url)
        let sink = JournalSink(journal: j, maxBatch: 16)
        let script = RunScript.rich(runID: "run-sink")
        // Four tasks record interleaved slices, so arrival order differs from sequence order.
        await withTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                let mine = script.events.enumerated().filter { $0.offset % 4 == lane }.map(\.element)
                group.addTask { for e in mine { sink.record(e) } }
            }
        }
        try await sink.finish()
        let state = try #require(try Journal.open(directory: dir.url).state("run-sink"))
        #expect(state.comparable == RunState.replay(script.events).comparable)
    }
}
