import Foundation
import Synchronization
import Testing
import YmeraCore
@testable import YmeraProviders

/// Marks the end of every complete answer the loopback server sends. A cut stream never carries it,
/// so an output without it at its end is a truncated answer taken as complete.
let endSentinel = "<<END-OF-ANSWER>>"

/// Passes every output, and records any output that does not end with the sentinel.
final class SentinelValidator: QualityValidator, Sendable {
    let bad = Mutex<[String]>([])
    let seen = Mutex(0)

    func evaluate(_ input: ValidationInput) async -> QualityReport {
        seen.withLock { $0 += 1 }
        if !input.output.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(endSentinel) {
            bad.withLock { $0.append("\(input.stepID): …\(input.output.suffix(60))") }
        }
        return QualityReport(
            score: 0.9, threshold: input.threshold, dimensions: [QualityDimension(name: "sentinel", score: 0.9, weight: 1, detail: "")],
            validator: "sentinel")
    }
}

/// What the loopback server did, per request.
final class FaultLedger: Sendable {
    struct State {
        var random: SplitMix64
        var requests = 0
        var faults: [Fault: Int] = [:]
    }
    let state: Mutex<State>
    init(seed: UInt64) { state = Mutex(State(random: SplitMix64(seed: seed))) }

    /// 30% of requests get one of the mixed faults.
    func next() -> Fault? {
        state.withLock { s in
            s.requests += 1
            guard s.random.nextDouble() < 0.3 else { return nil }
            let f = engineFaults[Int(s.random.next() % UInt64(engineFaults.count))]
            s.faults[f, default: 0] += 1
            return f
        }
    }
}

/// Faults a live provider produces on the wire (a refused connection is per address, so it is
/// covered by the client tests instead; here every request reaches the server).
let engineFaults: [Fault] = [
    .rateLimit429, .overloaded503, .serverError500, .stallMidStream, .resetMidStream, .closedMidStream,
    .streamErrorEvent, .truncatedStream, .malformedChunk, .timeoutBeforeFirstByte, .auth401, .contextTooLong,
]

func loopbackCatalog(baseURL: String) throws -> Catalog {
    let providers = [
        ProviderConfig(id: "lo-openai", kind: .openAICompatible, baseURL: baseURL + "/v1", apiKeyEnv: "YMERA_TEST_KEY"),
        ProviderConfig(id: "lo-anthropic", kind: .anthropic, baseURL: baseURL + "/v1", apiKeyEnv: "YMERA_TEST_KEY"),
        ProviderConfig(id: "lo-gemini", kind: .gemini, baseURL: baseURL + "/v1beta", apiKeyEnv: "YMERA_TEST_KEY"),
    ]
    func m(_ p: String, _ name: String, speed: Int, quality: Int, caps: Set<Capability>, ctx: Int = 32_000) -> ModelInfo {
        ModelInfo(
            id: ModelID("\(p)/\(name)"), provider: p, apiName: name, displayName: name, contextWindow: ctx,
            pricing: Pricing(inputPerMillion: Double(quality), outputPerMillion: Double(quality) * 3), speedTier: speed,
            qualityTier: quality, capabilities: caps)
    }
    return try Catalog(providers: providers, models: [
        m("lo-openai", "fast", speed: 5, quality: 2, caps: [.fast]),
        m("lo-openai", "coder", speed: 4, quality: 4, caps: [.code, .reasoning]),
        m("lo-anthropic", "smart", speed: 3, quality: 5, caps: [.code, .reasoning, .review, .accuracy, .longContext], ctx: 200_000),
        m("lo-anthropic", "judge", speed: 4, quality: 4, caps: [.review, .accuracy]),
        m("lo-gemini", "flash", speed: 5, quality: 3, caps: [.fast, .longContext], ctx: 1_000_000),
        m("lo-gemini", "pro", speed: 3, quality: 5, caps: [.code, .reasoning, .review, .accuracy]),
    ])
}

struct RunResult: Sendable {
    var index: Int
    var status: RunStatus
    var endReason: String?
    var hung: Bool
    var leafOutputs: [(String, String)]
    var failedAttempts: Int
    var truncatedAttempts: Int
}

