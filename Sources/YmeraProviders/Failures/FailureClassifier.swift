import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import YmeraCore

/// Where a request was when a transport error or a timeout hit it.
public enum TransportPhase: String, Sendable, Hashable {
    /// Before any byte of the response body (connecting, sending, waiting for the head or the first chunk).
    case beforeFirstByte
    /// In the middle of the response body.
    case streaming
}

/// The one place that turns what went wrong (an HTTP status with its body and headers, an error
/// event inside a 200 stream, a transport error, a timeout, a cut or garbled stream) into a
/// `ModelFailure` with its `ErrorClass`. Every client goes through here, so every wire format gets
/// the same policy.
public enum FailureClassifier {
    // MARK: HTTP responses

    /// A non-2xx response. `body` is the (possibly cut) response text.
    public static func classifyResponse(
        status: Int, headers: HTTPHeaders, body: String, format: ProviderKind, provider: String,
        now: Date = Date()
    ) -> ModelFailure {
        let info = ErrorInfo(json: JSONValue.parse(body), rawBody: body)
        let retryAfter = RateLimitHeaders.retryAfterMs(headers: headers, now: now) ?? info.retryDelayMs
            ?? RateLimitHeaders.snapshot(provider: provider, headers: headers, now: now).flatMap(
                RateLimitHeaders.exhaustedWindowResetMs)
        let errorClass = classify(status: status, info: info)
        let text = info.summary.isEmpty ? (HTTPResponseStatus(statusCode: status).reasonPhrase) : info.summary
        return ModelFailure(
            errorClass, sanitize("\(provider): \(text)"), httpStatus: status,
            retryAfterMs: errorClass == .rateLimit || errorClass == .quotaExhausted || errorClass == .overloaded
                ? retryAfter : nil,
            provider: provider)
    }

    static func classify(status: Int, info: ErrorInfo) -> ErrorClass {
        let text = info.searchText
        switch status {
        case 401, 403:
            return .auth
        case 429:
            return info.isQuotaExhausted ? .quotaExhausted : .rateLimit
        case 402:
            return .quotaExhausted  // payment required: credits used up (OpenRouter)
        case 408:
            return .timeout
        case 503, 529:
            return .overloaded
        case 500...599:
            return text.contains("overloaded") ? .overloaded : .serverError
        case 404:
            // A model the provider does not know. A 404 that names no model is a wrong address.
            if isModelNotFound(info, text) || text.contains("model") { return .modelNotFound }
            return .badRequest
        case 400...499:
            if isContextTooLong(text) { return .contextTooLong }
            if isModelNotFound(info, text) { return .modelNotFound }
            if info.type.lowercased() == "authentication_error" || info.type.lowercased() == "permission_error" {
                return .auth
            }
            if info.isQuotaExhausted { return .quotaExhausted }
            return .badRequest
        default:
            return .unknown
        }
    }

    /// The error codes and phrases for an unknown model: OpenAI-compatible `model_not_found` (OpenAI,
    /// Groq, Together, OpenRouter), Anthropic `not_found_error` naming the model, Gemini `NOT_FOUND`,
    /// Ollama's "model 'x' not found", Mistral's "Invalid model".
    static func isModelNotFound(_ info: ErrorInfo, _ lowered: String) -> Bool {
        let code = info.code.lowercased()
        if code == "model_not_found" || code == "invalid_model" { return true }
        let names = lowered.contains("model")
        if info.type.lowercased() == "not_found_error" && names { return true }
        if info.status == "NOT_FOUND" && names { return true }
        return lowered.contains("model_not_found") || lowered.contains("invalid model") || lowered.contains("unknown model")
            || (names && (lowered.contains("does not exist") || lowered.contains("not found")))
    }

