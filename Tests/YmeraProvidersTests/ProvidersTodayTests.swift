import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import YmeraCore
@testable import YmeraProviders

/// A retired model as each provider answers for it (bodies as the providers document them).
extension Wire {
    var modelNotFound: (status: Int, body: String) {
        switch self {
        case .openAI:
            (404, #"{"error":{"message":"The model `llama-3.1-70b-versatile` has been decommissioned or does not exist.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#)
        case .anthropic:
            (404, #"{"type":"error","error":{"type":"not_found_error","message":"model: claude-3-5-sonnet-latest"},"request_id":"req_011"}"#)
        case .gemini:
            (404, #"{"error":{"code":404,"message":"models/gemini-1.5-flash is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.","status":"NOT_FOUND"}}"#)
        }
    }
}

@Suite("A model the provider does not know", .timeLimit(.minutes(1)))
struct ModelNotFoundTests {
    @Test("each format's answer is model_not_found: never retried, nothing billed", arguments: Wire.allCases)
    func overTheWire(wire: Wire) async throws {
        let (status, body) = wire.modelNotFound
        let server = try await LoopbackServer.start { _ in .json(status, body) }
        let provider = wire.provider(baseURL: server.baseURL + (wire == .gemini ? "/v1beta" : "/v1"))
        let outcome = await collect(wire.client(), testRequest(provider))
        await server.stop()
        let failure = try #require(outcome.failure)
        #expect(failure.errorClass == .modelNotFound, "\(failure)")
        #expect(failure.httpStatus == 404)
        #expect(!failure.errorClass.isRetryable)
        #expect(failure.errorClass.opensBreakerImmediately)
        #expect(failure.usage == nil, "a refused request costs nothing")
        // The message names the provider once.
        #expect(failure.message.hasPrefix(provider.id + ": "))
        #expect(failure.message.components(separatedBy: provider.id).count == 2, "\(failure.message)")
    }

    @Test("a 404 that names no model is a wrong address, not a missing model")
    func wrongPath() {
        let f = FailureClassifier.classifyResponse(
            status: 404, headers: [:], body: "404 page not found", format: .openAICompatible, provider: "groq")
        #expect(f.errorClass == .badRequest)
        let ollama = FailureClassifier.classifyResponse(
            status: 404, headers: [:], body: #"{"error":"model 'llama9' not found"}"#, format: .openAICompatible, provider: "ollama")
        #expect(ollama.errorClass == .modelNotFound)
        let mistral = FailureClassifier.classifyResponse(
            status: 400, headers: [:], body: #"{"object":"error","message":"Invalid model: mistral-tiny","type":"invalid_model","code":"1500"}"#,
            format: .openAICompatible, provider: "mistral")
        #expect(mistral.errorClass == .modelNotFound)
        // A window overflow still reads as context_too_long though it mentions the model.
        let context = FailureClassifier.classifyResponse(
            status: 400, headers: [:], body: Wire.openAI.contextTooLongBody, format: .openAICompatible, provider: "openai")
        #expect(context.errorClass == .contextTooLong)
    }
}

@Suite("Network errors map to their classes")
struct TransportClassTests {
    @Test("I/O on a closed channel (a pooled connection the server had closed) is a reset")
    func ioOnClosedChannel() {
        let f = FailureClassifier.classifyTransport(ChannelError.ioOnClosedChannel, phase: .beforeFirstByte, provider: "local")
        #expect(f.errorClass == .connectionReset)
        #expect(f.errorClass.isRetryable)
        #expect(FailureClassifier.classifyTransport(ChannelError.alreadyClosed, phase: .streaming, provider: "local").errorClass == .connectionReset)
        #expect(FailureClassifier.classifyTransport(ChannelError.eof, phase: .streaming, provider: "local").errorClass == .connectionReset)
    }

    @Test("remote connection closed is a reset")
    func remoteClosed() {
        let f = FailureClassifier.classifyTransport(HTTPClientError.remoteConnectionClosed, phase: .streaming, provider: "groq")
        #expect(f.errorClass == .connectionReset)
    }

    @Test("a read timeout is a stall mid-stream and a timeout before the first byte")
    func readTimeout() {
        #expect(FailureClassifier.classifyTransport(HTTPClientError.readTimeout, phase: .streaming, provider: "p").errorClass == .stall)
        #expect(FailureClassifier.classifyTransport(HTTPClientError.readTimeout, phase: .beforeFirstByte, provider: "p").errorClass == .timeout)
    }

    @Test("a connect timeout is a timeout")
    func connectTimeout() {
        #expect(FailureClassifier.classifyTransport(HTTPClientError.connectTimeout, phase: .beforeFirstByte, provider: "p").errorClass == .timeout)
        #expect(FailureClassifier.classifyTransport(ChannelError.connectTimeout(.seconds(1)), phase: .beforeFirstByte, provider: "p").errorClass == .timeout)
    }

    @Test("a TLS handshake that fails (https to a plain-HTTP server) is a failed connection, billed nothing")
    func tlsFailure() async throws {
        // A server that answers any connection with plain HTTP at once, as a wrong port would.
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.pipeline.addHandler(PlainHTTPAnswer()) }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        let provider = Wire.openAI.provider(baseURL: "https://127.0.0.1:\(port)/v1")
        let outcome = await collect(Wire.openAI.client(), testRequest(provider))
        try? await channel.close()
        let failure = try #require(outcome.failure)
        #expect(failure.errorClass == .connectionRefused, "\(failure)")
        #expect(failure.message.contains("TLS"), "\(failure.message)")
        #expect(failure.usage == nil)
    }
}

/// Writes a plain HTTP answer as soon as a connection opens, then closes it.
private final class PlainHTTPAnswer: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    func channelActive(context: ChannelHandlerContext) {
        let bytes = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: bytes)), promise: nil)
    }
}

