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
        var contents: [(role: String, text: String)] = []
        for m in request.messages where m.role != .system {
            let role = m.role == .assistant ? "model" : "user"
            if let last = contents.last, last.role == role {
                contents[contents.count - 1].text += "\n\n" + m.content
            } else {
                contents.append((role, m.content))
            }
        }
        var generation: [String: JSONValue] = ["maxOutputTokens": .int(request.maxTokens)]
        if let t = request.temperature { generation["temperature"] = .double(t) }
        var body: [String: JSONValue] = [
            "contents": .array(
                contents.map { .object(["role": .string($0.role), "parts": .array([.object(["text": .string($0.text)])])]) }),
            "generationConfig": .object(generation),
        ]
        if !system.isEmpty { body["systemInstruction"] = .object(["parts": .array([.object(["text": .string(system)])])]) }
        var name = request.model.apiName
        if name.hasPrefix("models/") { name.removeFirst("models/".count) }
        let method = request.stream ? "streamGenerateContent?alt=sse" : "generateContent"
        var headers = jsonHeaders(request.provider.headers)
        if let apiKey { headers.append(("x-goog-api-key", apiKey)) }
        return PreparedRequest(
            method: "POST", url: "\(baseURL)/models/\(name):\(method)", headers: headers, body: JSONValue.object(body).encoded())
    }

    public func probe(baseURL: String, apiKey: String?, headers: [String: String]) -> PreparedRequest {
        var h = jsonHeaders(headers)
        if let apiKey { h.append(("x-goog-api-key", apiKey)) }
        return PreparedRequest(method: "GET", url: baseURL + "/models?pageSize=1", headers: h, body: nil)
    }

    public func makeInterpreter(provider: String) -> any StreamInterpreter { Interpreter(provider: provider) }

    public func decodeWhole(_ json: JSONValue, provider: String) throws -> WholeResponse {
        var interpreter = Interpreter(provider: provider)
        let text = try interpreter.read(json).joined()
        guard let reason = interpreter.finish else {
            if json["candidates"] == nil && json["promptFeedback"] == nil {
                throw FailureClassifier.malformed("response has no candidates", sample: "", format: kind, provider: provider)
            }
            return WholeResponse(text: text, finishReason: .other, usage: interpreter.usage)
        }
        return WholeResponse(text: text, finishReason: reason, usage: interpreter.usage)
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

        mutating func consume(_ event: SSEEvent) throws -> [String] {
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
                }
                if let r = candidate["finishReason"]?.string { finish = FinishReasons.gemini(r) }
            } else if json["promptFeedback"]?["blockReason"]?.string != nil {
                finish = .contentFilter  // the prompt itself was blocked: a complete, empty answer
            }
            return out
        }

        func end() throws -> FinishReason {
            if let finish { return finish }
            throw FailureClassifier.truncated("no chunk carried a finishReason", format: .gemini, provider: provider)
        }
    }
}
