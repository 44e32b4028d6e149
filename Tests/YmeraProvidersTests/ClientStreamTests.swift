import Foundation
import Testing
import YmeraCore
@testable import YmeraProviders

@Suite("Clients against a loopback server: answers", .timeLimit(.minutes(2)))
struct ClientStreamTests {
    @Test("a normal stream yields rate limits first, the deltas, usage, then exactly one finished", arguments: Wire.allCases)
    func normalStream(wire: Wire) async throws {
        let headers = [("x-ratelimit-remaining-requests", "99"), ("x-ratelimit-reset-requests", "1s"),
                       ("anthropic-ratelimit-tokens-remaining", "5000")]
        let server = try await LoopbackServer.start { _ in .sse(wire.stream(["Hel", "lo ", "wörld 🙂"]), headers: headers) }
        defer { Task { await server.stop() } }
        let outcome = await collect(wire.client(), testRequest(wire.provider(baseURL: server.baseURL)))
        #expect(outcome.failure == nil, "\(String(describing: outcome.failure))")
        #expect(outcome.text == "Hello wörld 🙂")
        #expect(outcome.finish == .stop)
        #expect(outcome.finishedCount == 1)
        guard case .finished = outcome.events.last else {
            Issue.record("the last event must be .finished")
            return
        }
        guard case .rateLimit(let snapshot) = outcome.events.first else {
            Issue.record("rate limits must come first")
            return
        }
        #expect(snapshot.remainingRequests == 99)
        #expect(snapshot.resetRequestsMs == 1000)
        #expect(snapshot.remainingTokens == 5000)
        #expect(outcome.usage == wire.streamUsage)
    }

    @Test("the same stream delivered one byte per chunk gives the same answer", arguments: Wire.allCases)
    func byteByByte(wire: Wire) async throws {
        let bytes = Array(wire.stream(["Zürich ", "→ 東京"]).joined().utf8)
        let script = Script(
            status: 200, headers: [("content-type", "text/event-stream")], steps: bytes.map { .send([$0]) }, ending: .end)
        let server = try await LoopbackServer.start { _ in script }
        defer { Task { await server.stop() } }
        // Hundreds of one-byte writes: on a loaded machine (tests run in parallel) the whole answer can
        // take longer than the usual 10 s total, which is not what this test is about.
        let patient = ProviderTimeouts(connect: .seconds(5), firstByte: .seconds(30), idle: .seconds(30), total: .seconds(180))
        let outcome = await collect(wire.client(timeouts: patient), testRequest(wire.provider(baseURL: server.baseURL)))
        #expect(outcome.text == "Zürich → 東京")
        #expect(outcome.finish == .stop)
    }

    @Test("a non-streaming answer", arguments: Wire.allCases)
    func nonStreaming(wire: Wire) async throws {
        let server = try await LoopbackServer.start { _ in .json(200, wire.whole("Complete answer.")) }
        defer { Task { await server.stop() } }
        let outcome = await collect(wire.client(), testRequest(wire.provider(baseURL: server.baseURL), stream: false))
        #expect(outcome.failure == nil)
        #expect(outcome.text == "Complete answer.")
        #expect(outcome.finish == .length)
        #expect(outcome.usage?.inputTokens == 12)
        #expect(outcome.usage?.outputTokens == 5)
        #expect(outcome.usage?.estimated == false)
    }

