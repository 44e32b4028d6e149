// CoreBench: what the engine's pure parts cost. Prints figures; not a test.
//   cd Benchmarks && swift run -c release CoreBench
import Foundation
import YmeraCore

/// Unbuffered, so figures appear as they are measured even through a pipe.
func say(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }

func measure(_ label: String, unit: String, count: Int, repeats: Int = 5, _ body: () -> Void) {
    var times: [Double] = []
    for _ in 0..<repeats {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    times.sort()
    let median = times[times.count / 2]
    let perOp = median / Double(count) * 1e9
    say(String(format: "%-44@ %10.0f %@/s   %8.1f ns/%@   (median of %d)", label as NSString, Double(count) / median, unit, perOp, unit, repeats))
}

say("YMERA CoreBench — \(ProcessInfo.processInfo.processorCount) cores, \(Date())")

// Breaker: a decision and an outcome per call.
measure("circuit breaker admit+record", unit: "call", count: 1_000_000) {
    var b = CircuitBreaker()
    var t: Int64 = 0
    for i in 0..<1_000_000 {
        t += 1
        _ = b.admit(nowMs: t)
        _ = b.record(failure: i % 7 == 0 ? true : false, nowMs: t)
    }
}

// Retry policy decisions across error classes.
let failures = ErrorClass.allCases.map { ModelFailure($0, "x", retryAfterMs: $0 == .rateLimit ? 1000 : nil, partialOutput: "p") }
measure("retry policy decide", unit: "decision", count: 1_000_000) {
    let p = RetryPolicy()
    var rng = SplitMix64(seed: 1)
    for i in 0..<1_000_000 {
        _ = p.decide(failures[i % failures.count], attemptsOnModel: 1 + i % 3, hasFallback: i % 2 == 0, random: &rng)
    }
}

// Rate limiter reservations.
measure("rate limiter reserve", unit: "call", count: 1_000_000) {
    var l = RateLimiter(limit: RateLimit(requestsPerMinute: 600, tokensPerMinute: 1_000_000), nowMs: 0)
    for i in 0..<1_000_000 { _ = l.reserve(estimatedTokens: 100, nowMs: Int64(i)) }
}

// A real simulated run's events, for the reducer.
let catalogModels: [ModelInfo] = [
    ModelInfo(id: "sim/a", provider: "sim", apiName: "a", displayName: "a", contextWindow: 32_000, pricing: Pricing(inputPerMillion: 1, outputPerMillion: 2), speedTier: 4, qualityTier: 4, capabilities: [.code, .reasoning, .review]),
    ModelInfo(id: "sim/b", provider: "sim", apiName: "b", displayName: "b", contextWindow: 32_000, pricing: Pricing(inputPerMillion: 0.1, outputPerMillion: 0.2), speedTier: 5, qualityTier: 2, capabilities: [.fast, .accuracy]),
    ModelInfo(id: "sim/c", provider: "sim", apiName: "c", displayName: "c", contextWindow: 200_000, pricing: Pricing(inputPerMillion: 3, outputPerMillion: 15), speedTier: 3, qualityTier: 5, capabilities: [.code, .reasoning, .review, .accuracy]),
]
let catalog = try! Catalog(providers: [ProviderConfig(id: "sim", kind: .simulated, baseURL: "sim://")], models: catalogModels)
let task = "Create a REST API with authentication and deploy it"
let planner = Planner(catalog: catalog, available: catalog.models)
measure("intent + plan (six phases)", unit: "plan", count: 2_000) {
    for i in 0..<2_000 {
        _ = try! planner.plan(task: task, intent: IntentAnalyzer().analyze(task), options: PlanOptions(seed: UInt64(i), runID: "r"))
    }
}
let plan = try! planner.plan(task: task, intent: IntentAnalyzer().analyze(task), options: PlanOptions(seed: 7, runID: "bench"))
let clock = VirtualClock()
let engine = Engine(catalog: catalog, client: SimulatedProvider(clock: clock, faults: .init(rate: 0.3)), clock: clock)
let box = EventBox()
let sem = DispatchSemaphore(value: 0)
// Detached: top-level code runs on the main actor, which the semaphore below blocks.
Task.detached {
    let h = engine.start(plan)
    for await e in h.events { box.append(e) }
    sem.signal()
}
sem.wait()
let events = box.events
say("simulated run: \(events.count) events")
measure("reducer: RunState.apply", unit: "event", count: events.count * 200) {
    for _ in 0..<200 { _ = RunState.replay(events) }
}
let encoder = JSONEncoder()
measure("event JSON encode", unit: "event", count: events.count * 50) {
    for _ in 0..<50 { for e in events { _ = try! encoder.encode(e) } }
}
measure("whole simulated run, virtual time (30% faults)", unit: "run", count: 20, repeats: 3) {
    for i in 0..<20 {
        let c = VirtualClock()
        let e = Engine(catalog: catalog, client: SimulatedProvider(clock: c, faults: .init(rate: 0.3)), clock: c)
        var seeded = plan
        seeded.seed = UInt64(i)
        let p = seeded
        let s = DispatchSemaphore(value: 0)
        Task.detached {
            _ = await e.run(p)
            s.signal()
        }
        s.wait()
    }
}

final class EventBox: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [RunEvent] = []
    func append(_ e: RunEvent) { lock.lock(); list.append(e); lock.unlock() }
    var events: [RunEvent] { lock.lock(); defer { lock.unlock() }; return list }
}
