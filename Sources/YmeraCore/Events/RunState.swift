import Collections

/// State of one step (a phase, a subtask of generation, or a parallel candidate).
public enum StepStatus: String, Codable, Sendable, Hashable {
    case pending, running, retrying, done, failed, skipped
}

/// Where one model's output ends and the next model's begins, after a stream was cut.
public struct Splice: Codable, Sendable, Hashable {
    public var offset: Int
    public var from: ModelID
    public var to: ModelID
    public init(offset: Int, from: ModelID, to: ModelID) {
        self.offset = offset
        self.from = from
        self.to = to
    }
}

/// What the reducer knows of one step.
public struct StepState: Sendable, Hashable, Identifiable {
    public var id: String
    public var phase: Phase
    public var title: String
    /// Parent step for subtasks (`generation/2`) and candidates (`generation#1`).
    public var parent: String?
    public var dependsOn: [String]
    public var plannedModel: ModelID
    /// Model of the current or last attempt.
    public var model: ModelID
    public var status: StepStatus = .pending
    public var attempts: Int = 0
    public var startedMs: Int?
    public var finishedMs: Int?
    public var usage = TokenUsage()
    public var cost = Cost.zero
    public var quality: QualityReport?
    /// The kept output so far (continued across splices, reset on restart).
    public var output: String = ""
    /// The output before a refinement attempt, kept in case the refinement scores worse.
    public var previousOutput: String?
    /// During a quality gate with refinements: the best-scored report so far (the engine keeps the
    /// best-scored output, so at `step_done` this is the kept output's score).
    public var gateBest: QualityReport?
    public var splices: [Splice] = []
    public var children: [String] = []
    public var lastError: String?
    public var lastErrorClass: ErrorClass?
    /// For a step with candidates: the one kept.
    public var chosenCandidate: String?
    /// Tool calls made by this step's attempts, in order.
    public var toolCalls: [ToolCallView] = []
    /// Why the kept answer ended when not naturally (`length`: cut at the output limit).
    public var finishReason: FinishReason?
    /// The kept answer stopped at the output-token limit (after the continuations allowed).
    public var truncated: Bool { finishReason == .length }
    /// In a fork: the run whose kept output this step took (no provider call, no cost).
    public var reusedFrom: String?
    /// Who wrote the kept output when a person edited it at a gate (`you`); nil: the model's own.
    public var editedBy: String?
    /// Notes a person added to this phase's prompt at a gate (each rerun adds one), in order.
    public var notes: [String] = []

    public var durationMs: Int? {
        guard let s = startedMs else { return nil }
        return (finishedMs ?? s) - s
    }
}

/// One tool call as the views see it.
public struct ToolCallView: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable { case running, ok, toolError = "tool_error", failed }
    public var callID: String
    public var tool: String
    public var server: String?
    public var status: Status
    public var startedMs: Int
    public var durationMs: Int?
    /// Characters of the result given to the model.
    public var resultChars: Int?
    /// For `failed`: the classified failure.
    public var failure: ToolFailureClass?
    public var message: String?
}

/// Circuit-breaker state as the views see it.
public struct BreakerView: Sendable, Hashable {
    public var state: BreakerState
    public var reason: String
    /// Run-elapsed time at which a half-open probe becomes possible (for `open`).
    public var reopensAtMs: Int?
    public var trips: Int
    public var failures: Int
}

/// One file of a run's workspace as the views see it: its latest version and who wrote it.
public struct FileEntry: Sendable, Hashable, Identifiable {
    public var path: String
    public var version: Int
    public var step: String
    public var phase: Phase
    public var model: ModelID
    public var bytes: Int
    public var sha256: String
    public var id: String { path }
}

/// A file name a step's output gave that was refused (not written), and why.
public struct RefusedFileEntry: Sendable, Hashable {
    public var name: String
    public var reason: String
    public var step: String
}

/// A gate waiting for a person's decision, as the views see it.
public struct GateView: Sendable, Hashable {
    public var step: String
    public var phase: Phase
    public var model: ModelID
    public var outputChars: Int
    public var score: Double?
    /// Run-elapsed time at which the gate opened.
    public var sinceMs: Int
    public var timeoutMs: Int?
    public var onTimeout: GatePolicy.TimeoutAction?
}

