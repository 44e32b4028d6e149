import Foundation
import Synchronization
import YmeraCore

/// A backend with canned models and scripted runs, for tests, golden files, benchmarks and demos.
/// It is not the engine: it plays plausible event sequences (phases, subtasks, a cut stream that
/// another model continues, a breaker trip, quality scores) and obeys the controls.
public final class ScriptedBackend: DashboardBackend {
    public struct Config: Sendable {
        /// Tokens per second while streaming (0 = as fast as possible).
        public var tokensPerSecond: Double
        /// Tokens each step streams.
        public var tokensPerStep: Int
        /// Cut generation's first subtask mid-stream; a fallback model continues it.
        public var injectFailure: Bool
        /// Virtual time: each token advances the run clock this much, with no real sleeping.
        public var virtualMsPerToken: Int?
        public init(tokensPerSecond: Double = 40, tokensPerStep: Int = 60, injectFailure: Bool = true, virtualMsPerToken: Int? = nil) {
            self.tokensPerSecond = tokensPerSecond
            self.tokensPerStep = tokensPerStep
            self.injectFailure = injectFailure
            self.virtualMsPerToken = virtualMsPerToken
        }
    }

    public let serving: ServingKind = .simulated
    public let config: Config
    private let catalog: [ModelStatus]
    private let store = Mutex<Store>(Store())
    private let counter = Atomic<Int>(0)

    private struct Store {
        var runners: [String: ScriptedRunner] = [:]
        var events: [String: [RunEvent]] = [:]
        var started: [String: Date] = [:]
        var breakers: [ModelID: BreakerState] = [:]
    }

    public init(config: Config = Config(), history: [(Date, [RunEvent])] = []) {
        self.config = config
        self.catalog = ScriptedBackend.sampleModels()
        store.withLock { s in
            for (date, events) in history {
                guard let id = events.first?.runID else { continue }
                s.events[id] = events
                s.started[id] = date
            }
        }
    }

    // MARK: canned data

    public static func sampleModels() -> [ModelStatus] {
        func m(_ id: String, _ name: String, _ inP: Double, _ outP: Double, speed: Int, quality: Int, _ caps: Set<Capability>, rpm: Int = 30) -> ModelInfo {
            ModelInfo(
                id: ModelID(id), provider: ModelID(id).provider, apiName: ModelID(id).name, displayName: name, contextWindow: 131_072,
                pricing: Pricing(inputPerMillion: inP, outputPerMillion: outP), speedTier: speed, qualityTier: quality,
                capabilities: caps, rateLimit: RateLimit(requestsPerMinute: rpm, tokensPerMinute: 6000))
        }
        return [
            ModelStatus(info: m("sim/llama-3.1-8b", "Llama 3.1 8B (sim)", 0.05, 0.08, speed: 5, quality: 2, [.fast, .code]), serving: .simulated, available: true),
            ModelStatus(info: m("sim/llama-3.3-70b", "Llama 3.3 70B (sim)", 0.59, 0.79, speed: 3, quality: 4, [.code, .reasoning, .review]), serving: .simulated, available: true),
            ModelStatus(info: m("sim/qwen-2.5-coder-32b", "Qwen 2.5 Coder 32B (sim)", 0.20, 0.20, speed: 4, quality: 4, [.code]), serving: .simulated, available: true),
            ModelStatus(info: m("sim/deepseek-r1", "DeepSeek R1 (sim)", 0.55, 2.19, speed: 2, quality: 5, [.reasoning, .accuracy, .review]), serving: .simulated, available: true),
            ModelStatus(info: m("sim/gemini-2.0-flash", "Gemini 2.0 Flash (sim)", 0.10, 0.40, speed: 5, quality: 3, [.longContext, .fast]), serving: .simulated, available: true),
            ModelStatus(info: m("groq/llama-3.1-8b-instant", "Llama 3.1 8B (Groq)", 0.05, 0.08, speed: 5, quality: 2, [.fast]), serving: .cloud, available: false, unavailableReason: "GROQ_API_KEY not set"),
        ]
    }

    static let phaseModels: [Phase: ModelID] = [
        .planning: "sim/llama-3.3-70b", .research: "sim/gemini-2.0-flash", .generation: "sim/qwen-2.5-coder-32b",
        .review: "sim/deepseek-r1", .refinement: "sim/llama-3.3-70b", .validation: "sim/llama-3.1-8b",
    ]

