import Foundation
import YmeraCore

/// Anthropic Messages: `POST {base}/messages` with `x-api-key` and `anthropic-version`.
///
/// Stream: `message_start` (input usage) → `content_block_start` → `content_block_delta`
/// (`text_delta`) → `content_block_stop` → `message_delta` (`stop_reason`, cumulative output
/// tokens) → `message_stop`. `ping` may come any time; `error` may come mid-stream.
public struct AnthropicMessagesFormat: WireFormat {
    public static let apiVersion = "2023-06-01"
    public init() {}
    public var kind: ProviderKind { .anthropic }

    public func prepare(_ request: ModelRequest, baseURL: String, apiKey: String?) -> PreparedRequest {
        let system = request.messages.filter { $0.role == .system }.map(\.content).joined(separator: "\n\n")
        // The API wants alternating user/assistant turns starting with a user turn: merge neighbours.
        // Tool calls are `tool_use` blocks of the assistant's turn; results are `tool_result` blocks of
        // the next user turn (consecutive results share one turn).
        var turns: [(role: String, parts: [Part])] = []
        for m in request.messages where m.role != .system {
            let role = m.role == .assistant ? "assistant" : "user"
            var parts: [Part] = []
            switch m.role {
            case .tool:
                var block: [String: JSONValue] = [
                    "type": .string("tool_result"), "tool_use_id": .string(m.toolCallID ?? ""), "content": .string(m.content),
                ]
                if m.toolIsError == true { block["is_error"] = .bool(true) }
                parts = [.block(.object(block))]
            case .assistant where !(m.toolCalls ?? []).isEmpty:
                if !m.content.isEmpty { parts.append(.text(m.content)) }
                for c in m.toolCalls ?? [] {
                    parts.append(.block(.object([
                        "type": .string("tool_use"), "id": .string(c.id), "name": .string(c.name),
                        "input": ToolWire.object(c.argumentsJSON) ?? .object([:]),
                    ])))
                }
            default:
                parts = [.text(m.content)]
            }
            if let last = turns.last, last.role == role {
                for p in parts {
                    if case .text(let t) = p, case .text(let prev)? = turns[turns.count - 1].parts.last {
                        turns[turns.count - 1].parts[turns[turns.count - 1].parts.count - 1] = .text(prev + "\n\n" + t)
                    } else {
                        turns[turns.count - 1].parts.append(p)
                    }
                }
            } else {
                turns.append((role, parts))
            }
        }
        if turns.first?.role != "user" { turns.insert(("user", [.text("Continue.")]), at: 0) }
        var body: [String: JSONValue] = [
            "model": .string(request.model.apiName),
            "max_tokens": .int(request.maxTokens),
            "messages": .array(turns.map { .object(["role": .string($0.role), "content": Self.content($0.parts)]) }),
            "stream": .bool(request.stream),
        ]
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map { t in
                .object(["name": .string(t.name), "description": .string(t.description), "input_schema": ToolWire.schema(t)])
            })
        }
        if !system.isEmpty { body["system"] = .string(system) }
        if let t = request.temperature, request.model.fixedTemperature != true { body["temperature"] = .double(min(1, max(0, t))) }
        var headers = jsonHeaders(request.provider.headers)
        headers.append(("anthropic-version", Self.apiVersion))
        if request.stream { headers.append(("accept", "text/event-stream")) }
        if let apiKey { headers.append(("x-api-key", apiKey)) }
        return PreparedRequest(method: "POST", url: baseURL + "/messages", headers: headers, body: JSONValue.object(body).encoded())
    }

    enum Part {
        case text(String)
        case block(JSONValue)
    }

    /// A turn's content: a plain string when it is only text, else content blocks (empty text left out).
    static func content(_ parts: [Part]) -> JSONValue {
        if parts.count == 1, case .text(let t) = parts[0] { return .string(t) }
        return .array(parts.compactMap { p in
            switch p {
            case .text(let t): t.isEmpty ? nil : .object(["type": .string("text"), "text": .string(t)])
            case .block(let b): b
            }
        })
    }

    public func probe(baseURL: String, apiKey: String?, headers: [String: String]) -> PreparedRequest {
        var h = jsonHeaders(headers)
        h.append(("anthropic-version", Self.apiVersion))
        if let apiKey { h.append(("x-api-key", apiKey)) }
        return PreparedRequest(method: "GET", url: baseURL + "/models?limit=1000", headers: h, body: nil)
    }

    public func makeInterpreter(provider: String) -> any StreamInterpreter { Interpreter(provider: provider) }

    public func decodeWhole(_ json: JSONValue, provider: String) throws -> WholeResponse {
        guard let blocks = json["content"]?.array else {
            throw FailureClassifier.malformed("response has no content", sample: "", format: kind, provider: provider)
        }
        let text = blocks.filter { $0["type"]?.string == "text" }.compactMap { $0["text"]?.string }.joined()
        let reason = json["stop_reason"]?.string.map(FinishReasons.anthropic) ?? .other
        var usage = TokenUsage()
        Self.apply(json["usage"], to: &usage)
        let calls = try blocks.filter { $0["type"]?.string == "tool_use" }.map { b in
            try ToolWire.checked(
                id: b["id"]?.string ?? "", name: b["name"]?.string, arguments: b["input"].map(ToolWire.text) ?? "",
                format: kind, provider: provider)
        }
        return WholeResponse(text: text, finishReason: reason, usage: json["usage"] == nil ? nil : usage, toolCalls: calls)
    }

    /// Anthropic's `input_tokens` excludes cache reads and writes; the record counts all input,
    /// with cache reads as cached input.
    @discardableResult
    static func apply(_ u: JSONValue?, to usage: inout TokenUsage) -> Bool {
        guard let u, u.object != nil else { return false }
        let cacheRead = u["cache_read_input_tokens"]?.int
        let cacheWrite = u["cache_creation_input_tokens"]?.int
        if let input = u["input_tokens"]?.int {
            usage.inputTokens = input + (cacheRead ?? 0) + (cacheWrite ?? 0)
            usage.cachedInputTokens = cacheRead ?? 0
        }
        if let output = u["output_tokens"]?.int { usage.outputTokens = output }
        return u["input_tokens"] != nil || u["output_tokens"] != nil
    }

    struct Interpreter: StreamInterpreter {
        let provider: String
        var stopReason: FinishReason?
        var sawStop = false
        var sawUsage = false
        var current = TokenUsage()
        var usage: TokenUsage? { sawUsage ? current : nil }
        var isComplete: Bool { sawStop }
        /// `tool_use` blocks by content-block index: id and name at the start, input as JSON fragments.
        var blocks: [Int: (id: String, name: String?, json: String, started: String)] = [:]

        mutating func consume(_ event: SSEEvent) throws -> [String] {
            if let texts = consumeFast(event) { return texts }
            return try consumeParsed(event)
        }

        /// The reference path: the whole event parsed into a `JSONValue`. Handles every event; the
        /// fast path (`AnthropicMessagesFormat+FastPath.swift`) handles the common ones with the same result.
        mutating func consumeParsed(_ event: SSEEvent) throws -> [String] {
            let data = event.data.trimmingCharacters(in: .whitespaces)
            if data.isEmpty { return [] }
            guard let json = JSONValue.parse(data), json.object != nil else {
                throw FailureClassifier.malformed("undecodable event", sample: data, format: .anthropic, provider: provider)
            }
            let type = json["type"]?.string ?? event.event ?? ""
            if type == "error" || event.event == "error" || json["error"] != nil {
                throw FailureClassifier.classifyStreamError(json, format: .anthropic, provider: provider)
            }
            switch type {
            case "message_start":
                if AnthropicMessagesFormat.apply(json["message"]?["usage"], to: &current) { sawUsage = true }
            case "content_block_start":
                if let block = json["content_block"], block["type"]?.string == "tool_use" {
                    let started = block["input"].flatMap { $0.object?.isEmpty == false ? ToolWire.text($0) : nil } ?? ""
                    blocks[json["index"]?.int ?? blocks.count] = (block["id"]?.string ?? "", block["name"]?.string, "", started)
                }
            case "content_block_delta":
                if json["delta"]?["type"]?.string == "text_delta", let text = json["delta"]?["text"]?.string, !text.isEmpty {
                    return [text]
                }
                if json["delta"]?["type"]?.string == "input_json_delta" {
                    let index = json["index"]?.int ?? -1
                    guard blocks[index] != nil else {
                        throw FailureClassifier.malformed(
                            "input_json_delta for content block \(index), which is not a tool_use block", sample: data,
                            format: .anthropic, provider: provider)
                    }
                    blocks[index]!.json += json["delta"]?["partial_json"]?.string ?? ""
                }
            case "message_delta":
                if let r = json["delta"]?["stop_reason"]?.string { stopReason = FinishReasons.anthropic(r) }
                if AnthropicMessagesFormat.apply(json["usage"], to: &current) { sawUsage = true }
            case "message_stop":
                sawStop = true
            default:
                break  // ping, content_block_start/stop, and event types added later
            }
            return []
        }

        func finishToolCalls() throws -> [ToolCall] {
            try blocks.keys.sorted().map { i in
                let b = blocks[i]!
                return try ToolWire.checked(
                    id: b.id.isEmpty ? "toolu_\(i)" : b.id, name: b.name, arguments: b.json.isEmpty ? b.started : b.json,
                    format: .anthropic, provider: provider)
            }
        }

        func end() throws -> FinishReason {
            if sawStop { return stopReason ?? .other }
            throw FailureClassifier.truncated(
                stopReason == nil ? "no message_stop" : "message_delta arrived but no message_stop",
                format: .anthropic, provider: provider)
        }
    }
}