/// A notable event for the run's event log (no text deltas).
public struct LogEntry: Sendable, Hashable {
    public enum Level: String, Sendable, Hashable { case info, warn, error }
    public var seq: Int
    public var elapsedMs: Int
    public var level: Level
    public var text: String
}

/// The whole state of a run, folded from its events. Used by the live view, by history (a past run is
/// its journal replayed) and by `--json`'s summary: one reducer, three consumers.
public struct RunState: Sendable {
    public var runID: String
    public var plan: RunPlan?
    public var status: RunStatus = .planned
    /// Steps in display order: plan order, each parent followed by its children.
    public var steps: OrderedDictionary<String, StepState> = [:]
    public var breakers: [ModelID: BreakerView] = [:]
    public var rateLimits: [String: RateLimitSnapshot] = [:]
    public var log: [LogEntry] = []
    public var usage = TokenUsage()
    public var cost = Cost.zero
    public var retries = 0
    public var fallbacks = 0
    public var breakerTrips = 0
    public var swaps = 0
    public var refinements = 0
    public var toolCalls = 0
    public var toolFailures = 0
    /// Commands that could not apply (each said why in a `command_refused` event).
    public var refusals = 0
    public var elapsedMs = 0
    public var lastSeq = 0
    public var endReason: String?
    /// The quality verdict the run ended with (nil before the end, for runs that failed, and in
    /// journals written before verdicts existed).
    public var qualityVerdict: QualityVerdict?
    /// Events applied out of order or for unknown steps (should stay 0; shown when not).
    public var anomalies = 0
    /// The run's workspace: path → latest version, sorted by path.
    public var files: OrderedDictionary<String, FileEntry> = [:]
    /// File names refused by the workspace, in the order they came.
    public var refusedFiles: [RefusedFileEntry] = []
    /// Gated phases that finished and wait for a decision, oldest first (a command without a phase
    /// decides the first).
    public var gates: [GateView] = []

    /// How many log entries are kept for views (the journal keeps all events).
    public var logLimit = 500

    public init(runID: String) { self.runID = runID }

    /// Folds a sequence of events from scratch.
    public static func replay<S: Sequence>(_ events: S) -> RunState where S.Element == RunEvent {
        var state: RunState?
        for e in events {
            if state == nil { state = RunState(runID: e.runID) }
            state!.apply(e)
        }
        return state ?? RunState(runID: "")
    }

    public var task: String { plan?.task ?? "" }
    public var isActive: Bool { status == .running || status == .paused || status == .planned || status == .awaitingApproval }

    /// Final output of the run: the last completed step's output in plan order (validation reads
    /// what refinement produced; the answer a user takes away is the last content-producing step).
    public var finalOutput: String {
        guard let plan else { return "" }
        let producing: Set<Phase> = [.generation, .refinement]
        for step in plan.steps.reversed() where producing.contains(step.phase) {
            if let s = steps[step.id], s.status == .done { return s.output }
        }
        for step in plan.steps.reversed() {
            if let s = steps[step.id], s.status == .done { return s.output }
        }
        return ""
    }

    /// Mean of the scores of top-level steps that were scored.
    public var score: Double? {
        let scores = steps.values.filter { $0.parent == nil }.compactMap { $0.quality?.score }
        guard !scores.isEmpty else { return nil }
        return scores.reduce(0, +) / Double(scores.count)
    }

    // MARK: reducer

