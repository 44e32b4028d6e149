import AsyncHTTPClient
import Foundation
import Testing
import YmeraCore
@testable import YmeraProviders

/// One HTTP client for the whole test process (never shut down: the process ends first).
let testHTTPClient: HTTPClient = HTTPModelClients.makeHTTPClient(timeouts: testTimeouts)

/// Generous limits for tests that expect success, so a busy machine cannot make them flaky.
let testTimeouts = ProviderTimeouts(
    connect: .seconds(2), firstByte: .seconds(5), idle: .seconds(5), total: .seconds(10))

let fakeKey = "sk-test-3f9c2b7d1e5a4c6b8d0e2f4a6c8e0b1d"
let testEnvironment = ["YMERA_TEST_KEY": fakeKey]

/// Directory of the captured fixtures, next to this test target's sources.
let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

func fixture(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: fixturesDirectory.appendingPathComponent(name)))
}

/// The three wire formats under test.
enum Wire: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case openAI, anthropic, gemini

    var testDescription: String { rawValue }

    var kind: ProviderKind {
        switch self {
        case .openAI: .openAICompatible
        case .anthropic: .anthropic
        case .gemini: .gemini
        }
    }

    func provider(baseURL: String, id: String? = nil) -> ProviderConfig {
        ProviderConfig(
            id: id ?? "test-\(rawValue.lowercased())", kind: kind, baseURL: baseURL, apiKeyEnv: "YMERA_TEST_KEY")
    }

    func client(environment: [String: String] = testEnvironment, timeouts: ProviderTimeouts = testTimeouts) -> any ModelClient {
        HTTPModelClients.router(httpClient: testHTTPClient, environment: environment, timeouts: timeouts)
    }

    // MARK: Wire bytes, as each provider sends them

    /// A complete stream carrying `parts`, with usage.
    func stream(_ parts: [String], finish: Bool = true, usage: Bool = true) -> [String] {
        switch self {
        case .openAI:
            var out = [#"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"# + "\n\n"]
            for p in parts {
                out.append(#"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":\#(jsonString(p))},"finish_reason":null}]}"# + "\n\n")
            }
            if finish {
                out.append(#"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"# + "\n\n")
                if usage {
                    out.append(#"data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":21,"completion_tokens":9,"total_tokens":30,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}"# + "\n\n")
                }
                out.append("data: [DONE]\n\n")
            }
            return out
        case .anthropic:
            var out = [
                "event: message_start\n" + #"data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-test","stop_reason":null,"usage":{"input_tokens":21,"cache_read_input_tokens":4,"output_tokens":1}}}"# + "\n\n",
                "event: content_block_start\n" + #"data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"# + "\n\n",
                "event: ping\n" + #"data: {"type": "ping"}"# + "\n\n",
            ]
            for p in parts {
                out.append("event: content_block_delta\n" + #"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":\#(jsonString(p))}}"# + "\n\n")
            }
            if finish {
                out.append("event: content_block_stop\n" + #"data: {"type":"content_block_stop","index":0}"# + "\n\n")
                out.append("event: message_delta\n" + #"data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}"# + "\n\n")
                out.append("event: message_stop\n" + #"data: {"type":"message_stop"}"# + "\n\n")
            }
            return out
        case .gemini:
            var out: [String] = []
            for (i, p) in parts.enumerated() {
                let last = finish && i == parts.count - 1
                let reason = last ? #","finishReason":"STOP""# : ""
                let usage = last ? #","usageMetadata":{"promptTokenCount":21,"candidatesTokenCount":9,"thoughtsTokenCount":2,"cachedContentTokenCount":4,"totalTokenCount":32}"# : ""
                out.append(#"data: {"candidates":[{"content":{"parts":[{"text":\#(jsonString(p))}],"role":"model"},"index":0\#(reason)}]\#(usage),"modelVersion":"gemini-test"}"# + "\r\n\r\n")
            }
            if finish && parts.isEmpty {
                out.append(#"data: {"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP"}]}"# + "\r\n\r\n")
            }
            return out
        }
    }

    /// The expected usage of `stream(_:)`.
    var streamUsage: TokenUsage {
        switch self {
        case .openAI: TokenUsage(inputTokens: 21, outputTokens: 7, reasoningTokens: 2, cachedInputTokens: 4)
        case .anthropic: TokenUsage(inputTokens: 25, outputTokens: 9, cachedInputTokens: 4)
        case .gemini: TokenUsage(inputTokens: 21, outputTokens: 9, reasoningTokens: 2, cachedInputTokens: 4)
        }
    }

    /// A non-streaming answer.
    func whole(_ text: String) -> String {
        switch self {
        case .openAI:
            #"{"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":\#(jsonString(text))},"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#
        case .anthropic:
            #"{"id":"msg_2","type":"message","role":"assistant","content":[{"type":"text","text":\#(jsonString(text))}],"stop_reason":"max_tokens","usage":{"input_tokens":12,"output_tokens":5}}"#
        case .gemini:
            #"{"candidates":[{"content":{"parts":[{"text":\#(jsonString(text))}],"role":"model"},"finishReason":"MAX_TOKENS"}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":5,"totalTokenCount":17}}"#
        }
    }

    /// An error event inside a 200 stream.
    var streamErrorEvent: String {
        switch self {
        case .openAI: #"data: {"error":{"message":"upstream model crashed","type":"server_error","code":"internal_error"}}"# + "\n\n"
        case .anthropic: "event: error\n" + #"data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"# + "\n\n"
        case .gemini: #"data: {"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}"# + "\r\n\r\n"
        }
    }

    /// An error body in this provider's shape.
    func errorBody(type: String, message: String, code: Int) -> String {
        switch self {
        case .openAI: #"{"error":{"message":\#(jsonString(message)),"type":\#(jsonString(type)),"param":null,"code":\#(jsonString(type))}}"#
        case .anthropic: #"{"type":"error","error":{"type":\#(jsonString(type)),"message":\#(jsonString(message))},"request_id":"req_1"}"#
        case .gemini: #"{"error":{"code":\#(code),"message":\#(jsonString(message)),"status":\#(jsonString(type))}}"#
        }
    }

    /// A context-too-long refusal as this provider words it.
    var contextTooLongBody: String {
        switch self {
        case .openAI:
            #"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#
        case .anthropic:
            #"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}"#
        case .gemini:
            #"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#
        }
    }

    /// A quota that waiting will not fix.
    var quotaBody: (status: Int, body: String) {
        switch self {
        case .openAI:
            (429, #"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#)
        case .anthropic:
            (400, #"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#)
        case .gemini:
            (429, geminiQuotaZeroBody)
        }
    }
}

let geminiQuotaZeroBody = #"""
{
  "error": {
    "code": 429,
    "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: gemini-2.5-pro\nPlease retry in 36.1s.",
    "status": "RESOURCE_EXHAUSTED",
    "details": [
      {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "quotaDimensions": {"location": "global", "model": "gemini-2.5-pro"}}]},
      {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "36s"}
    ]
  }
}
"""#

let geminiRateLimitBody = #"""
{
  "error": {
    "code": 429,
    "message": "Resource has been exhausted (e.g. check quota).",
    "status": "RESOURCE_EXHAUSTED",
    "details": [
      {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count", "quotaId": "GenerateContentPaidTierInputTokensPerModelPerMinute", "quotaValue": "1000000"}]},
      {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}
    ]
  }
}
"""#

func jsonString(_ s: String) -> String {
    String(decoding: JSONValue.string(s).encoded(), as: UTF8.self)
}

func testModel(_ provider: ProviderConfig) -> ModelInfo {
    ModelInfo(
        id: ModelID("\(provider.id)/test-model"), provider: provider.id, apiName: "test-model", displayName: "Test model",
        contextWindow: 8192, maxOutputTokens: 256, pricing: nil, speedTier: 3, qualityTier: 3, capabilities: [])
}

func testRequest(_ provider: ProviderConfig, stream: Bool = true, prompt: String = "Write a haiku about sockets.") -> ModelRequest {
    ModelRequest(
        model: testModel(provider), provider: provider,
        messages: [.system("You are terse."), .user(prompt)], maxTokens: 128, temperature: 0.2, stream: stream,
        context: RequestContext(runID: "r1", stepID: "s1", phase: .generation, attempt: 1, taskType: .code, seed: 1))
}

/// Everything a client yielded for one request.
struct Outcome: Sendable {
    var events: [ModelStreamEvent] = []
    var failure: ModelFailure?
    var otherError: String?

    var text: String {
        events.reduce(into: "") { if case .delta(let t) = $1 { $0 += t } }
    }
    var finish: FinishReason? {
        events.compactMap { if case .finished(let r) = $0 { r } else { nil } }.last
    }
    var finishedCount: Int { events.filter { if case .finished = $0 { true } else { false } }.count }
    var usage: TokenUsage? {
        events.compactMap { if case .usage(let u) = $0 { u } else { nil } }.last
    }
    var rateLimit: RateLimitSnapshot? {
        events.compactMap { if case .rateLimit(let r) = $0 { r } else { nil } }.first
    }
}

func collect(_ client: any ModelClient, _ request: ModelRequest) async -> Outcome {
    var outcome = Outcome()
    do {
        for try await event in client.stream(request) { outcome.events.append(event) }
    } catch let f as ModelFailure {
        outcome.failure = f
    } catch {
        outcome.otherError = String(describing: error)
    }
    return outcome
}

/// A port on 127.0.0.1 where nothing listens (a server bound it, then stopped).
func closedPort() async throws -> Int {
    let server = try await LoopbackServer.start { _ in .silent }
    let port = server.port
    await server.stop()
    return port
}
