import Foundation
import YmeraCore

/// An HTTP request ready to send, independent of the HTTP library.
public struct PreparedRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]?

    public init(method: String, url: String, headers: [(String, String)], body: [UInt8]?) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// A whole (non-streaming) answer.
public struct WholeResponse: Sendable, Hashable {
    public var text: String
    public var finishReason: FinishReason
    public var usage: TokenUsage?
    /// Tools the model asked to call, in order.
    public var toolCalls: [ToolCall] = []
}

/// Interprets one request's server-sent events. Created per request; not shared.
public protocol StreamInterpreter {
    /// Handles one event; returns the answer text it carries (possibly empty).
    /// Throws a `ModelFailure` for an error event or an undecodable chunk.
    mutating func consume(_ event: SSEEvent) throws -> [String]
    /// True once the terminal event arrived: nothing more is needed from the connection.
    var isComplete: Bool { get }
    /// Usage reported so far (may be partial: Anthropic sends input first and output at the end).
    var usage: TokenUsage? { get }
    /// The stream ended: the finish reason, or a `.truncated` failure when the terminal event never came.
    func end() throws -> FinishReason
    /// The tool calls the stream carried, assembled from their fragments (after `end`); a malformed
    /// call is a `.malformed` failure.
    func finishToolCalls() throws -> [ToolCall]
}

/// One provider wire format: how to build a request and read the answer.
public protocol WireFormat: Sendable {
    var kind: ProviderKind { get }
    /// The request for a model call. `baseURL` has no trailing slash.
    func prepare(_ request: ModelRequest, baseURL: String, apiKey: String?) -> PreparedRequest
    /// A cheap authenticated request to check a provider is reachable (`ymera doctor`).
    func probe(baseURL: String, apiKey: String?, headers: [String: String]) -> PreparedRequest
    func makeInterpreter(provider: String) -> any StreamInterpreter
    /// Reads a non-streaming body (already checked not to be an error payload).
    func decodeWhole(_ json: JSONValue, provider: String) throws -> WholeResponse
}

extension WireFormat {
    func jsonHeaders(_ extra: [String: String]) -> [(String, String)] {
        var h: [(String, String)] = [("content-type", "application/json"), ("user-agent", "ymera")]
        for (k, v) in extra.sorted(by: { $0.key < $1.key }) { h.append((k, v)) }
        return h
    }
}

/// Maps a finish reason string from any of the three formats.
enum FinishReasons {
    static func openAI(_ s: String) -> FinishReason {
        switch s {
        case "stop", "eos", "end_turn", "stop_sequence": .stop
        case "length", "max_tokens", "model_length": .length
        case "content_filter", "safety": .contentFilter
        case "tool_calls", "function_call", "tool_use": .toolCalls
        default: .other
        }
    }

    static func anthropic(_ s: String) -> FinishReason {
        switch s {
        case "end_turn", "stop_sequence": .stop
        case "max_tokens", "model_context_window_exceeded": .length
        case "tool_use": .toolCalls
        case "refusal": .contentFilter
        default: .other
        }
    }

    static func gemini(_ s: String) -> FinishReason {
        switch s {
        case "STOP": .stop
        case "MAX_TOKENS": .length
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE": .contentFilter
        case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL": .toolCalls
        default: .other
        }
    }
}

/// Joins the text of a content value that is either a string or an array of typed parts
/// (`[{"type":"text","text":...}]`, as Mistral's reasoning models send).
func contentText(_ value: JSONValue?) -> String? {
    guard let value else { return nil }
    if let s = value.string { return s }
    if let parts = value.array {
        let texts = parts.compactMap { part -> String? in
            let type = part["type"]?.string ?? "text"
            return type == "text" ? part["text"]?.string : nil
        }
        return texts.isEmpty ? nil : texts.joined()
    }
    return nil
}
