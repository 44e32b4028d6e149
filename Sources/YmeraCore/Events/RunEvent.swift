import Foundation

/// The breaker states, as events and views name them.
public enum BreakerState: String, Codable, Sendable, Hashable {
    case closed
    case open
    case halfOpen = "half_open"
}

/// How a new attempt relates to what came before, for the UI and the journal.
public enum AttemptPurpose: String, Codable, Sendable, Hashable {
    case initial
    case retry
    case fallback
    /// The quality gate asked another model to improve the output.
    case refine
    /// The user swapped the model.
    case swap
    /// The user asked for the phase again.
    case rerun
    /// The answer stopped at the output limit: the same model is asked to go on from it.
    case continuation = "continue"
}

/// Run status, as a whole.
public enum RunStatus: String, Codable, Sendable, Hashable {
    case planned, running, paused, succeeded, failed, cancelled
    /// A gated phase finished: the run waits for a person to approve, edit, rerun or reject it.
    case awaitingApproval = "awaiting_approval"
    /// Every phase finished, but not every scored output passed the quality gate (exit status 4):
    /// the run did its work and says plainly that the work fell short.
    case completedBelowThreshold = "completed_below_threshold"
    /// Cut off (crash, kill) with no terminal event in its journal; can be resumed.
    case interrupted

    /// How the dashboard and reports name it.
    public var label: String {
        switch self {
        case .completedBelowThreshold: "completed below threshold"
        case .awaitingApproval: "awaiting approval"
        default: rawValue
        }
    }
    /// For narrow columns (history, run lists).
    public var shortLabel: String {
        switch self {
        case .completedBelowThreshold: "below thr."
        case .awaitingApproval: "at gate"
        default: rawValue
        }
    }

    public var isTerminal: Bool {
        self == .succeeded || self == .completedBelowThreshold || self == .failed || self == .cancelled
    }
}

/// One thing that happened in a run. The ordered events alone rebuild the whole run (`RunState`).
public struct RunEvent: Sendable, Hashable, Codable {
    public var runID: String
    /// 1, 2, 3 … in emission order, without gaps.
    public var seq: Int
    /// Milliseconds since the run started, on the engine's clock.
    public var elapsedMs: Int
    public var kind: Kind

    public init(runID: String, seq: Int, elapsedMs: Int, kind: Kind) {
        self.runID = runID
        self.seq = seq
        self.elapsedMs = elapsedMs
        self.kind = kind
    }

    public enum Kind: Sendable, Hashable {
        case runPlanned(RunPlan)
        case stepStarted(StepStarted)
        case textDelta(TextDelta)
        case usage(UsageReported)
        case attemptFailed(AttemptFailed)
        case retryScheduled(RetryScheduled)
        case fallbackTaken(FallbackTaken)
        case breakerChanged(BreakerChanged)
        case rateLimit(RateLimitSnapshot)
        case throttled(Throttled)
        case qualityScored(QualityScored)
        case subtasksPlanned(SubtasksPlanned)
        case candidateChosen(CandidateChosen)
        case stepDone(StepDone)
        case stepFailed(StepFailed)
        case stepSkipped(StepSkipped)
        case paused(Paused)
        case resumed(Resumed)
        case modelSwapped(ModelSwapped)
        case stepReset(StepReset)
        case runFinished(RunEnded)
        case runFailed(RunEnded)
        case runCancelled(RunEnded)
        /// A resumed run picks up: which steps were already done and are kept as they were.
        case runResumed(RunResumed)
        /// A generation or refinement step's files were written to the run's workspace (or refused).
        case filesWritten(FilesWritten)
        /// Tool calling (MCP): a model asked for a call, the call returned, or it failed (classified).
        case toolCalled(ToolCalled)
        case toolReturned(ToolReturned)
        case toolFailed(ToolFailed)
        /// A command (pause, resume, retry, swap, cancel, breaker) that could not apply: nothing changed.
        case commandRefused(CommandRefused)
        /// A fork took a finished step's kept output from its parent run: no provider call, no cost.
        case stepReused(StepReused)
        /// A gated phase finished and the run waits for a person's decision (gates, #16).
        case awaitingApproval(AwaitingApproval)
        /// A gate was passed: the phase's output is kept, as it was or as a person edited it.
        case gateApproved(GateApproved)
    }

