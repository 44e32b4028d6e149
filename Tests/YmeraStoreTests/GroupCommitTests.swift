import Foundation
import Synchronization
import Testing
@testable import YmeraCore
@testable import YmeraStore

/// The journal's writer thread commits off the run's path, in groups across runs; the engine's
/// barrier keeps the one promise durability needs: a step's end is on disk before an attempt that
/// may build on it starts.
@Suite("Journal group commit: off the run's path, durable at step ends")
struct GroupCommitTests {
    /// Answers at once; on every request, reads the journal through a second connection (what a
    /// `kill -9` at that moment would leave) and notes any phase this one depends on that the journal
    /// does not hold as done.
    final class JournalCheckingClient: ModelClient {
        let reader: Journal
        let plan: Mutex<RunPlan?> = Mutex(nil)
        let missing = Mutex<[String]>([])
        let requests = Mutex(0)
        init(reader: Journal) { self.reader = reader }

        func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
            requests.withLock { $0 += 1 }
            let top = String(request.context.stepID.split(separator: "/").first ?? "")
            if let plan = plan.withLock({ $0 }), let step = plan.step(top) {
                let onDisk = (try? reader.state(request.context.runID))??.steps ?? [:]
                for dep in step.dependsOn where onDisk[dep]?.status != .done {
                    missing.withLock { $0.append("\(request.context.stepID) started before \(dep) was on disk") }
                }
            }
            let text = "Answer for \(request.context.stepID): the REST API with authentication, deployed; tests included."
            return AsyncThrowingStream { c in
                c.yield(.delta(text))
                c.yield(.usage(TokenUsage(inputTokens: 10, outputTokens: 12)))
                c.yield(.finished(.stop))
                c.finish()
            }
        }
    }

    @Test("a six-phase run: every attempt finds the phases it builds on already in the journal")
    func stepEndsAreDurableBeforeTheNextAttempt() async throws {
        let dir = try TempDir()
        let journal = try Journal.open(directory: dir.url)
        let reader = try Journal.open(directory: dir.url)
        let catalog = try WorkspaceEngineTests.catalog()
        let client = JournalCheckingClient(reader: reader)
        for n in 0..<5 {
            let plan = try WorkspaceEngineTests.plan(catalog, runID: "run-durable-\(n)")
            client.plan.withLock { $0 = plan }
            let engine = Engine(catalog: catalog, client: client, clock: SystemClock())
            let sink = JournalSink(journal: journal)
            let handle = engine.start(
                plan, observer: { e, _ in sink.record(e) }, durable: { seq in await sink.durable(through: seq) })
            var events: [RunEvent] = []
            for await e in handle.events { events.append(e) }
            let final = await handle.finalState()
            try await sink.finish()
            #expect(final.status.isTerminal)
            #expect(plan.steps.count >= 4, "a plan with phases that build on each other")
            let stored = try #require(try reader.state(plan.runID))
            #expect(stored.comparable == RunState.replay(events).comparable, "the journal holds the run as it happened")
        }
        #expect(client.missing.withLock { $0 } == [])
        #expect(client.requests.withLock { $0 } >= 20)
    }

    @Test("forty runs at once through one writer: every event of every run journaled in order")
    func manyRunsShareTheWriter() async throws {
        let dir = try TempDir()
        let journal = try Journal.open(directory: dir.url)
        let catalog = try WorkspaceEngineTests.catalog()
        let before = journal.groupCommit.transactionCount
        let results = await withTaskGroup(of: (String, [RunEvent], (any Error)?).self) { group in
            for n in 0..<40 {
                group.addTask {
                    do {
                        let plan = try WorkspaceEngineTests.plan(catalog, runID: "run-many-\(n)")
                        let engine = Engine(catalog: catalog, client: FixedClient(text: "Done: the API, its auth and its deploy."), clock: SystemClock())
                        let sink = JournalSink(journal: journal)
                        let handle = engine.start(
                            plan, observer: { e, _ in sink.record(e) }, durable: { seq in await sink.durable(through: seq) })
                        var events: [RunEvent] = []
                        for await e in handle.events { events.append(e) }
                        try await sink.finish()
                        return (plan.runID, events, nil)
                    } catch {
                        return ("", [], error)
                    }
                }
            }
            var all: [(String, [RunEvent], (any Error)?)] = []
            for await r in group { all.append(r) }
            return all
        }
        var events = 0
        for (runID, runEvents, error) in results {
            #expect(error == nil)
            events += runEvents.count
            let stored = try #require(try journal.state(runID))
            #expect(stored.comparable == RunState.replay(runEvents).comparable, "\(runID)")
            #expect(try journal.events(runID).last?.seq == runEvents.last?.seq)
        }
        let transactions = journal.groupCommit.transactionCount - before
        // A figure, not an assertion on timing: how much the writer grouped.
        print("group commit: 40 runs, \(events) events in \(transactions) transactions")
        #expect(transactions > 0)
    }
}
