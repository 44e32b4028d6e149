import Foundation
import Testing
import YmeraCore
@testable import YmeraProviders

/// Tool calling on each wire format, against the loopback server: what the request body carries, and
/// how streamed and whole tool calls are read back.
@Suite("Tool calling on the wire", .timeLimit(.minutes(2)))
struct ToolWireTests {
    static let search = ToolSpec(
        name: "search", description: "Searches the docs.",
        inputSchemaJSON: #"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false,"properties":{"query":{"type":"string","description":"what to find"},"const":{"type":"object","additionalProperties":{"type":"string"},"properties":{"x":{"type":"integer"}}},"tags":{"type":"array","items":{"type":"object","additionalProperties":false,"properties":{"name":{"type":"string"}}}}},"required":["query"]}"#,
        server: "docs")
    static let fetch = ToolSpec(name: "fetch", description: "Fetches a page.", inputSchemaJSON: #"{"type":"object","properties":{"url":{"type":"string"}}}"#)

    /// A conversation after one model turn that called two tools (one result an error).
    func toolRequest(_ wire: Wire, baseURL: String, stream: Bool = true, assistantText: String = "") -> ModelRequest {
        var r = testRequest(wire.provider(baseURL: baseURL), stream: stream, prompt: "Find the socket docs.")
        r.tools = [Self.search, Self.fetch]
        r.messages += [
            .assistant(assistantText, toolCalls: [
                ToolCall(id: "call_1", name: "search", argumentsJSON: #"{"query":"sockets"}"#, signature: "sig-1"),
                ToolCall(id: "call_2", name: "fetch", argumentsJSON: #"{"url":"https://example.invalid/a"}"#),
            ]),
            .tool(ToolResult(callID: "call_1", name: "search", content: "3 pages about sockets")),
            .tool(ToolResult(callID: "call_2", name: "fetch", content: "404 not found", isError: true)),
        ]
        return r
    }

    func body(_ server: LoopbackServer) throws -> [String: Any] {
        try #require(server.requests.last?.json)
    }

    func object(_ text: String) -> NSDictionary? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? NSDictionary
    }

    // MARK: Requests

    @Test("OpenAI: tools, assistant tool_calls with null content, tool messages")
    func openAIRequest() async throws {
        let server = try await LoopbackServer.start { _ in .sse(Wire.openAI.stream(["ok"])) }
        defer { Task { await server.stop() } }
        let outcome = await collect(Wire.openAI.client(), toolRequest(.openAI, baseURL: server.baseURL))
        #expect(outcome.failure == nil)
        let b = try body(server)
        let tools = try #require(b["tools"] as? [[String: Any]])
        #expect(tools.count == 2)
        #expect(tools[0]["type"] as? String == "function")
        let fn = try #require(tools[0]["function"] as? [String: Any])
        #expect(fn["name"] as? String == "search" && fn["description"] as? String == "Searches the docs.")
        #expect((fn["parameters"] as? NSDictionary) == object(Self.search.inputSchemaJSON))
        let messages = try #require(b["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["system", "user", "assistant", "tool", "tool"])
        #expect(messages[2]["content"] is NSNull)
        let calls = try #require(messages[2]["tool_calls"] as? [[String: Any]])
        #expect(calls.map { $0["id"] as? String } == ["call_1", "call_2"])
        #expect(calls[0]["type"] as? String == "function")
        let f0 = try #require(calls[0]["function"] as? [String: Any])
        #expect(f0["name"] as? String == "search" && f0["arguments"] as? String == #"{"query":"sockets"}"#)
        #expect(messages[3]["tool_call_id"] as? String == "call_1" && messages[3]["content"] as? String == "3 pages about sockets")
        #expect(messages[4]["tool_call_id"] as? String == "call_2")
        #expect((messages[4]["content"] as? String)?.contains("404 not found") == true)
    }

    @Test("Anthropic: tools with input_schema, tool_use blocks, results merged into one user turn")
    func anthropicRequest() async throws {
        let server = try await LoopbackServer.start { _ in .sse(Wire.anthropic.stream(["ok"])) }
        defer { Task { await server.stop() } }
        let outcome = await collect(Wire.anthropic.client(), toolRequest(.anthropic, baseURL: server.baseURL, assistantText: "Let me look."))
        #expect(outcome.failure == nil)
        let b = try body(server)
        let tools = try #require(b["tools"] as? [[String: Any]])
        #expect(tools.map { $0["name"] as? String } == ["search", "fetch"])
        #expect(tools[0]["description"] as? String == "Searches the docs.")
        #expect((tools[0]["input_schema"] as? NSDictionary) == object(Self.search.inputSchemaJSON))
        #expect(b["system"] as? String == "You are terse.")
        let messages = try #require(b["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["user", "assistant", "user"])
        #expect(messages[0]["content"] as? String == "Find the socket docs.")
        let assistant = try #require(messages[1]["content"] as? [[String: Any]])
        #expect(assistant.map { $0["type"] as? String } == ["text", "tool_use", "tool_use"])
        #expect(assistant[0]["text"] as? String == "Let me look.")
        #expect(assistant[1]["id"] as? String == "call_1" && assistant[1]["name"] as? String == "search")
        #expect((assistant[1]["input"] as? NSDictionary) == object(#"{"query":"sockets"}"#))
        let results = try #require(messages[2]["content"] as? [[String: Any]])
        #expect(results.map { $0["type"] as? String } == ["tool_result", "tool_result"])
        #expect(results.map { $0["tool_use_id"] as? String } == ["call_1", "call_2"])
        #expect(results[0]["content"] as? String == "3 pages about sockets")
        #expect(results[0]["is_error"] == nil)
        #expect(results[1]["is_error"] as? Bool == true)
    }

    @Test("Gemini: functionDeclarations without rejected schema keys, functionCall and functionResponse parts")
    func geminiRequest() async throws {
        let server = try await LoopbackServer.start { _ in .sse(Wire.gemini.stream(["ok"])) }
        defer { Task { await server.stop() } }
        let outcome = await collect(Wire.gemini.client(), toolRequest(.gemini, baseURL: server.baseURL))
        #expect(outcome.failure == nil)
        let b = try body(server)
        let tools = try #require(b["tools"] as? [[String: Any]])
        let decls = try #require(tools.first?["functionDeclarations"] as? [[String: Any]])
        #expect(decls.map { $0["name"] as? String } == ["search", "fetch"])
        let params = try #require(decls[0]["parameters"] as? [String: Any])
        #expect(params["$schema"] == nil && params["additionalProperties"] == nil)
        #expect(params["required"] as? [String] == ["query"])
        let props = try #require(params["properties"] as? [String: Any])
        // A property named like a schema keyword stays; rejected keys go at every depth.
        let constProp = try #require(props["const"] as? [String: Any])
        #expect(constProp["additionalProperties"] == nil && constProp["properties"] != nil)
        let items = try #require((props["tags"] as? [String: Any])?["items"] as? [String: Any])
        #expect(items["additionalProperties"] == nil && items["properties"] != nil)
        let contents = try #require(b["contents"] as? [[String: Any]])
        #expect(contents.map { $0["role"] as? String } == ["user", "model", "user"])
        let modelParts = try #require(contents[1]["parts"] as? [[String: Any]])
        #expect(modelParts.count == 2)
        let call = try #require(modelParts[0]["functionCall"] as? [String: Any])
        #expect(call["name"] as? String == "search")
        #expect((call["args"] as? NSDictionary) == object(#"{"query":"sockets"}"#))
        #expect(call["id"] as? String == "call_1")
        #expect(modelParts[0]["thoughtSignature"] as? String == "sig-1", "the signature goes back beside its call")
        #expect(modelParts[1]["thoughtSignature"] == nil)
        let responses = try #require(contents[2]["parts"] as? [[String: Any]])
        let r0 = try #require(responses[0]["functionResponse"] as? [String: Any])
        #expect(r0["name"] as? String == "search" && r0["id"] as? String == "call_1")
        #expect((r0["response"] as? [String: Any])?["content"] as? String == "3 pages about sockets")
        let r1 = try #require(responses[1]["functionResponse"] as? [String: Any])
        #expect(r1["name"] as? String == "fetch")
        #expect((r1["response"] as? [String: Any])?["error"] as? String == "404 not found")
    }

    @Test("Gemini: ids we generated are not sent back; Gemini's own are")
    func geminiGeneratedIDs() async throws {
        let server = try await LoopbackServer.start { _ in .sse(Wire.gemini.stream(["ok"])) }
        defer { Task { await server.stop() } }
        var r = testRequest(Wire.gemini.provider(baseURL: server.baseURL))
        r.tools = [Self.search]
        r.messages += [
            .assistant("", toolCalls: [ToolCall(id: "gemini_call_1_search", name: "search", argumentsJSON: "{}")]),
            .tool(ToolResult(callID: "gemini_call_1_search", name: "search", content: "none")),
        ]
        _ = await collect(Wire.gemini.client(), r)
        let contents = try #require(try body(server)["contents"] as? [[String: Any]])
        let call = try #require((contents[1]["parts"] as? [[String: Any]])?.first?["functionCall"] as? [String: Any])
        #expect(call["id"] == nil && (call["args"] as? [String: Any])?.isEmpty == true)
        let response = try #require((contents[2]["parts"] as? [[String: Any]])?.first?["functionResponse"] as? [String: Any])
        #expect(response["id"] == nil && response["name"] as? String == "search")
    }

    @Test("without tools the request has no tools field", arguments: Wire.allCases)
    func noTools(wire: Wire) async throws {
        let server = try await LoopbackServer.start { _ in .sse(wire.stream(["ok"])) }
        defer { Task { await server.stop() } }
        _ = await collect(wire.client(), testRequest(wire.provider(baseURL: server.baseURL)))
        #expect(try body(server)["tools"] == nil)
    }

    // MARK: Answers

    static func sse(_ objects: [String], anthropicEvents: Bool = false) -> [String] {
        objects.map { o in
            if anthropicEvents, let type = (try? JSONSerialization.jsonObject(with: Data(o.utf8)) as? [String: Any])?["type"] as? String {
                return "event: \(type)\ndata: \(o)\n\n"
            }
            return "data: \(o)\n\n"
        }
    }

    /// A streamed answer with two tool calls whose arguments arrive in fragments (interleaved for OpenAI).
    func streamedCalls(_ wire: Wire) -> [String] {
        switch wire {
        case .openAI:
            return Self.sse([
                #"{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"search","arguments":""}}]},"finish_reason":null}]}"#,
                #"{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"que"}}]},"finish_reason":null}]}"#,
                #"{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_def","type":"function","function":{"name":"fetch","arguments":"{\"url\":"}}]},"finish_reason":null}]}"#,
                #"{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ry\": \"soc"}}]},"finish_reason":null}]}"#,
                #"{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"u\"}"}}]},"finish_reason":null}]}"#,
                #"{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"kets\"}"}}]},"finish_reason":null}]}"#,
                #"{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
                #"{"id":"c1","choices":[],"usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42}}"#,
            ]) + ["data: [DONE]\n\n"]
        case .anthropic:
            return Self.sse([
                #"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-test","stop_reason":null,"usage":{"input_tokens":30,"output_tokens":1}}}"#,
                #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
                #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Searching."}}"#,
                #"{"type":"content_block_stop","index":0}"#,
                #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"search","input":{}}}"#,
                #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
                #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"query\": \"soc"}}"#,
                #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"kets\"}"}}"#,
                #"{"type":"content_block_stop","index":1}"#,
                #"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02","name":"fetch","input":{}}}"#,
                #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"url\":\"u\"}"}}"#,
                #"{"type":"content_block_stop","index":2}"#,
                #"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":12}}"#,
                #"{"type":"message_stop"}"#,
            ], anthropicEvents: true)
        case .gemini:
            return Self.sse([
                #"{"candidates":[{"content":{"role":"model","parts":[{"text":"Searching."}]}}]}"#,
                #"{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"search","args":{"query":"sockets"}},"thoughtSignature":"sig-A"},{"functionCall":{"name":"fetch","args":{"url":"u"}}}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":12}}"#,
            ])
        }
    }

    func wholeCall(_ wire: Wire) -> String {
        switch wire {
        case .openAI:
            #"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc","type":"function","function":{"name":"search","arguments":"{\"query\": \"sockets\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":30,"completion_tokens":12}}"#
        case .anthropic:
            #"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Searching."},{"type":"tool_use","id":"toolu_01","name":"search","input":{"query":"sockets"}}],"stop_reason":"tool_use","usage":{"input_tokens":30,"output_tokens":12}}"#
        case .gemini:
            #"{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"search","args":{"query":"sockets"}}}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":12}}"#
        }
    }

    func calls(_ o: Outcome) -> [ToolCall] { o.events.compactMap { if case .toolCall(let c) = $0 { c } else { nil } } }

    @Test("a streamed answer's tool calls are assembled from their fragments", arguments: Wire.allCases)
    func streamedToolCalls(wire: Wire) async throws {
        let server = try await LoopbackServer.start { _ in .sse(self.streamedCalls(wire)) }
        defer { Task { await server.stop() } }
        var request = testRequest(wire.provider(baseURL: server.baseURL))
        request.tools = [Self.search, Self.fetch]
        let outcome = await collect(wire.client(), request)
        #expect(outcome.failure == nil, "\(String(describing: outcome.failure))")
        let got = calls(outcome)
        #expect(got.map(\.name) == ["search", "fetch"])
        #expect(got.map(\.argumentsJSON) == [#"{"query":"sockets"}"#, #"{"url":"u"}"#])
        switch wire {
        case .openAI: #expect(got.map(\.id) == ["call_abc", "call_def"])
        case .anthropic: #expect(got.map(\.id) == ["toolu_01", "toolu_02"])
        case .gemini:
            #expect(Set(got.map(\.id)).count == 2 && got.allSatisfy { !$0.id.isEmpty })
            #expect(got.map(\.signature) == ["sig-A", nil])
        }
        #expect(outcome.finish == .toolCalls)
        #expect(outcome.finishedCount == 1)
        let lastCall = try #require(outcome.events.lastIndex { if case .toolCall = $0 { true } else { false } })
        let finished = try #require(outcome.events.firstIndex { if case .finished = $0 { true } else { false } })
        #expect(lastCall < finished)
        if wire != .openAI { #expect(outcome.text == "Searching.") }
    }

    @Test("a non-streamed tool call", arguments: Wire.allCases)
    func wholeToolCall(wire: Wire) async throws {
        let server = try await LoopbackServer.start { _ in .json(200, self.wholeCall(wire)) }
        defer { Task { await server.stop() } }
        var request = testRequest(wire.provider(baseURL: server.baseURL), stream: false)
        request.tools = [Self.search]
        let outcome = await collect(wire.client(), request)
        #expect(outcome.failure == nil, "\(String(describing: outcome.failure))")
        let got = calls(outcome)
        #expect(got.count == 1)
        #expect(got.first?.name == "search" && got.first?.argumentsJSON == #"{"query":"sockets"}"#)
        #expect(outcome.finish == .toolCalls)
        #expect(outcome.usage?.inputTokens == 30)
    }

    @Test("malformed tool-call JSON is a classified failure naming what was wrong", arguments: Wire.allCases)
    func malformedCall(wire: Wire) async throws {
        let chunks: [String]
        switch wire {
        case .openAI:
            chunks = Self.sse([
                #"{"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_x","type":"function","function":{"name":"search","arguments":"{\"query\": "}}]},"finish_reason":null}]}"#,
                #"{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            ]) + ["data: [DONE]\n\n"]
        case .anthropic:
            chunks = Self.sse([
                #"{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":3,"output_tokens":1}}}"#,
                #"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_01","name":"search","input":{}}}"#,
                #"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"[1, 2"}}"#,
                #"{"type":"content_block_stop","index":0}"#,
                #"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":4}}"#,
                #"{"type":"message_stop"}"#,
            ], anthropicEvents: true)
        case .gemini:
            chunks = Self.sse([#"{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"args":{"query":"x"}}}]},"finishReason":"STOP"}]}"#])
        }
        let server = try await LoopbackServer.start { _ in .sse(chunks) }
        defer { Task { await server.stop() } }
        var request = testRequest(wire.provider(baseURL: server.baseURL))
        request.tools = [Self.search]
        let outcome = await collect(wire.client(), request)
        let failure = try #require(outcome.failure)
        #expect(failure.errorClass == .malformed)
        #expect(failure.message.contains(wire == .gemini ? "no function name" : "not a JSON object"), "\(failure.message)")
        #expect(outcome.finishedCount == 0)
    }
}