    // MARK: payloads

    public struct StepStarted: Codable, Sendable, Hashable {
        public var step: String
        public var model: ModelID
        public var attempt: Int
        public var purpose: AttemptPurpose
        /// When continuing a cut stream on another model: characters of output kept from before.
        public var continuesFrom: Int?
        public init(step: String, model: ModelID, attempt: Int, purpose: AttemptPurpose, continuesFrom: Int? = nil) {
            self.step = step
            self.model = model
            self.attempt = attempt
            self.purpose = purpose
            self.continuesFrom = continuesFrom
        }
    }
    public struct TextDelta: Codable, Sendable, Hashable {
        public var step: String
        public var text: String
        public init(step: String, text: String) {
            self.step = step
            self.text = text
        }
    }
    public struct UsageReported: Codable, Sendable, Hashable {
        public var step: String
        public var model: ModelID
        public var usage: TokenUsage
        public var cost: Cost
        public init(step: String, model: ModelID, usage: TokenUsage, cost: Cost) {
            self.step = step
            self.model = model
            self.usage = usage
            self.cost = cost
        }
    }
    public struct AttemptFailed: Codable, Sendable, Hashable {
        public var step: String
        public var model: ModelID
        public var attempt: Int
        public var errorClass: ErrorClass
        public var message: String
        public var httpStatus: Int?
        public var retryAfterMs: Int?
        /// Characters of output received before the failure.
        public var partialChars: Int
        public init(
            step: String, model: ModelID, attempt: Int, errorClass: ErrorClass, message: String,
            httpStatus: Int? = nil, retryAfterMs: Int? = nil, partialChars: Int = 0
        ) {
            self.step = step
            self.model = model
            self.attempt = attempt
            self.errorClass = errorClass
            self.message = message
            self.httpStatus = httpStatus
            self.retryAfterMs = retryAfterMs
            self.partialChars = partialChars
        }
    }
    public struct RetryScheduled: Codable, Sendable, Hashable {
        public var step: String
        public var model: ModelID
        /// The attempt number that will run after the delay.
        public var attempt: Int
        public var delayMs: Int
        /// `backoff`, or `retry-after` when the server's wait was honoured.
        public var basis: String
        public init(step: String, model: ModelID, attempt: Int, delayMs: Int, basis: String) {
            self.step = step
            self.model = model
            self.attempt = attempt
            self.delayMs = delayMs
            self.basis = basis
        }
    }
    public struct FallbackTaken: Codable, Sendable, Hashable {
        public enum Mode: String, Codable, Sendable, Hashable {
            /// The next model continues from the partial output (the splice point is `spliceAt`).
            case `continue`
            /// The next model starts the answer again.
            case restart
        }
        public var step: String
        public var from: ModelID
        public var to: ModelID
        public var reason: ErrorClass
        public var mode: Mode
        /// Character offset in the step's output where the next model takes over.
        public var spliceAt: Int?
        public init(step: String, from: ModelID, to: ModelID, reason: ErrorClass, mode: Mode, spliceAt: Int? = nil) {
            self.step = step
            self.from = from
            self.to = to
            self.reason = reason
            self.mode = mode
            self.spliceAt = spliceAt
        }
    }
    public struct BreakerChanged: Codable, Sendable, Hashable {
        public var model: ModelID
        public var from: BreakerState
        public var to: BreakerState
        public var reason: String
        /// For `open`: how long until a half-open probe is allowed.
        public var cooldownMs: Int?
        public init(model: ModelID, from: BreakerState, to: BreakerState, reason: String, cooldownMs: Int? = nil) {
            self.model = model
            self.from = from
            self.to = to
            self.reason = reason
            self.cooldownMs = cooldownMs
        }
    }
    public struct Throttled: Codable, Sendable, Hashable {
        public var step: String
        public var provider: String
        public var waitMs: Int
        public var reason: String
        public init(step: String, provider: String, waitMs: Int, reason: String) {
            self.step = step
            self.provider = provider
            self.waitMs = waitMs
            self.reason = reason
        }
    }
    public struct QualityScored: Codable, Sendable, Hashable {
        public var step: String
        public var model: ModelID
        public var report: QualityReport
        public init(step: String, model: ModelID, report: QualityReport) {
            self.step = step
            self.model = model
            self.report = report
        }
    }
    public struct SubtasksPlanned: Codable, Sendable, Hashable {
        /// The step whose work is split (generation).
        public var step: String
        public var subtasks: [Subtask]
        /// Where they came from: `planning output`, or `fallback: whole task` when none could be parsed.
        public var source: String
        public init(step: String, subtasks: [Subtask], source: String) {
            self.step = step
            self.subtasks = subtasks
            self.source = source
        }
    }
    public struct CandidateChosen: Codable, Sendable, Hashable {
        public var step: String
        public var chosen: String
        /// Candidate step id → score.
        public var scores: [String: Double]
        public init(step: String, chosen: String, scores: [String: Double]) {
            self.step = step
            self.chosen = chosen
            self.scores = scores
        }
    }
    public struct StepDone: Codable, Sendable, Hashable {
        public var step: String
        public var model: ModelID
        /// Characters of output kept.
        public var outputChars: Int
        /// True when a refinement scored worse and the output from before it is kept.
        public var keptEarlierOutput: Bool?
        /// Why the kept answer ended, when not naturally: `length` — it stopped at the output-token
        /// limit after the continuations allowed, and the step is truncated. nil: a complete answer.
        public var finishReason: FinishReason?
        public init(step: String, model: ModelID, outputChars: Int, keptEarlierOutput: Bool? = nil, finishReason: FinishReason? = nil) {
            self.step = step
            self.model = model
            self.outputChars = outputChars
            self.keptEarlierOutput = keptEarlierOutput
            self.finishReason = finishReason
        }
    }
    public struct StepFailed: Codable, Sendable, Hashable {
        public var step: String
        public var errorClass: ErrorClass
        public var reason: String
        public init(step: String, errorClass: ErrorClass, reason: String) {
            self.step = step
            self.errorClass = errorClass
            self.reason = reason
        }
    }
    public struct StepSkipped: Codable, Sendable, Hashable {
        public var step: String
        public var reason: String
        public init(step: String, reason: String) {
            self.step = step
            self.reason = reason
        }
    }
    public struct Paused: Codable, Sendable, Hashable {
        /// Steps with an attempt in flight at the moment of pausing.
        public var inFlight: [String]
        /// What happens to them (they finish; no new attempt starts until resume).
        public var note: String
        public init(inFlight: [String], note: String) {
            self.inFlight = inFlight
            self.note = note
        }
    }
    public struct Resumed: Codable, Sendable, Hashable {
        public var pausedMs: Int
        public init(pausedMs: Int) { self.pausedMs = pausedMs }
    }
    public struct ModelSwapped: Codable, Sendable, Hashable {
        public var step: String
        public var from: ModelID
        public var to: ModelID
        /// True when the step was running and restarts on the new model.
        public var restarted: Bool
        public init(step: String, from: ModelID, to: ModelID, restarted: Bool) {
            self.step = step
            self.from = from
            self.to = to
            self.restarted = restarted
        }
    }
    public struct StepReset: Codable, Sendable, Hashable {
        /// The step the user asked to retry.
        public var step: String
        /// It and every step after it that will run again.
        public var reset: [String]
        /// The model `step` runs on when it runs again, when the user chose one ("run it again on M").
        public var model: ModelID?
        /// A person's note for `step`'s prompt when it runs again (a rerun at a gate).
        public var note: String?
        public init(step: String, reset: [String], model: ModelID? = nil, note: String? = nil) {
            self.step = step
            self.reset = reset
            self.model = model
            self.note = note
        }
    }
    public struct AwaitingApproval: Codable, Sendable, Hashable {
        public var step: String
        public var phase: Phase
        /// The model that produced the output waiting for approval.
        public var model: ModelID
        public var outputChars: Int
        /// The output's quality score, when it was scored.
        public var score: Double?
        /// The gate's time limit and what happens when it passes (nil: no limit).
        public var timeoutMs: Int?
        public var onTimeout: GatePolicy.TimeoutAction?
        public init(
            step: String, phase: Phase, model: ModelID, outputChars: Int, score: Double? = nil, timeoutMs: Int? = nil,
            onTimeout: GatePolicy.TimeoutAction? = nil
        ) {
            self.step = step
            self.phase = phase
            self.model = model
            self.outputChars = outputChars
            self.score = score
            self.timeoutMs = timeoutMs
            self.onTimeout = onTimeout
        }
    }
    public struct GateApproved: Codable, Sendable, Hashable {
        public var step: String
        /// Who decided: `you` (a person, from any terminal or MCP) or `timeout` (the gate's time limit).
        public var by: String
        /// The whole kept output when a person edited it (it replaces the phase's output); nil: kept as it was.
        public var editedOutput: String?
        public init(step: String, by: String, editedOutput: String? = nil) {
            self.step = step
            self.by = by
            self.editedOutput = editedOutput
        }
    }
    public struct CommandRefused: Codable, Sendable, Hashable {
        /// `pause`, `resume`, `retry`, `swap`, `cancel`, `breaker_reset` or `breaker_open`.
        public var command: String
        public var step: String?
        public var model: ModelID?
        /// Why it could not apply, for a person.
        public var reason: String
        public init(command: String, step: String? = nil, model: ModelID? = nil, reason: String) {
            self.command = command
            self.step = step
            self.model = model
            self.reason = reason
        }
    }
    public struct RunEnded: Codable, Sendable, Hashable {
        public var reason: String?
        /// On `run_finished`: the quality verdict over the kept outputs (nil in journals written before
        /// verdicts existed, and when nothing was scored).
        public var quality: QualityVerdict?
        public init(reason: String? = nil, quality: QualityVerdict? = nil) {
            self.reason = reason
            self.quality = quality
        }
    }
    public struct StepReused: Codable, Sendable, Hashable {
        public var step: String
        public var phase: Phase
        /// The model that wrote the output in the parent run.
        public var model: ModelID
        /// The run the output comes from.
        public var fromRun: String
        /// The kept output, byte for byte as the parent run kept it.
        public var output: String
        /// Its score in the parent run.
        public var quality: QualityReport?
        public var finishReason: FinishReason?
        public init(step: String, phase: Phase, model: ModelID, fromRun: String, output: String, quality: QualityReport? = nil, finishReason: FinishReason? = nil) {
            self.step = step
            self.phase = phase
            self.model = model
            self.fromRun = fromRun
            self.output = output
            self.quality = quality
            self.finishReason = finishReason
        }
    }
    public struct RunResumed: Codable, Sendable, Hashable {
        /// Steps done before the interruption, kept with their outputs and costs.
        public var keptSteps: [String]
        public init(keptSteps: [String]) { self.keptSteps = keptSteps }
    }
    public struct FilesWritten: Codable, Sendable, Hashable {
        /// The step whose output named the files (the author of the new versions).
        public var step: String
        public var phase: Phase
        public var model: ModelID
        /// New versions, in the order the output named them.
        public var files: [WrittenFile]
        /// Names not written, each with why (never written anywhere).
        public var refused: [RefusedFile]
        /// The workspace itself failed (cannot be opened or written); nothing was written.
        public var error: String?
        public init(step: String, phase: Phase, model: ModelID, files: [WrittenFile], refused: [RefusedFile] = [], error: String? = nil) {
            self.step = step
            self.phase = phase
            self.model = model
            self.files = files
            self.refused = refused
            self.error = error
        }
    }
    public struct ToolCalled: Codable, Sendable, Hashable {
        public var step: String
        public var model: ModelID
        public var callID: String
        public var tool: String
        public var server: String?
        /// The arguments as the model sent them (JSON text, bounded and sanitized).
        public var arguments: String
        public init(step: String, model: ModelID, callID: String, tool: String, server: String? = nil, arguments: String) {
            self.step = step
            self.model = model
            self.callID = callID
            self.tool = tool
            self.server = server
            self.arguments = arguments
        }
    }
    public struct ToolReturned: Codable, Sendable, Hashable {
        public var step: String
        public var callID: String
        public var tool: String
        public var server: String?
        /// What the model was given: the result, bounded (`ToolLoopLimits.maxResultChars`) and sanitized.
        public var content: String
        /// Characters the tool returned before the bound (equal to `content.count` when nothing was cut).
        public var originalChars: Int
        /// The tool itself reported an error (the model sees it and may recover).
        public var isError: Bool
        public var durationMs: Int
        public init(step: String, callID: String, tool: String, server: String? = nil, content: String, originalChars: Int, isError: Bool, durationMs: Int) {
            self.step = step
            self.callID = callID
            self.tool = tool
            self.server = server
            self.content = content
            self.originalChars = originalChars
            self.isError = isError
            self.durationMs = durationMs
        }
    }
    public struct ToolFailed: Codable, Sendable, Hashable {
        public var step: String
        public var callID: String?
        public var tool: String
        public var server: String?
        public var failure: ToolFailureClass
        public var message: String
        public var durationMs: Int
        public init(step: String, callID: String?, tool: String, server: String? = nil, failure: ToolFailureClass, message: String, durationMs: Int) {
            self.step = step
            self.callID = callID
            self.tool = tool
            self.server = server
            self.failure = failure
            self.message = message
            self.durationMs = durationMs
        }
    }
}