    /// Phrases the providers use for a prompt that does not fit the window.
    static func isContextTooLong(_ lowered: String) -> Bool {
        let needles = [
            "context_length_exceeded",  // OpenAI, Groq, Together, DeepSeek, OpenRouter
            "exceed_context_size",  // llama.cpp server
            "maximum context length",  // OpenAI text, vLLM
            "context length",  // Mistral, Ollama
            "context window",
            "prompt is too long",  // Anthropic
            "input token count",  // Gemini: "The input token count (N) exceeds the maximum number of tokens allowed"
            "exceeds the maximum number of tokens",
            "too many tokens",
            "reduce the length of the messages",
        ]
        return needles.contains { lowered.contains($0) }
    }

    // MARK: Errors inside a 200 stream

    /// An error delivered inside a successful response: `data: {"error":...}`, vLLM's
    /// `{"object":"error",...}`, Anthropic's `event: error`, or Gemini's `{"error":...}` chunk.
    public static func classifyStreamError(_ payload: JSONValue, format: ProviderKind, provider: String) -> ModelFailure {
        let info = ErrorInfo(json: payload, rawBody: "")
        let text = info.summary.isEmpty ? "error event in the stream" : info.summary
        return ModelFailure(
            .streamError, sanitize("\(provider): error in stream: \(text)"), httpStatus: 200,
            retryAfterMs: info.retryDelayMs, provider: provider)
    }

    /// Whether a decoded chunk is an error payload rather than data.
    public static func isErrorPayload(_ json: JSONValue) -> Bool {
        if let error = json["error"], !error.isNull { return true }
        if json["object"]?.string == "error" { return true }
        if json["type"]?.string == "error" { return true }
        return false
    }

    // MARK: Stream shape

    /// The stream ended without its terminal event.
    public static func truncated(_ detail: String, format: ProviderKind, provider: String) -> ModelFailure {
        ModelFailure(
            .truncated, sanitize("\(provider): stream ended without its terminal event (\(detail))"),
            httpStatus: 200, provider: provider)
    }

    /// A chunk or body that could not be decoded.
    public static func malformed(_ detail: String, sample: String, format: ProviderKind, provider: String) -> ModelFailure {
        let excerpt = sample.count > 120 ? String(sample.prefix(120)) + "…" : sample
        return ModelFailure(
            .malformed, sanitize("\(provider): \(detail): \(excerpt)"), httpStatus: 200,
            provider: provider)
    }

    // MARK: Timeouts and transport

    /// A deadline of ours passed.
    public static func timedOut(phase: TransportPhase, limit: Duration, what: String, provider: String) -> ModelFailure {
        switch phase {
        case .beforeFirstByte:
            return ModelFailure(.timeout, "\(provider): no response within \(format(limit)) (\(what))", provider: provider)
        case .streaming:
            return ModelFailure(.stall, "\(provider): stream went quiet for \(format(limit)) (\(what))", provider: provider)
        }
    }

    /// The whole request ran past its total limit while data was still arriving.
    public static func totalTimeExceeded(limit: Duration, provider: String) -> ModelFailure {
        ModelFailure(.timeout, "\(provider): request exceeded its total time limit of \(format(limit))", provider: provider)
    }

