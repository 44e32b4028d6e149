import Synchronization
import Testing
@testable import YmeraCore

/// A client that streams many small deltas as fast as it can, from whatever thread runs it: on the
/// system clock, parallel candidates emit from several threads at once.
private struct FloodClient: ModelClient {
    let deltas: Int
    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let n = deltas
        return AsyncThrowingStream { c in
            let task = Task.detached {
                for i in 0..<n {
                    c.yield(.delta("w\(i) "))
                    if i % 16 == 0 { await Task.yield() }
                }
                c.yield(.usage(TokenUsage(inputTokens: 10, outputTokens: n)))
                c.yield(.finished(.stop))
                c.finish()
            }
            c.onTermination = { _ in task.cancel() }
        }
    }
}

@Suite("Engine: event order with steps running at once")
struct EventOrderTests {
    @Test func observerAndStreamSeeEventsInSeqOrderOnTheSystemClock() async throws {
        let e = Engine(
            catalog: try testCatalog(), client: FloodClient(deltas: 400), validator: FixedValidator(),
            clock: SystemClock())
        let p = try plan(strategy: .parallel)
        #expect(p.steps.contains { $0.candidates.count > 1 })
        let observed = Mutex<[Int]>([])
        let (events, final) = await e.collect(p) { event, _ in observed.withLock { $0.append(event.seq) } }
        let seqs = events.map(\.seq)
        #expect(seqs == Array(1...seqs.count), "the stream delivered events out of order")
        #expect(observed.withLock { $0 } == seqs, "the observer (the journal) saw another order")
        #expect(final.anomalies == 0)
        #expect(RunState.replay(events).anomalies == 0)
        #expect(final.status == .succeeded)
    }
}
