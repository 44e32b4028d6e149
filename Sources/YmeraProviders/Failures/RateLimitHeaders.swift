import Foundation
import NIOHTTP1
import YmeraCore

/// Reads providers' rate-limit headers into a `RateLimitSnapshot`, and their "wait this long" hints.
///
/// Formats understood:
/// - OpenAI, Groq, Together, Mistral and most OpenAI-compatible servers: `x-ratelimit-limit-requests`,
///   `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests` and the `-tokens` trio, resets as
///   Go-style durations (`6m0s`, `12ms`, `1.5s`) or seconds.
/// - OpenRouter: `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset` (epoch milliseconds).
/// - Anthropic: `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`,
///   resets as RFC 3339 times.
/// - `retry-after` (seconds or an HTTP date) and `retry-after-ms`.
public enum RateLimitHeaders {
    /// The snapshot for a response, or nil when it carries no rate-limit header at all.
    public static func snapshot(provider: String, headers: HTTPHeaders, now: Date = Date()) -> RateLimitSnapshot? {
        var s = RateLimitSnapshot(provider: provider)
        func int(_ name: String) -> Int? {
            headers.first(name: name).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                ?? headers.first(name: name).flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }.map { Int($0) }
        }
        func reset(_ name: String) -> Int? { headers.first(name: name).flatMap { resetMs($0, now: now) } }

        // OpenAI style.
        s.limitRequests = int("x-ratelimit-limit-requests")
        s.remainingRequests = int("x-ratelimit-remaining-requests")
        s.resetRequestsMs = reset("x-ratelimit-reset-requests")
        s.limitTokens = int("x-ratelimit-limit-tokens")
        s.remainingTokens = int("x-ratelimit-remaining-tokens")
        s.resetTokensMs = reset("x-ratelimit-reset-tokens")

        // OpenRouter style (requests only).
        s.limitRequests = s.limitRequests ?? int("x-ratelimit-limit")
        s.remainingRequests = s.remainingRequests ?? int("x-ratelimit-remaining")
        s.resetRequestsMs = s.resetRequestsMs ?? reset("x-ratelimit-reset")

        // Anthropic style. `tokens` is the most restrictive of input and output; fall back to the tighter of the two.
        let a = "anthropic-ratelimit-"
        s.limitRequests = s.limitRequests ?? int(a + "requests-limit")
        s.remainingRequests = s.remainingRequests ?? int(a + "requests-remaining")
        s.resetRequestsMs = s.resetRequestsMs ?? reset(a + "requests-reset")
        s.limitTokens = s.limitTokens ?? int(a + "tokens-limit") ?? minOptional(int(a + "input-tokens-limit"), int(a + "output-tokens-limit"))
        s.remainingTokens =
            s.remainingTokens ?? int(a + "tokens-remaining")
            ?? minOptional(int(a + "input-tokens-remaining"), int(a + "output-tokens-remaining"))
        s.resetTokensMs =
            s.resetTokensMs ?? reset(a + "tokens-reset")
            ?? maxOptional(reset(a + "input-tokens-reset"), reset(a + "output-tokens-reset"))

        let empty = RateLimitSnapshot(provider: provider)
        return s == empty ? nil : s
    }

    /// Milliseconds the server asks us to wait: `retry-after-ms`, then `retry-after`.
    public static func retryAfterMs(headers: HTTPHeaders, now: Date = Date()) -> Int? {
        if let ms = headers.first(name: "retry-after-ms").flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }),
            ms >= 0
        {
            return Int(ms.rounded(.up))
        }
        guard let value = headers.first(name: "retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value), seconds >= 0 { return Int((seconds * 1000).rounded(.up)) }
        if let date = httpDate(value) { return max(0, Int((date.timeIntervalSince(now) * 1000).rounded(.up))) }
        return nil
    }

    /// The wait implied by exhausted windows: the reset of whichever window has nothing remaining.
    public static func exhaustedWindowResetMs(_ s: RateLimitSnapshot) -> Int? {
        var waits: [Int] = []
        if s.remainingRequests == 0, let r = s.resetRequestsMs { waits.append(r) }
        if s.remainingTokens == 0, let r = s.resetTokensMs { waits.append(r) }
        return waits.max()
    }

    /// A reset value in milliseconds from now: a duration (`6m0s`, `12ms`, `1.5`), an RFC 3339
    /// time, or epoch seconds/milliseconds.
    public static func resetMs(_ raw: String, now: Date = Date()) -> Int? {
        let value = raw.trimmingCharacters(in: .whitespaces)
        if let number = Double(value) {
            if number > 1e12 { return max(0, Int(number - now.timeIntervalSince1970 * 1000)) }  // epoch ms
            if number > 1e9 { return max(0, Int((number - now.timeIntervalSince1970) * 1000)) }  // epoch s
            return max(0, Int((number * 1000).rounded(.up)))  // seconds
        }
        if let ms = durationMs(value) { return ms }
        if let date = rfc3339(value) { return max(0, Int((date.timeIntervalSince(now) * 1000).rounded(.up))) }
        return nil
    }

    /// A Go-style duration (`6m0s`, `1h2m3.5s`, `12ms`, `250us`, `36s`) or Google's `"36.5s"`, in milliseconds.
    public static func durationMs(_ raw: String) -> Int? {
        let s = raw.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { return nil }
        var total = 0.0
        var index = s.startIndex
        var sawUnit = false
        while index < s.endIndex {
            var numberEnd = index
            while numberEnd < s.endIndex, s[numberEnd].isNumber || s[numberEnd] == "." { numberEnd = s.index(after: numberEnd) }
            guard numberEnd > index, let number = Double(s[index..<numberEnd]) else { return nil }
            var unitEnd = numberEnd
            while unitEnd < s.endIndex, s[unitEnd].isLetter || s[unitEnd] == "µ" { unitEnd = s.index(after: unitEnd) }
            let factor: Double
            switch s[numberEnd..<unitEnd] {
            case "h": factor = 3_600_000
            case "m": factor = 60_000
            case "s": factor = 1000
            case "ms": factor = 1
            case "us", "µs": factor = 0.001
            case "ns": factor = 0.000_001
            default: return nil
            }
            sawUnit = true
            total += number * factor
            index = unitEnd
        }
        return sawUnit ? Int(total.rounded(.up)) : nil
    }

    static func rfc3339(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)
    }

    static func httpDate(_ s: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return f.date(from: s)
    }

    private static func minOptional(_ a: Int?, _ b: Int?) -> Int? {
        switch (a, b) {
        case let (x?, y?): return min(x, y)
        default: return a ?? b
        }
    }

    private static func maxOptional(_ a: Int?, _ b: Int?) -> Int? {
        switch (a, b) {
        case let (x?, y?): return max(x, y)
        default: return a ?? b
        }
    }
}
