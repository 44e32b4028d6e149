import Foundation
import Logging
import Synchronization

/// Engine settings; the defaults are what a run uses unless the config says otherwise.
public struct EngineConfig: Sendable {
    public var retry = RetryPolicy()
    /// Independent subtasks of generation run at most this many at once.
    public var subtaskConcurrency = 3
    /// Refinements the quality gate may ask for per step.
    public var maxRefinements = 1
    /// After a stream is cut: the next model continues from the partial output, or starts again.
    public var fallbackMode: RunEvent.FallbackTaken.Mode = .continue
    /// Score every step with the validator.
    public var validateSteps = true
    /// Hard bound on attempts in one step (all models together): no step loops for ever.
    public var maxAttemptsPerStep = 12
    /// Longest wait for a rate limiter before trying another model instead.
    public var maxThrottleWaitMs: Int64 = 60_000
    /// Longest wait for an open breaker's cool-down when no other model is left.
    public var maxBreakerWaitMs: Int64 = 120_000
    /// How long an auth failure or exhausted quota keeps a model's breaker open.
    public var unavailableCooldownMs: Int64 = 300_000
    /// Ask providers to stream.
    public var stream = true
    /// Bounds of each attempt's tool loop (calls, time, result size).
    public var toolLoop = ToolLoopLimits()
    /// Phases for which the engine asks the tool host for tools (the host then decides per phase;
    /// YmeraMCP's default offers tools to research and generation).
    public var toolPhases: Set<Phase> = Set(Phase.allCases)
    public init() {}
}

/// Where a resumed run starts: the state rebuilt from its journal.
public struct ResumePoint: Sendable {
    public var prior: RunState
    /// Steps to run again although they finished (the user's retry after the run ended).
    public var rerun: [String]
    public init(prior: RunState, rerun: [String] = []) {
        self.prior = prior
        self.rerun = rerun
    }
}

/// Runs plans. One engine serves many runs; breakers and rate limiters are shared between them.
public final class Engine: Sendable {
    public let catalog: Catalog
    public let resilience: ResilienceRegistry
    /// Requests in flight per provider with a slot limit (`ProviderConfig.maxConcurrent`).
    public let slots = ProviderSlots()
    public let config: EngineConfig
    let client: any ModelClient
    let validator: any QualityValidator
    let clock: any RunClock
    let history: (any ExecutionHistory)?
    let logger: Logger
    /// Where generation and refinement write their files (nil: outputs stay text only).
    let workspace: (any RunWorkspace)?
    /// Tools for the phases (MCP servers through YmeraMCP); nil: no tool calling.
    public let toolHost: (any ToolHost)?

    public init(
        catalog: Catalog, client: any ModelClient, validator: any QualityValidator = HeuristicValidator(),
        clock: any RunClock = SystemClock(), resilience: ResilienceRegistry? = nil, config: EngineConfig = EngineConfig(),
        history: (any ExecutionHistory)? = nil, logger: Logger = Logger(label: "ymera.engine"),
        workspace: (any RunWorkspace)? = nil, tools: (any ToolHost)? = nil
    ) {
        self.workspace = workspace
        self.toolHost = tools
        self.catalog = catalog
        self.client = client
        self.validator = validator
        self.clock = clock
        self.resilience = resilience ?? ResilienceRegistry()
        self.config = config
        self.history = history
        self.logger = logger
    }

    /// Starts a run. Events arrive on `handle.events`; `observer` (if any) sees each event
    /// synchronously as it is emitted, before consumers of the stream do.
    public func start(_ plan: RunPlan, resume: ResumePoint? = nil, observer: (@Sendable (RunEvent, RunControl) -> Void)? = nil) -> RunHandle {
        let (events, continuation) = AsyncStream<RunEvent>.makeStream(bufferingPolicy: .unbounded)
        let execution = RunExecution(engine: self, plan: resume?.prior.plan ?? plan, resume: resume, continuation: continuation, observer: observer)
        let task = Task { await execution.run() }
        return RunHandle(runID: plan.runID, events: events, execution: execution, task: task)
    }

    /// Runs a plan to the end and returns its final state (tests, headless use).
    public func run(_ plan: RunPlan, resume: ResumePoint? = nil, observer: (@Sendable (RunEvent, RunControl) -> Void)? = nil) async -> RunState {
        let handle = start(plan, resume: resume, observer: observer)
        for await _ in handle.events {}
        return await handle.finalState()
    }
}

/// The controls of a running run. Safe to call from any thread, and from an observer while an event
/// is being emitted (commands take effect at the engine's next decision point).
public struct RunControl: Sendable {
    let execution: RunExecution

    /// No new attempt starts; attempts in flight finish.
    public func pause() { execution.command(.pause) }
    public func resume() { execution.command(.resume) }
    /// Runs the step and every step after it again (a running step restarts).
    public func retry(step: String) { execution.command(.retry(step)) }
    /// Swaps a pending or running step's model (a running one restarts on the new model).
    public func swap(step: String, to model: ModelID) { execution.command(.swap(step, model)) }
    public func cancel(reason: String = "cancelled by user") { execution.command(.cancel(reason)) }
}

/// A running run: its events and its controls.
public final class RunHandle: Sendable {
    public let runID: String
    public let events: AsyncStream<RunEvent>
    public let control: RunControl
    let execution: RunExecution
    let task: Task<RunState, Never>

    init(runID: String, events: AsyncStream<RunEvent>, execution: RunExecution, task: Task<RunState, Never>) {
        self.runID = runID
        self.events = events
        self.execution = execution
        self.control = RunControl(execution: execution)
        self.task = task
    }

    /// No new attempt starts; attempts in flight finish.
    public func pause() { execution.command(.pause) }
    public func resume() { execution.command(.resume) }
    /// Runs the step and every step after it again (a running step restarts).
    public func retry(step: String) { execution.command(.retry(step)) }
    /// Swaps a pending or running step's model (a running one restarts on the new model).
    public func swap(step: String, to model: ModelID) { execution.command(.swap(step, model)) }
    public func cancel(reason: String = "cancelled by user") { execution.command(.cancel(reason)) }
    /// The state as folded so far.
    public var state: RunState { execution.snapshot() }
    public func finalState() async -> RunState { await task.value }
}

// MARK: - One run

final class RunExecution: Sendable {
    enum Command: Sendable {
        case pause, resume, retry(String), swap(String, ModelID), cancel(String)
    }
    enum Message: Sendable {
        /// A step task ended; the coordinator inherits its clock participation.
        case finished(String, Bool)
        /// A command arrived.
        case poke
    }

    struct Mutable {
        var state: RunState
        var plan: RunPlan
        var seq: Int
        var paused = false
        var pausedAtMs: Int64 = 0
        var gate: [CheckedContinuation<Void, Never>] = []
        var cancelled: String?
        var swaps: [String: ModelID] = [:]
        var restarts: Set<String> = []
        /// Steps whose input was reset by a retry while they ran: stopped, to run again later.
        var abandoned: Set<String> = []
        var attempts: [String: @Sendable () -> Void] = [:]
        var commands: [Command] = []
        var running: Set<String> = []
        var rng: SplitMix64
        var finished = false
        /// Events numbered but not yet handed to the observer and the stream, in `seq` order.
        var outbox: [RunEvent] = []
        /// True while one emitter hands the outbox over; others only append to it.
        var delivering = false
    }