// MARK: - Flat JSON: {"run":…, "seq":…, "t_ms":…, "type":"step_started", …payload}

extension RunEvent {
    enum CodingKeys: String, CodingKey {
        case runID = "run"
        case seq
        case elapsedMs = "t_ms"
        /// `t_ms` as a decoder with `.convertFromSnakeCase` presents it.
        case elapsedMsConverted = "tMs"
        case type
        case plan
    }

    /// The `type` string of the event in JSON and in the journal.
    public var typeName: String { kind.typeName }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        runID = try c.decode(String.self, forKey: .runID)
        seq = try c.decode(Int.self, forKey: .seq)
        elapsedMs = try c.decodeIfPresent(Int.self, forKey: .elapsedMs) ?? c.decode(Int.self, forKey: .elapsedMsConverted)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "run_planned": kind = .runPlanned(try c.decode(RunPlan.self, forKey: .plan))
        case "step_started": kind = .stepStarted(try StepStarted(from: decoder))
        case "text_delta": kind = .textDelta(try TextDelta(from: decoder))
        case "usage": kind = .usage(try UsageReported(from: decoder))
        case "attempt_failed": kind = .attemptFailed(try AttemptFailed(from: decoder))
        case "retry_scheduled": kind = .retryScheduled(try RetryScheduled(from: decoder))
        case "fallback_taken": kind = .fallbackTaken(try FallbackTaken(from: decoder))
        case "breaker_changed": kind = .breakerChanged(try BreakerChanged(from: decoder))
        case "rate_limit": kind = .rateLimit(try RateLimitSnapshot(from: decoder))
        case "throttled": kind = .throttled(try Throttled(from: decoder))
        case "quality_scored": kind = .qualityScored(try QualityScored(from: decoder))
        case "subtasks_planned": kind = .subtasksPlanned(try SubtasksPlanned(from: decoder))
        case "candidate_chosen": kind = .candidateChosen(try CandidateChosen(from: decoder))
        case "step_done": kind = .stepDone(try StepDone(from: decoder))
        case "step_failed": kind = .stepFailed(try StepFailed(from: decoder))
        case "step_skipped": kind = .stepSkipped(try StepSkipped(from: decoder))
        case "paused": kind = .paused(try Paused(from: decoder))
        case "resumed": kind = .resumed(try Resumed(from: decoder))
        case "model_swapped": kind = .modelSwapped(try ModelSwapped(from: decoder))
        case "step_reset": kind = .stepReset(try StepReset(from: decoder))
        case "run_finished": kind = .runFinished(try RunEnded(from: decoder))
        case "run_failed": kind = .runFailed(try RunEnded(from: decoder))
        case "run_cancelled": kind = .runCancelled(try RunEnded(from: decoder))
        case "run_resumed": kind = .runResumed(try RunResumed(from: decoder))
        case "files_written": kind = .filesWritten(try FilesWritten(from: decoder))
        case "tool_called": kind = .toolCalled(try ToolCalled(from: decoder))
        case "tool_returned": kind = .toolReturned(try ToolReturned(from: decoder))
        case "tool_failed": kind = .toolFailed(try ToolFailed(from: decoder))
        case "command_refused": kind = .commandRefused(try CommandRefused(from: decoder))
        case "step_reused": kind = .stepReused(try StepReused(from: decoder))
        case "awaiting_approval": kind = .awaitingApproval(try AwaitingApproval(from: decoder))
        case "gate_approved": kind = .gateApproved(try GateApproved(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c, debugDescription: "unknown event type '\(type)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(runID, forKey: .runID)
        try c.encode(seq, forKey: .seq)
        try c.encode(elapsedMs, forKey: .elapsedMs)
        try c.encode(kind.typeName, forKey: .type)
        switch kind {
        case .runPlanned(let p): try c.encode(p, forKey: .plan)
        case .stepStarted(let p): try p.encode(to: encoder)
        case .textDelta(let p): try p.encode(to: encoder)
        case .usage(let p): try p.encode(to: encoder)
        case .attemptFailed(let p): try p.encode(to: encoder)
        case .retryScheduled(let p): try p.encode(to: encoder)
        case .fallbackTaken(let p): try p.encode(to: encoder)
        case .breakerChanged(let p): try p.encode(to: encoder)
        case .rateLimit(let p): try p.encode(to: encoder)
        case .throttled(let p): try p.encode(to: encoder)
        case .qualityScored(let p): try p.encode(to: encoder)
        case .subtasksPlanned(let p): try p.encode(to: encoder)
        case .candidateChosen(let p): try p.encode(to: encoder)
        case .stepDone(let p): try p.encode(to: encoder)
        case .stepFailed(let p): try p.encode(to: encoder)
        case .stepSkipped(let p): try p.encode(to: encoder)
        case .paused(let p): try p.encode(to: encoder)
        case .resumed(let p): try p.encode(to: encoder)
        case .modelSwapped(let p): try p.encode(to: encoder)
        case .stepReset(let p): try p.encode(to: encoder)
        case .runFinished(let p), .runFailed(let p), .runCancelled(let p): try p.encode(to: encoder)
        case .runResumed(let p): try p.encode(to: encoder)
        case .filesWritten(let p): try p.encode(to: encoder)
        case .toolCalled(let p): try p.encode(to: encoder)
        case .toolReturned(let p): try p.encode(to: encoder)
        case .toolFailed(let p): try p.encode(to: encoder)
        case .commandRefused(let p): try p.encode(to: encoder)
        case .stepReused(let p): try p.encode(to: encoder)
        case .awaitingApproval(let p): try p.encode(to: encoder)
        case .gateApproved(let p): try p.encode(to: encoder)
        }
    }
}

extension RunEvent.Kind {
    /// A step (phase, subtask or candidate) ended: done, failed or skipped. Another step may build on
    /// it, so it is durable before the next attempt starts (`Engine.start(durable:)`).
    public var endsAStep: Bool {
        switch self {
        case .stepDone, .stepFailed, .stepSkipped: true
        default: false
        }
    }

