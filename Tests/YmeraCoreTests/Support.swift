import Synchronization
@testable import YmeraCore

/// A catalog for tests: three simulated models with different tiers and capabilities.
func testCatalog() throws -> Catalog {
    let sim = ProviderConfig(id: "sim", kind: .simulated, baseURL: "sim://")
    func m(_ name: String, speed: Int, quality: Int, caps: Set<Capability>, price: (Double, Double)? = (1, 2), ctx: Int = 32_000) -> ModelInfo {
        ModelInfo(
            id: ModelID("sim/\(name)"), provider: "sim", apiName: name, displayName: name, contextWindow: ctx,
            pricing: price.map { Pricing(inputPerMillion: $0.0, outputPerMillion: $0.1) }, speedTier: speed, qualityTier: quality,
            capabilities: caps)
    }
    return try Catalog(providers: [sim], models: [
        m("fast", speed: 5, quality: 2, caps: [.fast], price: (0.05, 0.08)),
        m("coder", speed: 4, quality: 4, caps: [.code, .reasoning], price: (0.2, 0.6)),
        m("smart", speed: 3, quality: 5, caps: [.code, .reasoning, .review, .accuracy, .longContext], price: (3, 15), ctx: 200_000),
        m("judge", speed: 4, quality: 4, caps: [.review, .accuracy], price: (0.5, 1.5)),
    ])
}

let restTask = "Create a REST API with authentication and deploy it"

func plan(_ task: String = restTask, strategy: Strategy? = nil, seed: UInt64 = 7, budget: Budget = .unlimited,
          overrides: [String: ModelID] = [:], catalog: Catalog? = nil) throws -> RunPlan {
    let c = try catalog ?? testCatalog()
    let intent = IntentAnalyzer().analyze(task)
    return try Planner(catalog: c, available: c.models).plan(
        task: task, intent: intent,
        options: PlanOptions(strategy: strategy, modelOverrides: overrides, budget: budget, seed: seed, runID: "run-test"))
}

/// A validator that returns fixed scores per step (or a default), for gate tests.
final class FixedValidator: QualityValidator, Sendable {
    let scores: [String: [Double]]
    let defaultScore: Double
    let calls = Mutex<[String: Int]>([:])

    init(scores: [String: [Double]] = [:], defaultScore: Double = 0.9) {
        self.scores = scores
        self.defaultScore = defaultScore
    }

    func evaluate(_ input: ValidationInput) async -> QualityReport {
        let n = calls.withLock { c -> Int in
            c[input.stepID, default: 0] += 1
            return c[input.stepID]!
        }
        let list = scores[input.stepID] ?? []
        let s = n <= list.count ? list[n - 1] : defaultScore
        return QualityReport(score: s, threshold: input.threshold, dimensions: [QualityDimension(name: "fixed", score: s, weight: 1, detail: "test")], validator: "fixed")
    }
}

/// A client whose behaviour per (model, call number) is scripted. Pull-based like the simulated
/// provider, so it is deterministic on a `VirtualClock`.
final class ScriptedClient: ModelClient, Sendable {
    enum Step: Sendable {
        case ok(String)
        case fail(ModelFailure)
        /// Emit some text, then fail.
        case cut(String, ModelFailure)
        /// Emit text slowly: pieces with a delay between (ms).
        case slow([String], Int64)
    }
    let clock: any RunClock
    let script: @Sendable (ModelID, Int, ModelRequest) -> Step
    let calls = Mutex<[ModelID: Int]>([:])
    let log = Mutex<[(ModelID, String, Int64)]>([])
    let inFlight = Mutex(0)
    let maxInFlight = Mutex(0)

    init(clock: any RunClock, script: @escaping @Sendable (ModelID, Int, ModelRequest) -> Step) {
        self.clock = clock
        self.script = script
    }

    func count(_ m: ModelID) -> Int { calls.withLock { $0[m] ?? 0 } }
    var requests: [(ModelID, String, Int64)] { log.withLock { $0 } }

    /// The state of one scripted stream.
    final class Cursor: Sendable {
        struct State {
            var started = false
            var events: [ModelStreamEvent] = []
            var failure: ModelFailure?
            var delay: Int64 = 10
        }
        let state = Mutex(State())

        func begin(_ step: Step) -> Bool {
            state.withLock { s in
                if s.started { return false }
                s.started = true
                switch step {
                case .ok(let text):
                    s.events = [.delta(text), .usage(TokenUsage(inputTokens: 100, outputTokens: 50)), .finished(.stop)]
                case .fail(let f):
                    s.failure = f
                case .cut(let text, let f):
                    s.events = [.delta(text)]
                    s.failure = f
                case .slow(let pieces, let d):
                    s.events = pieces.map { .delta($0) } + [.usage(TokenUsage(inputTokens: 100, outputTokens: pieces.count)), .finished(.stop)]
                    s.delay = d
                }
                return true
            }
        }
        var delay: Int64 { state.withLock { $0.delay } }
        func nextEvent() -> ModelStreamEvent? {
            state.withLock { s in s.events.isEmpty ? nil : s.events.removeFirst() }
        }
        func takeFailure() -> ModelFailure? {
            state.withLock { s in
                let f = s.failure
                s.failure = nil
                return f
            }
        }
    }

    func nextCall(_ model: ModelID) -> Int {
        calls.withLock { c -> Int in
            let n = (c[model] ?? 0) + 1
            c[model] = n
            return n
        }
    }

    func record(_ model: ModelID, _ step: String, _ at: Int64) {
        log.withLock { $0.append((model, step, at)) }
    }

    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let n = nextCall(request.model.id)
        let step = script(request.model.id, n, request)
        record(request.model.id, request.context.stepID, clock.nowMs())
        let cursor = Cursor()
        let clock = self.clock
        let client = self
        return AsyncThrowingStream(unfolding: {
            if cursor.begin(step) { client.enterFlight() }
            do {
                try await clock.sleep(ms: cursor.delay)
            } catch {
                client.leaveFlight()
                throw error
            }
            if let next = cursor.nextEvent() {
                if case .finished = next { client.leaveFlight() }
                return next
            }
            if let f = cursor.takeFailure() {
                client.leaveFlight()
                throw f
            }
            return nil
        })
    }

    func enterFlight() {
        let now = inFlight.withLock { v -> Int in
            v += 1
            return v
        }
        maxInFlight.withLock { $0 = max($0, now) }
    }
    func leaveFlight() { inFlight.withLock { $0 -= 1 } }
}

func types(_ events: [RunEvent]) -> [String] { events.map(\.typeName) }

extension Engine {
    /// Runs and collects every event; `observer` sees each event as it is emitted, with the run's controls.
    func collect(_ plan: RunPlan, resume: ResumePoint? = nil, observer: (@Sendable (RunEvent, RunControl) -> Void)? = nil) async -> ([RunEvent], RunState) {
        let handle = start(plan, resume: resume, observer: observer)
        var events: [RunEvent] = []
        for await e in handle.events { events.append(e) }
        return (events, await handle.finalState())
    }
}