@Suite("What a failed attempt costs", .timeLimit(.minutes(1)))
struct FailureCostTests {
    @Test("connection refused: no tokens, $0", arguments: Wire.allCases)
    func refused(wire: Wire) async throws {
        let provider = wire.provider(baseURL: "http://127.0.0.1:\(try await closedPort())")
        let failure = try #require(await collect(wire.client(), testRequest(provider)).failure)
        #expect(failure.errorClass == .connectionRefused)
        #expect(failure.usage == nil)
    }

    @Test("HTTP 500 before the stream: no tokens, $0", arguments: Wire.allCases)
    func serverError(wire: Wire) async throws {
        let server = try await LoopbackServer.start { _ in
            .json(500, wire.errorBody(type: "api_error", message: "Internal server error", code: 500))
        }
        let failure = try #require(await collect(wire.client(), testRequest(wire.provider(baseURL: server.baseURL))).failure)
        await server.stop()
        #expect(failure.errorClass == .serverError)
        #expect(failure.usage == nil)
    }

    @Test("a stream cut after 5 chunks bills what streamed, marked estimated", arguments: Wire.allCases)
    func cutAfterFive(wire: Wire) async throws {
        let parts = ["alpha ", "beta ", "gamma ", "delta ", "epsilon "]
        let server = try await LoopbackServer.start { _ in .sse([wire.stream(parts, finish: false).joined()], ending: .close) }
        let failure = try #require(await collect(wire.client(), testRequest(wire.provider(baseURL: server.baseURL))).failure)
        await server.stop()
        #expect(failure.partialOutput == parts.joined())
        let usage = try #require(failure.usage)
        #expect(usage.estimated)
        #expect(usage.outputTokens == TokenUsage.estimateTokens(characters: parts.joined().count))
        #expect(usage.inputTokens > 0)
    }

