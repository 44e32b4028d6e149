import Foundation

/// A command a person sends to a run: from the dashboard, over MCP or from the command line, the same.
public enum RunCommand: Sendable, Hashable {
    /// Attempts in flight finish; no new attempt starts until `resume`.
    case pause
    /// Continues exactly where the pause stopped.
    case resume
    /// Runs the phase and every phase after it again; with a model, the phase runs again on it.
    case retry(step: String, on: ModelID? = nil)
    /// A pending phase will run on the model; a running one (or its unfinished subtasks) stops its
    /// attempts in flight and restarts them on it. A done phase is refused: it is retried on a model.
    case swap(step: String, to: ModelID)
    /// Ends the run from any state.
    case cancel(reason: String)
    /// Closes a model's breaker (shared by every run of the engine).
    case resetBreaker(ModelID)
    /// Opens a model's breaker for a while: no attempt goes to it.
    case forceOpenBreaker(ModelID, forMs: Int64)
    /// At a gate: the phase's output is kept — as it is, or replaced by a person's edit (the whole text).
    case approve(edited: String? = nil)
    /// At a gate: the phase runs again, with a note added to its prompt and/or on another model.
    case rerun(note: String? = nil, model: ModelID? = nil)
    /// At a gate: the run ends as cancelled, with the reason.
    case reject(reason: String)

    /// The name used in `command_refused` events and in messages.
    public var name: String {
        switch self {
        case .pause: "pause"
        case .resume: "resume"
        case .retry: "retry"
        case .swap: "swap"
        case .cancel: "cancel"
        case .resetBreaker: "breaker_reset"
        case .forceOpenBreaker: "breaker_open"
        case .approve: "approve"
        case .rerun: "rerun"
        case .reject: "reject"
        }
    }

    public var step: String? {
        switch self {
        case .retry(let s, _), .swap(let s, _): s
        default: nil
        }
    }

    public var model: ModelID? {
        switch self {
        case .retry(_, let m), .rerun(_, let m): m
        case .swap(_, let m), .resetBreaker(let m), .forceOpenBreaker(let m, _): m
        default: nil
        }
    }
}

/// What became of a command.
public enum CommandOutcome: Sendable, Hashable {
    /// Applied (its event says what changed).
    case accepted
    /// Not applied; nothing changed. The reason is also in a `command_refused` event unless the run has ended.
    case refused(String)

    public var isAccepted: Bool { self == .accepted }
}

/// The control of one run as a value-type state machine, in the style of `CircuitBreaker` and
/// AsyncHTTPClient's `HTTPConnectionPool.StateMachine`: inputs (commands, a step or attempt that
/// starts or ends, the run loop asking what to do) go in, the actions to perform come out — start
/// a step, stop an attempt, emit an event, wake the waiters. It holds no I/O, no locks and no
/// continuations; `RunExecution` feeds it under its lock and performs the actions afterwards, so a
/// woken waiter always finds the state already changed.
///
/// Vocabulary: a *phase* is a top-level step of the plan; a *loop* is one step's attempt loop (a
/// phase, a subtask `generation/2` or a candidate `generation#1`), alive from its first decision to
/// its end, with at most one attempt in flight.
struct RunMachine: Sendable, Hashable {
    enum Mode: Sendable, Hashable {
        case running
        /// Attempts in flight finish; nothing new starts.
        case paused(sinceMs: Int64)
        case cancelled(reason: String)
    }

    /// A gated phase that finished and waits for a person's decision. A gate holds the run like a
    /// pause holds attempts — no phase starts while one waits — but it is kept beside the mode, not
    /// in it: a run can be paused and waiting at a gate at once (a pause sent while a phase runs, and
    /// that phase reaching its gate), and each is lifted by its own command.
    struct GateWait: Sendable, Hashable {
        var step: String
        /// Tells a gate's timer from the timer of an earlier opening of the same phase's gate.
        var opening: Int
    }

