import Foundation
import YmeraCore

/// OpenAI-compatible chat completions: OpenAI, Groq, Mistral/Codestral, DeepSeek, Together,
/// OpenRouter, AI21, and local servers (llama.cpp, Ollama, vLLM, LM Studio).
///
/// `POST {base}/chat/completions` with `Authorization: Bearer KEY`. A stream is `data: {chunk}`
/// events ending `data: [DONE]`; the answer is complete only when a chunk carried a `finish_reason`.
public struct OpenAIChatFormat: WireFormat {
    public init() {}
    public var kind: ProviderKind { .openAICompatible }

    public func prepare(_ request: ModelRequest, baseURL: String, apiKey: String?) -> PreparedRequest {
        var body: [String: JSONValue] = [
            "model": .string(request.model.apiName),
            "messages": .array(request.messages.map(Self.message)),
            "stream": .bool(request.stream),
        ]
        // OpenAI's own API refuses `max_tokens` for its reasoning models; everyone else expects it.
        body[request.provider.id == "openai" ? "max_completion_tokens" : "max_tokens"] = .int(request.maxTokens)
        if let t = request.temperature, request.model.fixedTemperature != true { body["temperature"] = .double(t) }
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map { t in
                .object([
                    "type": .string("function"),
                    "function": .object([
                        "name": .string(t.name), "description": .string(t.description), "parameters": ToolWire.schema(t),
                    ]),
                ])
            })
        }
        // Mistral refuses `stream_options` (422, extra inputs not permitted) and sends usage anyway.
        if request.stream && !Self.isMistral(baseURL) { body["stream_options"] = .object(["include_usage": .bool(true)]) }
        var headers = jsonHeaders(request.provider.headers)
        if request.stream { headers.append(("accept", "text/event-stream")) }
        if let apiKey { headers.append(("authorization", "Bearer \(apiKey)")) }
        return PreparedRequest(
            method: "POST", url: baseURL + "/chat/completions", headers: headers, body: JSONValue.object(body).encoded())
    }

    /// One chat message: tool calls on an assistant message (`content` null when it has no text), a
    /// tool result as a `tool` message naming its call.
    static func message(_ m: ChatMessage) -> JSONValue {
        var o: [String: JSONValue] = ["role": .string(m.role.rawValue), "content": .string(m.content)]
        if m.role == .assistant, let calls = m.toolCalls, !calls.isEmpty {
            if m.content.isEmpty { o["content"] = .null }
            o["tool_calls"] = .array(calls.map { c in
                .object([
                    "id": .string(c.id), "type": .string("function"),
                    "function": .object(["name": .string(c.name), "arguments": .string(c.argumentsJSON)]),
                ])
            })
        }
        if m.role == .tool {
            o["tool_call_id"] = .string(m.toolCallID ?? "")
            if m.toolIsError == true { o["content"] = .string("[the tool reported an error] " + m.content) }
        }
        return .object(o)
    }

    static func isMistral(_ baseURL: String) -> Bool {
        guard let host = URLComponents(string: baseURL)?.host?.lowercased() else { return false }
        return host == "mistral.ai" || host.hasSuffix(".mistral.ai")
    }

    public func probe(baseURL: String, apiKey: String?, headers: [String: String]) -> PreparedRequest {
        var h = jsonHeaders(headers)
        if let apiKey { h.append(("authorization", "Bearer \(apiKey)")) }
        return PreparedRequest(method: "GET", url: baseURL + "/models", headers: h, body: nil)
    }

    public func makeInterpreter(provider: String) -> any StreamInterpreter { Interpreter(provider: provider) }

    public func decodeWhole(_ json: JSONValue, provider: String) throws -> WholeResponse {
        guard let choice = json["choices"]?[0] else {
            throw FailureClassifier.malformed("response has no choices", sample: "", format: kind, provider: provider)
        }
        let text = contentText(choice["message"]?["content"]) ?? contentText(choice["text"]) ?? ""
        var reason = choice["finish_reason"]?.string.map(FinishReasons.openAI) ?? .other
        var calls: [ToolCall] = []
        for (i, call) in (choice["message"]?["tool_calls"]?.array ?? []).enumerated() {
            let f = call["function"]
            calls.append(try ToolWire.checked(
                id: call["id"]?.string ?? "call_\(i)", name: f?["name"]?.string, arguments: Self.argumentsText(f?["arguments"]),
                format: kind, provider: provider))
        }
        if !calls.isEmpty && reason == .stop { reason = .toolCalls }
        return WholeResponse(text: text, finishReason: reason, usage: Self.usage(json["usage"]), toolCalls: calls)
    }

    /// Usage from an OpenAI-style `usage` object. `completion_tokens` includes reasoning tokens
    /// there, so they are split out to avoid counting them twice.
    static func usage(_ u: JSONValue?) -> TokenUsage? {
        guard let u, u.object != nil else { return nil }
        let prompt = u["prompt_tokens"]?.int ?? u["input_tokens"]?.int ?? 0
        let completion = u["completion_tokens"]?.int ?? u["output_tokens"]?.int ?? 0
        let reasoning = u["completion_tokens_details"]?["reasoning_tokens"]?.int ?? 0
        let cached =
            u["prompt_tokens_details"]?["cached_tokens"]?.int ?? u["prompt_cache_hit_tokens"]?.int  // DeepSeek
            ?? 0
        return TokenUsage(
            inputTokens: prompt, outputTokens: max(0, completion - reasoning), reasoningTokens: reasoning,
            cachedInputTokens: cached, estimated: false, reportedCostUSD: u["cost"]?.double)
    }

    /// Arguments are a JSON string; a few servers send the object itself.
    static func argumentsText(_ v: JSONValue?) -> String {
        guard let v else { return "" }
        if let s = v.string { return s }
        return v.object != nil ? ToolWire.text(v) : (v.isNull ? "" : ToolWire.text(v))
    }

    struct Interpreter: StreamInterpreter {
        let provider: String
        var finish: FinishReason?
        /// Streamed tool calls by `index`: the id and name come once, the arguments in fragments.
        var calls: [Int: (id: String?, name: String?, arguments: String)] = [:]
        var sawDone = false
        var usage: TokenUsage?
        var isComplete: Bool { sawDone }

        mutating func consume(_ event: SSEEvent) throws -> [String] {
            if let texts = consumeFast(event) { return texts }
            return try consumeParsed(event)
        }

        /// The reference path: the whole chunk parsed into a `JSONValue`. Handles every chunk; the
        /// fast path (`OpenAIChatFormat+FastPath.swift`) handles the common ones with the same result.
        mutating func consumeParsed(_ event: SSEEvent) throws -> [String] {
            let data = event.data.trimmingCharacters(in: .whitespaces)
            if data.isEmpty { return [] }
            if data == "[DONE]" {
                sawDone = true
                return []
            }
            guard let json = JSONValue.parse(data), json.object != nil else {
                throw FailureClassifier.malformed("undecodable chunk", sample: data, format: .openAICompatible, provider: provider)
            }
            if event.event == "error" || FailureClassifier.isErrorPayload(json) {
                throw FailureClassifier.classifyStreamError(json, format: .openAICompatible, provider: provider)
            }
            if let u = Self.usageIn(json) { usage = u }
            var out: [String] = []
            for choice in json["choices"]?.array ?? [] where (choice["index"]?.int ?? 0) == 0 {
                if let text = contentText(choice["delta"]?["content"]), !text.isEmpty { out.append(text) }
                for (n, call) in (choice["delta"]?["tool_calls"]?.array ?? []).enumerated() {
                    let index = call["index"]?.int ?? n
                    var entry = calls[index] ?? (nil, nil, "")
                    if let id = call["id"]?.string, !id.isEmpty { entry.id = id }
                    if let name = call["function"]?["name"]?.string, !name.isEmpty, entry.name == nil { entry.name = name }
                    entry.arguments += OpenAIChatFormat.argumentsText(call["function"]?["arguments"])
                    calls[index] = entry
                }
                if let reason = choice["finish_reason"]?.string { finish = FinishReasons.openAI(reason) }
            }
            return out
        }

        static func usageIn(_ json: JSONValue) -> TokenUsage? {
            OpenAIChatFormat.usage(json["usage"]) ?? OpenAIChatFormat.usage(json["x_groq"]?["usage"])
        }

        func finishToolCalls() throws -> [ToolCall] {
            try calls.keys.sorted().map { i in
                let c = calls[i]!
                return try ToolWire.checked(
                    id: c.id ?? "call_\(i)", name: c.name, arguments: c.arguments, format: .openAICompatible, provider: provider)
            }
        }

        func end() throws -> FinishReason {
            if let finish { return finish == .stop && !calls.isEmpty ? .toolCalls : finish }
            throw FailureClassifier.truncated(
                sawDone ? "[DONE] arrived but no chunk carried a finish_reason" : "no [DONE] and no finish_reason",
                format: .openAICompatible, provider: provider)
        }
    }
}
