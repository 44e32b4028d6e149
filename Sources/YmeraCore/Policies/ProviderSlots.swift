import Synchronization

/// Requests in flight per provider, for servers that take only so many at once (a small local
/// server has one slot: a second request would queue there or, worse, cut the first one's stream).
/// Waiters are served first come, first served.
public final class ProviderSlots: Sendable {
    private struct State {
        var inUse: [String: Int] = [:]
        var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    }
    private let state = Mutex(State())
    public init() {}

    /// Takes a slot, waiting while `limit` are taken. `onWait` runs before waiting (the engine's clock
    /// stops counting the caller as running); the slot is handed over with the caller counted again.
    public func acquire(_ provider: String, limit: Int, clock: any RunClock) async {
        let got = state.withLock { s -> Bool in
            if s.inUse[provider, default: 0] < limit {
                s.inUse[provider, default: 0] += 1
                return true
            }
            return false
        }
        if got { return }
        clock.leave()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.inUse[provider, default: 0] < limit {
                    s.inUse[provider, default: 0] += 1
                    return true
                }
                s.waiters[provider, default: []].append(c)
                return false
            }
            if now {
                clock.enter()
                c.resume()
            }
        }
        await clock.yieldTurn()
    }

    /// Frees a slot, handing it straight to the first waiter (counted as running by the clock).
    public func release(_ provider: String, clock: any RunClock) {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if var w = s.waiters[provider], !w.isEmpty {
                let c = w.removeFirst()
                s.waiters[provider] = w
                return c  // the slot passes on: inUse unchanged
            }
            s.inUse[provider, default: 1] -= 1
            return nil
        }
        if let next {
            clock.enter()
            next.resume()
        }
    }

    public func inUse(_ provider: String) -> Int { state.withLock { $0.inUse[provider] ?? 0 } }
}