    /// An error thrown by the HTTP client or the network stack.
    public static func classifyTransport(_ error: any Error, phase: TransportPhase, provider: String) -> ModelFailure {
        if let failure = error as? ModelFailure { return failure }
        if error is CancellationError {
            return ModelFailure(.cancelled, "\(provider): request cancelled", provider: provider)
        }
        if let e = error as? HTTPClientError {
            switch e {
            case .cancelled:
                return ModelFailure(.cancelled, "\(provider): request cancelled", provider: provider)
            case .connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout:
                return ModelFailure(.timeout, "\(provider): could not connect in time (\(e))", provider: provider)
            case .readTimeout, .deadlineExceeded:
                return phase == .streaming
                    ? ModelFailure(.stall, "\(provider): stream went quiet (\(e))", provider: provider)
                    : ModelFailure(.timeout, "\(provider): no response in time (\(e))", provider: provider)
            case .invalidURL, .emptyHost, .emptyScheme, .missingSocketPath:
                return ModelFailure(
                    .connectionRefused, "\(provider): the base URL is not a usable address (\(e))", provider: provider)
            case .remoteConnectionClosed, .uncleanShutdown, .bodyLengthMismatch:
                return ModelFailure(
                    .connectionReset, "\(provider): connection closed mid-response (\(e))", provider: provider)
            default:
                if String(describing: e).contains("unsupportedScheme") {
                    return ModelFailure(
                        .connectionRefused, "\(provider): the base URL's scheme is not http or https", provider: provider)
                }
            }
        }
        if let e = error as? ChannelError {
            switch e {
            case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed, .inputClosed:
                // A pooled connection the server had already closed, reused: a reset, retryable as such.
                return ModelFailure(
                    .connectionReset, "\(provider): the connection was closed under the request (\(e))", provider: provider)
            case .connectTimeout:
                return ModelFailure(.timeout, "\(provider): could not connect in time (\(e))", provider: provider)
            default:
                break
            }
        }
        if let e = error as? HTTPParserError {
            if e == .invalidEOFState {
                return ModelFailure(.connectionReset, "\(provider): connection closed mid-response", provider: provider)
            }
            return ModelFailure(.malformed, "\(provider): unreadable HTTP response (\(e))", provider: provider)
        }
        if let errno = findErrno(in: error) {
            switch errno {
            case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL:
                return ModelFailure(
                    .connectionRefused, "\(provider): nothing listens at the address (\(describeErrno(errno)))",
                    provider: provider)
            case ECONNRESET, EPIPE, ECONNABORTED:
                return ModelFailure(.connectionReset, "\(provider): connection reset (\(describeErrno(errno)))", provider: provider)
            case ETIMEDOUT:
                return phase == .streaming
                    ? ModelFailure(.stall, "\(provider): stream timed out", provider: provider)
                    : ModelFailure(.timeout, "\(provider): connection timed out", provider: provider)
            default:
                break
            }
        }
        if isTLSError(error) {
            // The handshake failed (wrong port, a plain-HTTP server, a certificate refused): the
            // request never reached the provider.
            return ModelFailure(
                .connectionRefused, sanitize("\(provider): TLS handshake failed (\(error))"), provider: provider)
        }
        let text = String(describing: error).lowercased()
        if text.contains("connection refused") || text.contains("dns") || text.contains("resolve")
            || String(reflecting: type(of: error)).hasSuffix("SocketAddressError")
        {
            return ModelFailure(.connectionRefused, sanitize("\(provider): could not connect (\(error))"), provider: provider)
        }
        if text.contains("reset by peer") || text.contains("broken pipe") {
            return ModelFailure(.connectionReset, sanitize("\(provider): connection reset (\(error))"), provider: provider)
        }
        return ModelFailure(.unknown, sanitize("\(provider): \(error)"), provider: provider)
    }

    /// NIOSSL's errors (module not imported here: matched by type name) and BoringSSL's.
    static func isTLSError(_ error: any Error) -> Bool {
        let type = String(reflecting: Swift.type(of: error))
        return type.hasPrefix("NIOSSL.") || type.contains("BoringSSL") || type.hasSuffix("NIOTLSUnwrappingError")
    }

    /// Looks through an error and the errors it wraps (NIO's connection errors hold a list of
    /// per-address attempts) for a system errno.
    static func findErrno(in value: Any, depth: Int = 0) -> Int32? {
        if let io = value as? IOError { return io.errnoCode }
        guard depth < 6 else { return nil }
        for child in Mirror(reflecting: value).children {
            if let code = findErrno(in: child.value, depth: depth + 1) { return code }
        }
        return nil
    }