    public var typeName: String {
        switch self {
        case .runPlanned: "run_planned"
        case .stepStarted: "step_started"
        case .textDelta: "text_delta"
        case .usage: "usage"
        case .attemptFailed: "attempt_failed"
        case .retryScheduled: "retry_scheduled"
        case .fallbackTaken: "fallback_taken"
        case .breakerChanged: "breaker_changed"
        case .rateLimit: "rate_limit"
        case .throttled: "throttled"
        case .qualityScored: "quality_scored"
        case .subtasksPlanned: "subtasks_planned"
        case .candidateChosen: "candidate_chosen"
        case .stepDone: "step_done"
        case .stepFailed: "step_failed"
        case .stepSkipped: "step_skipped"
        case .paused: "paused"
        case .resumed: "resumed"
        case .modelSwapped: "model_swapped"
        case .stepReset: "step_reset"
        case .runFinished: "run_finished"
        case .runFailed: "run_failed"
        case .runCancelled: "run_cancelled"
        case .runResumed: "run_resumed"
        case .filesWritten: "files_written"
        case .toolCalled: "tool_called"
        case .toolReturned: "tool_returned"
        case .toolFailed: "tool_failed"
        case .commandRefused: "command_refused"
        case .stepReused: "step_reused"
        case .awaitingApproval: "awaiting_approval"
        case .gateApproved: "gate_approved"
        }
    }

