import Foundation
import YmeraCore

/// Re-emits a recorded run's events with their original spacing divided by `speed`.
///
/// No provider is called and nothing is billed: the events come from the journal. `sleep` is
/// injected so tests run instantly and can check the delays asked for.
public struct ReplaySequence: AsyncSequence, Sendable {
    public typealias Element = RunEvent
    public typealias Sleep = @Sendable (Duration) async throws -> Void

    public let events: [RunEvent]
    public let speed: Double
    /// Longest wait between two events (a run paused for an hour need not replay the hour); nil = none.
    public let maxGap: Duration?
    let sleep: Sleep

    public init(events: [RunEvent], speed: Double = 1, maxGap: Duration? = nil, sleep: @escaping Sleep = ReplaySequence.realSleep) {
        self.events = events
        self.speed = speed
        self.maxGap = maxGap
        self.sleep = sleep
    }

    public static let realSleep: Sleep = { d in try await Task.sleep(for: d) }

    /// The wait before event `i` (zero for the first; zero at an infinite or non-positive speed).
    public func delay(before i: Int) -> Duration {
        guard i > 0, i < events.count, speed > 0, speed.isFinite else { return .zero }
        let gapMs = Swift.max(0, events[i].elapsedMs - events[i - 1].elapsedMs)
        var d = Duration.microseconds(Int64((Double(gapMs) * 1000 / speed).rounded()))
        if let maxGap, d > maxGap { d = maxGap }
        return d
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: ReplaySequence
        var index = 0

        public mutating func next() async throws -> RunEvent? {
            guard index < sequence.events.count else { return nil }
            try Task.checkCancellation()
            let d = sequence.delay(before: index)
            if d > .zero { try await sequence.sleep(d) }
            defer { index += 1 }
            return sequence.events[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sequence: self) }
}

extension Journal {
    /// A replay of a recorded run (see `ReplaySequence`).
    public func replay(
        _ runID: String, speed: Double = 1, maxGap: Duration? = nil,
        sleep: @escaping ReplaySequence.Sleep = ReplaySequence.realSleep
    ) throws -> ReplaySequence {
        guard speed > 0 else { throw JournalError.invalidArgument("--speed must be above 0") }
        let events = try events(runID)
        if events.isEmpty, try run(runID) == nil { throw JournalError.runNotFound(runID) }
        return ReplaySequence(events: events, speed: speed, maxGap: maxGap, sleep: sleep)
    }
}
