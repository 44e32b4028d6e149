// CompareBench — the Swift side of the side-by-side benchmark (scripts/bench-compare.sh): the same
// chat completion against the loopback StubServer through
//   ahc      — a bare AsyncHTTPClient loop (POST, read the whole body; no parsing);
//   provider — YMERA's OpenAI-compatible client (HTTPModelClient: SSE decoding, watchdog, usage);
//   engine   — YMERA's engine on a one-phase plan (breakers, rate limiter, fallback model, heuristic
//              validator, every event journaled to SQLite through JournalSink, as `ymera run` does);
//   engine-nojournal — the same engine with no journal, to show what the journal costs.
// Prints one JSON line per client and mode; the script turns them into the table.
//
//   CompareBench --base http://127.0.0.1:PORT/v1 [--modes stream,json] [--clients ahc,provider,engine-nojournal,engine]
//                [--sequential 300] [--warmup 50] [--calls 2000] [--concurrency 50] [--round 1]
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import YmeraCore
import YmeraProviders
import YmeraStore

/// Options and constants (static, so nonisolated code may read them).
enum Opt {
    static let args = CommandLine.arguments
    static func option(_ name: String, _ fallback: String) -> String {
        guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
        return args[i + 1]
    }
    static let base = option("--base", "http://127.0.0.1:8080/v1")
    static let modes = option("--modes", "stream,json").split(separator: ",").map(String.init)
    static let clients = option("--clients", "ahc,provider,engine-nojournal,engine").split(separator: ",").map(String.init)
    static let sequential = max(1, Int(option("--sequential", "300")) ?? 300)
    static let warmup = max(0, Int(option("--warmup", "50")) ?? 50)
    static let calls = max(1, Int(option("--calls", "2000")) ?? 2000)
    static let concurrency = max(1, Int(option("--concurrency", "50")) ?? 50)
    static let round = Int(option("--round", "1")) ?? 1

