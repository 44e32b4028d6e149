import Foundation
import PropertyBased
import Testing
import YmeraCore
@testable import YmeraProviders

/// Runs SSE bytes through the decoder and a format's interpreter, as the client does.
func interpret(_ format: any WireFormat, _ bytes: [UInt8], cuts: [Int] = []) -> (text: String, result: Result<FinishReason, ModelFailure>, usage: TokenUsage?) {
    var interpreter = format.makeInterpreter(provider: "p")
    var text = ""
    do {
        for event in decode(bytes, cuts: cuts) where !interpreter.isComplete {
            text += try interpreter.consume(event).joined()
        }
        return (text, .success(try interpreter.end()), interpreter.usage)
    } catch let f as ModelFailure {
        return (text, .failure(f), interpreter.usage)
    } catch {
        return (text, .failure(ModelFailure(.unknown, "\(error)")), interpreter.usage)
    }
}

@Suite("Wire interpreters (no network)")
struct WireInterpreterTests {
    @Test("a captured stream gives the same text and outcome however it is split")
    func splitFixtures() async throws {
        for name in ["llama-server_qwen_stream_usage.sse", "llama-cpp-python_interrupted.sse"] {
            let bytes = try fixture(name)
            let whole = interpret(OpenAIChatFormat(), bytes)
            await propertyCheck(count: 40, input: Gen.int(in: 1...300).array(of: 1...30)) { cuts in
                let split = interpret(OpenAIChatFormat(), bytes, cuts: cuts)
                #expect(split.text == whole.text)
                #expect(split.usage == whole.usage)
                switch (split.result, whole.result) {
                case (.success(let a), .success(let b)): #expect(a == b)
                case (.failure(let a), .failure(let b)): #expect(a.errorClass == b.errorClass)
                default: Issue.record("outcome changed with the split")
                }
            }
        }
    }

    @Test("Groq's x_groq usage, OpenRouter's cost, DeepSeek's cache hits, reasoning split out of completion tokens")
    func openAIUsageVariants() {
        let groq = #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"usage":{"prompt_tokens":10,"completion_tokens":3}}}"# + "\n\ndata: [DONE]\n\n"
        #expect(interpret(OpenAIChatFormat(), Array(groq.utf8)).usage == TokenUsage(inputTokens: 10, outputTokens: 3))
        let router = #"data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":30,"completion_tokens_details":{"reasoning_tokens":20},"cost":0.00042}}"# + "\n\ndata: [DONE]\n\n"
        #expect(interpret(OpenAIChatFormat(), Array(router.utf8)).usage == TokenUsage(inputTokens: 10, outputTokens: 10, reasoningTokens: 20, reportedCostUSD: 0.00042))
        let deepseek = #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":5,"prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":36}}"# + "\n\ndata: [DONE]\n\n"
        #expect(interpret(OpenAIChatFormat(), Array(deepseek.utf8)).usage == TokenUsage(inputTokens: 100, outputTokens: 5, cachedInputTokens: 64))
    }

    @Test("Mistral's typed content parts; reasoning_content is not answer text; comments are skipped")
    func openAIContentShapes() throws {
        let s = ": OPENROUTER PROCESSING\n\n"
            + #"data: {"choices":[{"index":0,"delta":{"reasoning_content":"thinking..."}}]}"# + "\n\n"
            + #"data: {"choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":"hm"},{"type":"text","text":"Answer"}]}}]}"# + "\n\n"
            + #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}"# + "\n\ndata: [DONE]\n\n"
        let r = interpret(OpenAIChatFormat(), Array(s.utf8))
        #expect(r.text == "Answer")
        #expect(try r.result.get() == .length)
    }

    @Test("OpenAI: finish_reason without [DONE] is complete; neither is truncated")
    func openAIEnds() throws {
        let finished = #"data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}"# + "\n\n"
        #expect(try interpret(OpenAIChatFormat(), Array(finished.utf8)).result.get() == .stop)
        let cut = #"data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}"# + "\n\n"
        if case .failure(let f) = interpret(OpenAIChatFormat(), Array(cut.utf8)).result {
            #expect(f.errorClass == .truncated)
        } else {
            Issue.record("a stream without a finish must be truncated")
        }
    }

    @Test("Anthropic: thinking deltas are not answer text; usage adds cache reads and writes; stop reasons map")
    func anthropic() throws {
        let s = "event: message_start\n" + #"data: {"type":"message_start","message":{"usage":{"input_tokens":5,"cache_creation_input_tokens":100,"cache_read_input_tokens":200,"output_tokens":1}}}"# + "\n\n"
            + "event: content_block_delta\n" + #"data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me see"}}"# + "\n\n"
            + "event: content_block_delta\n" + #"data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Yes."}}"# + "\n\n"
            + "event: message_delta\n" + #"data: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":42}}"# + "\n\n"
            + "event: message_stop\n" + #"data: {"type":"message_stop"}"# + "\n\n"
        let r = interpret(AnthropicMessagesFormat(), Array(s.utf8))
        #expect(r.text == "Yes.")
        #expect(try r.result.get() == .length)
        #expect(r.usage == TokenUsage(inputTokens: 305, outputTokens: 42, cachedInputTokens: 200))
    }