    public mutating func apply(_ event: RunEvent) {
        if event.seq <= lastSeq && lastSeq > 0 { anomalies += 1 }
        lastSeq = max(lastSeq, event.seq)
        elapsedMs = max(elapsedMs, event.elapsedMs)
        let t = event.elapsedMs

        switch event.kind {
        case .runPlanned(let plan):
            self.plan = plan
            status = .running
            steps = [:]
            for s in plan.steps {
                steps[s.id] = StepState(
                    id: s.id, phase: s.phase, title: s.title, parent: nil, dependsOn: s.dependsOn,
                    plannedModel: s.model, model: s.model)
                for (i, m) in s.candidates.enumerated() {
                    let cid = "\(s.id)#\(i + 1)"
                    steps[cid] = StepState(
                        id: cid, phase: s.phase, title: "candidate \(i + 1)", parent: s.id, dependsOn: [],
                        plannedModel: m, model: m)
                    steps[s.id]?.children.append(cid)
                }
            }
            note(event, .info, "planned \(plan.steps.count) steps, strategy \(plan.strategy.displayName), serving \(plan.serving.badge)")

        case .runResumed(let p):
            status = .running
            // The engine opens again each gate still waiting (an `awaiting_approval` follows).
            gates = []
            note(event, .info, "resumed; kept \(p.keptSteps.count) finished step(s)")

        case .stepStarted(let p):
            guard var s = steps[p.step] else { return unknown(event) }
            let previousModel = s.model
            s.status = .running
            s.attempts += 1
            s.model = p.model
            if s.startedMs == nil || p.purpose == .rerun { s.startedMs = t }
            s.finishedMs = nil
            if let keep = p.continuesFrom {
                let kept = String(s.output.prefix(keep))
                s.output = kept
                s.splices.append(Splice(offset: kept.count, from: previousModel, to: p.model))
            } else if p.purpose != .refine {
                s.output = ""
            }
            if p.purpose == .refine {
                if s.previousOutput == nil { s.previousOutput = s.output }
                s.output = ""
                refinements += 1
            }
            steps[p.step] = s
            if let parent = s.parent, steps[parent]?.status == .pending {
                steps[parent]?.status = .running
                if steps[parent]?.startedMs == nil { steps[parent]?.startedMs = t }
            }
            if p.purpose == .refine {
                note(event, .info, "\(p.step): refining on \(p.model)")
            }
            if p.purpose == .continuation {
                note(event, .info, "\(p.step): the answer reached the output limit; \(p.model) goes on from it")
            }

        case .textDelta(let p):
            guard steps[p.step] != nil else { return unknown(event) }
            steps[p.step]!.output += p.text

        case .usage(let p):
            guard steps[p.step] != nil else { return unknown(event) }
            steps[p.step]!.usage = steps[p.step]!.usage + p.usage
            steps[p.step]!.cost += p.cost
            usage = usage + p.usage
            cost += p.cost

        case .attemptFailed(let p):
            guard steps[p.step] != nil else { return unknown(event) }
            steps[p.step]!.status = .retrying
            steps[p.step]!.lastError = p.message
            steps[p.step]!.lastErrorClass = p.errorClass
            breakers[p.model, default: BreakerView(state: .closed, reason: "", reopensAtMs: nil, trips: 0, failures: 0)]
                .failures += 1
            note(event, .warn, "\(p.step) attempt \(p.attempt) on \(p.model) failed: \(p.errorClass.rawValue) — \(p.message)")

        case .retryScheduled(let p):
            retries += 1
            note(event, .info, "\(p.step): retry \(p.attempt) on \(p.model) in \(p.delayMs) ms (\(p.basis))")

        case .fallbackTaken(let p):
            fallbacks += 1
            let how = p.mode == .continue ? "continues from char \(p.spliceAt ?? 0)" : "restarts"
            note(event, .warn, "\(p.step): fallback \(p.from) → \(p.to) after \(p.reason.rawValue); \(how)")

        case .breakerChanged(let p):
            var b = breakers[p.model] ?? BreakerView(state: .closed, reason: "", reopensAtMs: nil, trips: 0, failures: 0)
            b.state = p.to
            b.reason = p.reason
            b.reopensAtMs = p.cooldownMs.map { t + $0 }
            if p.to == .open {
                b.trips += 1
                breakerTrips += 1
            }
            if p.to == .closed { b.failures = 0 }
            breakers[p.model] = b
            note(event, p.to == .open ? .error : .info, "breaker \(p.model): \(p.from.rawValue) → \(p.to.rawValue) (\(p.reason))")

        case .rateLimit(let snap):
            rateLimits[snap.provider] = snap

        case .throttled(let p):
            note(event, .info, "\(p.step): waiting \(p.waitMs) ms for \(p.provider) rate limit (\(p.reason))")

        case .qualityScored(let p):
            guard steps[p.step] != nil else { return unknown(event) }
            steps[p.step]!.quality = p.report
            if steps[p.step]!.previousOutput != nil, let best = steps[p.step]!.gateBest, best.score > p.report.score {
                // a refinement scored worse than what the gate holds: that is not the score of the kept output
            } else {
                steps[p.step]!.gateBest = p.report
            }
            let verdict = p.report.passed ? "pass" : "below \(fmt(p.report.threshold))"
            note(event, p.report.passed ? .info : .warn, "\(p.step) scored \(fmt(p.report.score)) on \(p.model) (\(verdict))")

        case .subtasksPlanned(let p):
            guard steps[p.step] != nil else { return unknown(event) }
            // Remove children from an earlier decomposition (a rerun).
            for child in steps[p.step]!.children where steps[child]?.title != nil && child.contains("/") {
                steps.removeValue(forKey: child)
            }
            steps[p.step]!.children.removeAll { $0.contains("/") }
            let parent = steps[p.step]!
            var insertAt = (steps.index(forKey: p.step) ?? steps.count - 1) + 1
            for sub in p.subtasks {
                let id = "\(p.step)/\(sub.id)"
                let child = StepState(
                    id: id, phase: parent.phase, title: sub.title, parent: p.step,
                    dependsOn: sub.dependsOn.map { "\(p.step)/\($0)" }, plannedModel: parent.model, model: parent.model)
                steps.updateValue(child, forKey: id, insertingAt: insertAt)
                insertAt += 1
                steps[p.step]!.children.append(id)
            }
            note(event, .info, "\(p.step): \(p.subtasks.count) subtasks (\(p.source))")

        case .candidateChosen(let p):
            guard steps[p.step] != nil, let chosen = steps[p.chosen] else { return unknown(event) }
            steps[p.step]!.chosenCandidate = p.chosen
            steps[p.step]!.output = chosen.output
            steps[p.step]!.model = chosen.model
            steps[p.step]!.quality = chosen.quality
            let list = p.scores.sorted { $0.key < $1.key }.map { "\($0.key) \(fmt($0.value))" }.joined(separator: ", ")
            note(event, .info, "\(p.step): kept \(p.chosen) [\(list)]")

        case .stepDone(let p):
            guard var s = steps[p.step] else { return unknown(event) }
            s.status = .done
            s.finishedMs = t
            s.model = p.model
            if !s.children.isEmpty && s.chosenCandidate == nil {
                // Decomposed step: its output is its subtasks' outputs in order.
                let subs = s.children.compactMap { steps[$0] }.filter { $0.id.contains("/") }
                if !subs.isEmpty {
                    s.output = subs.map { "### \($0.title)\n\n\($0.output)" }.joined(separator: "\n\n")
                }
            }
            if p.keptEarlierOutput == true, let prev = s.previousOutput {
                s.output = prev  // the refinement scored worse: the earlier output is kept
            }
            // The score shown is the kept output's (the best of the gate), not the last refinement's.
            if s.previousOutput != nil, let best = s.gateBest { s.quality = best }
            s.previousOutput = nil
            s.gateBest = nil
            s.lastError = nil
            s.finishReason = p.finishReason
            steps[p.step] = s
            if p.finishReason == .length {
                note(event, .warn, "\(p.step): TRUNCATED — the answer stopped at the output-token limit")
            }

        case .stepFailed(let p):
            guard steps[p.step] != nil else { return unknown(event) }
            steps[p.step]!.status = .failed
            steps[p.step]!.finishedMs = t
            steps[p.step]!.lastError = p.reason
            steps[p.step]!.lastErrorClass = p.errorClass
            note(event, .error, "\(p.step) failed: \(p.reason)")

        case .stepSkipped(let p):
            guard steps[p.step] != nil else { return unknown(event) }
            steps[p.step]!.status = .skipped
            note(event, .info, "\(p.step) skipped: \(p.reason)")

        case .paused(let p):
            status = .paused
            note(event, .info, "paused" + (p.inFlight.isEmpty ? "" : " (\(p.inFlight.joined(separator: ", ")): \(p.note))"))

        case .resumed:
            status = gates.isEmpty ? .running : .awaitingApproval
            note(event, .info, "resumed")

        case .modelSwapped(let p):
            swaps += 1
            steps[p.step]?.plannedModel = p.to
            // A step shows the model of its current or last attempt: only one that has not started
            // takes the new model now; the others show it when an attempt on it starts.
            if steps[p.step]?.status == .pending { steps[p.step]?.model = p.to }
            note(event, .info, "\(p.step): model \(p.from) → \(p.to)" + (p.restarted ? " (restarted)" : ""))

        case .stepReset(let p):
            for id in p.reset {
                guard var s = steps[id] else { continue }
                s.status = .pending
                s.output = ""
                s.splices = []
                s.quality = nil
                s.gateBest = nil
                s.previousOutput = nil
                s.finishedMs = nil
                s.lastError = nil
                s.chosenCandidate = nil
                s.editedBy = nil
                steps[id] = s
                for child in s.children {
                    steps[child]?.status = .pending
                    steps[child]?.output = ""
                    steps[child]?.quality = nil
                }
            }
            if let m = p.model { steps[p.step]?.plannedModel = m }
            if let n = p.note { steps[p.step]?.notes.append(n) }
            let gated = gates.contains { p.reset.contains($0.step) }
            gates.removeAll { p.reset.contains($0.step) }
            if gated && gates.isEmpty && status == .awaitingApproval { status = .running }
            if status.isTerminal { status = .running }
            if gated { note(event, .info, "gate \(p.step): rerun" + (p.model.map { " on \($0)" } ?? "") + (p.note.map { " with the note \"\($0.prefix(80))\"" } ?? "")) }
            note(event, .info, "retry \(p.step): \(p.reset.count) step(s) will run again" + (p.model.map { " (\(p.step) on \($0))" } ?? ""))

        case .stepReused(let p):
            guard var s = steps[p.step] else { return unknown(event) }
            s.status = .done
            s.model = p.model
            s.output = p.output
            s.quality = p.quality
            s.finishReason = p.finishReason
            s.startedMs = t
            s.finishedMs = t
            s.reusedFrom = p.fromRun
            steps[p.step] = s
            if s.parent == nil { note(event, .info, "\(p.step): reused from \(p.fromRun) (\(p.model), no call, $0)") }
        case .awaitingApproval(let p):
            let view = GateView(
                step: p.step, phase: p.phase, model: p.model, outputChars: p.outputChars, score: p.score, sinceMs: t,
                timeoutMs: p.timeoutMs, onTimeout: p.onTimeout)
            if let i = gates.firstIndex(where: { $0.step == p.step }) { gates[i] = view } else { gates.append(view) }
            if status != .paused { status = .awaitingApproval }
            let limit = p.timeoutMs.map { ", \($0 / 1000) s to decide, then \(p.onTimeout?.rawValue ?? "fail")" } ?? ""
            note(event, .warn, "\(p.step) waits for approval: \(p.outputChars) chars on \(p.model)" + (p.score.map { ", score \(fmt($0))" } ?? "") + limit)

        case .gateApproved(let p):
            gates.removeAll { $0.step == p.step }
            if let edited = p.editedOutput, steps[p.step] != nil {
                steps[p.step]!.output = edited
                steps[p.step]!.editedBy = p.by
            }
            if gates.isEmpty && status == .awaitingApproval { status = .running }
            note(event, .info, "\(p.step) approved by \(p.by)" + (p.editedOutput.map { " (edited: \($0.count) chars)" } ?? ""))

        case .commandRefused(let p):
            refusals += 1
            let target = [p.step, p.model?.rawValue].compactMap { $0 }.joined(separator: " → ")
            note(event, .warn, "\(p.command)\(target.isEmpty ? "" : " " + target) refused: \(p.reason)")

        case .toolCalled(let p):
            guard steps[p.step] != nil else { return unknown(event) }
            toolCalls += 1
            steps[p.step]!.toolCalls.append(ToolCallView(
                callID: p.callID, tool: p.tool, server: p.server, status: .running, startedMs: t))
            note(event, .info, "\(p.step): \(p.model) calls tool \(p.tool)" + (p.server.map { " (\($0))" } ?? ""))

        case .toolReturned(let p):
            guard steps[p.step] != nil else { return unknown(event) }
            if let i = steps[p.step]!.toolCalls.lastIndex(where: { $0.callID == p.callID }) {
                steps[p.step]!.toolCalls[i].status = p.isError ? .toolError : .ok
                steps[p.step]!.toolCalls[i].durationMs = p.durationMs
                steps[p.step]!.toolCalls[i].resultChars = p.content.count
            }
            let cut = p.originalChars > p.content.count ? ", cut from \(p.originalChars)" : ""
            note(event, p.isError ? .warn : .info,
                 "\(p.step): tool \(p.tool) \(p.isError ? "reported an error" : "returned") \(p.content.count) chars\(cut) in \(p.durationMs) ms")

        case .toolFailed(let p):
            guard steps[p.step] != nil else { return unknown(event) }
            toolFailures += 1
            if let id = p.callID, let i = steps[p.step]!.toolCalls.lastIndex(where: { $0.callID == id }) {
                steps[p.step]!.toolCalls[i].status = .failed
                steps[p.step]!.toolCalls[i].durationMs = p.durationMs
                steps[p.step]!.toolCalls[i].failure = p.failure
                steps[p.step]!.toolCalls[i].message = p.message
            }
            note(event, .error, "\(p.step): tool \(p.tool) failed (\(p.failure.rawValue)): \(p.message)")

        case .runFinished(let p):
            gates = []
            qualityVerdict = p.quality
            endReason = p.reason
            if p.quality?.passed == false {
                status = .completedBelowThreshold
                note(event, .warn, "run completed below the quality threshold" + (p.quality?.shortfall.map { ": \($0)" } ?? ""))
            } else {
                status = .succeeded
                note(event, .info, "run succeeded" + (p.reason.map { ": \($0)" } ?? ""))
            }

        case .runFailed(let p):
            gates = []
            status = .failed
            endReason = p.reason
            // Attempts stopped because the run failed elsewhere are not left "running" or "retrying".
            for (id, s) in steps where s.status == .running || s.status == .retrying {
                steps[id]?.status = .failed
                if s.lastError == nil { steps[id]?.lastError = "stopped: the run failed" }
            }
            note(event, .error, "run failed: \(p.reason ?? "unknown reason")")

        case .filesWritten(let p):
            for f in p.files {
                files[f.path] = FileEntry(
                    path: f.path, version: f.version, step: p.step, phase: p.phase, model: p.model, bytes: f.bytes, sha256: f.sha256)
            }
            if !p.files.isEmpty {
                files.sort { $0.key < $1.key }
                let list = p.files.prefix(6).map { "\($0.path) v\($0.version)" }.joined(separator: ", ")
                note(event, .info, "\(p.step): wrote \(p.files.count) file(s) on \(p.model): \(list)\(p.files.count > 6 ? ", …" : "")")
            }
            for r in p.refused {
                refusedFiles.append(RefusedFileEntry(name: String(r.name.prefix(300)), reason: r.reason, step: p.step))
                note(event, .error, "\(p.step): refused file \"\(r.name.prefix(120))\": \(r.reason)")
            }
            if let e = p.error { note(event, .error, "\(p.step): workspace error: \(e)") }

        case .runCancelled(let p):
            gates = []
            status = .cancelled
            endReason = p.reason
            for (id, s) in steps where s.status == .running || s.status == .retrying {
                steps[id]?.status = .failed
                steps[id]?.lastError = "cancelled"
            }
            note(event, .warn, "run cancelled" + (p.reason.map { ": \($0)" } ?? ""))
        }
    }

    private mutating func unknown(_ event: RunEvent) {
        anomalies += 1
        note(event, .warn, "event \(event.typeName) for unknown step \(event.kind.stepID ?? "?")")
    }

    private mutating func note(_ event: RunEvent, _ level: LogEntry.Level, _ text: String) {
        log.append(LogEntry(seq: event.seq, elapsedMs: event.elapsedMs, level: level, text: text))
        if log.count > logLimit { log.removeFirst(log.count - logLimit) }
    }

    private func fmt(_ x: Double) -> String {
        let v = (x * 100).rounded() / 100
        return String(v)
    }

    /// Marks a run whose journal ends without a terminal event (crash, kill).
    public mutating func markInterruptedIfOpen() {
        if !status.isTerminal {
            status = .interrupted
            for (id, s) in steps where s.status == .running || s.status == .retrying {
                steps[id]?.status = .pending
            }
        }
    }
}