    /// The answer the stub gives; every call checks it arrived whole.
    static let expected = "The answer is forty-two: 42."
    static let prompt = "Say the answer to the ultimate question in one short sentence."
    static let stubModel = "stub-model"
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func nowNs() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

// MARK: The three clients

/// A plain AsyncHTTPClient POST of the request YMERA's OpenAI format sends, reading the whole body.
struct BareAHC: Sendable {
    let http: HTTPClient
    let stream: Bool
    func call() async throws {
        var r = HTTPClientRequest(url: Opt.base + "/chat/completions")
        r.method = .POST
        r.headers.add(name: "content-type", value: "application/json")
        r.headers.add(name: "accept", value: stream ? "text/event-stream" : "application/json")
        let body =
            stream
            ? "{\"model\":\"\(Opt.stubModel)\",\"messages\":[{\"role\":\"user\",\"content\":\"\(Opt.prompt)\"}],\"stream\":true,\"stream_options\":{\"include_usage\":true},\"max_tokens\":64}"
            : "{\"model\":\"\(Opt.stubModel)\",\"messages\":[{\"role\":\"user\",\"content\":\"\(Opt.prompt)\"}],\"stream\":false,\"max_tokens\":64}"
        r.body = .bytes(ByteBuffer(string: body))
        let response = try await http.execute(r, timeout: .seconds(30))
        guard response.status == .ok else { throw BenchError("status \(response.status.code)") }
        let bytes = try await response.body.collect(upTo: 1 << 20)
        // Proof the answer arrived (no parsing: the baseline does the least a client can).
        guard bytes.readableBytes > 100 else { throw BenchError("short body") }
    }
}

/// YMERA's OpenAI-compatible provider client.
struct ProviderPath: Sendable {
    let client: OpenAICompatibleClient
    let model: ModelInfo
    let provider: ProviderConfig
    let stream: Bool
    func call() async throws {
        let request = ModelRequest(
            model: model, provider: provider, messages: [.user(Opt.prompt)], maxTokens: 64, stream: stream,
            context: RequestContext(runID: "bench", stepID: "generation", phase: .generation, attempt: 1, taskType: .question, seed: 1))
        var text = ""
        var finished = false
        for try await event in client.stream(request) {
            switch event {
            case .delta(let t): text += t
            case .finished: finished = true
            case .usage, .rateLimit, .toolCall: break
            }
        }
        guard finished, text == Opt.expected else { throw BenchError("provider: unexpected answer \(text.debugDescription)") }
    }
}

/// YMERA's engine: a one-phase plan, every event journaled (without a journal: the engine alone).
final class EnginePath: Sendable {
    let engine: Engine
    let journal: Journal?
    let stream: Bool
    let counter = Atomic<Int>(0)
    init(engine: Engine, journal: Journal?, stream: Bool) {
        self.engine = engine
        self.journal = journal
        self.stream = stream
    }
    func call() async throws {
        let n = counter.add(1, ordering: .relaxed).newValue
        let plan = RunPlan(
            runID: String(format: "bench-%@-r%d-%07d", stream ? "s" : "j", Opt.round, n), task: Opt.prompt,
            intent: Intent(taskType: .question, complexity: 0.1, urgency: 0.5, creativity: 0.1, capabilities: [.fast]),
            strategy: .single,
            steps: [
                PlanStep(id: "generation", phase: .generation, title: "Answer", model: "stub/a", fallbacks: ["stub/b"], maxTokens: 64)
            ],
            budget: .unlimited, seed: UInt64(n), serving: .cloud, qualityThreshold: 0)
        let sink = journal.map { JournalSink(journal: $0) }
        var observer: (@Sendable (RunEvent, RunControl) -> Void)?
        var durable: (@Sendable (Int) async -> Void)?
        if let sink {
            observer = { event, _ in sink.record(event) }
            durable = { seq in await sink.durable(through: seq) }
        }
        let handle = engine.start(plan, observer: observer, durable: durable)
        for await _ in handle.events {}
        let final = await handle.finalState()
        try await sink?.finish()
        guard final.status == .succeeded, final.finalOutput == Opt.expected else {
            throw BenchError("engine: run \(final.status.rawValue), output \(final.finalOutput.debugDescription)")
        }
    }
}

// MARK: Measuring

/// The stub's own service time over the last window.
struct StubStats: Decodable {
    var requests: Int
    var median_us: Double
    var p99_us: Double
}

func stub(_ http: HTTPClient, _ method: HTTPMethod, _ path: String) async throws -> ByteBuffer {
    var r = HTTPClientRequest(url: Opt.base.replacingOccurrences(of: "/v1", with: "") + path)
    r.method = method
    let response = try await http.execute(r, timeout: .seconds(10))
    return try await response.body.collect(upTo: 1 << 16)
}

/// Hands out call numbers to the concurrent workers.
final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
}

func measure(name: String, mode: String, control: HTTPClient, _ call: @escaping @Sendable () async throws -> Void) async throws {
    for _ in 0..<Opt.warmup { try await call() }

    // Sequential: each call's wall time, and the stub's service time over the same window.
    _ = try await stub(control, .POST, "/stats/reset")
    var latencies: [Double] = []
    latencies.reserveCapacity(Opt.sequential)
    for _ in 0..<Opt.sequential {
        let t0 = nowNs()
        try await call()
        latencies.append(Double(nowNs() - t0) / 1000)
    }
    let statsBody = try await stub(control, .GET, "/stats")
    let s = try JSONDecoder().decode(StubStats.self, from: Data(statsBody.readableBytesView))
    guard s.requests == Opt.sequential else {
        throw BenchError("\(name): the stub saw \(s.requests) requests for \(Opt.sequential) calls")
    }
    latencies.sort()

    // Throughput: a bounded number of calls, `concurrency` at a time.
    let next = Counter()
    let t0 = nowNs()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<Opt.concurrency {
            group.addTask {
                while next.value.add(1, ordering: .relaxed).newValue <= Opt.calls { try await call() }
            }
        }
        try await group.waitForAll()
    }
    let wall = Double(nowNs() - t0) / 1e9
    let median = percentile(latencies, 0.5)
    let p99 = percentile(latencies, 0.99)
    let line: [String: Any] = [
        "client": name, "mode": mode, "round": Opt.round, "sequential": Opt.sequential,
        "median_us": median, "p99_us": p99,
        "stub_median_us": s.median_us, "stub_p99_us": s.p99_us,
        "added_median_us": median - s.median_us, "added_p99_us": p99 - s.median_us,
        "calls": Opt.calls, "concurrency": Opt.concurrency, "calls_per_s": Double(Opt.calls) / wall,
    ]
    let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

