import Synchronization

/// Time as the engine sees it: milliseconds on a monotonic clock, and sleeping.
///
/// `SystemClock` is real time. `VirtualClock` is simulated time that advances only when every
/// participating task is waiting on it, and then wakes exactly one: runs on it are deterministic
/// (same seed, same events in the same order) and take no real time.
public protocol RunClock: Sendable {
    /// Milliseconds since an arbitrary origin.
    func nowMs() -> Int64
    /// Sleeps; throws `CancellationError` when the task is cancelled.
    func sleep(ms: Int64) async throws
    /// A task that takes part in the run starts (virtual time must wait for it too).
    func enter()
    /// A participating task ends or starts waiting on something other than the clock.
    func leave()
    /// Gives way: on virtual time, waits for its turn among participants ready at the same instant
    /// (ordered by `ClockContext.key`), so no two participants ever run at once.
    func yieldTurn() async
}

/// The key that orders participants ready at the same virtual instant (the step id): a stable order
/// that does not depend on which thread got there first.
public enum ClockContext {
    @TaskLocal public static var key: String = ""
}

extension RunClock {
    /// Runs `body` as a non-participant: for waits on other tasks (children, a pause gate).
    public func waiting<T>(_ body: () async throws -> T) async rethrows -> T {
        leave()
        defer { enter() }
        return try await body()
    }
}

/// Real time.
public struct SystemClock: RunClock {
    private let origin = ContinuousClock.now
    public init() {}
    public func nowMs() -> Int64 {
        let d = ContinuousClock.now - origin
        return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
    public func sleep(ms: Int64) async throws {
        guard ms > 0 else { return try Task.checkCancellation() }
        try await Task.sleep(for: .milliseconds(ms))
    }
    public func enter() {}
    public func leave() {}
    public func yieldTurn() async {}
}

/// Simulated time for deterministic runs and tests: no real sleeping.
///
/// Every task of a run is a participant (`enter`/`leave`). Time advances only when no participant is
/// running; then the sleeper with the earliest deadline (ties: first to sleep) wakes alone. So tasks
/// never run at the same time and their order depends only on simulated time, never on threads.
public final class VirtualClock: RunClock, Sendable {
    private struct Sleeper {
        var deadline: Int64
        var key: String
        var order: Int
        var id: Int
        var continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var now: Int64 = 0
        var active = 0
        var sleepers: [Sleeper] = []
        var nextOrder = 0
        var cancelled: Set<Int> = []
    }
    private let state = Mutex(State())

    public init(startMs: Int64 = 0) {
        state.withLock { $0.now = startMs }
    }

    public func nowMs() -> Int64 { state.withLock { $0.now } }

    /// Number of participants running right now (for tests).
    public var activeParticipants: Int { state.withLock { $0.active } }

    /// Moves time forward by hand (tests of policies that read `nowMs`).
    public func advance(byMs ms: Int64) {
        state.withLock { $0.now += ms }
    }

    public func enter() { state.withLock { $0.active += 1 } }

    public func leave() {
        let wake = state.withLock { s -> Sleeper? in
            s.active -= 1
            return Self.next(&s)
        }
        wake?.continuation.resume()
    }

    public func yieldTurn() async {
        try? await sleep(ms: 0)
    }

    public func sleep(ms: Int64) async throws {
        try Task.checkCancellation()
        let key = ClockContext.key
        let id = state.withLock { s -> Int in
            s.nextOrder += 1
            return s.nextOrder
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let wake = state.withLock { s -> Sleeper? in
                    if s.cancelled.remove(id) != nil {
                        // Cancelled before we got here: do not sleep, stay a participant.
                        c.resume(throwing: CancellationError())
                        return nil
                    }
                    s.sleepers.append(Sleeper(deadline: s.now + max(0, ms), key: key, order: id, id: id, continuation: c))
                    s.active -= 1
                    return Self.next(&s)
                }
                wake?.continuation.resume()
            }
        } onCancel: {
            let cancelled = state.withLock { s -> Sleeper? in
                if let i = s.sleepers.firstIndex(where: { $0.id == id }) {
                    let sl = s.sleepers.remove(at: i)
                    s.active += 1
                    return sl
                }
                s.cancelled.insert(id)
                return nil
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// With no participant running, picks the sleeper to wake and advances time to its deadline.
    private static func next(_ s: inout State) -> Sleeper? {
        guard s.active <= 0, !s.sleepers.isEmpty else { return nil }
        var best = 0
        for i in s.sleepers.indices.dropFirst() {
            let a = s.sleepers[i]
            let b = s.sleepers[best]
            if a.deadline != b.deadline {
                if a.deadline < b.deadline { best = i }
            } else if a.key != b.key {
                if a.key < b.key { best = i }
            } else if a.order < b.order {
                best = i
            }
        }
        let sl = s.sleepers.remove(at: best)
        s.now = max(s.now, sl.deadline)
        s.active += 1
        return sl
    }
}