@Suite("Engine + HTTP clients under 30% mixed wire faults", .timeLimit(.minutes(5)))
struct EngineFaultTests {
    @Test func twoHundredRunsEndSucceededOrFailedWithAReason() async throws {
        let runs = 200
        let ledger = FaultLedger(seed: 2026)
        let healthy = ["1. Design the endpoints\n", "2. Add token authentication\n", "3. Deploy it\n", endSentinel]
        let server = try await LoopbackServer.start { request in
            let wire: Wire =
                request.uri.hasSuffix("/chat/completions") ? .openAI : request.uri.hasSuffix("/messages") ? .anthropic : .gemini
            guard let fault = ledger.next() else { return .sse(wire.stream(healthy)) }
            return fault.script(wire)
        }
        let catalog = try loopbackCatalog(baseURL: server.baseURL)
        let timeouts = ProviderTimeouts(
            connect: .seconds(2), firstByte: .milliseconds(1500), idle: .milliseconds(700), total: .seconds(10))
        let client = HTTPModelClients.router(httpClient: testHTTPClient, environment: testEnvironment, timeouts: timeouts)
        var config = EngineConfig()
        config.retry.initialDelayMs = 5
        config.retry.maxDelayMs = 40
        config.retry.maxRetryAfterWaitMs = 50  // a 3 s retry-after moves to the next model
        config.maxThrottleWaitMs = 100
        config.maxBreakerWaitMs = 300
        let engineConfig = config
        let validator = SentinelValidator()
        let tasks = [
            "Create a REST API with authentication and deploy it",
            "Write a Python function that parses CSV files and sums a column",
            "Explain the trade-offs between SQLite and PostgreSQL for a small web app",
            "Summarize the main risks of rolling out a new payment service",
        ]

        let results = await withTaskGroup(of: RunResult.self) { group in
            var out: [RunResult] = []
            var next = 0
            func launch() {
                let i = next
                next += 1
                group.addTask {
                    let task = tasks[i % tasks.count]
                    let plan: RunPlan
                    do {
                        plan = try Planner(catalog: catalog, available: catalog.models).plan(
                            task: task, intent: IntentAnalyzer().analyze(task),
                            options: PlanOptions(seed: UInt64(i + 1), runID: "soak-\(i)"))
                    } catch {
                        return RunResult(index: i, status: .failed, endReason: "plan: \(error)", hung: false, leafOutputs: [], failedAttempts: 0, truncatedAttempts: 0)
                    }
                    // Each run has its own engine (own breakers), as separate `ymera run` invocations do.
                    let engine = Engine(catalog: catalog, client: client, validator: validator, config: engineConfig)
                    let handle = engine.start(plan)
                    let consumer = Task { () -> [RunEvent] in
                        var events: [RunEvent] = []
                        for await e in handle.events { events.append(e) }
                        return events
                    }
                    // Bounded wait: a run that has not ended after 60 s counts as hung.
                    let hung = await withTaskGroup(of: Bool.self) { race in
                        race.addTask { _ = await consumer.value; return false }
                        race.addTask { (try? await Task.sleep(for: .seconds(60))) != nil }
                        let first = await race.next() ?? true
                        race.cancelAll()
                        return first
                    }
                    if hung { handle.cancel(reason: "test: hung") }
                    let events = await consumer.value
                    let final = await handle.finalState()
                    let leaves = final.steps.values.filter { $0.status == .done && $0.children.isEmpty }.map { ($0.id, $0.output) }
                    var failed = 0, truncated = 0
                    for e in events {
                        if case .attemptFailed(let f) = e.kind {
                            failed += 1
                            if f.errorClass == .truncated { truncated += 1 }
                        }
                    }
                    return RunResult(
                        index: i, status: final.status, endReason: final.endReason, hung: hung, leafOutputs: leaves,
                        failedAttempts: failed, truncatedAttempts: truncated)
                }
            }
            for _ in 0..<6 { launch() }
            while let r = await group.next() {
                out.append(r)
                if next < runs { launch() }
            }
            return out
        }
        await server.stop()

        #expect(results.count == runs)
        var succeeded = 0, failed = 0, attemptsFailed = 0, truncatedSeen = 0
        for r in results {
            #expect(!r.hung, "run \(r.index) hung")
            #expect(r.status == .succeeded || r.status == .failed, "run \(r.index) ended \(r.status)")
            if r.status == .succeeded { succeeded += 1 }
            if r.status == .failed {
                failed += 1
                #expect(r.endReason?.isEmpty == false, "run \(r.index) failed without a reason")
            }
            for (step, output) in r.leafOutputs {
                #expect(
                    output.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(endSentinel),
                    "run \(r.index) step \(step) accepted an answer that never ended: …\(output.suffix(60))")
            }
            attemptsFailed += r.failedAttempts
            truncatedSeen += r.truncatedAttempts
        }
        let bad = validator.bad.withLock { $0 }
        #expect(bad.isEmpty, "outputs validated although cut: \(bad.prefix(5))")
        let (requests, faults) = ledger.state.withLock { ($0.requests, $0.faults) }
        let faultCount = faults.values.reduce(0, +)
        #expect(Double(faultCount) / Double(requests) > 0.2 && Double(faultCount) / Double(requests) < 0.4)
        #expect(attemptsFailed >= faultCount / 2, "the engine saw the injected faults as failed attempts")
        #expect(truncatedSeen > 0)
        #expect(succeeded > runs / 2, "most runs heal: \(succeeded) succeeded, \(failed) failed")
        let reasons = Dictionary(grouping: results.filter { $0.status == .failed }, by: { String(($0.endReason ?? "").prefix(90)) }).mapValues(\.count)
        print("engine fault soak failures: \(reasons)")
        print("engine fault soak: \(runs) runs, \(succeeded) succeeded, \(failed) failed; \(requests) requests, \(faultCount) faults \(faults.map { "\($0.key.rawValue)=\($0.value)" }.sorted().joined(separator: " ")); \(attemptsFailed) failed attempts, validator saw \(validator.seen.withLock { $0 }) outputs")
    }
}