    enum Action: Sendable, Hashable {
        case emit(RunEvent.Kind)
        /// Start a phase (a task that runs it).
        case startStep(String)
        /// Stop the attempt in flight of a loop (cancel its task); the loop then asks `attemptStopped`.
        case stopAttempt(String)
        /// Wake every task waiting at the pause gate. Comes after the state changed.
        case wakeWaiters
        /// Cancel the phases' tasks (sleeps and waits end at once).
        case cancelTasks
        /// Perform a breaker command on the engine's shared registry and emit what it says.
        case resetBreaker(ModelID)
        case forceOpenBreaker(ModelID, forMs: Int64)
        /// Wait `ms` on the run clock, then report `gateTimedOut(step, opening)`.
        case startGateTimer(step: String, opening: Int, ms: Int64)
        /// The gate of `step` was decided: its timer (if any) stops.
        case stopGateTimer(String)
        /// A person's edit is the kept output of `step`: write its files to the workspace as theirs.
        case applyEdit(step: String, text: String)
    }

    /// What a loop does at its next decision point.
    enum Gate: Sendable, Hashable {
        /// Go on; with a model: the user swapped it, start again on that model.
        case proceed(swapTo: ModelID?)
        /// Wait at the pause gate, then ask again.
        case wait
        /// End the loop (cancelled, or its input was reset by a retry).
        case stop(String)
    }

    /// Why a loop's attempt was stopped from outside.
    enum Stop: Sendable, Hashable {
        case cancelled(String)
        /// Its phase is being run again (a retry): the loop ends.
        case reset
        /// Restart on this model.
        case swap(ModelID)
        /// Nothing asked for it (a cancellation from elsewhere).
        case none
    }

    struct Loop: Sendable, Hashable {
        /// Model of the attempt in flight; nil between attempts.
        var inFlight: ModelID?
    }

    private(set) var mode: Mode = .running
    private(set) var plan: RunPlan
    private(set) var scheduler: StepScheduler?
    let knownModels: Set<ModelID>
    /// Loops alive, by step id.
    private(set) var loops: [String: Loop] = [:]
    /// A swap waiting for a loop's next decision point.
    private(set) var swaps: [String: ModelID] = [:]
    /// Phases that stop and are reset when they end; true: announce the reset then (the retried phase
    /// itself; phases downstream were named in its `step_reset`).
    private(set) var stopping: [String: Bool] = [:]
    /// Phases (running now) whose own attempt loop has started at least once.
    private(set) var loopsSeen: Set<String> = []
    /// Decomposed phases: subtasks planned and not yet finished.
    private(set) var unfinishedSubtasks: [String: Set<String>] = [:]
    /// Set once the run loop decided the run is over: commands are refused from then on.
    private(set) var ended = false
    /// Commands sent before the run's first event, applied right after it.
    private(set) var deferred: [RunCommand] = []
    /// Gated phases waiting for a decision, oldest first. Each is `running` in the scheduler (its
    /// task ended), so nothing downstream starts and the run does not end while it waits.
    private(set) var gates: [GateWait] = []
    private var openings = 0
    /// Set when the run is to end as failed rather than cancelled (a gate's time limit passed).
    private(set) var failure: String?

    init(plan: RunPlan, knownModels: Set<ModelID>) {
        self.plan = plan
        self.knownModels = knownModels
    }

    var isPaused: Bool { if case .paused = mode { true } else { false } }
    var isAwaitingApproval: Bool { !gates.isEmpty }
    var cancelReason: String? { if case .cancelled(let r) = mode { r } else { nil } }

    static func phaseID(_ stepID: String) -> String {
        if let i = stepID.firstIndex(where: { $0 == "/" || $0 == "#" }) { return String(stepID[..<i]) }
        return stepID
    }

    /// Loops of a phase: the phase itself, its subtasks and its candidates.
    func loopIDs(of phase: String) -> [String] {
        loops.keys.filter { Self.phaseID($0) == phase }.sorted()
    }

    // MARK: the run loop

