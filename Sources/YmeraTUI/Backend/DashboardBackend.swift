import Foundation
import YmeraCore

/// A catalog model as the dashboard shows it: its entry, whether it can serve, and its breaker.
public struct ModelStatus: Sendable, Hashable, Identifiable {
    public var info: ModelInfo
    public var serving: ServingKind
    public var available: Bool
    /// Why not available ("GROQ_API_KEY not set"); nil when available.
    public var unavailableReason: String?
    public var breaker: BreakerState
    public var recentFailures: Int
    /// For an open breaker: milliseconds until a half-open probe.
    public var cooldownRemainingMs: Int?

    public var id: ModelID { info.id }

    public init(
        info: ModelInfo, serving: ServingKind, available: Bool, unavailableReason: String? = nil,
        breaker: BreakerState = .closed, recentFailures: Int = 0, cooldownRemainingMs: Int? = nil
    ) {
        self.info = info
        self.serving = serving
        self.available = available
        self.unavailableReason = unavailableReason
        self.breaker = breaker
        self.recentFailures = recentFailures
        self.cooldownRemainingMs = cooldownRemainingMs
    }
}

/// What the user chose before a run: the task and the overrides of the plan.
public struct PlanRequest: Sendable, Hashable {
    public var task: String
    /// nil: let the planner (and the recommendation) choose.
    public var strategy: Strategy?
    /// Step id (a phase name for the standard pipeline) → model chosen by the user.
    public var models: [String: ModelID]
    public var budget: Budget?

    public init(task: String, strategy: Strategy? = nil, models: [String: ModelID] = [:], budget: Budget? = nil) {
        self.task = task
        self.strategy = strategy
        self.models = models
        self.budget = budget
    }
}

/// A run that has started: its id and the live stream of its events (ends after the terminal event).
public struct LiveRun: Sendable {
    public var runID: String
    public var events: AsyncStream<RunEvent>
    public init(runID: String, events: AsyncStream<RunEvent>) {
        self.runID = runID
        self.events = events
    }
}

/// A user's control of a live run.
public enum RunControlAction: Sendable, Hashable {
    case pause
    case resume
    /// Run this step (and what depends on it) again.
    case retry(step: String)
    /// Use another model for this step (restarts it when running; refused when it is done).
    case swapModel(step: String, to: ModelID)
    /// Run a done step (and what depends on it) again, on another model ("run it again on M").
    case rerun(step: String, on: ModelID)
    case cancel
    /// At a gate: keep the waiting phase's output (as it is, or the person's edit); the run goes on.
    case approve(edited: String?)
    /// At a gate: the waiting phase runs again, with a note in its prompt and/or on another model.
    case gateRerun(note: String?, model: ModelID?)
    /// At a gate: the run ends as cancelled, with the reason.
    case reject(reason: String)
}

/// A user's action on a model's circuit breaker.
public enum BreakerCommand: String, Sendable, Hashable {
    case reset
    case forceOpen = "force-open"
}

/// What changed about the live runs of other processes (runs the dashboard follows through the journal).
public enum FollowedRunUpdate: Sendable {
    /// A live run of another process seen for the first time: who drives it and its events so far.
    case discovered(runID: String, owner: String, events: [RunEvent])
    /// New events of followed runs, in the order they were journaled.
    case events([RunEvent])
    /// A followed run's owner is gone without journaling an end.
    case ownerGone(runID: String)
}

/// One row of the history browser.
public struct HistoryEntry: Sendable, Hashable, Identifiable {
    public var summary: RunSummary
    public var startedAt: Date
    public var id: String { summary.runID }
    public init(summary: RunSummary, startedAt: Date) {
        self.summary = summary
        self.startedAt = startedAt
    }
}

/// Everything the dashboard needs from the engine and the journal. The executable implements it
/// with the real engine; tests and demos use `ScriptedBackend`. Methods may be called from any task.
public protocol DashboardBackend: Sendable {
    /// What kind of model serves by default (the badge on every screen).
    var serving: ServingKind { get }
    /// The catalog, with availability and breaker state.
    func models() async -> [ModelStatus]
    /// Analyses the task and plans it with the user's overrides. The plan carries the intent,
    /// the forecast (cost and time) and the recommendation from history.
    func plan(_ request: PlanRequest) async throws -> RunPlan
    /// Starts a planned run.
    func start(_ plan: RunPlan) async throws -> LiveRun
    /// Forks a past run from a step (the steps before it reused from the run, at no cost), the step on
    /// `model`, and starts it: its plan and its live events.
    func fork(runID: String, from step: String, model: ModelID) async throws -> (RunPlan, LiveRun)
    /// Pause, resume, retry a step, swap a step's model, cancel.
    func control(runID: String, _ command: RunControlAction) async throws
    /// Resets or forces open a model's breaker.
    func breaker(_ model: ModelID, _ command: BreakerCommand) async throws
    /// Past runs, newest first; `search` is a full-text query over task and output (nil: all).
    func history(search: String?, limit: Int) async throws -> [HistoryEntry]
    /// A past run's events in order, to replay it.
    func events(ofRun runID: String) async throws -> [RunEvent]
    /// One version of one file of a run's workspace (the files view; a replay asks for the version
    /// current at its cursor). Untrusted text: the view sanitizes and bounds it before drawing.
    func fileContent(runID: String, path: String, version: Int) async throws -> String
    /// Follows the live runs of other processes until the process ends: calls `deliver` with what
    /// changed each time the journal changes (no polling; nothing when nothing changes).
    func followOtherRuns(_ deliver: @escaping @Sendable ([FollowedRunUpdate]) -> Void) async
}

extension DashboardBackend {
    /// Backends without a shared journal see only their own runs.
    public func followOtherRuns(_ deliver: @escaping @Sendable ([FollowedRunUpdate]) -> Void) async {}

    /// Backends without a workspace have no files to show.
    public func fileContent(runID: String, path: String, version: Int) async throws -> String {
        throw TerminalError("this backend keeps no run files")
    }
}