    let engine: Engine
    let clock: any RunClock
    let startMs: Int64
    let baseElapsed: Int
    let resume: ResumePoint?
    let continuation: AsyncStream<RunEvent>.Continuation
    let mailbox: Mailbox
    let observer: (@Sendable (RunEvent, RunControl) -> Void)?
    let m: Mutex<Mutable>

    init(engine: Engine, plan: RunPlan, resume: ResumePoint?, continuation: AsyncStream<RunEvent>.Continuation, observer: (@Sendable (RunEvent, RunControl) -> Void)?) {
        self.engine = engine
        self.clock = engine.clock
        self.startMs = engine.clock.nowMs()
        self.baseElapsed = resume?.prior.elapsedMs ?? 0
        self.resume = resume
        self.continuation = continuation
        self.observer = observer
        mailbox = Mailbox(clock: engine.clock)
        var state = resume?.prior ?? RunState(runID: plan.runID)
        state.markInterruptedIfOpen()
        m = Mutex(Mutable(state: state, plan: plan, seq: resume?.prior.lastSeq ?? 0, rng: SplitMix64(seed: SplitMix64.derive(plan.seed, "engine"))))
    }

    var nowMs: Int64 { clock.nowMs() }
    func snapshot() -> RunState { m.withLock { $0.state } }

    // MARK: events

    /// Numbers an event, folds it into the run's state, and hands it to the observer and the stream in
    /// `seq` order. Steps running at once emit from different threads: numbering happens under the lock,
    /// and the hand-over goes through an outbox drained by one emitter at a time, so the journal, the live
    /// view and `--json` never see event 12 before event 11. The observer runs outside the lock (it may
    /// send run commands, which emit in turn: those land in the outbox and the same drain delivers them).
    @discardableResult
    func emit(_ kind: RunEvent.Kind) -> RunEvent {
        let (event, drain) = m.withLock { s -> (RunEvent, Bool) in
            s.seq += 1
            let e = RunEvent(runID: s.plan.runID, seq: s.seq, elapsedMs: baseElapsed + Int(nowMs - startMs), kind: kind)
            s.state.apply(e)
            s.outbox.append(e)
            if s.delivering { return (e, false) }
            s.delivering = true
            return (e, true)
        }
        if drain { deliverOutbox() }
        return event
    }

    private func deliverOutbox() {
        while true {
            let batch = m.withLock { s -> [RunEvent] in
                if s.outbox.isEmpty {
                    s.delivering = false
                    return []
                }
                defer { s.outbox.removeAll(keepingCapacity: true) }
                return s.outbox
            }
            if batch.isEmpty { return }
            for e in batch {
                observer?(e, RunControl(execution: self))
                continuation.yield(e)
            }
        }
    }

    /// Waits (briefly, bounded) until another thread's drain has handed over every event, so the stream
    /// is not finished before its last events are in it.
    func awaitDelivery() async {
        for _ in 0..<1_000_000 {
            if m.withLock({ !$0.delivering && $0.outbox.isEmpty }) { return }
            await Task.yield()
        }
    }

    func emit(_ t: CircuitBreaker.Transition?, model: ModelID) {
        guard let t else { return }
        emit(.breakerChanged(.init(model: model, from: t.from, to: t.to, reason: t.reason, cooldownMs: t.cooldownMs.map(Int.init))))
    }

    // MARK: commands

    func command(_ c: Command) {
        let wake: [CheckedContinuation<Void, Never>] = m.withLock { s in
            s.commands.append(c)
            switch c {
            case .resume:
                let g = s.gate
                s.gate = []
                return g
            case .cancel(let reason):
                s.cancelled = s.cancelled ?? reason
                for cancel in s.attempts.values { cancel() }
                let g = s.gate
                s.gate = []
                return g
            case .swap(let step, let model):
                if s.running.contains(step) || s.attempts[step] != nil {
                    s.swaps[step] = model
                    s.attempts[step]?()
                }
                return []
            case .retry(let step):
                if s.running.contains(step) || s.attempts[step] != nil {
                    s.restarts.insert(step)
                    s.attempts[step]?()
                }
                return []
            case .pause:
                return []
            }
        }
        for w in wake {
            clock.enter()
            w.resume()
        }
        mailbox.send(.poke)
    }

