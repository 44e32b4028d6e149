import Foundation
import YmeraCore

/// Google Gemini (native): `POST {base}/models/{model}:generateContent`, streaming
/// `:streamGenerateContent?alt=sse`, key in `x-goog-api-key`. Each SSE event is a whole
/// `GenerateContentResponse`; the last carries `finishReason` (and the final `usageMetadata`).
public struct GeminiFormat: WireFormat {
    public init() {}
    public var kind: ProviderKind { .gemini }

    public func prepare(_ request: ModelRequest, baseURL: String, apiKey: String?) -> PreparedRequest {
        let system = request.messages.filter { $0.role == .system }.map(\.content).joined(separator: "\n\n")
        // Tool calls are `functionCall` parts of the model's turn; results `functionResponse` parts of
        // the next user turn (matched by name). Neighbouring turns of one role are merged.
        var contents: [(role: String, parts: [JSONValue])] = []
        for m in request.messages where m.role != .system {
            let role = m.role == .assistant ? "model" : "user"
            var parts: [JSONValue] = []
            switch m.role {
            case .tool:
                let key = m.toolIsError == true ? "error" : "content"
                var response: [String: JSONValue] = ["name": .string(m.toolName ?? ""), "response": .object([key: .string(m.content)])]
                if let id = m.toolCallID, !id.hasPrefix(Self.generatedIDPrefix) { response["id"] = .string(id) }
                parts = [.object(["functionResponse": .object(response)])]
            case .assistant where !(m.toolCalls ?? []).isEmpty:
                if !m.content.isEmpty { parts.append(.object(["text": .string(m.content)])) }
                for c in m.toolCalls ?? [] {
                    var call: [String: JSONValue] = ["name": .string(c.name), "args": ToolWire.object(c.argumentsJSON) ?? .object([:])]
                    if !c.id.hasPrefix(Self.generatedIDPrefix) { call["id"] = .string(c.id) }
                    var part: [String: JSONValue] = ["functionCall": .object(call)]
                    // Thinking models sign their calls; the signature goes back beside the call.
                    if let sig = c.signature { part["thoughtSignature"] = .string(sig) }
                    parts.append(.object(part))
                }
            default:
                parts = [.object(["text": .string(m.content)])]
            }
            if let last = contents.last, last.role == role {
                for p in parts {
                    let i = contents.count - 1
                    if let t = p["text"]?.string, let prev = contents[i].parts.last?["text"]?.string {
                        contents[i].parts[contents[i].parts.count - 1] = .object(["text": .string(prev + "\n\n" + t)])
                    } else {
                        contents[i].parts.append(p)
                    }
                }
            } else {
                contents.append((role, parts))
            }
        }
        var generation: [String: JSONValue] = ["maxOutputTokens": .int(request.maxTokens)]
        if let t = request.temperature, request.model.fixedTemperature != true { generation["temperature"] = .double(t) }
        var body: [String: JSONValue] = [
            "contents": .array(contents.map { .object(["role": .string($0.role), "parts": .array($0.parts)]) }),
            "generationConfig": .object(generation),
        ]
        if !request.tools.isEmpty {
            body["tools"] = .array([.object(["functionDeclarations": .array(request.tools.map { t in
                .object([
                    "name": .string(t.name), "description": .string(t.description),
                    "parameters": ToolWire.geminiSchema(ToolWire.schema(t)),
                ])
            })])])
        }
        if !system.isEmpty { body["systemInstruction"] = .object(["parts": .array([.object(["text": .string(system)])])]) }
        var name = request.model.apiName
        if name.hasPrefix("models/") { name.removeFirst("models/".count) }
        let method = request.stream ? "streamGenerateContent?alt=sse" : "generateContent"
        var headers = jsonHeaders(request.provider.headers)
        if let apiKey { headers.append(("x-goog-api-key", apiKey)) }
        return PreparedRequest(
            method: "POST", url: "\(baseURL)/models/\(name):\(method)", headers: headers, body: JSONValue.object(body).encoded())
    }

    /// Ids we give calls that came without one (Gemini's own ids are sent back; ours are not).
    static let generatedIDPrefix = "gemini_call_"

    public func probe(baseURL: String, apiKey: String?, headers: [String: String]) -> PreparedRequest {
        var h = jsonHeaders(headers)
        if let apiKey { h.append(("x-goog-api-key", apiKey)) }
        return PreparedRequest(method: "GET", url: baseURL + "/models?pageSize=1000", headers: h, body: nil)
    }

