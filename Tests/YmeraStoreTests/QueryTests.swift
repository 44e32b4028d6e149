import Foundation
import Testing
import YmeraCore

@testable import YmeraStore

@Suite("Journal: history, search, filters")
struct QueryTests {
    /// Five runs of different types, models, dates and outcomes.
    static func populated(_ dir: TempDir) throws -> Journal {
        let journal = try Journal.open(directory: dir.url)
        let base = Date(timeIntervalSince1970: 1_790_000_000)
        func run(_ id: String, task: String, type: TaskType, day: Double, model: ModelID, output: String, score: Double, end: RunEvent.Kind?) throws {
            var s = RunScript(runID: id, seed: UInt64(id.count))
            s.emit(.runPlanned(RunScript.plan(runID: id, task: task, type: type, createdAt: base.addingTimeInterval(day * 86_400),
                                              models: [.generation: model])), after: 0)
            s.phase("generation", model: model, text: output, score: score, nanos: Int64(score * 1_000_000))
            if let end { s.emit(end) }
            try journal.append(s.events)
        }
        try run("a1-code", task: "Implement a binary search tree in Rust", type: .code, day: 0, model: "groq/llama-3.1-8b-instant",
                output: "struct Node { left: Option<Box<Node>> } // balanced rotations", score: 0.9, end: .runFinished(.init()))
        try run("a2-text", task: "Write a haiku about autumn", type: .text, day: 1, model: "anthropic/claude-haiku",
                output: "Crimson leaves descend, quiet maple whispers", score: 0.7, end: .runFinished(.init()))
        try run("b3-code", task: "Fix the flaky CI pipeline", type: .code, day: 2, model: "anthropic/claude-sonnet",
                output: "The race is in the cache step; pin the runner image.", score: 0.5,
                end: .runFailed(.init(reason: "validation failed")))
        try run("b4-data", task: "Summarise sales.csv by region", type: .data, day: 3, model: "groq/mixtral",
                output: "North 1200, South 800, maple syrup exports lead.", score: 0.8, end: .runCancelled(.init(reason: "user")))
        try run("c5-code", task: "Port the parser to Swift", type: .code, day: 4, model: "groq/llama-3.1-8b-instant",
                output: "Swift port done with résumé handling", score: 0.95, end: .runFinished(.init()))
        return journal
    }

    @Test("history lists newest first, with a limit")
    func newestFirst() throws {
        let dir = try TempDir()
        let j = try Self.populated(dir)
        #expect(try j.runs().map(\.id) == ["c5-code", "b4-data", "b3-code", "a2-text", "a1-code"])
        #expect(try j.runs(RunFilter(limit: 2)).map(\.id) == ["c5-code", "b4-data"])
        #expect(try j.runs(RunFilter(sort: .oldest)).map(\.id).first == "a1-code")
        #expect(try j.runs(RunFilter(sort: .score)).map(\.id) == ["c5-code", "a1-code", "b4-data", "a2-text", "b3-code"])
        #expect(try j.runCount() == 5)
    }

    @Test("filters by status, task type, model or provider, and date")
    func filters() throws {
        let dir = try TempDir()
        let j = try Self.populated(dir)
        #expect(try j.runs(RunFilter(status: .failed)).map(\.id) == ["b3-code"])
        #expect(try j.runs(RunFilter(status: .cancelled)).map(\.id) == ["b4-data"])
        #expect(try j.runs(RunFilter(taskType: .code)).map(\.id) == ["c5-code", "b3-code", "a1-code"])
        #expect(try j.runs(RunFilter(model: "groq/llama-3.1-8b-instant")).map(\.id) == ["c5-code", "a1-code"])
        #expect(try j.runs(RunFilter(model: "groq")).map(\.id) == ["c5-code", "b4-data", "a1-code"])
        #expect(try j.runs(RunFilter(model: "gro")).isEmpty)
        let since = Date(timeIntervalSince1970: 1_790_000_000 + 2 * 86_400)
        #expect(try j.runs(RunFilter(since: since)).map(\.id) == ["c5-code", "b4-data", "b3-code"])
        #expect(try j.runs(RunFilter(status: .succeeded, taskType: .code, since: since)).map(\.id) == ["c5-code"])
    }

    @Test("full-text search finds words in tasks and in outputs, including words cut across deltas")
    func search() throws {
        let dir = try TempDir()
        let j = try Self.populated(dir)
        #expect(try j.runs(RunFilter(search: "haiku")).map(\.id) == ["a2-text"])  // task
        #expect(try j.runs(RunFilter(search: "rotations")).map(\.id) == ["a1-code"])  // output
        #expect(try j.runs(RunFilter(search: "maple")).map(\.id) == ["b4-data", "a2-text"])  // both outputs
        #expect(try j.runs(RunFilter(search: "maple syrup")).map(\.id) == ["b4-data"])  // all words
        #expect(try j.runs(RunFilter(search: "MAPLE")).count == 2)  // case-insensitive
        #expect(try j.runs(RunFilter(search: "resume")).map(\.id) == ["c5-code"])  // diacritics folded
        #expect(try j.runs(RunFilter(search: "pars*")).map(\.id) == ["c5-code"])  // prefix
        #expect(try j.runs(RunFilter(taskType: .text, search: "maple")).map(\.id) == ["a2-text"])
        #expect(try j.runs(RunFilter(search: "nonexistentword")).isEmpty)
        // Query syntax in user text is taken literally, never as an FTS5 error.
        #expect(try j.runs(RunFilter(search: "\"unbalanced AND (")).isEmpty)
        #expect(try j.runs(RunFilter(search: "sales.csv")).map(\.id) == ["b4-data"])
    }

    @Test("run ids resolve from a unique prefix")
    func prefixes() throws {
        let dir = try TempDir()
        let j = try Self.populated(dir)
        #expect(try j.resolveRunID("c5") == "c5-code")
        #expect(try j.resolveRunID("a1-code") == "a1-code")
        #expect(throws: JournalError.ambiguousRunID("a", matches: ["a1-code", "a2-text"])) { try j.resolveRunID("a") }
        #expect(throws: JournalError.runNotFound("zz")) { try j.resolveRunID("zz") }
    }
}
