import Foundation
import Synchronization
import Testing
import YmeraCore
@testable import YmeraProviders

/// One loopback OpenAI-compatible provider whose models behave as each test scripts them.
private func oneProviderCatalog(_ base: String, models: [(String, Int)], extraProvider: ProviderConfig? = nil, extraModel: String? = nil) throws -> Catalog {
    var providers = [ProviderConfig(id: "lo", kind: .openAICompatible, baseURL: base + "/v1", apiKeyEnv: "YMERA_TEST_KEY")]
    if let extraProvider { providers.append(extraProvider) }
    var list = models.map { name, quality in
        ModelInfo(
            id: ModelID("lo/\(name)"), provider: "lo", apiName: name, displayName: name, contextWindow: 32_000,
            maxOutputTokens: 512, pricing: Pricing(inputPerMillion: 1, outputPerMillion: 2), speedTier: 4, qualityTier: quality,
            capabilities: [.code, .reasoning, .review, .accuracy])
    }
    if let extraProvider, let extraModel {
        list.append(ModelInfo(
            id: ModelID("\(extraProvider.id)/\(extraModel)"), provider: extraProvider.id, apiName: extraModel, displayName: extraModel,
            contextWindow: 32_000, maxOutputTokens: 512, pricing: Pricing(inputPerMillion: 1, outputPerMillion: 2), speedTier: 5,
            qualityTier: 5, capabilities: [.code, .reasoning, .review, .accuracy]))
    }
    return try Catalog(providers: providers, models: list)
}

/// A single-step plan on `model`, with the catalog's other models as fallbacks.
private func singlePlan(_ catalog: Catalog, model: ModelID, task: String = "Write a haiku about sockets") throws -> RunPlan {
    try Planner(catalog: catalog, available: catalog.models).plan(
        task: task, intent: IntentAnalyzer().analyze(task),
        options: PlanOptions(strategy: .single, modelOverrides: ["generation": model], seed: 5, runID: "today"))
}

private func run(_ catalog: Catalog, _ plan: RunPlan, timeouts: ProviderTimeouts = testTimeouts, config: EngineConfig = EngineConfig())
    async -> (RunState, [RunEvent], Duration)
{
    let client = HTTPModelClients.router(httpClient: testHTTPClient, environment: testEnvironment, timeouts: timeouts)
    var c = config
    c.retry.initialDelayMs = 5
    c.retry.maxDelayMs = 20
    let engine = Engine(catalog: catalog, client: client, validator: SentinelValidator(), config: c)
    let started = ContinuousClock.now
    let handle = engine.start(plan)
    var events: [RunEvent] = []
    for await e in handle.events { events.append(e) }
    let final = await handle.finalState()
    return (final, events, started.duration(to: .now))
}

/// Counts calls across the loopback server's threads.
private final class Counter: Sendable {
    let n = Mutex(0)
    func next() -> Int { n.withLock { $0 += 1; return $0 } }
}

private func requestedModel(_ r: RecordedRequest) -> String { r.json?["model"] as? String ?? "" }

private func lastUserText(_ r: RecordedRequest) -> String {
    let messages = r.json?["messages"] as? [[String: Any]] ?? []
    return messages.last { $0["role"] as? String == "user" }?["content"] as? String ?? ""
}