    /// The run loop has emitted the run's first event and built its graph: commands held until now
    /// apply, after the steps a resume runs again are reset.
    /// `waiting`: gates a resumed run had open when it stopped (their phases are done and kept); they
    /// open again, so the run is back at them without running anything.
    mutating func install(_ scheduler: StepScheduler, rerun: [String], waiting: [RunEvent.AwaitingApproval] = [], nowMs: Int64) -> [Action] {
        self.scheduler = scheduler
        var actions: [Action] = rerun.filter { plan.step($0) != nil }.map { .emit(.stepReset(.init(step: $0, reset: self.scheduler!.reset($0)))) }
        for w in waiting where self.scheduler!.states[w.step] == .done {
            self.scheduler!.markRunning(w.step)
            actions += openGate(w)
        }
        let held = deferred
        deferred = []
        for c in held { actions += command(c, nowMs: nowMs).1 }
        return actions
    }

    /// The plan's graph could not be built: the run ends at once.
    mutating func invalidPlan() -> [Action] {
        ended = true
        deferred = []
        return []
    }

    /// The run loop's decision point: phases to start now, or that the run is over.
    mutating func next() -> (actions: [Action], over: Bool) {
        guard !ended, var sched = scheduler else { return ([], true) }
        defer { scheduler = sched }
        if case .cancelled = mode {
            if sched.running.isEmpty {
                ended = true
                return ([], true)
            }
            return ([.cancelTasks], false)
        }
        var actions: [Action] = []
        if mode == .running && gates.isEmpty {
            actions = sched.nextReady().map { .startStep($0) }
        }
        if sched.running.isEmpty && (sched.isFinished || (mode == .running && sched.nextReadyPreview().isEmpty)) {
            ended = true
            return (actions, true)
        }
        return (actions, false)
    }

    /// A phase's task ended. `done`: what it produced, for the gate when the phase is gated.
    mutating func stepEnded(_ id: String, succeeded: Bool, done: RunEvent.AwaitingApproval? = nil) -> [Action] {
        guard scheduler != nil else { return [] }
        for loop in loopIDs(of: id) { loops[loop] = nil }
        swaps = swaps.filter { Self.phaseID($0.key) != id }
        unfinishedSubtasks[id] = nil
        loopsSeen.remove(id)
        if let announce = stopping.removeValue(forKey: id), cancelReason == nil {
            // Stopped to run again (a retry): back to pending, with what depends on it.
            scheduler!.finish(id, succeeded: true)
            let reset = scheduler!.reset(id)
            return announce ? [.emit(.stepReset(.init(step: id, reset: reset)))] : []
        }
        if succeeded, cancelReason == nil, let done, let step = plan.step(id), plan.gates?.gates(step) == true {
            // It stays running in the scheduler until a person decides.
            return openGate(done)
        }
        let skipped = scheduler!.finish(id, succeeded: succeeded)
        return skipped.map { .emit(.stepSkipped(.init(step: $0, reason: "\(id) failed"))) }
    }

    // MARK: loops and attempts

    /// A loop starts. Returns the model its phase runs on now (a swap may have come between the
    /// phase's start and this moment); candidates keep their own models (nil).
    @discardableResult
    mutating func loopStarted(_ id: String) -> ModelID? {
        loops[id] = Loop()
        if !id.contains("/") && !id.contains("#") { loopsSeen.insert(id) }
        return id.contains("#") ? nil : model(of: Self.phaseID(id))
    }

    mutating func loopEnded(_ id: String) {
        loops[id] = nil
        swaps[id] = nil
        let phase = Self.phaseID(id)
        if id.contains("/") { unfinishedSubtasks[phase]?.remove(id) }
    }

    mutating func subtasksPlanned(_ phase: String, _ ids: [String]) {
        unfinishedSubtasks[phase] = Set(ids)
    }

    mutating func subtaskFinished(_ id: String) {
        unfinishedSubtasks[Self.phaseID(id)]?.remove(id)
    }

    /// A loop's decision point before each attempt.
    mutating func gate(_ id: String) -> Gate {
        if let reason = cancelReason { return .stop(reason) }
        if stopping[Self.phaseID(id)] != nil { return .stop("input reset by a retry") }
        if isPaused { return .wait }
        return .proceed(swapTo: swaps.removeValue(forKey: id))
    }

    /// An attempt starts on `model`. True: stop it at once (a command arrived since the gate).
    mutating func attemptStarted(_ id: String, model: ModelID) -> Bool {
        loops[id, default: Loop()].inFlight = model
        return cancelReason != nil || stopping[Self.phaseID(id)] != nil || swaps[id] != nil
    }