    /// Waits while paused. Attempts in flight are not stopped; this is checked before each new attempt.
    func waitIfPaused() async {
        while true {
            let paused = m.withLock { $0.paused && $0.cancelled == nil }
            guard paused else { return }
            clock.leave()
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = m.withLock { s -> Bool in
                    if !s.paused || s.cancelled != nil { return true }
                    s.gate.append(c)
                    return false
                }
                if now {
                    clock.enter()
                    c.resume()
                }
            }
            await clock.yieldTurn()
        }
    }

    var isCancelled: Bool { m.withLock { $0.cancelled != nil } }

    func isAbandoned(_ stepID: String) -> Bool {
        m.withLock { $0.abandoned.contains(stepID) || $0.abandoned.contains(parentID(stepID)) }
    }

    // MARK: the run

    func run() async -> RunState {
        clock.enter()
        let plan = m.withLock { $0.plan }
        var keep: Set<String> = []
        if let resume {
            let prior = resume.prior
            keep = Set(plan.steps.map(\.id).filter { prior.steps[$0]?.status == .done && !resume.rerun.contains($0) })
            emit(.runResumed(.init(keptSteps: plan.steps.map(\.id).filter(keep.contains))))
        } else {
            emit(.runPlanned(plan))
        }
        var scheduler: StepScheduler
        do {
            scheduler = try StepScheduler(nodes: plan.steps.map { ($0.id, $0.dependsOn) }, limit: max(1, plan.steps.count))
        } catch {
            emit(.runFailed(.init(reason: "invalid plan: \(error)")))
            return await finish()
        }
        for id in keep { scheduler.markDone(id) }
        if let resume, !resume.rerun.isEmpty {
            for id in resume.rerun where plan.step(id) != nil {
                let reset = scheduler.reset(id)
                emit(.stepReset(.init(step: id, reset: reset)))
            }
        }

        await withTaskGroup(of: Void.self) { group in
            var iterations = 0
            while iterations < 100_000 {
                iterations += 1
                // 1. Commands.
                let commands = m.withLock { s -> [Command] in
                    let c = s.commands
                    s.commands = []
                    return c
                }
                for c in commands { apply(c, scheduler: &scheduler) }
                if isCancelled { group.cancelAll() }

                // 2. Start what is ready.
                if !isCancelled && !m.withLock({ $0.paused }) {
                    for id in scheduler.nextReady() {
                        m.withLock { _ = $0.running.insert(id) }
                        clock.enter()
                        group.addTask { [self] in
                            let ok = await ClockContext.$key.withValue(id) {
                                await clock.yieldTurn()
                                return await runStep(id)
                            }
                            m.withLock { _ = $0.running.remove(id) }
                            mailbox.send(.finished(id, ok))
                            clock.leave()
                        }
                    }
                }
                let runningCount = scheduler.running.count
                if runningCount == 0 && (scheduler.isFinished || isCancelled) { break }
                if runningCount == 0 && !m.withLock({ $0.paused }) && scheduler.nextReadyPreview().isEmpty { break }

                // 3. Wait for a step to end or a command.
                let msg = await mailbox.receive()
                switch msg {
                case .finished(let id, let ok):
                    if m.withLock({ $0.abandoned.remove(id) != nil }) && !isCancelled {
                        // Its input was reset while it ran: it waits for the new input.
                        scheduler.finish(id, succeeded: true)
                        _ = scheduler.reset(id)
                        continue
                    }
                    if m.withLock({ $0.restarts.remove(id) != nil }) && !isCancelled {
                        scheduler.finish(id, succeeded: true)
                        let reset = scheduler.reset(id)
                        emit(.stepReset(.init(step: id, reset: reset)))
                        continue
                    }
                    let skipped = scheduler.finish(id, succeeded: ok)
                    for s in skipped {
                        emit(.stepSkipped(.init(step: s, reason: "\(id) failed")))
                    }
                case .poke:
                    // A command may come from a participant's observer: take turns again.
                    await ClockContext.$key.withValue("") { await clock.yieldTurn() }
                }
            }
            // Drain (cancelled runs): children end quickly once cancelled.
            while let _ = await group.next() {}
        }
        let final = m.withLock { $0.state }
        if let reason = m.withLock({ $0.cancelled }) {
            emit(.runCancelled(.init(reason: reason)))
        } else {
            let failed = plan.steps.filter { final.steps[$0.id]?.status == .failed }
            if failed.isEmpty && plan.steps.allSatisfy({ final.steps[$0.id]?.status == .done }) {
                let verdict = QualityVerdict.of(final, order: plan.steps.map(\.id))
                emit(.runFinished(.init(reason: QualityVerdict.reason(final, verdict), quality: verdict)))
            } else {
                let f = failed.first.flatMap { final.steps[$0.id] }
                let why = f.map { "\($0.id) failed: \($0.lastError ?? "unknown")" } ?? "steps did not complete"
                emit(.runFailed(.init(reason: why)))
            }
        }
        return await finish()
    }

    func finish() async -> RunState {
        let state = m.withLock { s -> RunState in
            s.finished = true
            return s.state
        }
        // The learning system remembers the run before anyone sees it end.
        if let history = engine.history, let plan = state.plan {
            let record = ExecutionRecord(
                runID: plan.runID, taskType: plan.intent.taskType, complexity: plan.intent.complexity, strategy: plan.strategy,
                modelsByStep: Dictionary(uniqueKeysWithValues: state.steps.values.filter { $0.parent == nil }.map { ($0.id, $0.model) }),
                score: state.score, durationMs: state.elapsedMs, cost: state.cost, succeeded: state.status == .succeeded, finishedAt: Date())
            do {
                try await history.record(record)
            } catch {
                engine.logger.warning("could not record the run for recommendations: \(error)")
            }
        }
        // Tool servers the run started stop with it (bounded: a broken host cannot hold the run open).
        if let host = engine.toolHost {
            let runID = state.runID
            _ = try? await ToolLoop.withWatchdog(ms: 5_000, onTimeout: { ToolFailure(.timeout, "endRun did not return") }) {
                await host.endRun(runID)
            }
        }
        await awaitDelivery()
        continuation.finish()
        clock.leave()
        return state
    }

    func apply(_ c: Command, scheduler: inout StepScheduler) {
        switch c {
        case .pause:
            let inFlight = m.withLock { s -> [String]? in
                guard !s.paused else { return nil }
                s.paused = true
                s.pausedAtMs = nowMs
                return s.running.sorted()
            }
            if let inFlight {
                emit(.paused(.init(inFlight: inFlight, note: inFlight.isEmpty ? "nothing in flight" : "attempts in flight finish; no new attempt starts until resume")))
            }
        case .resume:
            let pausedFor = m.withLock { s -> Int64? in
                guard s.paused else { return nil }
                s.paused = false
                return nowMs - s.pausedAtMs
            }
            if let pausedFor { emit(.resumed(.init(pausedMs: Int(pausedFor)))) }
        case .retry(let step):
            guard m.withLock({ $0.plan.step(step) != nil }) else { return }
            if scheduler.states[step] == .running { return }  // restarts in place (see command)
            let reset = scheduler.reset(step)
            emit(.stepReset(.init(step: step, reset: reset)))
            // Steps downstream that are running read the old input: stop them; they run again.
            let running = reset.filter { scheduler.states[$0] == .running }
            m.withLock { s in
                for id in running {
                    s.abandoned.insert(id)
                    for (key, cancel) in s.attempts where key == id || key.hasPrefix(id + "/") || key.hasPrefix(id + "#") { cancel() }
                }
            }
        case .swap(let step, let model):
            let info = m.withLock { s -> (ModelID, Bool)? in
                guard let i = s.plan.steps.firstIndex(where: { $0.id == step }) else { return nil }
                let old = s.plan.steps[i].model
                guard old != model else { return nil }
                s.plan.steps[i].model = model
                s.plan.steps[i].fallbacks.removeAll { $0 == model }
                return (old, s.running.contains(step))
            }
            if let (old, running) = info, !running || scheduler.states[step] != .running {
                emit(.modelSwapped(.init(step: step, from: old, to: model, restarted: false)))
            }
        case .cancel:
            break
        }
    }

    // MARK: a step

    func currentStep(_ id: String) -> PlanStep? { m.withLock { $0.plan.step(id) } }

    /// Runs one top-level step to done or failed. Returns success.
    func runStep(_ id: String) async -> Bool {
        guard let step = currentStep(id) else { return false }
        if !step.candidates.isEmpty { return await runCandidates(step) }
        if step.decompose { return await runDecomposed(step) }
        let base = messages(for: step, subtask: nil)
        switch await attemptLoop(stepID: id, step: step, baseMessages: base, purpose: .initial) {
        case .failure(let f):
            if isAbandoned(id) { return false }
            if f.errorClass != .cancelled || !isCancelled {
                emit(.stepFailed(.init(step: id, errorClass: f.errorClass, reason: f.message)))
            } else {
                emit(.stepFailed(.init(step: id, errorClass: .cancelled, reason: "cancelled")))
            }
            return false
        case .success(let (output, model)):
            let kept = await qualityGate(stepID: id, step: step, base: base, output: output, model: model)
            if isAbandoned(id) { return false }
            emit(.stepDone(.init(step: id, model: kept.model, outputChars: kept.output.count, keptEarlierOutput: kept.keptEarlier ? true : nil)))
            return true
        }
    }

    /// Parallel strategy: every candidate on its own model at once; the best score is kept.
    func runCandidates(_ step: PlanStep) async -> Bool {
        let base = messages(for: step, subtask: nil)
        var results: [(String, String, ModelID, Double)] = []
        await withTaskGroup(of: (String, String, ModelID, Double)?.self) { group in
            for (i, model) in step.candidates.enumerated() {
                let cid = "\(step.id)#\(i + 1)"
                var cstep = step
                cstep.model = model
                cstep.fallbacks = step.fallbacks.filter { !step.candidates.contains($0) }
                clock.enter()
                group.addTask { [self] in
                    await ClockContext.$key.withValue(cid) { await clock.yieldTurn() }
                    return await ClockContext.$key.withValue(cid) { () async -> (String, String, ModelID, Double)? in
                    switch await attemptLoop(stepID: cid, step: cstep, baseMessages: base, purpose: .initial) {
                    case .failure(let f):
                        emit(.stepFailed(.init(step: cid, errorClass: f.errorClass, reason: f.message)))
                        return nil
                    case .success(let (out, used)):
                        let report = await score(stepID: cid, step: cstep, output: out, model: used)
                        emit(.stepDone(.init(step: cid, model: used, outputChars: out.count)))
                        return (cid, out, used, report?.score ?? 0)
                    }
                    }
                }
            }
            while let r = await join(&group) {
                if let r { results.append(r) }
            }
        }
        guard !results.isEmpty else {
            emit(.stepFailed(.init(step: step.id, errorClass: .unknown, reason: "every candidate failed")))
            return false
        }
        results.sort { $0.3 == $1.3 ? $0.0 < $1.0 : $0.3 > $1.3 }
        let best = results[0]
        emit(.candidateChosen(.init(step: step.id, chosen: best.0, scores: Dictionary(uniqueKeysWithValues: results.map { ($0.0, $0.3.rounded(places: 3)) }))))
        _ = workspaceFiles(stepID: step.id, step: step, output: best.1, model: best.2)
        emit(.stepDone(.init(step: step.id, model: best.2, outputChars: best.1.count)))
        return true
    }

    /// Generation split into the planning phase's subtasks, run as a graph with a concurrency limit.
    func runDecomposed(_ step: PlanStep) async -> Bool {
        var parsed: SubtaskParser.Result
        var finishedBefore: [String] = []
        if let recorded = resumedSubtasks(of: step.id) {
            // Resuming: the subtasks were planned before the interruption; finished ones are kept.
            parsed = .init(subtasks: recorded.subtasks, dropped: [])
            finishedBefore = recorded.done
        } else {
            let planText = step.dependsOn.compactMap { id in m.withLock { $0.state.steps[id] } }.first { $0.phase == .planning }?.output ?? ""
            parsed = SubtaskParser().parse(planText)
            var source = "planning output"
            if parsed.subtasks.count < 2 {
                parsed = .init(subtasks: [Subtask(id: "1", title: "The whole task")], dropped: [])
                source = "no subtasks in the plan: whole task as one"
            } else if !parsed.dropped.isEmpty {
                source += "; dropped forward dependencies \(parsed.dropped.joined(separator: ", "))"
            }
            emit(.subtasksPlanned(.init(step: step.id, subtasks: parsed.subtasks, source: source)))
        }
        var sched: StepScheduler
        do {
            sched = try StepScheduler(nodes: parsed.subtasks.map { ($0.id, $0.dependsOn) }, limit: engine.config.subtaskConcurrency)
        } catch {
            emit(.stepFailed(.init(step: step.id, errorClass: .badRequest, reason: "subtasks: \(error)")))
            return false
        }
        for id in finishedBefore { sched.markDone(id) }
        let byID = Dictionary(uniqueKeysWithValues: parsed.subtasks.map { ($0.id, $0) })
        await withTaskGroup(of: (String, Bool).self) { group in
            var bound = 0
            while bound < 10_000 {
                bound += 1
                if !isCancelled {
                    await waitIfPaused()
                    for sid in sched.nextReady() {
                        guard let sub = byID[sid] else { continue }
                        let childID = "\(step.id)/\(sid)"
                        let current = currentStep(step.id) ?? step
                        let base = messages(for: current, subtask: sub)
                        clock.enter()
                        group.addTask { [self] in
                            await ClockContext.$key.withValue(childID) { await clock.yieldTurn() }
                            return await ClockContext.$key.withValue(childID) { () async -> (String, Bool) in
                            switch await attemptLoop(stepID: childID, step: current, baseMessages: base, purpose: .initial) {
                            case .failure(let f):
                                emit(.stepFailed(.init(step: childID, errorClass: f.errorClass, reason: f.message)))
                                return (sid, false)
                            case .success(let (out, model)):
                                _ = workspaceFiles(stepID: childID, step: current, output: out, model: model)
                                emit(.stepDone(.init(step: childID, model: model, outputChars: out.count)))
                                return (sid, true)
                            }
                            }
                        }
                    }
                }
                if sched.running.isEmpty { break }
                guard let r = await join(&group) else { break }
                let skipped = sched.finish(r.0, succeeded: r.1)
                for s in skipped { emit(.stepSkipped(.init(step: "\(step.id)/\(s)", reason: "subtask \(r.0) failed"))) }
            }
        }
        guard sched.succeeded else {
            if isAbandoned(step.id) { return false }
            let st = m.withLock { $0.state }
            let failed = parsed.subtasks.compactMap { st.steps["\(step.id)/\($0.id)"] }.first { $0.status == .failed }
            let reason = isCancelled ? "cancelled"
                : failed.map { "subtask \($0.id) (\($0.title)) failed: \($0.lastError ?? "unknown")" } ?? "a subtask failed"
            emit(.stepFailed(.init(step: step.id, errorClass: failed?.lastErrorClass ?? .unknown, reason: reason)))
            return false
        }
        let state = m.withLock { $0.state }
        let combined = parsed.subtasks.map { sub in "### \(sub.title)\n\n\(state.steps["\(step.id)/\(sub.id)"]?.output ?? "")" }.joined(separator: "\n\n")
        let model = state.steps["\(step.id)/\(parsed.subtasks.last!.id)"]?.model ?? step.model
        let report = await score(stepID: step.id, step: step, output: combined, model: model)
        _ = report
        emit(.stepDone(.init(step: step.id, model: model, outputChars: combined.count)))
        return true
    }

    /// On a resumed run, the subtasks a step had planned before the interruption and those that
    /// finished; nil when the step has none recorded (or is being run again on purpose).
    func resumedSubtasks(of stepID: String) -> (subtasks: [Subtask], done: [String])? {
        guard let resume, !resume.rerun.contains(stepID) else { return nil }
        let prior = resume.prior
        guard let parent = prior.steps[stepID] else { return nil }
        let children = parent.children.filter { $0.hasPrefix(stepID + "/") }.compactMap { prior.steps[$0] }
        guard !children.isEmpty else { return nil }
        let prefix = stepID + "/"
        let subtasks = children.map { c in
            Subtask(id: String(c.id.dropFirst(prefix.count)), title: c.title, dependsOn: c.dependsOn.map { String($0.dropFirst(prefix.count)) })
        }
        let done = children.filter { $0.status == .done }.map { String($0.id.dropFirst(prefix.count)) }
        return (subtasks, done)
    }

    /// Waits for one child of a group, handing clock participation over from the child.
    func join<T: Sendable>(_ group: inout TaskGroup<T>) async -> T? {
        clock.leave()
        let r = await group.next()
        if r == nil { clock.enter() }
        return r
    }

    // MARK: quality

    func score(stepID: String, step: PlanStep, output: String, model: ModelID) async -> QualityReport? {
        let files = workspaceFiles(stepID: stepID, step: step, output: output, model: model)
        guard engine.config.validateSteps else { return nil }
        let plan = m.withLock { $0.plan }
        let report = await engine.validator.evaluate(ValidationInput(
            task: plan.task, intent: plan.intent, stepID: stepID, phase: step.phase, output: output,
            requirements: requirements(for: stepID), threshold: plan.qualityThreshold, files: files, judgedModel: model))
        // A judge's calls cost money like any attempt: billed to the step it scored.
        for spend in report.spend ?? [] where spend.usage.totalTokens > 0 {
            let cost = (try? engine.catalog.model(spend.model))?.cost(of: spend.usage) ?? Cost(unpricedTokens: spend.usage.totalTokens)
            emit(.usage(.init(step: stepID, model: spend.model, usage: spend.usage, cost: cost)))
        }
        emit(.qualityScored(.init(step: stepID, model: model, report: report)))
        return report
    }

    /// Scores the output; under the threshold, asks the next model for a bounded refinement and keeps
    /// the better of the two.
    func qualityGate(stepID: String, step: PlanStep, base: [ChatMessage], output: String, model: ModelID) async -> (output: String, model: ModelID, keptEarlier: Bool) {
        guard var report = await score(stepID: stepID, step: step, output: output, model: model) else { return (output, model, false) }
        var best = (output: output, model: model, score: report.score)
        var refinements = 0
        while !report.passed && refinements < engine.config.maxRefinements && !isCancelled {
            refinements += 1
            let chain = [step.model] + step.fallbacks
            let next = chain.first { $0 != best.model && resilienceAllows($0) } ?? best.model
            var rstep = step
            rstep.model = next
            rstep.fallbacks = chain.filter { $0 != next }
            let msgs = Prompts.refinement(base, previous: best.output, report: report)
            guard case .success(let (refined, used)) = await attemptLoop(stepID: stepID, step: rstep, baseMessages: msgs, purpose: .refine) else { break }
            guard let r2 = await score(stepID: stepID, step: step, output: refined, model: used) else { break }
            report = r2
            if r2.score >= best.score { best = (refined, used, r2.score) }
        }
        let keptEarlier = refinements > 0 && best.output == output && best.model == model
        if keptEarlier {
            // The refinement's files were written to be scored; the kept output's files are final again.
            _ = workspaceFiles(stepID: stepID, step: step, output: output, model: model)
        }
        return (best.output, best.model, keptEarlier)
    }

    /// The workspace's files to score a step against. A top-level generation or refinement step's
    /// output is applied first (its named files become new versions, authored by the step, its phase
    /// and `model`; refused names are reported), so the score refers to the files as written; a
    /// validation step reads the files as they stand. A subtask's files are applied as it finishes
    /// (its own model is their author); candidates are not applied, the kept one is. Empty without a
    /// workspace, and for subtasks and candidates.
    func workspaceFiles(stepID: String, step: PlanStep, output: String, model: ModelID) -> [WorkspaceFile] {
        guard let workspace = engine.workspace else { return [] }
        let runID = m.withLock { $0.plan.runID }
        let topLevel = !stepID.contains("/") && !stepID.contains("#")
        // A decomposed step's files were applied subtask by subtask.
        let appliedBySubtasks = topLevel && step.decompose && step.candidates.isEmpty
        if !stepID.contains("#") && !appliedBySubtasks && (step.phase == .generation || step.phase == .refinement) {
            let author = FileAuthor(step: stepID, phase: step.phase, model: model)
            do {
                let change = try workspace.apply(output, runID: runID, author: author)
                if !change.isEmpty {
                    emit(.filesWritten(.init(step: stepID, phase: step.phase, model: model, files: change.written, refused: change.refused)))
                }
            } catch {
                emit(.filesWritten(.init(step: stepID, phase: step.phase, model: model, files: [], error: "\(error)")))
            }
            if !topLevel { return [] }
        } else if !(topLevel && (step.phase == .validation || appliedBySubtasks)) {
            return []
        }
        do { return try workspace.files(runID: runID) } catch {
            engine.logger.warning("could not read the workspace of \(runID): \(error)")
            return []
        }
    }

    func resilienceAllows(_ model: ModelID) -> Bool { engine.resilience.peek(model, nowMs: nowMs) == nil }

    func requirements(for stepID: String) -> [String] {
        let state = m.withLock { $0.state }
        // A subtask answers for its own title only.
        if stepID.contains("/"), let title = state.steps[stepID]?.title { return [title] }
        var reqs = state.plan?.intent.requirements ?? []
        if let gen = state.steps.values.first(where: { $0.phase == .generation && $0.parent == nil }) {
            reqs += gen.children.compactMap { state.steps[$0]?.title }.filter { $0 != "The whole task" && !$0.hasPrefix("candidate") }
        }
        return reqs
    }

    // MARK: prompts

    func messages(for step: PlanStep, subtask: Subtask?) -> [ChatMessage] {
        let (plan, state) = m.withLock { ($0.plan, $0.state) }
        let inputs: [(String, Phase, String)] = step.dependsOn.compactMap { id in
            guard let s = state.steps[id], s.status == .done else { return nil }
            return (id, s.phase, s.output)
        }
        let model = try? engine.catalog.model(step.model)
        return Prompts.messages(
            task: plan.task, step: step, subtask: subtask, requirements: plan.intent.requirements, inputs: inputs,
            taskType: plan.intent.taskType, contextTokens: model?.contextWindow ?? 8192, maxTokens: step.maxTokens)
    }

    // MARK: attempts

    /// Tries a step's work on its model and fallbacks until one completes, honouring breakers, rate
    /// limits, retry policy, pause, swap and cancel. Returns the kept output and the model that finished it.
    func attemptLoop(stepID: String, step: PlanStep, baseMessages: [ChatMessage], purpose initialPurpose: AttemptPurpose)
        async -> Result<(String, ModelID), ModelFailure>
    {
        var chain = [step.model] + step.fallbacks.filter { $0 != step.model }
        var index = 0
        var attemptsOnModel = 0
        var total = 0
        var purpose = initialPurpose
        var kept = ""  // output kept for a continuation
        var continuesFrom: Int?
        var lastFailure = ModelFailure(.unknown, "no attempt was made")
        let tools = await offeredTools(stepID: stepID, phase: step.phase)

        while total < engine.config.maxAttemptsPerStep {
            if let reason = m.withLock({ $0.cancelled }) { return .failure(ModelFailure(.cancelled, reason)) }
            if isAbandoned(stepID) { return .failure(ModelFailure(.cancelled, "input reset by a retry")) }
            await waitIfPaused()
            if let reason = m.withLock({ $0.cancelled }) { return .failure(ModelFailure(.cancelled, reason)) }
            if total > 0 && m.withLock({ $0.restarts.remove(stepID) != nil }) {
                kept = ""
                continuesFrom = nil
                purpose = .rerun
                attemptsOnModel = 0
            }

            // A swap asked for while not running an attempt.
            if let swapTo = m.withLock({ $0.swaps.removeValue(forKey: stepID) ?? $0.swaps.removeValue(forKey: parentID(stepID)) }) {
                let from = chain[min(index, chain.count - 1)]
                chain = [swapTo] + chain.filter { $0 != swapTo }
                index = 0
                attemptsOnModel = 0
                kept = ""
                continuesFrom = nil
                purpose = .swap
                if from != swapTo { emit(.modelSwapped(.init(step: stepID, from: from, to: swapTo, restarted: total > 0))) }
            }
            guard index < chain.count else { break }
            let modelID = chain[index]
            guard let model = try? engine.catalog.model(modelID), let provider = engine.catalog.provider(for: model) else {
                lastFailure = ModelFailure(.badRequest, "model \(modelID) is not in the catalog")
                index += 1
                continue
            }

            // Budget.
            let (spent, tokens, budget) = m.withLock { ($0.state.cost.money, $0.state.usage.totalTokens, $0.plan.budget) }
            if let max = budget.maxCost, spent >= max {
                return .failure(ModelFailure(.budgetExceeded, "budget of \(max) spent (\(spent)); no further attempts"))
            }
            if let max = budget.maxTokens, tokens >= max {
                return .failure(ModelFailure(.budgetExceeded, "token budget of \(max) spent (\(tokens) tokens); no further attempts"))
            }

            // Breaker.
            let (admission, transition) = engine.resilience.admit(modelID, nowMs: nowMs)
            emit(transition, model: modelID)
            if case .rejected(let retryIn) = admission {
                if index + 1 < chain.count {
                    emit(.fallbackTaken(.init(step: stepID, from: modelID, to: chain[index + 1], reason: .circuitOpen, mode: .restart)))
                    index += 1
                    attemptsOnModel = 0
                    purpose = .fallback
                    continue
                }
                // Nothing else: wait for the earliest half-open probe, within bounds.
                let wait = chain.compactMap { engine.resilience.peek($0, nowMs: nowMs) }.min() ?? retryIn
                guard wait <= engine.config.maxBreakerWaitMs else {
                    return .failure(ModelFailure(.circuitOpen, "every model's breaker is open (next probe in \(wait / 1000) s)"))
                }
                emit(.throttled(.init(step: stepID, provider: model.provider, waitMs: Int(max(1, wait)), reason: "all breakers open; waiting for a half-open probe")))
                do { try await clock.sleep(ms: max(1, wait)) } catch { return .failure(ModelFailure(.cancelled, "cancelled")) }
                index = chain.firstIndex { engine.resilience.peek($0, nowMs: nowMs) == nil } ?? 0
                total += 1
                continue
            }

            // Rate limit.
            let estimate = TokenUsage.estimateTokens(characters: baseMessages.reduce(0) { $0 + $1.content.count }) + step.maxTokens / 2
            var throttles = 0
            while throttles < 8 {
                throttles += 1
                let (wait, why) = engine.resilience.reserve(provider: model.provider, limit: model.rateLimit, estimatedTokens: estimate, nowMs: nowMs)
                guard wait > 0 else { break }
                if wait > engine.config.maxThrottleWaitMs && index + 1 < chain.count { break }
                emit(.throttled(.init(step: stepID, provider: model.provider, waitMs: Int(wait), reason: why ?? "rate limit")))
                do { try await clock.sleep(ms: wait) } catch { return .failure(ModelFailure(.cancelled, "cancelled")) }
            }

            total += 1
            attemptsOnModel += 1
            emit(.stepStarted(.init(step: stepID, model: modelID, attempt: total, purpose: purpose, continuesFrom: continuesFrom)))
            let messages = kept.isEmpty ? baseMessages : Prompts.continuation(baseMessages, partial: kept)
            let plan = m.withLock { $0.plan }
            let request = ModelRequest(
                model: model, provider: provider, messages: messages, maxTokens: min(step.maxTokens, model.maxOutputTokens),
                temperature: step.temperature, stream: engine.config.stream,
                context: RequestContext(runID: plan.runID, stepID: stepID, phase: step.phase, attempt: total, taskType: plan.intent.taskType, seed: plan.seed),
                tools: tools)

            let limit = provider.maxConcurrent ?? Int.max
            if limit < Int.max { await engine.slots.acquire(provider.id, limit: limit, clock: clock) }
            let outcome = await perform(request, stepID: stepID)
            if limit < Int.max { engine.slots.release(provider.id, clock: clock) }
            switch outcome {
            case .success(let (text, usage)):
                let cost = model.cost(of: usage)
                emit(.usage(.init(step: stepID, model: modelID, usage: usage, cost: cost)))
                emit(engine.resilience.record(modelID, failure: false, nowMs: nowMs), model: modelID)
                return .success((kept + text, modelID))

            case .failure(let failure):
                // Bill what was used, even on failure.
                let used = failure.usage ?? (failure.partialOutput.isEmpty && failure.httpStatus != nil ? nil
                    : TokenUsage.estimate(promptCharacters: request.promptCharacters, outputCharacters: failure.partialOutput.count))
                if let used, used.totalTokens > 0 {
                    emit(.usage(.init(step: stepID, model: modelID, usage: used, cost: model.cost(of: used))))
                }
                // A user's swap or retry of this step, or a cancel.
                if failure.errorClass == .cancelled {
                    if let reason = m.withLock({ $0.cancelled }) { return .failure(ModelFailure(.cancelled, reason)) }
                    if isAbandoned(stepID) { return .failure(ModelFailure(.cancelled, "input reset by a retry")) }
                    if m.withLock({ $0.restarts.remove(stepID) != nil }) {
                        emit(.modelSwapped(.init(step: stepID, from: modelID, to: modelID, restarted: true)))
                        kept = ""
                        continuesFrom = nil
                        purpose = .rerun
                        attemptsOnModel = 0
                        continue
                    }
                    if let swapTo = m.withLock({ $0.swaps.removeValue(forKey: stepID) ?? $0.swaps.removeValue(forKey: parentID(stepID)) }) {
                        emit(.modelSwapped(.init(step: stepID, from: modelID, to: swapTo, restarted: true)))
                        chain = [swapTo] + chain.filter { $0 != swapTo }
                        index = 0
                        attemptsOnModel = 0
                        kept = ""
                        continuesFrom = nil
                        purpose = .swap
                        continue
                    }
                }
                lastFailure = failure
                emit(.attemptFailed(.init(
                    step: stepID, model: modelID, attempt: total, errorClass: failure.errorClass, message: failure.message,
                    httpStatus: failure.httpStatus, retryAfterMs: failure.retryAfterMs, partialChars: failure.partialOutput.count)))
                if failure.errorClass.opensBreakerImmediately {
                    let forMs = failure.retryAfterMs.map(Int64.init) ?? engine.config.unavailableCooldownMs
                    emit(engine.resilience.forceOpen(modelID, nowMs: nowMs, forMs: forMs, reason: failure.errorClass.rawValue), model: modelID)
                } else {
                    emit(engine.resilience.record(modelID, failure: failure.errorClass.countsTowardBreaker ? true : nil, nowMs: nowMs, reason: failure.errorClass.rawValue), model: modelID)
                }
                if failure.errorClass == .rateLimit, let ra = failure.retryAfterMs {
                    engine.resilience.block(provider: model.provider, untilMs: nowMs + Int64(ra), nowMs: nowMs)
                }

                let nextIndex = nextModel(after: index, in: chain, failure: failure)
                let decision = m.withLock { s in
                    engine.config.retry.decide(failure, attemptsOnModel: attemptsOnModel, hasFallback: nextIndex != nil, random: &s.rng)
                }
                switch decision {
                case .retry(let delay, let basis):
                    emit(.retryScheduled(.init(step: stepID, model: modelID, attempt: total + 1, delayMs: Int(delay), basis: basis)))
                    do { try await clock.sleep(ms: delay) } catch { return .failure(ModelFailure(.cancelled, "cancelled")) }
                    // A retry on the same model starts the answer again.
                    kept = ""
                    continuesFrom = nil
                    purpose = .retry
                case .fallback:
                    guard let ni = nextIndex else { return .failure(failure) }
                    let partial = failure.partialOutput
                    let mode: RunEvent.FallbackTaken.Mode = (engine.config.fallbackMode == .continue && !partial.isEmpty) ? .continue : .restart
                    if mode == .continue {
                        kept += partial
                        continuesFrom = kept.count
                    } else {
                        kept = ""
                        continuesFrom = nil
                    }
                    emit(.fallbackTaken(.init(step: stepID, from: modelID, to: chain[ni], reason: failure.errorClass, mode: mode, spliceAt: mode == .continue ? kept.count : nil)))
                    index = ni
                    attemptsOnModel = 0
                    purpose = .fallback
                case .fail(let why):
                    return .failure(ModelFailure(failure.errorClass, why + (why.contains(failure.message) ? "" : " — last error: \(failure.message)"), httpStatus: failure.httpStatus))
                }
            }
        }
        return .failure(ModelFailure(lastFailure.errorClass, "gave up after \(total) attempts; last error: \(lastFailure.message)", httpStatus: lastFailure.httpStatus))
    }

    func parentID(_ stepID: String) -> String {
        if let i = stepID.firstIndex(where: { $0 == "/" || $0 == "#" }) { return String(stepID[..<i]) }
        return stepID
    }

    /// The next model to fall back to: for a context that is too long, one with a larger window.
    func nextModel(after index: Int, in chain: [ModelID], failure: ModelFailure) -> Int? {
        guard index + 1 < chain.count else { return nil }
        if failure.errorClass == .contextTooLong, let current = try? engine.catalog.model(chain[index]) {
            return (index + 1..<chain.count).first { (try? engine.catalog.model(chain[$0]))?.contextWindow ?? 0 > current.contextWindow }
        }
        return index + 1
    }

    /// Tools the host offers this step's phase (none without a host, or for phases not in
    /// `EngineConfig.toolPhases`). A host that fails to list them is reported and the step runs without.
    func offeredTools(stepID: String, phase: Phase) async -> [ToolSpec] {
        guard let host = engine.toolHost, engine.config.toolPhases.contains(phase) else { return [] }
        let runID = m.withLock { $0.plan.runID }
        let limits = engine.config.toolLoop
        let started = nowMs
        do {
            // Listing may start servers: real I/O, bounded like a call (twice its limit).
            let specs = try await ToolLoop.withWatchdog(
                ms: limits.perCallTimeoutMs * 2 + ToolLoop.watchdogGraceMs,
                onTimeout: { ToolFailure(.serverUnavailable, "the tool host did not list its tools in time") }
            ) { try await host.tools(for: phase, runID: runID) }
            var seen: Set<String> = []
            return specs.filter { seen.insert($0.name).inserted }
        } catch {
            if error is CancellationError { return [] }
            let f = (error as? ToolFailure) ?? ToolFailure(.serverUnavailable, String(describing: error))
            emit(.toolFailed(.init(
                step: stepID, callID: nil, tool: f.server ?? "tools", server: f.server, failure: f.failureClass,
                message: "no tools for \(phase.rawValue): " + ToolLoop.preview(f.message, 500), durationMs: Int(nowMs - started))))
            return []
        }
    }

    /// One attempt: consumes the model's stream, emitting text as it comes. With tools offered it runs
    /// the bounded tool loop: the model's calls go to the host, their results back to the model, until
    /// it answers without calls; a tool failure ends the loop and the model answers once more without
    /// tools. Cancellable from outside (swap, retry, cancel) through the registered attempt task.
    func perform(_ request: ModelRequest, stepID: String) async -> Result<(String, TokenUsage), ModelFailure> {
        let client = engine.client
        clock.enter()
        let key = ClockContext.key
        let task = Task { [self] () -> Result<(String, TokenUsage), ModelFailure> in
          await ClockContext.$key.withValue(key) { () async -> Result<(String, TokenUsage), ModelFailure> in
            var text = ""  // everything this attempt said, over all its requests
            var roundText = ""
            var current = request
            var round = 0
            var loop = ToolLoopState(limits: engine.config.toolLoop)
            do {
                while true {
                    round += 1
                    roundText = ""
                    var usage: TokenUsage?
                    var finished = false
                    var calls: [ToolCall] = []
                    for try await event in client.stream(current) {
                        switch event {
                        case .delta(let d):
                            guard !d.isEmpty else { continue }
                            if roundText.isEmpty && !text.isEmpty && !text.hasSuffix("\n\n") {
                                // Text after a tool round starts a new paragraph.
                                let sep = text.hasSuffix("\n") ? "\n" : "\n\n"
                                text += sep
                                emit(.textDelta(.init(step: stepID, text: sep)))
                            }
                            text += d
                            roundText += d
                            emit(.textDelta(.init(step: stepID, text: d)))
                        case .usage(let u):
                            usage = (usage.map { $0 + u }) ?? u
                        case .rateLimit(let snap):
                            engine.resilience.observe(snap, nowMs: nowMs)
                            emit(.rateLimit(snap))
                        case .toolCall(let call):
                            calls.append(call)
                        case .finished:
                            finished = true
                        }
                        if Task.isCancelled { throw CancellationError() }
                    }
                    try Task.checkCancellation()
                    guard finished else {
                        return .failure(ModelFailure(.truncated, "the stream ended without its terminal event", provider: request.provider.id, partialOutput: text, usage: usage))
                    }
                    let u = usage ?? TokenUsage.estimate(promptCharacters: current.promptCharacters, outputCharacters: roundText.count)
                    // No calls, or calls where none were offered (ignored): the answer is complete.
                    guard !calls.isEmpty, !current.tools.isEmpty, round <= engine.config.toolLoop.maxCalls + 2 else {
                        return .success((text, u))
                    }
                    // Every request of the loop is billed as it completes.
                    emit(.usage(.init(step: stepID, model: request.model.id, usage: u, cost: request.model.cost(of: u))))
                    current = try await runTools(calls, text: roundText, request: current, stepID: stepID, loop: &loop)
                }
            } catch let f as ModelFailure {
                var f = f
                if f.partialOutput.isEmpty { f.partialOutput = text }
                if f.usage == nil, round > 1 || !text.isEmpty {
                    f.usage = TokenUsage.estimate(promptCharacters: current.promptCharacters, outputCharacters: roundText.count)
                }
                return .failure(f)
            } catch is CancellationError {
                return .failure(ModelFailure(.cancelled, "attempt cancelled", partialOutput: text,
                    usage: roundText.isEmpty && round <= 1 ? nil : TokenUsage.estimate(promptCharacters: current.promptCharacters, outputCharacters: roundText.count)))
            } catch {
                return .failure(ModelFailure(.unknown, String(describing: error), partialOutput: text))
            }
          }
        }
        let alreadyCancelled = m.withLock { s -> Bool in
            s.attempts[stepID] = { task.cancel() }
            return s.cancelled != nil || s.swaps[stepID] != nil || s.restarts.contains(stepID)
        }
        if alreadyCancelled { task.cancel() }
        clock.leave()
        let result = await task.value  // the attempt task hands its participation back
        m.withLock { _ = $0.attempts.removeValue(forKey: stepID) }
        return result
    }

    /// What one attempt's tool loop has spent.
    struct ToolLoopState {
        var limits: ToolLoopLimits
        var calls = 0
        var spentMs: Int64 = 0
    }

    /// Runs the calls of one model turn through the host and returns the next request: with the results
    /// appended (tools still offered), or — after a tool failure — the exchange as plain text and no
    /// tools, so the model answers with what it has. Throws only `CancellationError`.
    func runTools(_ calls: [ToolCall], text: String, request: ModelRequest, stepID: String, loop: inout ToolLoopState) async throws -> ModelRequest {
        let ctx = request.context
        let context = ToolContext(runID: ctx.runID, stepID: ctx.stepID, phase: ctx.phase)
        let offered = Dictionary(request.tools.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        // Calls without an id get one, so results can be matched to them.
        let calls = calls.enumerated().map { i, c in
            var c = c
            if c.id.isEmpty { c.id = "call_\(ctx.attempt)_\(loop.calls + i + 1)" }
            return c
        }
        var messages = request.messages + [.assistant(text, toolCalls: calls)]
        var next = request
        for call in calls {
            let server = offered[call.name]?.server
            let started = nowMs
            func failed(_ f: ToolFailure) -> ModelRequest {
                emit(.toolFailed(.init(
                    step: stepID, callID: call.id, tool: ToolLoop.preview(call.name, 64), server: f.server ?? server, failure: f.failureClass,
                    message: ToolLoop.preview(f.message, 500), durationMs: Int(max(0, nowMs - started)))))
                next.messages = ToolLoop.withoutTools(messages, failure: f, tool: call.name)
                next.tools = []
                return next
            }
            if loop.calls >= loop.limits.maxCalls {
                return failed(ToolFailure(.limitReached, "the attempt made its \(loop.limits.maxCalls) tool calls"))
            }
            if loop.spentMs >= loop.limits.maxTotalMs {
                return failed(ToolFailure(.limitReached, "the attempt spent its \(loop.limits.maxTotalMs) ms on tools"))
            }
            guard offered[call.name] != nil else {
                return failed(ToolFailure(.unknownTool, "the model called \(ToolLoop.preview(call.name, 64)), which was not offered"))
            }
            let arguments: String
            do { arguments = try ToolLoop.normalizedArguments(call) } catch { return failed(error) }
            loop.calls += 1
            emit(.toolCalled(.init(
                step: stepID, model: request.model.id, callID: call.id, tool: call.name, server: server,
                arguments: ToolLoop.preview(arguments, ToolLoop.maxArgumentChars))))
            let timeout = max(1, min(loop.limits.perCallTimeoutMs, loop.limits.maxTotalMs - loop.spentMs))
            let host = engine.toolHost!
            let sent = ToolCall(id: call.id, name: call.name, argumentsJSON: arguments)
            // The attempt stays a clock participant while the host works (real I/O: virtual time
            // must not jump past it); the watchdog is real time, so a host that never answers is left.
            let outcome: Result<ToolResult, ToolFailure>
            do {
                let result = try await ToolLoop.withWatchdog(
                    ms: timeout + ToolLoop.watchdogGraceMs,
                    onTimeout: { ToolFailure(.timeout, "no answer within \(timeout) ms", server: server) }
                ) { try await host.call(sent, context: context, timeoutMs: timeout) }
                outcome = .success(result)
            } catch let f as ToolFailure {
                outcome = .failure(f)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                outcome = .failure(ToolFailure(.protocolError, String(describing: error), server: server))
            }
            try Task.checkCancellation()
            let took = max(0, nowMs - started)
            loop.spentMs += took
            switch outcome {
            case .failure(let f):
                return failed(f)
            case .success(let result):
                let (content, original) = ToolLoop.bounded(result.content, maxChars: loop.limits.maxResultChars)
                emit(.toolReturned(.init(
                    step: stepID, callID: call.id, tool: call.name, server: server, content: content,
                    originalChars: original, isError: result.isError, durationMs: Int(took))))
                messages.append(.tool(ToolResult(callID: call.id, name: call.name, content: content, isError: result.isError)))
            }
        }
        next.messages = messages
        return next
    }
}