    /// The step an event is about, if any.
    public var stepID: String? {
        switch self {
        case .stepStarted(let p): p.step
        case .textDelta(let p): p.step
        case .usage(let p): p.step
        case .attemptFailed(let p): p.step
        case .retryScheduled(let p): p.step
        case .fallbackTaken(let p): p.step
        case .throttled(let p): p.step
        case .qualityScored(let p): p.step
        case .subtasksPlanned(let p): p.step
        case .candidateChosen(let p): p.step
        case .stepDone(let p): p.step
        case .stepFailed(let p): p.step
        case .stepSkipped(let p): p.step
        case .modelSwapped(let p): p.step
        case .stepReset(let p): p.step
        case .filesWritten(let p): p.step
        case .toolCalled(let p): p.step
        case .toolReturned(let p): p.step
        case .toolFailed(let p): p.step
        case .commandRefused(let p): p.step
        case .stepReused(let p): p.step
        case .awaitingApproval(let p): p.step
        case .gateApproved(let p): p.step
        default: nil
        }
    }

    /// True for the three events that end a run.
    public var isTerminal: Bool {
        switch self {
        case .runFinished, .runFailed, .runCancelled: true
        default: false
        }
    }
}

// MARK: - Reading `--json` (snake_case) back

extension RunEvent {
    /// A decoder for the snake_case JSON that `ymera run --json` and exports write. Foundation's
    /// `.convertFromSnakeCase` turns `run_id` into `runId`, which does not match `runID`; this strategy
    /// restores the acronyms the types use (ID, URL, JSON, USD).
    public static func snakeCaseDecoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .custom { path in
            let key = path.last!
            return SnakeCaseKey(stringValue: camelCase(key.stringValue))
        }
        return d
    }

    static func camelCase(_ snake: String) -> String {
        guard snake.contains("_") else { return snake }
        if snake == "t_ms" { return snake }
        let acronyms: Set<String> = ["id", "url", "json", "usd"]
        let parts = snake.split(separator: "_", omittingEmptySubsequences: true).map(String.init)
        guard let first = parts.first else { return snake }
        return first + parts.dropFirst().map { acronyms.contains($0) ? $0.uppercased() : $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    struct SnakeCaseKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) {
            self.stringValue = String(intValue)
            self.intValue = intValue
        }
    }
}