    @Test("Gemini: thought parts are skipped; a blocked prompt is a complete, filtered answer")
    func gemini() throws {
        let s = #"data: {"candidates":[{"content":{"parts":[{"text":"plan","thought":true},{"text":"Hi"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"thoughtsTokenCount":7}}"# + "\r\n\r\n"
        let r = interpret(GeminiFormat(), Array(s.utf8))
        #expect(r.text == "Hi")
        #expect(r.usage == TokenUsage(inputTokens: 3, outputTokens: 1, reasoningTokens: 7))
        let blocked = #"data: {"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":3}}"# + "\n\n"
        #expect(try interpret(GeminiFormat(), Array(blocked.utf8)).result.get() == .contentFilter)
        let safety = #"data: {"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"SAFETY"}]}"# + "\n\n"
        #expect(try interpret(GeminiFormat(), Array(safety.utf8)).result.get() == .contentFilter)
    }

    @Test("stream_options is sent to OpenAI-compatible servers except Mistral, which refuses it")
    func streamOptions() throws {
        for (base, expected) in [("https://api.mistral.ai/v1", false), ("https://codestral.mistral.ai/v1", false), ("https://api.groq.com/openai/v1", true), ("http://127.0.0.1:8080/v1", true)] {
            let provider = ProviderConfig(id: "x", kind: .openAICompatible, baseURL: base)
            let body = try #require(JSONValue.parse(bytes: OpenAIChatFormat().prepare(testRequest(provider), baseURL: base, apiKey: nil).body ?? []))
            #expect((body["stream_options"] != nil) == expected, "\(base)")
        }
    }

    @Test("request bodies: Anthropic merges same-role turns and starts with a user turn; Gemini names roles user/model")
    func bodies() throws {
        let provider = ProviderConfig(id: "a", kind: .anthropic, baseURL: "http://127.0.0.1:1/v1")
        var request = testRequest(provider)
        request.messages = [.system("S"), .assistant("prior"), .user("u1"), .user("u2")]
        let a = AnthropicMessagesFormat().prepare(request, baseURL: "http://127.0.0.1:1/v1", apiKey: "secret-key-value")
        let aj = try #require(JSONValue.parse(bytes: a.body ?? []))
        let roles = aj["messages"]?.array?.compactMap { $0["role"]?.string }
        #expect(roles == ["user", "assistant", "user"])
        #expect(aj["messages"]?[2]?["content"]?.string == "u1\n\nu2")
        let g = GeminiFormat().prepare(request, baseURL: "http://127.0.0.1:1/v1beta", apiKey: "secret-key-value")
        let gj = try #require(JSONValue.parse(bytes: g.body ?? []))
        #expect(gj["contents"]?.array?.compactMap { $0["role"]?.string } == ["model", "user"])
        #expect(!g.url.contains("secret-key-value"), "the Gemini key goes in a header, never in the URL")
    }
}

@Suite("JSON parser")
struct JSONParserTests {
    @Test("agrees with Foundation's decoder on the captured fixtures' chunks")
    func agreesWithFoundation() throws {
        for name in ["llama-server_smol_stream.sse", "llama-cpp-python_smol_stream.sse", "llama-server_smol_nonstream.json"] {
            let bytes = try fixture(name)
            let docs = name.hasSuffix(".json") ? [String(decoding: bytes, as: UTF8.self)]
                : decode(bytes, cuts: []).map(\.data).filter { $0 != "[DONE]" }
            for doc in docs {
                let ours = JSONValue.parse(doc)
                let theirs = try JSONDecoder().decode(JSONValue.self, from: Data(doc.utf8))
                #expect(ours == theirs)
            }
        }
    }

    @Test("escapes, surrogate pairs, numbers, nesting")
    func details() {
        #expect(JSONValue.parse(#""a\"b\\c\/d\n\u00e9\ud83d\ude42""#) == .string("a\"b\\c/d\né🙂"))
        #expect(JSONValue.parse(#""\ud83d""#) == .string("\u{FFFD}"))
        #expect(JSONValue.parse("[1, -2, 3.5, 1e3, 0, true, false, null]") == .array([.int(1), .int(-2), .double(3.5), .double(1000), .int(0), .bool(true), .bool(false), .null]))
        #expect(JSONValue.parse(#"{"a":{"b":[{}]}}"#)?["a"]?["b"]?[0] == .object([:]))
    }

    @Test("rejects what is not JSON", arguments: ["", "{", "{\"a\":}", "[1,]", "01", "\"\u{01}\"", "tru", "{} x", "1.", "-", "{\"a\" 1}", String(repeating: "[", count: 300)])
    func rejects(text: String) {
        #expect(JSONValue.parse(text) == nil)
    }
}