    @Test("a stream without usage ends with an estimate marked as such", arguments: Wire.allCases)
    func estimatedUsage(wire: Wire) async throws {
        var chunks = wire.stream(["abcdefgh"], usage: false)
        if wire == .gemini { chunks = [#"data: {"candidates":[{"content":{"parts":[{"text":"abcdefgh"}]},"finishReason":"STOP"}]}"# + "\n\n"] }
        if wire == .anthropic {
            chunks = chunks.map { $0.contains("message_start") ? "event: message_start\n" + #"data: {"type":"message_start","message":{"id":"m"}}"# + "\n\n" : $0 }
                .map { $0.contains("message_delta") ? "event: message_delta\n" + #"data: {"type":"message_delta","delta":{"stop_reason":"end_turn"}}"# + "\n\n" : $0 }
        }
        let script = Script.sse(chunks)
        let server = try await LoopbackServer.start { _ in script }
        defer { Task { await server.stop() } }
        let request = testRequest(wire.provider(baseURL: server.baseURL))
        let outcome = await collect(wire.client(), request)
        #expect(outcome.finish == .stop)
        let usage = try #require(outcome.usage)
        #expect(usage.estimated)
        #expect(usage.outputTokens == 2)
        #expect(usage.inputTokens == TokenUsage.estimateTokens(characters: request.promptCharacters))
    }

    @Test("requests carry each format's path, headers and body")
    func requestShapes() async throws {
        let server = try await LoopbackServer.start { request in
            if request.uri.contains("gemini") || request.uri.contains(":stream") { return .sse(Wire.gemini.stream(["ok"])) }
            if request.uri.hasSuffix("/messages") { return .sse(Wire.anthropic.stream(["ok"])) }
            return .sse(Wire.openAI.stream(["ok"]))
        }
        defer { Task { await server.stop() } }
        for wire in Wire.allCases {
            let outcome = await collect(wire.client(), testRequest(wire.provider(baseURL: server.baseURL + "/v1/")))
            #expect(outcome.text == "ok", "\(wire)")
        }
        let requests = server.requests
        try #require(requests.count == 3)

        let openAI = requests[0]
        #expect(openAI.method == "POST")
        #expect(openAI.uri == "/v1/chat/completions")
        #expect(openAI.header("authorization") == "Bearer \(fakeKey)")
        let ob = try #require(openAI.json)
        #expect(ob["model"] as? String == "test-model")
        #expect(ob["stream"] as? Bool == true)
        #expect((ob["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        #expect(ob["max_tokens"] as? Int == 128)
        #expect((ob["messages"] as? [[String: String]])?.map { $0["role"] ?? "" } == ["system", "user"])

        let anthropic = requests[1]
        #expect(anthropic.uri == "/v1/messages")
        #expect(anthropic.header("x-api-key") == fakeKey)
        #expect(anthropic.header("anthropic-version") == "2023-06-01")
        #expect(anthropic.header("authorization") == nil)
        let ab = try #require(anthropic.json)
        #expect(ab["system"] as? String == "You are terse.")
        #expect(ab["max_tokens"] as? Int == 128)
        #expect((ab["messages"] as? [[String: String]])?.map { $0["role"] ?? "" } == ["user"])

        let gemini = requests[2]
        #expect(gemini.uri == "/v1/models/test-model:streamGenerateContent?alt=sse")
        #expect(gemini.header("x-goog-api-key") == fakeKey)
        let gb = try #require(gemini.json)
        #expect((gb["generationConfig"] as? [String: Any])?["maxOutputTokens"] as? Int == 128)
        #expect(((gb["systemInstruction"] as? [String: Any])?["parts"] as? [[String: String]])?.first?["text"] == "You are terse.")
        #expect((gb["contents"] as? [[String: Any]])?.first?["role"] as? String == "user")
    }

    @Test("a missing key fails as auth without sending anything", arguments: Wire.allCases)
    func missingKey(wire: Wire) async throws {
        let server = try await LoopbackServer.start { _ in .sse(wire.stream(["x"])) }
        defer { Task { await server.stop() } }
        let outcome = await collect(wire.client(environment: [:]), testRequest(wire.provider(baseURL: server.baseURL)))
        #expect(outcome.failure?.errorClass == .auth)
        #expect(outcome.failure?.message.contains("YMERA_TEST_KEY") == true)
        #expect(server.requests.isEmpty)
    }

    @Test("the base URL override variable redirects a provider")
    func baseURLOverride() async throws {
        let server = try await LoopbackServer.start { _ in .sse(Wire.openAI.stream(["redirected"])) }
        defer { Task { await server.stop() } }
        let provider = Wire.openAI.provider(baseURL: "http://127.0.0.1:9/never", id: "my-llama")
        var env = testEnvironment
        env["YMERA_MY_LLAMA_BASE_URL"] = server.baseURL + "/v1"
        let outcome = await collect(Wire.openAI.client(environment: env), testRequest(provider))
        #expect(outcome.text == "redirected")
        #expect(server.requests.first?.uri == "/v1/chat/completions")
    }

    @Test("a base URL that is no address fails at once as connection_refused", arguments: ["127.0.0.1:8080/v1", "http:///v1", "ftp://127.0.0.1/v1"])
    func unusableBaseURL(base: String) async throws {
        let outcome = await collect(Wire.openAI.client(), testRequest(Wire.openAI.provider(baseURL: base)))
        #expect(outcome.failure?.errorClass == .connectionRefused, "\(String(describing: outcome.failure))")
    }

    @Test("cancelling the consumer ends a hanging request promptly")
    func cancellation() async throws {
        let server = try await LoopbackServer.start { _ in .sse(Wire.openAI.stream(["partial"], finish: false), ending: .hang) }
        defer { Task { await server.stop() } }
        let client = Wire.openAI.client()
        let request = testRequest(Wire.openAI.provider(baseURL: server.baseURL))
        let task = Task { () -> Int in
            var n = 0
            do { for try await _ in client.stream(request) { n += 1 } } catch {}
            return n
        }
        // Wait (bounded) until the request reached the server, then cancel.
        for _ in 0..<200 where server.requests.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        let started = ContinuousClock.now
        _ = await task.value
        #expect(started.duration(to: .now) < .seconds(5))
    }

    @Test("a JSON error body inside HTTP 200 for a non-streaming request is a stream error")
    func errorIn200Body() async throws {
        let server = try await LoopbackServer.start { _ in .json(200, #"{"error":"model 'x' not found, try pulling it first"}"#) }
        defer { Task { await server.stop() } }
        let outcome = await collect(Wire.openAI.client(), testRequest(Wire.openAI.provider(baseURL: server.baseURL), stream: false))
        #expect(outcome.failure?.errorClass == .streamError)
        #expect(outcome.failure?.message.contains("not found") == true)
    }
}

@Suite("Captured local-server streams through the OpenAI-compatible client", .timeLimit(.minutes(2)))
struct FixtureReplayTests {
    func replay(_ name: String, stream: Bool = true) async throws -> Outcome {
        let bytes = try fixture(name)
        let script = stream
            ? Script.sseBytes(bytes)
            : Script.json(200, String(decoding: bytes, as: UTF8.self))
        let server = try await LoopbackServer.start { _ in script }
        defer { Task { await server.stop() } }
        return await collect(Wire.openAI.client(), testRequest(Wire.openAI.provider(baseURL: server.baseURL), stream: stream))
    }

    @Test("llama.cpp server stream: complete, with the usage it sends unasked")
    func llamaServer() async throws {
        let o = try await replay("llama-server_smol_stream.sse")
        #expect(o.failure == nil)
        #expect(o.text.hasPrefix("```python\nimport csv"))
        #expect(o.finish == .stop)
        #expect(o.usage == TokenUsage(inputTokens: 40, outputTokens: 95, cachedInputTokens: 24))
    }

    @Test("llama-cpp-python never sends usage in a stream: an estimate, marked as one")
    func llamaCppPythonEstimate() async throws {
        let o = try await replay("llama-cpp-python_smol_stream.sse")
        let usage = try #require(o.usage)
        #expect(usage.estimated)
        #expect(usage.outputTokens == TokenUsage.estimateTokens(characters: o.text.count))
    }

    @Test("llama.cpp server stream with include_usage: the server's counts, cached tokens included")
    func llamaServerUsage() async throws {
        let o = try await replay("llama-server_qwen_stream_usage.sse")
        #expect(o.text.hasSuffix("How can I assist you today?"))
        #expect(o.usage == TokenUsage(inputTokens: 36, outputTokens: 10, cachedInputTokens: 24))
    }

    @Test("llama-cpp-python stream cut at max_tokens finishes with .length")
    func llamaCppPython() async throws {
        let o = try await replay("llama-cpp-python_smol_stream.sse")
        #expect(o.finish == .length)
        #expect(!o.text.isEmpty)
    }

    @Test("the interrupted llama-cpp-python stream ([DONE] without finish_reason) is truncated, never an answer")
    func interrupted() async throws {
        let o = try await replay("llama-cpp-python_interrupted.sse")
        let failure = try #require(o.failure)
        #expect(failure.errorClass == .truncated)
        #expect(o.finish == nil)
        #expect(!failure.partialOutput.isEmpty)
        #expect(failure.partialOutput == o.text)
        #expect(failure.usage?.estimated == true)
    }

    @Test("non-streaming bodies from both servers", arguments: ["llama-server_smol_nonstream.json", "llama-cpp-python_smol_nonstream.json"])
    func nonStream(name: String) async throws {
        let o = try await replay(name, stream: false)
        #expect(o.text.hasPrefix("1. Build a REST API with authentication:"))
        #expect(o.finish == .stop)
        #expect(o.usage?.inputTokens == 45)
        #expect(o.usage?.estimated == false)
    }
}