// MARK: Wiring

let control = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
// Bare AsyncHTTPClient with its default configuration (8 HTTP/1.1 connections per host, as YMERA's).
let bareHTTP = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
// YMERA's own HTTP client, as the CLI makes it.
let ymeraHTTP = HTTPModelClients.makeHTTPClient(timeouts: .default)

let provider = ProviderConfig(id: "stub", kind: .openAICompatible, displayName: "Loopback stub", baseURL: Opt.base)
func stubModelInfo(_ id: String) -> ModelInfo {
    ModelInfo(
        id: ModelID("stub/\(id)"), provider: "stub", apiName: Opt.stubModel, displayName: "stub \(id)", contextWindow: 32_000,
        maxOutputTokens: 1024, pricing: Pricing(inputPerMillion: 0.1, outputPerMillion: 0.2), speedTier: 5, qualityTier: 3,
        capabilities: [.fast, .accuracy],
        // Generous, so the limiter is consulted on every call but never makes one wait.
        rateLimit: RateLimit(requestsPerMinute: 10_000_000, tokensPerMinute: 1_000_000_000))
}
let catalog = try Catalog(providers: [provider], models: [stubModelInfo("a"), stubModelInfo("b")])
let openAI = OpenAICompatibleClient(format: OpenAIChatFormat(), httpClient: ymeraHTTP, environment: [:])

let journalDir = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-compare-\(getpid())")
let journal = try Journal.open(directory: journalDir)

do {
    for mode in Opt.modes {
        let stream = mode == "stream"
        for name in Opt.clients {
            switch name {
            case "ahc":
                let c = BareAHC(http: bareHTTP, stream: stream)
                try await measure(name: name, mode: mode, control: control) { try await c.call() }
            case "provider":
                let c = ProviderPath(client: openAI, model: stubModelInfo("a"), provider: provider, stream: stream)
                try await measure(name: name, mode: mode, control: control) { try await c.call() }
            case "engine":
                var config = EngineConfig()
                config.stream = stream
                // Breakers kept in the journal, as a real-time `ymera run` does (Wiring.resilience).
                let resilience = ResilienceRegistry(breakerConfig: .init(), listener: journal.breakerListener())
                try journal.restoreBreakers(into: resilience, nowMs: SystemClock().nowMs())
                let engine = Engine(
                    catalog: catalog, client: ClientRouter(clients: [.openAICompatible: openAI]), validator: HeuristicValidator(),
                    clock: SystemClock(), resilience: resilience, config: config, history: journal)
                let c = EnginePath(engine: engine, journal: journal, stream: stream)
                try await measure(name: name, mode: mode, control: control) { try await c.call() }
            case "engine-nojournal":
                // The same engine path with nothing written to disk: what the journal costs.
                var config = EngineConfig()
                config.stream = stream
                let engine = Engine(
                    catalog: catalog, client: ClientRouter(clients: [.openAICompatible: openAI]), validator: HeuristicValidator(),
                    clock: SystemClock(), resilience: ResilienceRegistry(), config: config)
                let c = EnginePath(engine: engine, journal: nil, stream: stream)
                try await measure(name: name, mode: mode, control: control) { try await c.call() }
            default:
                throw BenchError("unknown client \(name)")
            }
        }
    }
} catch {
    FileHandle.standardError.write(Data("CompareBench: \(error)\n".utf8))
    try? journal.close()
    try? FileManager.default.removeItem(at: journalDir)
    exit(1)
}
try journal.close()
try? FileManager.default.removeItem(at: journalDir)
func shutdown(_ clients: [HTTPClient]) async throws {
    for c in clients { try await c.shutdown() }
}
try await shutdown([control, bareHTTP, ymeraHTTP])