@Suite("Engine with providers as they are today", .timeLimit(.minutes(2)))
struct EngineTodayTests {
    @Test("the first model is not found: no retry, marked unavailable, the second serves")
    func notFoundThenNext() async throws {
        let server = try await LoopbackServer.start { r in
            requestedModel(r) == "gone"
                ? .json(Wire.openAI.modelNotFound.status, Wire.openAI.modelNotFound.body)
                : .sse(Wire.openAI.stream(["Sockets wait, ", "packets fall. ", endSentinel]))
        }
        let catalog = try oneProviderCatalog(server.baseURL, models: [("gone", 5), ("here", 3)])
        let (final, events, _) = await run(catalog, try singlePlan(catalog, model: "lo/gone"))
        let requests = server.requests
        await server.stop()

        #expect(final.status == .succeeded, "\(final.endReason ?? "")")
        #expect(requests.filter { requestedModel($0) == "gone" }.count == 1, "a missing model is never asked twice")
        let failures = events.compactMap { if case .attemptFailed(let f) = $0.kind { f } else { nil } }
        #expect(failures.map(\.errorClass) == [.modelNotFound])
        #expect(!events.contains { if case .retryScheduled = $0.kind { true } else { false } })
        #expect(events.contains { if case .fallbackTaken(let f) = $0.kind { f.from == "lo/gone" && f.to == "lo/here" && f.reason == .modelNotFound } else { false } })
        #expect(events.contains { if case .breakerChanged(let b) = $0.kind { b.model == "lo/gone" && b.to == .open } else { false } })
        // Nothing billed for the refused request.
        #expect(!events.contains { if case .usage(let u) = $0.kind { u.model == "lo/gone" } else { false } })
        #expect(final.steps["generation"]?.model == "lo/here")
        #expect(final.steps["generation"]?.output.hasSuffix(endSentinel) == true)
    }

    @Test("a refused connection costs nothing; the fallback's tokens are the run's cost")
    func refusedCostsNothing() async throws {
        let server = try await LoopbackServer.start { _ in .sse(Wire.openAI.stream(["fine ", endSentinel])) }
        let down = ProviderConfig(id: "down", kind: .openAICompatible, baseURL: "http://127.0.0.1:\(try await closedPort())/v1", apiKeyEnv: "YMERA_TEST_KEY")
        let catalog = try oneProviderCatalog(server.baseURL, models: [("up", 3)], extraProvider: down, extraModel: "first")
        let (final, events, _) = await run(catalog, try singlePlan(catalog, model: "down/first"))
        await server.stop()
        #expect(final.status == .succeeded)
        let usages = events.compactMap { if case .usage(let u) = $0.kind { u } else { nil } }
        #expect(!usages.contains { $0.model == "down/first" }, "a request that never connected was billed")
        #expect(usages.allSatisfy { $0.model == "lo/up" })
        #expect(final.cost.money == usages.reduce(Cost.zero) { $0 + $1.cost }.money)
        #expect(final.usage.totalTokens == Wire.openAI.streamUsage.totalTokens)
    }

    @Test("a stall with a fallback: one stall, then the next model continues the text, well within the stall timeout")
    func stallFallsBackOnce() async throws {
        let server = try await LoopbackServer.start { r in
            if requestedModel(r) == "stally" {
                return .sse([Wire.openAI.stream(["Hello", " partial"], finish: false).joined()], ending: .hang)
            }
            return .sse(Wire.openAI.stream([" and the rest. ", endSentinel]))
        }
        let catalog = try oneProviderCatalog(server.baseURL, models: [("stally", 5), ("steady", 3)])
        let stall = Duration.milliseconds(400)
        let timeouts = ProviderTimeouts(connect: .seconds(2), firstByte: .seconds(5), idle: stall, total: .seconds(20))
        let (final, events, took) = await run(catalog, try singlePlan(catalog, model: "lo/stally"), timeouts: timeouts)
        let requests = server.requests
        await server.stop()

        #expect(final.status == .succeeded, "\(final.endReason ?? "")")
        #expect(requests.filter { requestedModel($0) == "stally" }.count == 1, "the stalled model was asked again")
        let failures = events.compactMap { if case .attemptFailed(let f) = $0.kind { f } else { nil } }
        #expect(failures.map(\.errorClass) == [.stall])
        let fallback = events.compactMap { if case .fallbackTaken(let f) = $0.kind { f } else { nil } }.first
        #expect(fallback?.mode == .continue)
        #expect(fallback?.to == "lo/steady")
        let continued = try #require(requests.first { requestedModel($0) == "steady" })
        #expect(lastUserText(continued).hasPrefix("Your previous answer was cut off"))
        #expect(final.steps["generation"]?.output == "Hello partial and the rest. " + endSentinel)
        #expect(took < stall + .seconds(3), "took \(took)")
    }