    @Test("Anthropic: message_start's zero usage is not taken as real when a cut stream had text")
    func anthropicZeroUsage() async throws {
        let zeroStart =
            "event: message_start\n"
            + #"data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","usage":{"input_tokens":0,"output_tokens":0}}}"#
            + "\n\n"
        let rest = Wire.anthropic.stream(["one ", "two ", "three ", "four ", "five "], finish: false).dropFirst()
        let server = try await LoopbackServer.start { _ in .sse([zeroStart + rest.joined()], ending: .close) }
        let failure = try #require(await collect(Wire.anthropic.client(), testRequest(Wire.anthropic.provider(baseURL: server.baseURL))).failure)
        await server.stop()
        let usage = try #require(failure.usage)
        #expect(usage.estimated)
        #expect(usage.outputTokens == TokenUsage.estimateTokens(characters: "one two three four five ".count))
        #expect(usage.inputTokens > 0)
    }
}

@Suite("Finish reasons reach the stream", .timeLimit(.minutes(1)))
struct FinishReasonTests {
    @Test("length, max_tokens and MAX_TOKENS end a stream as .length", arguments: Wire.allCases)
    func length(wire: Wire) async throws {
        let stream = wire.stream(["cut ", "here"]).map {
            $0.replacingOccurrences(of: #""finish_reason":"stop""#, with: #""finish_reason":"length""#)
                .replacingOccurrences(of: #""stop_reason":"end_turn""#, with: #""stop_reason":"max_tokens""#)
                .replacingOccurrences(of: #""finishReason":"STOP""#, with: #""finishReason":"MAX_TOKENS""#)
        }
        let server = try await LoopbackServer.start { _ in .sse(stream) }
        let outcome = await collect(wire.client(), testRequest(wire.provider(baseURL: server.baseURL)))
        await server.stop()
        #expect(outcome.failure == nil)
        #expect(outcome.finish == .length)
        #expect(outcome.text == "cut here")
    }
}

@Suite("Model lists: what the providers offer today", .timeLimit(.minutes(1)))
struct ModelListTests {
    /// Providers of all three formats on one loopback server, each listing a different set.
    func catalog(_ base: String) throws -> Catalog {
        let providers = [
            ProviderConfig(id: "lo-openai", kind: .openAICompatible, baseURL: base + "/openai/v1", apiKeyEnv: "YMERA_TEST_KEY"),
            ProviderConfig(id: "lo-anthropic", kind: .anthropic, baseURL: base + "/anthropic/v1", apiKeyEnv: "YMERA_TEST_KEY"),
            ProviderConfig(id: "lo-gemini", kind: .gemini, baseURL: base + "/gemini/v1beta", apiKeyEnv: "YMERA_TEST_KEY"),
            ProviderConfig(id: "lo-router", kind: .openAICompatible, baseURL: base + "/router/v1", apiKeyEnv: "YMERA_TEST_KEY"),
            ProviderConfig(id: "lo-down", kind: .openAICompatible, baseURL: base + "/down/v1", apiKeyEnv: "YMERA_TEST_KEY"),
        ]
        func m(_ p: String, _ name: String, quality: Int = 3) -> ModelInfo {
            ModelInfo(
                id: ModelID("\(p)/\(name)"), provider: p, apiName: name, displayName: name, contextWindow: 128_000,
                pricing: Pricing(inputPerMillion: 1, outputPerMillion: 2), speedTier: 4, qualityTier: quality,
                capabilities: [.code, .reasoning, .review])
        }
        return try Catalog(providers: providers, models: [
            m("lo-openai", "gpt-current"), m("lo-openai", "gpt-retired", quality: 5),
            m("lo-anthropic", "claude-current"), m("lo-anthropic", "claude-gone", quality: 5),
            m("lo-gemini", "gemini-current"), m("lo-gemini", "gemini-gone", quality: 5),
            m("lo-router", "vendor/model-a"), m("lo-down", "anything", quality: 5),
        ])
    }

    @Test("refresh: exactly the unlisted models are not offered, the unknown ones are listed, the planner avoids the missing")
    func refresh() async throws {
        let server = try await LoopbackServer.start { r in
            switch r.uri {
            case let u where u.hasPrefix("/openai/v1/models"):
                return .json(200, #"{"object":"list","data":[{"id":"gpt-current","object":"model"},{"id":"gpt-new","object":"model"}]}"#)
            case let u where u.hasPrefix("/anthropic/v1/models") && u.contains("after_id"):
                return .json(200, #"{"data":[{"type":"model","id":"claude-next","display_name":"Claude Next"}],"has_more":false}"#)
            case let u where u.hasPrefix("/anthropic/v1/models"):
                return .json(200, #"{"data":[{"type":"model","id":"claude-current"}],"has_more":true,"last_id":"claude-current"}"#)
            case let u where u.hasPrefix("/gemini/v1beta/models"):
                return .json(200, #"{"models":[{"name":"models/gemini-current","inputTokenLimit":1048576,"outputTokenLimit":65536,"supportedGenerationMethods":["generateContent"]},{"name":"models/text-embedding-9","supportedGenerationMethods":["embedContent"]}]}"#)
            case let u where u.hasPrefix("/router/v1/models"):
                return .json(200, #"{"data":[{"id":"vendor/model-a","context_length":200000,"pricing":{"prompt":"0.000001","completion":"0.000004"}},{"id":"vendor/model-b","context_length":64000,"pricing":{"prompt":"0.0000005","completion":"0.0000015"}}]}"#)
            default:
                return .json(503, #"{"error":{"message":"down for maintenance","type":"server_error"}}"#)
            }
        }
        let catalog = try catalog(server.baseURL)
        let fetched = await ModelListFetcher(httpClient: testHTTPClient, environment: testEnvironment, timeout: .seconds(3))
            .fetchAll(catalog)
        await server.stop()
        #expect(fetched.count == 5)
        #expect(fetched.first { $0.provider == "lo-down" }?.models == nil)
        var cache = ModelListCache()
        cache.merge(fetched)

        #expect(cache.notOffered(in: catalog) == ["lo-openai/gpt-retired", "lo-anthropic/claude-gone", "lo-gemini/gemini-gone"])
        let unknown = cache.notInCatalog(catalog).map { "\($0.provider)/\($0.model.name)" }
        #expect(Set(unknown) == ["lo-openai/gpt-new", "lo-anthropic/claude-next", "lo-router/vendor/model-b"])
        let extra = cache.extraModels(for: catalog)
        let routerB = try #require(extra.first { $0.id == "lo-router/vendor/model-b" })
        #expect(routerB.pricing == Pricing(inputPerMillion: 0.5, outputPerMillion: 1.5))
        #expect(routerB.contextWindow == 64000)
        #expect(extra.first { $0.id == "lo-openai/gpt-new" }?.pricing == nil, "unpriced unless the list carries prices")

        // The planner, given what can serve, never picks a model its provider no longer offers —
        // although those are the best-rated ones here.
        let notOffered = cache.notOffered(in: catalog)
        let available = catalog.models.filter { !notOffered.contains($0.id) }
        let task = "Design, implement, review and validate a rate limiter with tests and documentation for a web service"
        let plan = try Planner(catalog: catalog, available: available).plan(
            task: task, intent: IntentAnalyzer().analyze(task), options: PlanOptions(strategy: .multiModel, seed: 3))
        let used = Set(plan.steps.flatMap { [$0.model] + $0.fallbacks + $0.candidates })
        #expect(used.isDisjoint(with: notOffered), "\(used)")

        // A provider that stops answering keeps its last list.
        var later = cache
        later.merge([ProviderModelList(provider: "lo-openai", fetchedAt: Date(), models: nil, error: "timeout")])
        #expect(later.notOffered(in: catalog) == cache.notOffered(in: catalog))
        // A model answered "not found" in a run is not offered until a later list names it again.
        later.markNotFound("lo-openai/gpt-current", at: Date())
        #expect(later.notOffered(in: catalog).contains("lo-openai/gpt-current"))
        later.merge([ProviderModelList(provider: "lo-openai", fetchedAt: Date(), models: [ListedModel(name: "gpt-current")])])
        #expect(!later.notOffered(in: catalog).contains("lo-openai/gpt-current"))
    }

    @Test("the cache survives a save and a load")
    func persisted() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-lists-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var cache = ModelListCache()
        cache.merge([ProviderModelList(provider: "groq", fetchedAt: Date(timeIntervalSince1970: 1_800_000_000), models: [ListedModel(name: "openai/gpt-oss-120b")])])
        cache.markNotFound("groq/llama-3.1-8b-instant", at: Date(timeIntervalSince1970: 1_800_000_100))
        try cache.save(directory: dir)
        #expect(ModelListCache.load(directory: dir) == cache)
        #expect(ModelListCache.load(directory: dir.appendingPathComponent("nowhere")) == ModelListCache())
    }
}

@Suite("Doctor tells the truth", .timeLimit(.minutes(1)))
struct DoctorTruthTests {
    @Test("a 404 from the models list is an error, not ok; not-offered models are named; the provider is named once")
    func notOk() async throws {
        let server = try await LoopbackServer.start { r in
            r.uri.hasPrefix("/good/") ? .json(200, #"{"models":[{"name":"models/test-model","supportedGenerationMethods":["generateContent"]}]}"#)
                : r.uri.hasPrefix("/stale/") ? .json(200, #"{"data":[{"id":"other-model"}]}"#)
                : .json(404, #"{"error":{"code":404,"message":"Not Found","status":"NOT_FOUND"}}"#)
        }
        let providers = [
            ProviderConfig(id: "gem-bad", kind: .gemini, baseURL: server.baseURL + "/bad/v1beta", apiKeyEnv: "YMERA_TEST_KEY"),
            ProviderConfig(id: "gem-good", kind: .gemini, baseURL: server.baseURL + "/good/v1beta", apiKeyEnv: "YMERA_TEST_KEY"),
            ProviderConfig(id: "stale", kind: .openAICompatible, baseURL: server.baseURL + "/stale/v1", apiKeyEnv: "YMERA_TEST_KEY"),
        ]
        let report = await ProviderDoctor(httpClient: testHTTPClient, environment: testEnvironment, timeout: .seconds(2))
            .run(catalog: try Catalog(providers: providers, models: providers.map { testModel($0) }))
        await server.stop()
        let byID = Dictionary(uniqueKeysWithValues: report.providers.map { ($0.id, $0) })
        #expect(byID["gem-bad"]?.canServe == false)
        #expect(byID["gem-good"]?.canServe == true)
        #expect(byID["gem-good"]?.notOffered == [])
        #expect(byID["stale"]?.notOffered == ["stale/test-model"])
        #expect(byID["stale"]?.notInCatalog == ["other-model"])
        #expect(report.modelLists.count == 2)
        let text = ProviderDoctor.render(report)
        #expect(!text.contains("ok (HTTP 404)"))
        #expect(text.contains("error HTTP 404"))
        #expect(text.contains("stale: not offered by the provider (not planned onto): stale/test-model"))
        for line in text.split(separator: "\n") where line.hasPrefix("gem-bad:") {
            #expect(line.components(separatedBy: "gem-bad").count == 2, "named twice: \(line)")
        }
    }
}

@Suite("Stall timeout default")
struct StallDefaultTests {
    @Test("the default stall timeout is at most 30 s, and the config's value replaces it")
    func defaults() {
        #expect(ProviderTimeouts.default.idle <= .seconds(30))
        #expect(ProviderTimeouts.withStall(seconds: nil).idle == ProviderTimeouts.default.idle)
        #expect(ProviderTimeouts.withStall(seconds: 7.5).idle == .milliseconds(7500))
    }
}