    /// A deterministic plan for a task (simple heuristics; the real planner lives in the engine).
    public static func makePlan(_ req: PlanRequest, runID: String, models: [ModelStatus] = sampleModels(), createdAt: Date = Date(timeIntervalSince1970: 1_790_000_000)) -> RunPlan {
        let lower = req.task.lowercased()
        let isCode = ["api", "code", "function", "build", "implement", "script", "swift", "python"].contains { lower.contains($0) }
        let words = req.task.split(whereSeparator: { $0 == " " || $0 == "\n" }).count
        let complexity = min(1, 0.2 + Double(words) / 40)
        let intent = Intent(
            taskType: isCode ? .code : .text, complexity: complexity, urgency: lower.contains("urgent") || lower.contains("asap") ? 0.9 : 0.3,
            creativity: isCode ? 0.2 : 0.6, capabilities: isCode ? [.code] : [.creative],
            requirements: lower.contains("test") ? ["tests"] : [], signals: ["\(words) words"], source: "heuristic")
        let strategy = req.strategy ?? (complexity > 0.5 ? .multiModel : .single)
        let priceOf: (ModelID) -> Pricing? = { id in models.first { $0.id == id }?.info.pricing }
        func forecast(_ m: ModelID, out: Int) -> StepForecast {
            let usage = TokenUsage(inputTokens: 400, outputTokens: out)
            let cost = priceOf(m).map { Cost(money: $0.cost(of: usage)) } ?? Cost(unpricedTokens: usage.totalTokens)
            return StepForecast(inputTokens: 400, outputTokens: out, cost: cost, durationMs: out * 25)
        }
        var steps: [PlanStep] = []
        switch strategy {
        case .single:
            let m = req.models["generation"] ?? "sim/llama-3.1-8b"
            steps = [PlanStep(id: "generation", phase: .generation, title: "Generate", model: m, fallbacks: ["sim/gemini-2.0-flash"], forecast: forecast(m, out: 600))]
        case .multiModel, .parallel, .cascade:
            var prev: String?
            for phase in Phase.allCases {
                let m = req.models[phase.rawValue] ?? phaseModels[phase]!
                let cands: [ModelID] = strategy == .parallel && phase == .generation ? ["sim/qwen-2.5-coder-32b", "sim/llama-3.3-70b"] : []
                steps.append(PlanStep(
                    id: phase.rawValue, phase: phase, title: phase.rawValue.capitalized, model: m,
                    fallbacks: [m == "sim/llama-3.1-8b" ? "sim/gemini-2.0-flash" : "sim/llama-3.1-8b"],
                    dependsOn: prev.map { [$0] } ?? [], candidates: cands,
                    decompose: phase == .generation && strategy != .parallel, forecast: forecast(m, out: phase == .generation ? 900 : 300)))
                prev = phase.rawValue
            }
        }
        let budget = req.budget ?? Budget(maxCost: Money(dollars: 0.05))
        let rec = Recommendation(
            strategy: .multiModel, similarRuns: 3, meanScore: 0.82, meanCost: Money(dollars: 0.0031), successRate: 1,
            rationale: "multi-model: 3 similar runs, mean score 0.82, mean cost $0.0031")
        return RunPlan(
            runID: runID, task: req.task, intent: intent, strategy: strategy, steps: steps, budget: budget,
            notes: req.models.isEmpty ? [] : ["model overrides: " + req.models.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")],
            seed: 42, serving: .simulated, recommendation: rec, qualityThreshold: 0.7, createdAt: createdAt)
    }

    /// All events of a scripted run, produced with virtual time and no sleeping (golden files).
    public static func scriptedEvents(_ plan: RunPlan, config: Config = Config(tokensPerSecond: 0, virtualMsPerToken: 25)) async -> [RunEvent] {
        let collected = Mutex<[RunEvent]>([])
        let runner = ScriptedRunner(plan: plan, config: config, models: sampleModels()) { e in collected.withLock { $0.append(e) } }
        await runner.run()
        return collected.withLock { $0 }
    }

    // MARK: DashboardBackend

    public func models() async -> [ModelStatus] {
        let b = store.withLock { $0.breakers }
        return catalog.map { m in
            var m = m
            if let s = b[m.id] { m.breaker = s }
            return m
        }
    }

    public func plan(_ request: PlanRequest) async throws -> RunPlan {
        let n = counter.add(1, ordering: .relaxed).newValue
        return Self.makePlan(request, runID: String(format: "r-%04d", n), models: catalog, createdAt: Date())
    }

    public func start(_ plan: RunPlan) async throws -> LiveRun {
        let (stream, cont) = AsyncStream<RunEvent>.makeStream(bufferingPolicy: .unbounded)
        let id = plan.runID
        let runner = ScriptedRunner(plan: plan, config: config, models: catalog) { [self] e in
            self.store.withLock { $0.events[id, default: []].append(e) }
            cont.yield(e)
        }
        store.withLock {
            $0.runners[id] = runner
            $0.started[id] = Date()
        }
        Task {
            await runner.run()
            cont.finish()
        }
        return LiveRun(runID: id, events: stream)
    }

    public func fork(runID: String, from step: String, model: ModelID) async throws -> (RunPlan, LiveRun) {
        throw TerminalError("forks reuse a journaled run's outputs: the scripted demo has no journal (use `ymera dashboard`)")
    }

    public func control(runID: String, _ command: RunControlAction) async throws {
        guard let r = store.withLock({ $0.runners[runID] }) else { throw TerminalError("no live run \(runID)") }
        await r.control(command)
    }

    public func breaker(_ model: ModelID, _ command: BreakerCommand) async throws {
        store.withLock { $0.breakers[model] = command == .reset ? .closed : .open }
    }

    public func history(search: String?, limit: Int) async throws -> [HistoryEntry] {
        let (events, started) = store.withLock { ($0.events, $0.started) }
        var out: [HistoryEntry] = []
        for (id, evs) in events {
            var st = RunState.replay(evs)
            st.markInterruptedIfOpen()
            if let q = search?.lowercased(), !q.isEmpty {
                guard st.task.lowercased().contains(q) || st.finalOutput.lowercased().contains(q) else { continue }
            }
            out.append(HistoryEntry(summary: st.summary, startedAt: started[id] ?? Date(timeIntervalSince1970: 0)))
        }
        return Array(out.sorted { $0.startedAt > $1.startedAt }.prefix(limit))
    }

    public func events(ofRun runID: String) async throws -> [RunEvent] {
        guard let e = store.withLock({ $0.events[runID] }) else { throw TerminalError("no run \(runID) in history") }
        return e
    }

    public func fileContent(runID: String, path: String, version: Int) async throws -> String {
        guard let text = Self.fixtureFile(path, version: version) else {
            throw TerminalError("no version \(version) of \(path) in run \(runID)")
        }
        return text
    }

    // MARK: files

    /// The files a scripted code run writes: step → (path, version). A refinement writes a second
    /// version of `app.py` and names a file the workspace refuses.
    static let scriptedWrites: [String: [(String, Int)]] = [
        "generation/1": [("models.py", 1)],
        "generation/2": [("app.py", 1)],
        "generation/3": [("auth.py", 1), ("tests/test_app.py", 1)],
        "generation": [("app.py", 1)],
        "refinement": [("app.py", 2)],
    ]

    /// Content of the scripted files (version 1 …). Carries an escape sequence, which the files view
    /// must never pass through.
    static let fixtureFiles: [String: [String]] = [
        "models.py": ["from dataclasses import dataclass\n\n\n@dataclass\nclass Todo:\n    id: int\n    title: str\n    done: bool = False\n"],
        "app.py": [
            "from models import Todo\n\nTODOS: list[Todo] = []\n\n\ndef list_todos(user):\n    return [t for t in TODOS]\n",
            "from models import Todo\nfrom auth import require_user\n\nTODOS: list[Todo] = []\n\n\ndef list_todos(token, page=0, size=20):\n    \"\"\"Paginated; the caller must be signed in.\"\"\"\n    require_user(token)\n    return TODOS[page * size:(page + 1) * size]\n\n\ndef add_todo(token, title):\n    require_user(token)\n    if not title.strip():\n        raise ValueError(\"empty title\")\n    todo = Todo(id=len(TODOS) + 1, title=title)\n    TODOS.append(todo)\n    return todo\n",
        ],
        "auth.py": ["import hmac\nimport os\n\n\ndef require_user(token):\n    \"\"\"\u{1B}[2JCompare in constant time.\"\"\"\n    if not hmac.compare_digest(token, os.environ.get(\"APP_TOKEN\", \"\")):\n        raise PermissionError(\"bad token\")\n"],
        "tests/test_app.py": ["import os\n\nos.environ[\"APP_TOKEN\"] = \"t\"\n\nfrom app import add_todo, list_todos\n\n\ndef test_add_and_list():\n    add_todo(\"t\", \"milk\")\n    assert list_todos(\"t\")[0].title == \"milk\"\n"],
    ]

    static func fixtureFile(_ path: String, version: Int) -> String? {
        guard let versions = fixtureFiles[path], version >= 1, version <= versions.count else { return nil }
        return versions[version - 1]
    }
}

/// Plays one scripted run, obeying pause, resume, retry, swap and cancel.
actor ScriptedRunner {
    let plan: RunPlan
    let config: ScriptedBackend.Config
    let models: [ModelStatus]
    let sink: @Sendable (RunEvent) -> Void
    private var seq = 0
    private var virtualMs = 0
    private let startedAt = ContinuousClock.now
    private var paused = false
    private var pausedAt: ContinuousClock.Instant?
    private var cancelled = false
    private var retryFrom: String?
    private var swaps: [String: ModelID] = [:]
    private var restartCurrent = false
    private var attempts: [String: Int] = [:]
    private var failedOnce = false
    private var nextTick: ContinuousClock.Instant?

    init(plan: RunPlan, config: ScriptedBackend.Config, models: [ModelStatus], sink: @escaping @Sendable (RunEvent) -> Void) {
        self.plan = plan
        self.config = config
        self.models = models
        self.sink = sink
    }

    private var elapsed: Int {
        if config.virtualMsPerToken != nil { return virtualMs }
        let d = ContinuousClock.now - startedAt
        return Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
    }

    private func emit(_ k: RunEvent.Kind) {
        seq += 1
        sink(RunEvent(runID: plan.runID, seq: seq, elapsedMs: elapsed, kind: k))
    }

    func control(_ c: RunControlAction) {
        switch c {
        case .pause:
            guard !paused else { return }
            paused = true
            pausedAt = .now
            emit(.paused(.init(inFlight: [], note: "the current token stream halts until resume")))
        case .resume:
            guard paused else { return }
            paused = false
            let ms = pausedAt.map { Int(($0.duration(to: .now)).components.seconds * 1000) } ?? 0
            emit(.resumed(.init(pausedMs: ms)))
        case .retry(let step):
            retryFrom = step
            restartCurrent = true
            if paused { control(.resume) }
        case .swapModel(let step, let to):
            let from = swaps[step] ?? plan.step(step)?.model ?? to
            swaps[step] = to
            let running = currentStep == step
            if running { restartCurrent = true }
            emit(.modelSwapped(.init(step: step, from: from, to: to, restarted: running)))
        case .rerun(let step, let on):
            swaps[step] = on
            control(.retry(step: step))
        case .cancel:
            cancelled = true
            if paused { paused = false }
        case .approve, .gateRerun, .reject:
            // Scripted runs have no gates: the refusal says so, as the engine's would.
            let name = { if case .approve = c { "approve" } else if case .reject = c { "reject" } else { "rerun" } }()
            emit(.commandRefused(.init(command: name, reason: "the run is not waiting at a gate (scripted runs have none)")))
        }
    }

    private var currentStep: String?

    private func tick() async {
        if let v = config.virtualMsPerToken {
            virtualMs += v
        } else if config.tokensPerSecond > 0 {
            // Keep the average rate exact: sleep to the next token's deadline, not a fixed pause.
            let step = Duration.nanoseconds(Int64(1_000_000_000 / config.tokensPerSecond))
            let now = ContinuousClock.now
            let next = (nextTick ?? now) + step
            nextTick = next < now - .milliseconds(200) ? now : next
            if next > now { try? await Task.sleep(until: next, clock: .continuous) }
        }
        var guardCount = 0
        while paused && !cancelled && guardCount < 200_000 {
            try? await Task.sleep(nanoseconds: 50_000_000)
            guardCount += 1
            nextTick = nil
        }
    }

    private static let texts: [Phase: String] = [
        .planning: "1. Define the data model and routes\n2. Implement handlers with validation\n3. Add authentication and tests\n",
        .research: "Relevant prior art: REST conventions (RFC 9110), token auth with short-lived JWTs, SQLite for storage. ",
        .generation: "func handle(_ req: Request) async throws -> Response {\n    guard let user = try await auth(req) else { return .unauthorized }\n    let items = try await store.todos(for: user)\n    return .json(items)\n}\n",
        .review: "Review: handlers validate input; missing rate limiting on login; error messages leak no secrets. Score 8/10. ",
        .refinement: "Refined: added rate limiting to /login, pagination to /todos, and a test for expired tokens. ",
        .validation: "Validation: syntax ok, 12 tests pass, no high-severity findings. ✓ 完成 ",
    ]

    private func model(for step: PlanStep) -> ModelID { swaps[step.id] ?? step.model }

    func run() async {
        emit(.runPlanned(plan))
        var i = 0
        var guardSteps = 0
        while i < plan.steps.count && guardSteps < 1000 {
            guardSteps += 1
            if cancelled { emit(.runCancelled(.init(reason: "cancelled by the user"))); return }
            let step = plan.steps[i]
            currentStep = step.id
            await runStep(step)
            if cancelled { emit(.runCancelled(.init(reason: "cancelled by the user"))); return }
            if let r = retryFrom, let idx = plan.steps.firstIndex(where: { $0.id == r }), idx <= i {
                retryFrom = nil
                restartCurrent = false
                let reset = plan.steps[idx...].map(\.id)
                emit(.stepReset(.init(step: r, reset: Array(reset))))
                i = idx
                continue
            }
            retryFrom = nil
            i += 1
        }
        currentStep = nil
        emit(.runFinished(.init(reason: nil)))
    }

    private func runStep(_ step: PlanStep) async {
        var restarts = 0
        while restarts < 20 {
            restartCurrent = false
            let m = model(for: step)
            if step.decompose {
                emit(.stepStarted(.init(step: step.id, model: m, attempt: 1, purpose: .initial)))
                let subs = [Subtask(id: "1", title: "data model and routes"), Subtask(id: "2", title: "handlers", dependsOn: ["1"]), Subtask(id: "3", title: "auth and tests", dependsOn: ["2"])]
                emit(.subtasksPlanned(.init(step: step.id, subtasks: subs, source: "planning output")))
                for (n, sub) in subs.enumerated() {
                    let id = "\(step.id)/\(sub.id)"
                    await stream(id, phase: step.phase, model: model(for: step), fallback: step.fallbacks.first, mayFail: n == 0)
                    if cancelled || restartCurrent { break }
                }
                if cancelled { return }
                if restartCurrent { restarts += 1; continue }
                emit(.qualityScored(.init(step: step.id, model: m, report: report(step.phase))))
                emit(.stepDone(.init(step: step.id, model: model(for: step), outputChars: 0)))
                return
            }
            if !step.candidates.isEmpty {
                for (n, cm) in step.candidates.enumerated() {
                    await stream("\(step.id)#\(n + 1)", phase: step.phase, model: cm, fallback: nil, mayFail: false, score: n == 0 ? 0.86 : 0.78)
                    if cancelled { return }
                }
                emit(.candidateChosen(.init(step: step.id, chosen: "\(step.id)#1", scores: ["\(step.id)#1": 0.86, "\(step.id)#2": 0.78])))
                emit(.stepDone(.init(step: step.id, model: step.candidates[0], outputChars: 0)))
                return
            }
            await stream(step.id, phase: step.phase, model: m, fallback: step.fallbacks.first, mayFail: false)
            if cancelled { return }
            if restartCurrent && retryFrom == nil { restarts += 1; continue }
            return
        }
    }

    private func report(_ phase: Phase, score: Double? = nil) -> QualityReport {
        let base = score ?? [Phase.planning: 0.82, .research: 0.76, .generation: 0.84, .review: 0.8, .refinement: 0.88, .validation: 0.9][phase] ?? 0.8
        let dims = [
            QualityDimension(name: "relevance", score: base, weight: 0.3, detail: "task terms covered"),
            QualityDimension(name: "completeness", score: min(1, base + 0.05), weight: 0.3, detail: "requirements met"),
            QualityDimension(name: "syntax", score: phase == .generation || phase == .refinement ? 1 : nil, weight: 0.2, detail: "swiftc -parse"),
            QualityDimension(name: "security", score: max(0, base - 0.1), weight: 0.2, detail: "rules"),
        ]
        return QualityReport(
            score: base, threshold: plan.qualityThreshold, dimensions: dims,
            findings: phase == .generation ? [QualityFinding(rule: "YM001", source: "ymera", severity: .low, line: 3, message: "no rate limiting")] : [],
            validator: "scripted")
    }

    /// Streams one step's text; optionally cut mid-way and continued by the fallback model.
    private func stream(_ id: String, phase: Phase, model m: ModelID, fallback: ModelID?, mayFail: Bool, score: Double? = nil) async {
        attempts[id, default: 0] += 1
        emit(.stepStarted(.init(step: id, model: m, attempt: attempts[id]!, purpose: attempts[id]! > 1 ? .rerun : .initial)))
        let text = Self.texts[phase] ?? "…"
        let chars = Array(text)
        let n = max(1, config.tokensPerStep)
        var sent = 0
        var current = m
        let failAt = (mayFail && config.injectFailure && !failedOnce && fallback != nil) ? n / 2 : -1
        var tokenChars = 0
        for t in 0..<n {
            if cancelled || restartCurrent { return }
            if t == failAt {
                failedOnce = true
                let partial = sent
                emit(.attemptFailed(.init(step: id, model: current, attempt: attempts[id]!, errorClass: .stall, message: "stream stalled for 30 s", partialChars: partial)))
                emit(.breakerChanged(.init(model: current, from: .closed, to: .open, reason: "3 failures in 60 s", cooldownMs: 30_000)))
                emit(.fallbackTaken(.init(step: id, from: current, to: fallback!, reason: .stall, mode: .continue, spliceAt: partial)))
                attempts[id]! += 1
                emit(.stepStarted(.init(step: id, model: fallback!, attempt: attempts[id]!, purpose: .fallback, continuesFrom: partial)))
                current = fallback!
            }
            // Roughly four characters per token, cycling through the canned text.
            var piece = ""
            for _ in 0..<4 {
                piece.append(chars[tokenChars % chars.count])
                tokenChars += 1
            }
            // A model's output carrying an escape sequence, which the view must never pass through.
            if t == 3 && phase == .research { piece += "\u{1B}[2J\u{1B}]0;pwned\u{07}" }
            emit(.textDelta(.init(step: id, text: piece)))
            sent += piece.count
            await tick()
        }
        let usage = TokenUsage(inputTokens: 400, outputTokens: n)
        let price = models.first { $0.id == current }?.info.pricing
        let cost = price.map { Cost(money: $0.cost(of: usage)) } ?? Cost(unpricedTokens: usage.totalTokens)
        emit(.usage(.init(step: id, model: current, usage: usage, cost: cost)))
        emit(.rateLimit(RateLimitSnapshot(provider: current.provider, limitRequests: 30, remainingRequests: max(0, 29 - seq % 30), limitTokens: 6000, remainingTokens: max(0, 6000 - (seq * 37) % 6000))))
        if plan.intent.taskType == .code, let writes = ScriptedBackend.scriptedWrites[id] {
            let files = writes.compactMap { w in
                ScriptedBackend.fixtureFile(w.0, version: w.1).map { WrittenFile(path: w.0, version: w.1, bytes: $0.utf8.count, sha256: SHA256.hex(of: Array($0.utf8))) }
            }
            let refused = id == "refinement" ? [RefusedFile(name: "../../etc/cron.d/x", reason: "'..' in path")] : []
            emit(.filesWritten(.init(step: id, phase: phase, model: current, files: files, refused: refused)))
        }
        if !id.contains("/") {
            emit(.qualityScored(.init(step: id, model: current, report: report(phase, score: score))))
        }
        emit(.stepDone(.init(step: id, model: current, outputChars: sent)))
    }
}