    @Test("an answer cut at the output limit is continued on the same model, and the event says how it ended")
    func lengthContinued() async throws {
        let cut = Wire.openAI.stream(["Part one, "]).map {
            $0.replacingOccurrences(of: #""finish_reason":"stop""#, with: #""finish_reason":"length""#)
        }
        let server = try await LoopbackServer.start { r in
            lastUserText(r).hasPrefix("Your previous answer was cut off")
                ? .sse(Wire.openAI.stream(["part two. ", endSentinel])) : .sse(cut)
        }
        let catalog = try oneProviderCatalog(server.baseURL, models: [("cutter", 4)])
        let (final, events, _) = await run(catalog, try singlePlan(catalog, model: "lo/cutter"))
        await server.stop()
        #expect(final.status == .succeeded)
        let starts = events.compactMap { if case .stepStarted(let s) = $0.kind { s } else { nil } }
        #expect(starts.map(\.purpose) == [.initial, .continuation])
        #expect(starts.last?.model == "lo/cutter")
        #expect(final.steps["generation"]?.output == "Part one, part two. " + endSentinel)
        let done = events.compactMap { if case .stepDone(let d) = $0.kind { d } else { nil } }
        #expect(done.first?.finishReason == nil, "a continued answer that ended naturally is complete")
        #expect(final.summary.phases.first?.truncated == nil)
    }

    @Test("a retry after a continuation keeps the rounds that completed")
    func retryKeepsContinuedRounds() async throws {
        let calls = Counter()
        let cut = Wire.openAI.stream(["First round. "]).map {
            $0.replacingOccurrences(of: #""finish_reason":"stop""#, with: #""finish_reason":"length""#)
        }
        let server = try await LoopbackServer.start { _ in
            switch calls.next() {
            case 1: .sse(cut)
            case 2: .json(500, Wire.openAI.errorBody(type: "server_error", message: "boom", code: 500))
            default: .sse(Wire.openAI.stream(["Second round. ", endSentinel]))
            }
        }
        let catalog = try oneProviderCatalog(server.baseURL, models: [("cutter", 4)])
        let (final, events, _) = await run(catalog, try singlePlan(catalog, model: "lo/cutter"))
        let requests = server.requests
        await server.stop()
        #expect(final.status == .succeeded)
        #expect(requests.count == 3)
        #expect(lastUserText(requests[2]).hasPrefix("Your previous answer was cut off"), "the retry continues, not restarts")
        #expect(final.steps["generation"]?.output == "First round. Second round. " + endSentinel)
        let purposes = events.compactMap { if case .stepStarted(let s) = $0.kind { s.purpose } else { nil } }
        #expect(purposes == [.initial, .continuation, .retry])
    }

    @Test("an answer that stays at the limit after the continuations allowed is marked truncated and scored as such")
    func lengthTruncated() async throws {
        let cut = Wire.openAI.stream(["more "]).map {
            $0.replacingOccurrences(of: #""finish_reason":"stop""#, with: #""finish_reason":"length""#)
        }
        let server = try await LoopbackServer.start { _ in .sse(cut) }
        let catalog = try oneProviderCatalog(server.baseURL, models: [("cutter", 4)])
        var config = EngineConfig()
        config.maxContinuations = 2
        config.maxRefinements = 0
        let (final, events, _) = await run(catalog, try singlePlan(catalog, model: "lo/cutter"), config: config)
        let requests = server.requests.count
        await server.stop()
        #expect(requests == 3, "one answer and two continuations")
        #expect(final.status == .completedBelowThreshold, "a truncated answer never passes as complete")
        let step = try #require(final.steps["generation"])
        #expect(step.output == "more more more ")
        #expect(step.truncated)
        let done = events.compactMap { if case .stepDone(let d) = $0.kind { d } else { nil } }
        #expect(done.first?.finishReason == .length)
        #expect(final.summary.phases.first?.truncated == true)
        let dims = step.quality?.dimensions ?? []
        #expect(dims.contains { $0.name == "complete" && $0.score == 0 })
        #expect((step.quality?.score ?? 1) < 0.9, "a truncated answer does not keep the validator's full score")
        // The JSON event a user sees carries it.
        let json = String(decoding: try JSONEncoder().encode(events.first { if case .stepDone = $0.kind { true } else { false } }!), as: UTF8.self)
        #expect(json.contains(#""finishReason":"length""#) || json.contains(#""finish_reason":"length""#))
    }
}
