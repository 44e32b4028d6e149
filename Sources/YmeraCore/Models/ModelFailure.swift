/// The class of a failed attempt. It decides what the engine does next.
public enum ErrorClass: String, Codable, Sendable, CaseIterable, Hashable {
    /// 401/403: the key is missing or wrong. The provider is unavailable; fall back, never retry.
    case auth
    /// 429: too many requests. Honour retry-after; prefer another model when the wait is long.
    case rateLimit = "rate_limit"
    /// A quota whose limit is 0 or is used up until a reset: waiting will not help soon.
    case quotaExhausted = "quota_exhausted"
    /// 503, Anthropic 529: the provider is overloaded (not the caller's rate limit). Back off and fall back.
    case overloaded
    /// Other 5xx.
    case serverError = "server_error"
    /// 400 and the like: the request was refused. Another model may accept it.
    case badRequest = "bad_request"
    /// The prompt does not fit the model's window: fall back to a model with a larger one.
    case contextTooLong = "context_too_long"
    /// The provider does not know the model (retired, renamed, or not offered to this key): never
    /// retried; the model is marked not offered and the next model serves.
    case modelNotFound = "model_not_found"
    /// Nothing listens at the address.
    case connectionRefused = "connection_refused"
    /// No first byte before the deadline.
    case timeout
    /// The stream went quiet in the middle (read timeout).
    case stall
    /// The connection was reset or closed mid-response.
    case connectionReset = "connection_reset"
    /// An error event inside a 200 stream.
    case streamError = "stream_error"
    /// The stream ended without its terminal event: a failure, never a short answer.
    case truncated
    /// A chunk or body that could not be decoded.
    case malformed
    /// The quality gate refused the output (score under threshold after refinements).
    case lowQuality = "low_quality"
    /// Every model's breaker is open (or the chosen model's, with no fallback left).
    case circuitOpen = "circuit_open"
    /// The run's budget is spent.
    case budgetExceeded = "budget_exceeded"
    /// Cancelled by the user or by a swap.
    case cancelled
    case unknown

    /// Whether trying the same model again can help.
    public var isRetryable: Bool {
        switch self {
        case .rateLimit, .serverError, .timeout, .stall, .connectionReset, .streamError, .truncated,
            .malformed, .unknown:
            true
        case .auth, .quotaExhausted, .overloaded, .badRequest, .contextTooLong, .modelNotFound, .connectionRefused,
            .lowQuality, .circuitOpen, .budgetExceeded, .cancelled:
            false
        }
    }

    /// Whether the failure says something about the model's health (counts toward its breaker).
    public var countsTowardBreaker: Bool {
        switch self {
        case .serverError, .overloaded, .timeout, .stall, .connectionReset, .streamError, .truncated,
            .malformed, .connectionRefused, .unknown:
            true
        case .auth, .rateLimit, .quotaExhausted, .badRequest, .contextTooLong, .modelNotFound, .lowQuality, .circuitOpen,
            .budgetExceeded, .cancelled:
            false
        }
    }

    /// Whether the breaker should open at once (the model cannot serve until a reset).
    public var opensBreakerImmediately: Bool {
        self == .auth || self == .quotaExhausted || self == .modelNotFound
    }
}

/// A failed model call, classified. Thrown by every `ModelClient`.
public struct ModelFailure: Error, Codable, Sendable, Hashable, CustomStringConvertible {
    public var errorClass: ErrorClass
    /// Human-readable, already free of secrets. May hold server text: sanitize before drawing.
    public var message: String
    public var httpStatus: Int?
    /// Server-suggested wait before the next attempt, in milliseconds.
    public var retryAfterMs: Int?
    public var provider: String?
    /// Text received before the failure (a stream cut mid-way), so a fallback can continue from it.
    public var partialOutput: String
    /// Usage known at the time of failure (billed even though the attempt failed).
    public var usage: TokenUsage?

    public init(
        _ errorClass: ErrorClass, _ message: String, httpStatus: Int? = nil, retryAfterMs: Int? = nil,
        provider: String? = nil, partialOutput: String = "", usage: TokenUsage? = nil
    ) {
        self.errorClass = errorClass
        self.message = message
        self.httpStatus = httpStatus
        self.retryAfterMs = retryAfterMs
        self.provider = provider
        self.partialOutput = partialOutput
        self.usage = usage
    }

    public var description: String {
        var s = errorClass.rawValue
        if let httpStatus { s += " (HTTP \(httpStatus))" }
        s += ": " + message
        if let retryAfterMs { s += " [retry after \(retryAfterMs) ms]" }
        return s
    }
}