    private static func describeErrno(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    // MARK: Text

    /// Server text made safe for logs and a terminal: no control characters or escape sequences,
    /// bounded length. (Keys are removed by the client, which knows them.)
    public static func sanitize(_ text: String, limit: Int = 600) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\n" || scalar == "\t" || scalar == "\r" {
                out.append(" ")
            } else if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format {
                continue
            } else {
                out.append(scalar)
            }
        }
        var s = String(out)
        while s.contains("  ") { s = s.replacingOccurrences(of: "  ", with: " ") }
        if s.count > limit { s = String(s.prefix(limit)) + "…" }
        return s
    }

    /// Removes every occurrence of the given secrets from a failure's text.
    public static func redact(_ failure: ModelFailure, secrets: [String]) -> ModelFailure {
        var f = failure
        for secret in secrets where secret.count >= 4 {
            f.message = f.message.replacingOccurrences(of: secret, with: "[redacted]")
        }
        return f
    }

    static func format(_ d: Duration) -> String {
        let ms = Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
        return ms < 1000 ? "\(ms) ms" : String(format: "%.1f s", Double(ms) / 1000)
    }
}

/// The fields that matter from any provider's error body.
struct ErrorInfo {
    var message = ""
    var type = ""
    var code = ""
    var status = ""
    var retryDelayMs: Int?
    var quotaLimitZero = false
    var rawExcerpt = ""

    init(json: JSONValue?, rawBody: String) {
        var root = json
        if let first = root?.array?.first { root = first }  // Google sometimes wraps the error in an array
        if let root {
            let error = root["error"]
            if let text = error?.string {
                message = text  // {"error": "model not found"} (Ollama and others)
            } else if let error, error.object != nil {
                read(error)
            } else if root["object"]?.string == "error" || root["message"] != nil {
                read(root)  // vLLM: {"object":"error","message":...}
            }
        } else {
            rawExcerpt = rawBody.trimmingCharacters(in: .whitespacesAndNewlines)
            if rawExcerpt.count > 300 { rawExcerpt = String(rawExcerpt.prefix(300)) + "…" }
        }
        if message.range(of: #"limit: 0(\D|$)"#, options: .regularExpression) != nil { quotaLimitZero = true }
    }

    private mutating func read(_ e: JSONValue) {
        if let m = e["message"] {
            // Mistral nests validation details in `message`; show them as compact JSON.
            message = m.string ?? String(decoding: m.encoded(), as: UTF8.self)
        } else if let detail = e["detail"] {
            message = detail.string ?? String(decoding: detail.encoded(), as: UTF8.self)
        }
        type = e["type"]?.string ?? ""
        code = e["code"]?.scalarText ?? ""
        status = e["status"]?.string ?? ""
        for detail in e["details"]?.array ?? [] {
            let kind = detail["@type"]?.string ?? ""
            if kind.hasSuffix("google.rpc.RetryInfo") {
                if let s = detail["retryDelay"]?.string {
                    retryDelayMs = RateLimitHeaders.durationMs(s)
                } else if let secs = detail["retryDelay"]?["seconds"]?.double {
                    retryDelayMs = Int(secs * 1000)
                }
            }
            if kind.hasSuffix("google.rpc.QuotaFailure") {
                for v in detail["violations"]?.array ?? [] where v["quotaValue"]?.int == 0 { quotaLimitZero = true }
            }
        }
    }

    /// Quota used up in a way waiting a little will not fix.
    var isQuotaExhausted: Bool {
        if quotaLimitZero { return true }
        let c = code.lowercased()
        let t = type.lowercased()
        let m = message.lowercased()
        return c == "insufficient_quota" || t == "insufficient_quota" || c == "billing_hard_limit_reached"
            || m.contains("credit balance is too low")  // Anthropic: prepaid credits used up
            || m.contains("insufficient credits")  // OpenRouter
    }

    var searchText: String { [message, type, code, status, rawExcerpt].joined(separator: " ").lowercased() }

    var summary: String {
        var parts: [String] = []
        let label = [type, status, code].filter { !$0.isEmpty && $0 != message }.first
        if let label { parts.append("[\(label)]") }
        if !message.isEmpty { parts.append(message) } else if !rawExcerpt.isEmpty { parts.append(rawExcerpt) }
        return parts.joined(separator: " ")
    }
}
