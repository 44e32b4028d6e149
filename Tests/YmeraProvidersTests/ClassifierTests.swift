import Foundation
import NIOHTTP1
import Testing
import YmeraCore
@testable import YmeraProviders

private func headers(_ pairs: [(String, String)]) -> HTTPHeaders { HTTPHeaders(pairs) }

@Suite("Failure classification (no network)")
struct ClassifierTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func classify(_ wire: Wire, _ status: Int, _ body: String, _ h: [(String, String)] = []) -> ModelFailure {
        FailureClassifier.classifyResponse(
            status: status, headers: headers(h), body: body, format: wire.kind, provider: "p", now: now)
    }

    @Test("401 and 403 are auth for every format", arguments: Wire.allCases)
    func auth(wire: Wire) {
        #expect(classify(wire, 401, wire.errorBody(type: "authentication_error", message: "invalid x-api-key", code: 401)).errorClass == .auth)
        #expect(classify(wire, 403, wire.errorBody(type: "PERMISSION_DENIED", message: "denied", code: 403)).errorClass == .auth)
    }

    @Test("429 is a rate limit and carries retry-after", arguments: Wire.allCases)
    func rateLimit(wire: Wire) {
        let f = classify(wire, 429, wire.errorBody(type: "rate_limit_error", message: "slow down", code: 429), [("retry-after", "7")])
        #expect(f.errorClass == .rateLimit)
        #expect(f.retryAfterMs == 7000)
        #expect(f.httpStatus == 429)
    }

    @Test("a quota that waiting will not fix is quota_exhausted", arguments: Wire.allCases)
    func quota(wire: Wire) {
        let (status, body) = wire.quotaBody
        #expect(classify(wire, status, body).errorClass == .quotaExhausted)
    }

    @Test("Gemini: limit 0 is quota_exhausted with RetryInfo's delay; an ordinary quota is a rate limit")
    func geminiQuota() {
        let zero = classify(.gemini, 429, geminiQuotaZeroBody)
        #expect(zero.errorClass == .quotaExhausted)
        #expect(zero.retryAfterMs == 36_000)
        let ordinary = classify(.gemini, 429, geminiRateLimitBody)
        #expect(ordinary.errorClass == .rateLimit)
        #expect(ordinary.retryAfterMs == 12_000)
        // QuotaFailure with quotaValue "0" and no text hint.
        let structured = #"{"error":{"code":429,"message":"Quota exceeded.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"x","quotaValue":"0"}]}]}}"#
        #expect(classify(.gemini, 429, structured).errorClass == .quotaExhausted)
        // The array-wrapped form some Google front ends send.
        #expect(classify(.gemini, 429, "[" + geminiQuotaZeroBody + "]").errorClass == .quotaExhausted)
    }

    @Test("503 and Anthropic's 529 are overload, not rate limits", arguments: Wire.allCases)
    func overload(wire: Wire) {
        #expect(classify(wire, 503, wire.errorBody(type: "UNAVAILABLE", message: "The model is overloaded.", code: 503)).errorClass == .overloaded)
        #expect(classify(wire, 529, wire.errorBody(type: "overloaded_error", message: "Overloaded", code: 529)).errorClass == .overloaded)
    }

    @Test("other 5xx are server errors", arguments: Wire.allCases)
    func serverError(wire: Wire) {
        for status in [500, 502, 504] {
            #expect(classify(wire, status, wire.errorBody(type: "api_error", message: "Internal error", code: status)).errorClass == .serverError)
        }
        #expect(classify(wire, 502, "<html>Bad Gateway</html>").errorClass == .serverError)
    }

    @Test("400 is a bad request; a prompt over the window is context_too_long", arguments: Wire.allCases)
    func badRequestAndContext(wire: Wire) {
        #expect(classify(wire, 400, wire.errorBody(type: "invalid_request_error", message: "temperature: must be <= 2", code: 400)).errorClass == .badRequest)
        #expect(classify(wire, 404, wire.errorBody(type: "not_found_error", message: "model: nope", code: 404)).errorClass == .modelNotFound)
        #expect(classify(wire, 404, wire.errorBody(type: "not_found_error", message: "Not Found", code: 404)).errorClass == .badRequest)
        #expect(classify(wire, 400, wire.contextTooLongBody).errorClass == .contextTooLong)
    }

    @Test("llama.cpp's exceed_context_size_error and vLLM's wording are context_too_long")
    func localContext() {
        let llama = #"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":4096}}"#
        #expect(classify(.openAI, 400, llama).errorClass == .contextTooLong)
        let vllm = #"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.","type":"BadRequestError","param":null,"code":400}"#
        #expect(classify(.openAI, 400, vllm).errorClass == .contextTooLong)
    }

    @Test("Mistral's 422 with nested validation details is a bad request that says what was refused")
    func mistralValidation() {
        let body = #"{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","stream_options","include_usage"],"msg":"Extra inputs are not permitted","input":true}]},"type":"invalid_request_error","param":null,"code":null}"#
        let f = classify(.openAI, 422, body)
        #expect(f.errorClass == .badRequest)
        #expect(f.message.contains("Extra inputs are not permitted"))
    }

    @Test("rate-limit reset headers supply the wait when retry-after is missing")
    func resetHeaders() {
        let f = classify(
            .openAI, 429, #"{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}"#,
            [("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "6m0s"), ("x-ratelimit-remaining-requests", "10"), ("x-ratelimit-reset-requests", "12ms")])
        #expect(f.errorClass == .rateLimit)
        #expect(f.retryAfterMs == 360_000)
        let anthropic = classify(
            .anthropic, 429, Wire.anthropic.errorBody(type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit", code: 429),
            [("anthropic-ratelimit-requests-remaining", "0"), ("anthropic-ratelimit-requests-reset", "2027-01-15T08:00:30Z")])
        #expect(anthropic.errorClass == .rateLimit)
        #expect(anthropic.retryAfterMs == 30_000)
    }

    @Test("server text is sanitized: no escape sequences, bounded")
    func sanitized() {
        let f = classify(.openAI, 400, #"{"error":{"message":"bad \u001b[31mred\u001b[0m\nline","type":"invalid_request_error"}}"#)
        #expect(!f.message.contains("\u{1B}"))
        #expect(!f.message.contains("\n"))
        let long = classify(.openAI, 500, String(repeating: "x", count: 5000))
        #expect(long.message.count < 700)
    }

    @Test("errors inside a 200 stream are stream errors")
    func streamErrors() throws {
        for payload in [
            #"{"error":{"message":"boom","type":"server_error"}}"#,
            #"{"object":"error","message":"vLLM engine died","type":"InternalServerError","code":500}"#,
            #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ] {
            let json = try #require(JSONValue.parse(payload))
            #expect(FailureClassifier.isErrorPayload(json))
            #expect(FailureClassifier.classifyStreamError(json, format: .openAICompatible, provider: "p").errorClass == .streamError)
        }
    }

    @Test("keys are redacted from failure text")
    func redaction() {
        let f = ModelFailure(.auth, "Incorrect API key provided: \(fakeKey).")
        let r = FailureClassifier.redact(f, secrets: [fakeKey])
        #expect(!r.message.contains(fakeKey))
        #expect(r.message.contains("[redacted]"))
    }
}

@Suite("Rate-limit headers")
struct RateLimitHeaderTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("Go-style durations and plain seconds", arguments: [
        ("6m0s", 360_000), ("12ms", 12), ("1.5s", 1500), ("1h2m3s", 3_723_000), ("36s", 36_000), ("250us", 1), ("0s", 0),
    ])
    func durations(raw: String, ms: Int) {
        #expect(RateLimitHeaders.durationMs(raw) == ms)
    }

    @Test("junk is not a duration")
    func junk() {
        #expect(RateLimitHeaders.durationMs("soon") == nil)
        #expect(RateLimitHeaders.durationMs("") == nil)
        #expect(RateLimitHeaders.durationMs("5") == nil)
    }

    @Test("OpenAI/Groq headers become a snapshot")
    func openAI() throws {
        let h = headers([
            ("x-ratelimit-limit-requests", "14400"), ("x-ratelimit-remaining-requests", "14370"),
            ("x-ratelimit-reset-requests", "2m59.56s"), ("x-ratelimit-limit-tokens", "18000"),
            ("x-ratelimit-remaining-tokens", "17997"), ("x-ratelimit-reset-tokens", "7.66s"),
        ])
        let s = try #require(RateLimitHeaders.snapshot(provider: "groq", headers: h, now: now))
        #expect(s == RateLimitSnapshot(
            provider: "groq", limitRequests: 14400, remainingRequests: 14370, limitTokens: 18000, remainingTokens: 17997,
            resetRequestsMs: 179_560, resetTokensMs: 7660))
    }

    @Test("Anthropic headers (RFC 3339 resets) become a snapshot")
    func anthropic() throws {
        let h = headers([
            ("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-remaining", "49"),
            ("anthropic-ratelimit-requests-reset", "2027-01-15T08:00:01Z"),
            ("anthropic-ratelimit-input-tokens-limit", "40000"), ("anthropic-ratelimit-input-tokens-remaining", "39000"),
            ("anthropic-ratelimit-output-tokens-limit", "8000"), ("anthropic-ratelimit-output-tokens-remaining", "7000"),
            ("anthropic-ratelimit-tokens-reset", "2027-01-15T08:00:06.5Z"),
        ])
        let s = try #require(RateLimitHeaders.snapshot(provider: "anthropic", headers: h, now: now))
        #expect(s.limitRequests == 50)
        #expect(s.remainingRequests == 49)
        #expect(s.resetRequestsMs == 1000)
        #expect(s.limitTokens == 8000)
        #expect(s.remainingTokens == 7000)
        #expect(s.resetTokensMs == 6500)
    }

    @Test("OpenRouter's epoch-millisecond reset")
    func openRouter() throws {
        let h = headers([("X-RateLimit-Limit", "20"), ("X-RateLimit-Remaining", "3"), ("X-RateLimit-Reset", "1800000004000")])
        let s = try #require(RateLimitHeaders.snapshot(provider: "openrouter", headers: h, now: now))
        #expect(s.remainingRequests == 3)
        #expect(s.resetRequestsMs == 4000)
    }

    @Test("no rate-limit header, no snapshot; retry-after as seconds, milliseconds and HTTP date")
    func retryAfter() {
        #expect(RateLimitHeaders.snapshot(provider: "x", headers: headers([("content-type", "text/plain")]), now: now) == nil)
        #expect(RateLimitHeaders.retryAfterMs(headers: headers([("retry-after", "2")]), now: now) == 2000)
        #expect(RateLimitHeaders.retryAfterMs(headers: headers([("retry-after-ms", "150"), ("retry-after", "1")]), now: now) == 150)
        #expect(RateLimitHeaders.retryAfterMs(headers: headers([("retry-after", "Fri, 15 Jan 2027 08:00:10 GMT")]), now: now) == 10_000)
    }
}