    mutating func attemptEnded(_ id: String) {
        loops[id]?.inFlight = nil
    }

    /// An attempt ended as cancelled: what stopped it.
    mutating func attemptStopped(_ id: String) -> Stop {
        if let reason = cancelReason { return .cancelled(reason) }
        if stopping[Self.phaseID(id)] != nil { return .reset }
        if let m = swaps.removeValue(forKey: id) { return .swap(m) }
        return .none
    }

    /// An attempt answered in full, possibly just as a swap or a retry stopped it: a pending swap
    /// still restarts the loop on the new model, a reset still ends it (a cancel is left to the
    /// loop's next decision point; the answer stands).
    mutating func attemptAnswered(_ id: String) -> Stop {
        if stopping[Self.phaseID(id)] != nil { return .reset }
        if let m = swaps.removeValue(forKey: id) { return .swap(m) }
        return .none
    }

    /// True when a phase's work is being thrown away (it or its input was reset by a retry).
    func isStopping(_ id: String) -> Bool { stopping[Self.phaseID(id)] != nil }

    /// The current model of a phase (the plan as changed by swaps).
    func model(of phase: String) -> ModelID? { plan.step(phase)?.model }

    // MARK: gates

    private mutating func openGate(_ done: RunEvent.AwaitingApproval) -> [Action] {
        openings += 1
        gates.append(GateWait(step: done.step, opening: openings))
        var event = done
        let policy = plan.gates
        event.timeoutMs = policy?.timeoutMs.map { Int($0) }
        event.onTimeout = policy?.timeoutMs == nil ? nil : policy?.onTimeout
        var actions: [Action] = [.emit(.awaitingApproval(event))]
        if let ms = policy?.timeoutMs { actions.append(.startGateTimer(step: done.step, opening: openings, ms: ms)) }
        return actions
    }

    /// Takes the oldest gate out of the wait: its phase is done in the scheduler.
    private mutating func closeGate() -> GateWait? {
        guard !gates.isEmpty else { return nil }
        let g = gates.removeFirst()
        scheduler?.finish(g.step, succeeded: true)
        return g
    }

    /// A gate's time limit passed. Ignored when that opening of the gate was decided meanwhile.
    mutating func gateTimedOut(step: String, opening: Int, nowMs: Int64) -> [Action] {
        guard !ended, cancelReason == nil, let i = gates.firstIndex(where: { $0.step == step && $0.opening == opening }) else { return [] }
        let limit = plan.gates?.timeoutMs ?? 0
        if plan.gates?.onTimeout == .approve {
            let g = gates.remove(at: i)
            scheduler?.finish(g.step, succeeded: true)
            return [.emit(.gateApproved(.init(step: step, by: "timeout")))]
        }
        let why = "no decision at the gate of \(step) within \(GatePolicy.durationText(limit))"
        failure = why
        return command(.cancel(reason: why), nowMs: nowMs).1
    }

    // MARK: commands

