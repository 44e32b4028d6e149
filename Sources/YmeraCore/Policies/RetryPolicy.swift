/// Decides what follows a failed attempt: retry the same model (after how long), fall back to the next
/// model, or fail the step. A value type with no I/O; the engine performs the decision.
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttemptsPerModel = 3
    public var initialDelayMs: Int64 = 500
    public var multiplier = 2.0
    public var maxDelayMs: Int64 = 30_000
    /// ± fraction of the delay, drawn from the run's seeded generator.
    public var jitter = 0.2
    /// A server's retry-after up to this long is waited out on the same model; longer → next model.
    public var maxRetryAfterWaitMs: Int64 = 20_000

    public init() {}

    public enum Decision: Sendable, Hashable {
        /// `basis` is "retry-after" when the server's wait was honoured, else "backoff".
        case retry(delayMs: Int64, basis: String)
        case fallback
        case fail(String)
    }

    /// - Parameters:
    ///   - attemptsOnModel: attempts already made on this model in this step (≥ 1).
    ///   - hasFallback: another model is available for the step.
    public func decide(
        _ failure: ModelFailure, attemptsOnModel: Int, hasFallback: Bool, random: inout SplitMix64
    ) -> Decision {
        let canRetry = attemptsOnModel < maxAttemptsPerModel
        let backoff = Decision.retry(delayMs: delay(afterAttempt: attemptsOnModel, random: &random), basis: "backoff")
        let orFail: (String) -> Decision = { hasFallback ? .fallback : .fail($0) }
        switch failure.errorClass {
        case .cancelled:
            return .fail("cancelled")
        case .budgetExceeded:
            return .fail("budget exceeded")
        case .circuitOpen:
            return orFail("circuit open")
        case .auth:
            return orFail("authentication failed; check the provider's key")
        case .quotaExhausted:
            return orFail("quota exhausted")
        case .badRequest:
            return orFail("request refused: \(failure.message)")
        case .contextTooLong:
            return orFail("prompt does not fit the model's context window")
        case .modelNotFound:
            return orFail("the provider does not offer this model: \(failure.message)")
        case .lowQuality:
            return orFail("quality below threshold")
        case .overloaded, .connectionRefused:
            if hasFallback { return .fallback }
            return canRetry ? backoff : .fail("\(failure.errorClass.rawValue) after \(attemptsOnModel) attempts")
        case .rateLimit:
            if let wait = failure.retryAfterMs.map(Int64.init) {
                if canRetry && wait <= maxRetryAfterWaitMs { return .retry(delayMs: wait, basis: "retry-after") }
                if hasFallback { return .fallback }
                return canRetry ? .retry(delayMs: wait, basis: "retry-after") : .fail("rate limited")
            }
            if hasFallback { return .fallback }
            return canRetry ? backoff : .fail("rate limited after \(attemptsOnModel) attempts")
        case .stall:
            // A stream that went quiet: another model continues from what arrived (or starts afresh);
            // the same, stalled model only when nothing else can serve.
            if hasFallback { return .fallback }
            if canRetry { return backoff }
            return .fail("stall after \(attemptsOnModel) attempts")
        case .connectionReset, .streamError, .truncated:
            // A stream cut after some text: the next model continues from it rather than starting over.
            if !failure.partialOutput.isEmpty && hasFallback { return .fallback }
            if canRetry { return backoff }
            return orFail("\(failure.errorClass.rawValue) after \(attemptsOnModel) attempts")
        case .timeout:
            // No first byte in time: this model is slow or overloaded now; another one may not be.
            if hasFallback { return .fallback }
            if canRetry { return backoff }
            return .fail("timeout after \(attemptsOnModel) attempts")
        case .serverError, .malformed, .unknown:
            if canRetry { return backoff }
            return orFail("\(failure.errorClass.rawValue) after \(attemptsOnModel) attempts")
        }
    }

    /// Exponential backoff with jitter: initial × multiplier^(n-1), capped, ± jitter.
    public func delay(afterAttempt n: Int, random: inout SplitMix64) -> Int64 {
        var d = Double(initialDelayMs)
        for _ in 1..<max(1, n) { d *= multiplier }
        d = min(d, Double(maxDelayMs))
        let j = (random.nextDouble() * 2 - 1) * jitter
        return max(0, Int64((d * (1 + j)).rounded()))
    }
}

/// A small, fast, seedable generator (SplitMix64): same seed, same sequence, on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    public private(set) var state: UInt64
    public init(seed: UInt64) { self.state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// A derived seed for a named sub-stream (a step, an attempt), stable across runs.
    public static func derive(_ seed: UInt64, _ label: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for b in label.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        var g = SplitMix64(seed: seed ^ h)
        return g.next()
    }
}