    public func makeInterpreter(provider: String) -> any StreamInterpreter { Interpreter(provider: provider) }

    public func decodeWhole(_ json: JSONValue, provider: String) throws -> WholeResponse {
        var interpreter = Interpreter(provider: provider)
        let text = try interpreter.read(json).joined()
        let calls = try interpreter.finishToolCalls()
        guard interpreter.finish != nil else {
            if json["candidates"] == nil && json["promptFeedback"] == nil {
                throw FailureClassifier.malformed("response has no candidates", sample: "", format: kind, provider: provider)
            }
            return WholeResponse(text: text, finishReason: calls.isEmpty ? .other : .toolCalls, usage: interpreter.usage, toolCalls: calls)
        }
        return WholeResponse(text: text, finishReason: try interpreter.end(), usage: interpreter.usage, toolCalls: calls)
    }

    /// `candidatesTokenCount` excludes thinking tokens, which come as `thoughtsTokenCount`;
    /// `promptTokenCount` includes cached ones.
    static func usage(_ u: JSONValue?) -> TokenUsage? {
        guard let u, u.object != nil else { return nil }
        return TokenUsage(
            inputTokens: u["promptTokenCount"]?.int ?? 0, outputTokens: u["candidatesTokenCount"]?.int ?? 0,
            reasoningTokens: u["thoughtsTokenCount"]?.int ?? 0, cachedInputTokens: u["cachedContentTokenCount"]?.int ?? 0)
    }

    struct Interpreter: StreamInterpreter {
        let provider: String
        var finish: FinishReason?
        var usage: TokenUsage?
        var isComplete: Bool { finish != nil }
        /// Calls arrive whole, one `functionCall` part each; Gemini gives them no id (newer versions may).
        var calls: [ToolCall] = []

        mutating func consume(_ event: SSEEvent) throws -> [String] {
            if let texts = consumeFast(event) { return texts }
            return try consumeParsed(event)
        }

        /// The reference path: the whole chunk parsed into a `JSONValue`. Handles every chunk; the
        /// fast path (`GeminiFormat+FastPath.swift`) handles the common ones with the same result.
        mutating func consumeParsed(_ event: SSEEvent) throws -> [String] {
            let data = event.data.trimmingCharacters(in: .whitespaces)
            if data.isEmpty { return [] }
            guard let json = JSONValue.parse(data), json.object != nil else {
                throw FailureClassifier.malformed("undecodable chunk", sample: data, format: .gemini, provider: provider)
            }
            return try read(json)
        }

        mutating func read(_ json: JSONValue) throws -> [String] {
            if FailureClassifier.isErrorPayload(json) {
                throw FailureClassifier.classifyStreamError(json, format: .gemini, provider: provider)
            }
            if let u = GeminiFormat.usage(json["usageMetadata"]) { usage = u }
            var out: [String] = []
            if let candidate = json["candidates"]?[0] {
                for part in candidate["content"]?["parts"]?.array ?? [] where part["thought"]?.bool != true {
                    if let text = part["text"]?.string, !text.isEmpty { out.append(text) }
                    if let fc = part["functionCall"] {
                        guard fc.object != nil else {
                            throw FailureClassifier.malformed("a functionCall part is not an object", sample: ToolWire.text(fc), format: .gemini, provider: provider)
                        }
                        let args = fc["args"].map(ToolWire.text) ?? ""
                        let id = fc["id"]?.string ?? "\(GeminiFormat.generatedIDPrefix)\(calls.count + 1)_\(fc["name"]?.string ?? "")"
                        var call = try ToolWire.checked(id: id, name: fc["name"]?.string, arguments: args, format: .gemini, provider: provider)
                        call.signature = part["thoughtSignature"]?.string ?? fc["thoughtSignature"]?.string
                        calls.append(call)
                    }
                }
                if let r = candidate["finishReason"]?.string { finish = FinishReasons.gemini(r) }
            } else if json["promptFeedback"]?["blockReason"]?.string != nil {
                finish = .contentFilter  // the prompt itself was blocked: a complete, empty answer
            }
            return out
        }

        func finishToolCalls() throws -> [ToolCall] { calls }

        func end() throws -> FinishReason {
            if let finish { return finish == .stop && !calls.isEmpty ? .toolCalls : finish }
            throw FailureClassifier.truncated("no chunk carried a finishReason", format: .gemini, provider: provider)
        }
    }
}