    /// A command. Returns its outcome and the actions to perform; a refused command changes nothing
    /// and emits `command_refused` (unless the run has ended: no event follows the last one).
    mutating func command(_ c: RunCommand, nowMs: Int64) -> (CommandOutcome, [Action]) {
        if ended { return (.refused("the run has ended"), []) }
        if scheduler == nil {
            deferred.append(c)
            return (.accepted, [])
        }
        func refuse(_ reason: String) -> (CommandOutcome, [Action]) {
            (.refused(reason), [.emit(.commandRefused(.init(command: c.name, step: c.step, model: c.model, reason: reason)))])
        }
        if cancelReason != nil {
            if case .cancel = c { return refuse("the run is already being cancelled") }
            return refuse("the run is being cancelled")
        }
        switch c {
        case .pause:
            if isPaused { return refuse("the run is already paused") }
            mode = .paused(sinceMs: nowMs)
            let inFlight = scheduler?.running ?? []
            let note = inFlight.isEmpty ? "nothing in flight" : "attempts in flight finish; no new attempt starts until resume"
            return (.accepted, [.emit(.paused(.init(inFlight: inFlight, note: note)))])

        case .resume:
            guard case .paused(let since) = mode else { return refuse("the run is not paused") }
            mode = .running
            return (.accepted, [.emit(.resumed(.init(pausedMs: Int(max(0, nowMs - since))))), .wakeWaiters])

        case .approve(let edited):
            guard let g = gates.first else { return refuse(notAtGate) }
            if let edited, edited.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                return refuse("the edited output of \(g.step) is empty; approve it as it is, or reject it")
            }
            _ = closeGate()
            var actions: [Action] = [.emit(.gateApproved(.init(step: g.step, by: "you", editedOutput: edited))), .stopGateTimer(g.step)]
            if let edited { actions.append(.applyEdit(step: g.step, text: edited)) }
            return (.accepted, actions)

        case .rerun(let note, let model):
            guard let g = gates.first else { return refuse(notAtGate) }
            if let model, !knownModels.contains(model) { return refuse("\(model) is not in the catalog") }
            _ = closeGate()
            let reset = scheduler!.reset(g.step)
            if let model { setModel(g.step, model) }
            let text = note.map { String($0.prefix(2_000)) }
            return (.accepted, [.emit(.stepReset(.init(step: g.step, reset: reset, model: model, note: text))), .stopGateTimer(g.step)])

        case .reject(let reason):
            guard let g = gates.first else { return refuse(notAtGate) }
            return command(.cancel(reason: "rejected at the gate of \(g.step): \(reason)"), nowMs: nowMs)

        case .cancel(let reason):
            mode = .cancelled(reason: reason)
            // Gates waiting end with the run: their phases are done.
            let closed = gates.map { Action.stopGateTimer($0.step) }
            while closeGate() != nil {}
            let stops: [Action] = loops.filter { $0.value.inFlight != nil }.keys.sorted().map { .stopAttempt($0) }
            return (.accepted, closed + stops + [.cancelTasks, .wakeWaiters])

        case .resetBreaker(let m):
            guard knownModels.contains(m) else { return refuse("\(m) is not in the catalog") }
            return (.accepted, [.resetBreaker(m)])

        case .forceOpenBreaker(let m, let ms):
            guard knownModels.contains(m) else { return refuse("\(m) is not in the catalog") }
            guard ms > 0 else { return refuse("a breaker opens for a positive time") }
            return (.accepted, [.forceOpenBreaker(m, forMs: ms)])

        case .swap(let id, let to):
            if let why = phaseProblem(id) { return refuse(why) }
            if gates.contains(where: { $0.step == id }) { return refuse("\(id) is done and waits at its gate; rerun it on \(to) there") }
            guard knownModels.contains(to) else { return refuse("\(to) is not in the catalog") }
            guard let sched = scheduler, let step = plan.step(id) else { return refuse("the run has not started") }
            let from = step.model
            switch sched.states[id] ?? .pending {
            case .done:
                return refuse("\(id) is done on \(from); a swap would not change what it produced — retry it on \(to) to run it again")
            case .failed, .skipped:
                return refuse("\(id) has \(sched.states[id] == .failed ? "failed" : "been skipped"); retry it on \(to) to run it again")
            case .pending:
                if from == to { return refuse("\(id) already runs on \(to)") }
                setModel(id, to)
                return (.accepted, [.emit(.modelSwapped(.init(step: id, from: from, to: to, restarted: false)))])
            case .running:
                if stopping[id] != nil {
                    // It is stopping to run again: it will run on the new model.
                    if from == to { return refuse("\(id) already runs on \(to)") }
                    setModel(id, to)
                    return (.accepted, [.emit(.modelSwapped(.init(step: id, from: from, to: to, restarted: false)))])
                }
                if !step.candidates.isEmpty {
                    return refuse("\(id) runs \(step.candidates.count) candidates, each on its own model; retry it on \(to) to run it again")
                }
                // The loops that will take the new model: the phase's own, or its unfinished subtasks'.
                // Loops not started yet read the phase's model when they start: the plan change reaches them.
                let targets = step.decompose ? loopIDs(of: id).filter { $0.contains("/") } : (loops[id] != nil ? [id] : [])
                let notStarted = step.decompose ? (unfinishedSubtasks[id].map { !$0.isEmpty } ?? true) : !loopsSeen.contains(id)
                guard !targets.isEmpty || notStarted else {
                    return refuse("\(id) has finished its attempts and is being checked; retry it on \(to) to run it again")
                }
                let onModel = targets.compactMap { loops[$0]?.inFlight }
                if from == to && onModel.allSatisfy({ $0 == to }) { return refuse("\(id) already runs on \(to)") }
                setModel(id, to)
                var actions: [Action] = []
                var restarted = false
                for t in targets where loops[t]?.inFlight != to || swaps[t] != nil {
                    swaps[t] = to
                    if loops[t]?.inFlight != nil {
                        restarted = true
                        actions.append(.stopAttempt(t))
                    }
                }
                let shownFrom = onModel.first { $0 != to } ?? from
                return (.accepted, [.emit(.modelSwapped(.init(step: id, from: shownFrom, to: to, restarted: restarted)))] + actions)
            }

        case .retry(let id, let on):
            if let why = phaseProblem(id) { return refuse(why) }
            if gates.contains(where: { $0.step == id }) { return refuse("\(id) waits at its gate; rerun it there (with a note or a model)") }
            if let on, !knownModels.contains(on) { return refuse("\(on) is not in the catalog") }
            guard var sched = scheduler, let step = plan.step(id) else { return refuse("the run has not started") }
            switch sched.states[id] ?? .pending {
            case .pending:
                guard let on else { return refuse("\(id) has not run yet") }
                if step.model == on { return refuse("\(id) has not run yet and already runs on \(on)") }
                setModel(id, on)
                return (.accepted, [.emit(.modelSwapped(.init(step: id, from: step.model, to: on, restarted: false)))])
            case .running:
                if stopping[id] == true {
                    if let on, on != step.model { setModel(id, on) } else { return refuse("\(id) is already starting again") }
                    return (.accepted, [])
                }
                // It stops (every loop of it) and, once ended, is reset and runs again.
                stopping[id] = true
                if let on { setModel(id, on) }
                return (.accepted, stopActions(id) + [.wakeWaiters])
            case .done, .failed, .skipped:
                // Gates downstream are lifted: their phases run again after this one.
                let downstream = Set(sched.reset(id))
                sched = scheduler!
                var lifted: [Action] = []
                for g in gates where downstream.contains(g.step) {
                    sched.finish(g.step, succeeded: true)
                    lifted.append(.stopGateTimer(g.step))
                }
                gates.removeAll { downstream.contains($0.step) }
                let reset = sched.reset(id)
                scheduler = sched
                if let on { setModel(id, on) }
                // Phases downstream that run read the old input: they stop and wait for the new one.
                var actions: [Action] = lifted + [.emit(.stepReset(.init(step: id, reset: reset, model: on)))]
                for r in reset where sched.states[r] == .running && stopping[r] == nil {
                    stopping[r] = false
                    actions += stopActions(r)
                }
                if actions.count > 1 { actions.append(.wakeWaiters) }
                return (.accepted, actions)
            }
        }
    }

    private var notAtGate: String {
        let gated = plan.gates?.phases ?? []
        return gated.isEmpty ? "the run is not waiting at a gate (it has none)" : "the run is not waiting at a gate (gated: \(gated.joined(separator: ", ")))"
    }

    /// Why a command cannot name this step, or nil.
    private func phaseProblem(_ id: String) -> String? {
        if plan.step(id) != nil { return nil }
        let phase = Self.phaseID(id)
        if phase != id && plan.step(phase) != nil { return "\(id) is part of \(phase); commands apply to the phase" }
        return "the run has no phase \(id)"
    }

    private mutating func setModel(_ id: String, _ model: ModelID) {
        guard let i = plan.steps.firstIndex(where: { $0.id == id }) else { return }
        plan.steps[i].model = model
        plan.steps[i].fallbacks.removeAll { $0 == model }
    }

    private func stopActions(_ phase: String) -> [Action] {
        loopIDs(of: phase).filter { loops[$0]?.inFlight != nil }.map { .stopAttempt($0) }
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