/// The coordinator's inbox, aware of the run clock: a message counts the coordinator as running
/// only when it is actually waiting for one (otherwise it finds the message on its next look).
final class Mailbox: Sendable {
    private struct State {
        var queue: [RunExecution.Message] = []
        var waiting: CheckedContinuation<RunExecution.Message, Never>?
    }
    private let state = Mutex(State())
    private let clock: any RunClock

    init(clock: any RunClock) { self.clock = clock }

    func send(_ message: RunExecution.Message) {
        let wake = state.withLock { s -> CheckedContinuation<RunExecution.Message, Never>? in
            if let w = s.waiting {
                s.waiting = nil
                return w
            }
            s.queue.append(message)
            return nil
        }
        if let wake {
            clock.enter()  // on the coordinator's behalf, before the sender can stop counting
            wake.resume(returning: message)
        }
    }

    /// The next message; while waiting, the caller does not count as running.
    func receive() async -> RunExecution.Message {
        if let m = state.withLock({ s -> RunExecution.Message? in s.queue.isEmpty ? nil : s.queue.removeFirst() }) {
            return m
        }
        return await withCheckedContinuation { (c: CheckedContinuation<RunExecution.Message, Never>) in
            let ready = state.withLock { s -> RunExecution.Message? in
                if !s.queue.isEmpty { return s.queue.removeFirst() }
                s.waiting = c
                return nil
            }
            if let ready {
                c.resume(returning: ready)
            } else {
                clock.leave()
            }
        }
    }
}

extension StepScheduler {
    /// What `nextReady` would start, without starting it.
    func nextReadyPreview() -> [String] {
        var copy = self
        copy.limit = Int.max / 2
        return copy.nextReady()
    }
}
