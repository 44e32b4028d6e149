/// A per-provider limiter on requests and tokens per minute (token buckets), corrected by what the
/// provider reports in its rate-limit headers. A value type: `reserve` says how long to wait.
public struct RateLimiter: Sendable, Hashable {
    struct Bucket: Sendable, Hashable {
        var capacity: Double
        var level: Double
        var refillPerMs: Double
        var lastMs: Int64

        init(perMinute: Int, nowMs: Int64) {
            capacity = Double(perMinute)
            level = Double(perMinute)
            refillPerMs = Double(perMinute) / 60_000
            lastMs = nowMs
        }
        mutating func refill(_ nowMs: Int64) {
            guard nowMs > lastMs else { return }
            level = min(capacity, level + Double(nowMs - lastMs) * refillPerMs)
            lastMs = nowMs
        }
        /// Milliseconds until `amount` is available (0 = now).
        func wait(for amount: Double) -> Int64 {
            let need = min(amount, capacity) - level
            return need <= 0 ? 0 : Int64((need / refillPerMs).rounded(.up))
        }
    }

    var requests: Bucket?
    var tokens: Bucket?
    /// Set by headers saying nothing remains, or by a 429: no request before this time.
    public private(set) var blockedUntilMs: Int64 = 0
    public private(set) var lastSnapshot: RateLimitSnapshot?

    public init(limit: RateLimit?, nowMs: Int64) {
        if let rpm = limit?.requestsPerMinute, rpm > 0 { requests = Bucket(perMinute: rpm, nowMs: nowMs) }
        if let tpm = limit?.tokensPerMinute, tpm > 0 { tokens = Bucket(perMinute: tpm, nowMs: nowMs) }
    }

    /// How long to wait before a request of about `estimatedTokens` may start; 0 means go now, and the
    /// request and its tokens are then taken from the buckets.
    public mutating func reserve(estimatedTokens: Int, nowMs: Int64) -> (waitMs: Int64, reason: String?) {
        requests?.refill(nowMs)
        tokens?.refill(nowMs)
        if blockedUntilMs > nowMs { return (blockedUntilMs - nowMs, "provider reported no headroom") }
        let wr = requests?.wait(for: 1) ?? 0
        let wt = tokens?.wait(for: Double(estimatedTokens)) ?? 0
        if wr > 0 || wt > 0 {
            return (max(wr, wt), wr >= wt ? "requests per minute" : "tokens per minute")
        }
        requests?.level -= 1
        if let cap = tokens?.capacity { tokens?.level -= Double(min(estimatedTokens, Int(cap))) }
        return (0, nil)
    }

    /// Takes in the provider's own figures: remaining counts replace our estimate, and nothing left
    /// blocks until the reported reset.
    public mutating func observe(_ s: RateLimitSnapshot, nowMs: Int64) {
        lastSnapshot = s
        if let r = s.remainingRequests {
            if requests == nil, let l = s.limitRequests, l > 0 { requests = Bucket(perMinute: l, nowMs: nowMs) }
            requests?.level = Double(r)
            requests?.lastMs = nowMs
            if r <= 0, let reset = s.resetRequestsMs { blockedUntilMs = max(blockedUntilMs, nowMs + Int64(reset)) }
        }
        if let r = s.remainingTokens {
            if tokens == nil, let l = s.limitTokens, l > 0 { tokens = Bucket(perMinute: l, nowMs: nowMs) }
            tokens?.level = Double(r)
            tokens?.lastMs = nowMs
            if r <= 0, let reset = s.resetTokensMs { blockedUntilMs = max(blockedUntilMs, nowMs + Int64(reset)) }
        }
    }

    /// A 429 with retry-after: nobody on this provider goes before it.
    public mutating func block(untilMs: Int64) { blockedUntilMs = max(blockedUntilMs, untilMs) }
}
