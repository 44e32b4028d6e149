/// A circuit breaker for one model, as a value-type state machine. It performs nothing: callers ask it
/// whether a call may go ahead (`admit`) and tell it how calls ended (`record`); both return what
/// changed so the engine can emit `breakerChanged`.
///
/// CLOSED → OPEN when, over a sliding window of recent calls, the failure rate reaches the threshold
/// with at least `minimumCalls` calls, or after `consecutiveFailures` failures in a row.
/// OPEN → HALF_OPEN once the cool-down has passed, admitting at most `halfOpenProbes` probe calls.
/// HALF_OPEN → CLOSED after `probesToClose` successful probes; → OPEN again on a failed probe.
public struct CircuitBreaker: Sendable, Hashable {
    public struct Config: Sendable, Hashable {
        public var windowSize = 10
        public var minimumCalls = 4
        public var failureRateThreshold = 0.5
        public var consecutiveFailures = 3
        public var cooldownMs: Int64 = 30_000
        public var halfOpenProbes = 1
        public var probesToClose = 1
        public init() {}
        public init(
            windowSize: Int = 10, minimumCalls: Int = 4, failureRateThreshold: Double = 0.5,
            consecutiveFailures: Int = 3, cooldownMs: Int64 = 30_000, halfOpenProbes: Int = 1, probesToClose: Int = 1
        ) {
            self.windowSize = windowSize
            self.minimumCalls = minimumCalls
            self.failureRateThreshold = failureRateThreshold
            self.consecutiveFailures = consecutiveFailures
            self.cooldownMs = cooldownMs
            self.halfOpenProbes = halfOpenProbes
            self.probesToClose = probesToClose
        }
    }

    public enum State: Sendable, Hashable {
        case closed
        case open(untilMs: Int64)
        case halfOpen(probesInFlight: Int, successes: Int)

        public var kind: BreakerState {
            switch self {
            case .closed: .closed
            case .open: .open
            case .halfOpen: .halfOpen
            }
        }
    }

    public enum Admission: Sendable, Hashable {
        case allowed
        /// Allowed as a half-open probe.
        case probe
        /// Not allowed; the breaker may admit a probe after this many milliseconds.
        case rejected(retryInMs: Int64)
    }

    public struct Transition: Sendable, Hashable {
        public var from: BreakerState
        public var to: BreakerState
        public var reason: String
        public var cooldownMs: Int64?
    }

    public let config: Config
    public private(set) var state: State = .closed
    /// Recent outcomes, newest last (true = failure).
    public private(set) var window: [Bool] = []
    public private(set) var consecutive = 0

    public init(config: Config = Config()) { self.config = config }

    public var failuresInWindow: Int { window.filter { $0 }.count }

    /// Asks whether a call may start now. May move OPEN → HALF_OPEN.
    public mutating func admit(nowMs: Int64) -> (Admission, Transition?) {
        switch state {
        case .closed:
            return (.allowed, nil)
        case .open(let until):
            guard nowMs >= until else { return (.rejected(retryInMs: until - nowMs), nil) }
            state = .halfOpen(probesInFlight: 1, successes: 0)
            return (.probe, Transition(from: .open, to: .halfOpen, reason: "cool-down over; probing", cooldownMs: nil))
        case .halfOpen(let inFlight, let successes):
            guard inFlight < config.halfOpenProbes else { return (.rejected(retryInMs: 0), nil) }
            state = .halfOpen(probesInFlight: inFlight + 1, successes: successes)
            return (.probe, nil)
        }
    }

    /// Records how an admitted call ended. `countsAsFailure` comes from the error class: a 400 or a
    /// rate limit says nothing about the model's health and is recorded as `nil` (ignored).
    public mutating func record(failure: Bool?, nowMs: Int64, reason: String = "") -> Transition? {
        switch state {
        case .closed:
            guard let failure else { return nil }
            window.append(failure)
            if window.count > config.windowSize { window.removeFirst(window.count - config.windowSize) }
            consecutive = failure ? consecutive + 1 : 0
            let failures = failuresInWindow
            let rate = Double(failures) / Double(window.count)
            if failure && consecutive >= config.consecutiveFailures {
                return trip(nowMs, "\(consecutive) consecutive failures" + (reason.isEmpty ? "" : " (\(reason))"))
            }
            if failure && window.count >= config.minimumCalls && rate >= config.failureRateThreshold {
                return trip(nowMs, "failure rate \(Int((rate * 100).rounded()))% over \(window.count) calls" + (reason.isEmpty ? "" : " (\(reason))"))
            }
            return nil
        case .open:
            return nil
        case .halfOpen(let inFlight, let successes):
            guard let failure else {
                state = .halfOpen(probesInFlight: max(0, inFlight - 1), successes: successes)
                return nil
            }
            if failure {
                return trip(nowMs, "half-open probe failed" + (reason.isEmpty ? "" : " (\(reason))"), from: .halfOpen)
            }
            let s = successes + 1
            if s >= config.probesToClose {
                state = .closed
                window = []
                consecutive = 0
                return Transition(from: .halfOpen, to: .closed, reason: "probe succeeded", cooldownMs: nil)
            }
            state = .halfOpen(probesInFlight: max(0, inFlight - 1), successes: s)
            return nil
        }
    }

    /// Opens at once until a given time (auth failure, quota exhausted, user's "force open").
    public mutating func forceOpen(nowMs: Int64, forMs: Int64, reason: String) -> Transition? {
        let from = state.kind
        state = .open(untilMs: nowMs + forMs)
        consecutive = 0
        return Transition(from: from, to: .open, reason: reason, cooldownMs: forMs)
    }

    /// Closes and forgets history (the user's "reset").
    public mutating func reset(reason: String = "reset by user") -> Transition? {
        let from = state.kind
        state = .closed
        window = []
        consecutive = 0
        return from == .closed ? nil : Transition(from: from, to: .closed, reason: reason, cooldownMs: nil)
    }

    private mutating func trip(_ nowMs: Int64, _ reason: String, from: BreakerState = .closed) -> Transition {
        state = .open(untilMs: nowMs + config.cooldownMs)
        window = []
        consecutive = 0
        return Transition(from: from, to: .open, reason: reason, cooldownMs: config.cooldownMs)
    }
}
