import Synchronization

/// The breakers (one per model) and rate limiters (one per provider) shared by every run of an
/// engine. A thin, lock-protected shell around the value-type policies: it performs nothing itself and
/// hands transitions back to the caller, which emits them as events.
public final class ResilienceRegistry: Sendable {
    public typealias Listener = @Sendable (ModelID, CircuitBreaker.Transition, Int64) -> Void

    private struct State {
        var breakers: [ModelID: CircuitBreaker] = [:]
        var limiters: [String: RateLimiter] = [:]
        var unavailableProviders: [String: String] = [:]
    }
    private let state = Mutex(State())
    public let breakerConfig: CircuitBreaker.Config
    private let listener: Listener?

    /// - Parameter listener: told of every breaker transition (the journal persists open breakers).
    public init(breakerConfig: CircuitBreaker.Config = .init(), listener: Listener? = nil) {
        self.breakerConfig = breakerConfig
        self.listener = listener
    }

    public func admit(_ model: ModelID, nowMs: Int64) -> (CircuitBreaker.Admission, CircuitBreaker.Transition?) {
        let r = state.withLock { s in
            var b = s.breakers[model] ?? CircuitBreaker(config: breakerConfig)
            let r = b.admit(nowMs: nowMs)
            s.breakers[model] = b
            return r
        }
        if let t = r.1 { listener?(model, t, nowMs) }
        return r
    }

    /// Without changing state: would a call be admitted, and if not, in how long.
    public func peek(_ model: ModelID, nowMs: Int64) -> Int64? {
        state.withLock { s in
            guard let b = s.breakers[model] else { return nil }
            switch b.state {
            case .closed: return nil
            case .open(let until): return max(0, until - nowMs)
            case .halfOpen(let inFlight, _): return inFlight < breakerConfig.halfOpenProbes ? nil : 0
            }
        }
    }

    public func record(_ model: ModelID, failure: Bool?, nowMs: Int64, reason: String = "") -> CircuitBreaker.Transition? {
        let t = state.withLock { s in
            var b = s.breakers[model] ?? CircuitBreaker(config: breakerConfig)
            let t = b.record(failure: failure, nowMs: nowMs, reason: reason)
            s.breakers[model] = b
            return t
        }
        if let t { listener?(model, t, nowMs) }
        return t
    }

    public func forceOpen(_ model: ModelID, nowMs: Int64, forMs: Int64, reason: String) -> CircuitBreaker.Transition? {
        let t = state.withLock { s in
            var b = s.breakers[model] ?? CircuitBreaker(config: breakerConfig)
            let t = b.forceOpen(nowMs: nowMs, forMs: forMs, reason: reason)
            s.breakers[model] = b
            return t
        }
        if let t { listener?(model, t, nowMs) }
        return t
    }

    public func reset(_ model: ModelID, nowMs: Int64) -> CircuitBreaker.Transition? {
        let t = state.withLock { s in
            var b = s.breakers[model] ?? CircuitBreaker(config: breakerConfig)
            let t = b.reset()
            s.breakers[model] = b
            return t
        }
        if let t { listener?(model, t, nowMs) }
        return t
    }

    /// Current state of every breaker that has seen a call.
    public func breakers() -> [ModelID: CircuitBreaker] { state.withLock { $0.breakers } }

    public func reserve(provider: String, limit: RateLimit?, estimatedTokens: Int, nowMs: Int64) -> (waitMs: Int64, reason: String?) {
        state.withLock { s in
            var l = s.limiters[provider] ?? RateLimiter(limit: limit, nowMs: nowMs)
            let r = l.reserve(estimatedTokens: estimatedTokens, nowMs: nowMs)
            s.limiters[provider] = l
            return r
        }
    }

    public func observe(_ snapshot: RateLimitSnapshot, nowMs: Int64) {
        state.withLock { s in
            var l = s.limiters[snapshot.provider] ?? RateLimiter(limit: nil, nowMs: nowMs)
            l.observe(snapshot, nowMs: nowMs)
            s.limiters[snapshot.provider] = l
        }
    }

    public func block(provider: String, untilMs: Int64, nowMs: Int64) {
        state.withLock { s in
            var l = s.limiters[provider] ?? RateLimiter(limit: nil, nowMs: nowMs)
            l.block(untilMs: untilMs)
            s.limiters[provider] = l
        }
    }

    /// Rate-limit headroom last reported per provider.
    public func headroom() -> [String: RateLimitSnapshot] {
        state.withLock { s in s.limiters.compactMapValues(\.lastSnapshot) }
    }
}
