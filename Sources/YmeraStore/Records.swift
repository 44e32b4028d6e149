import Foundation
import YmeraCore

/// One row of the history list: a run as the `runs` table keeps it.
public struct RunRecord: Codable, Sendable, Hashable {
    public var id: String
    public var task: String
    public var taskType: TaskType?
    public var complexity: Double?
    public var strategy: Strategy?
    public var serving: ServingKind?
    public var status: RunStatus
    public var score: Double?
    public var cost: Cost
    /// `cost` in US dollars (priced tokens only; see `cost.unpricedTokens`), for JSON readers.
    public var costUSD: Double
    public var tokens: Int
    public var startedAt: Date
    public var durationMs: Int
    /// Highest event sequence number journaled for the run.
    public var lastSeq: Int
    /// For a fork: the run it was forked from.
    public var forkOf: String? = nil
    /// The runs forked from this one, oldest first (nil when none).
    public var forks: [String]? = nil

    public var costDisplay: String { cost.display }
}

/// One step of a run (a phase, a subtask or a candidate) as the `steps` table keeps it.
public struct StepRecord: Codable, Sendable, Hashable {
    public var runID: String
    public var stepID: String
    public var position: Int
    public var parent: String?
    public var phase: Phase
    public var title: String
    public var model: ModelID
    public var attempts: Int
    public var status: StepStatus
    public var score: Double?
    public var tokens: Int
    public var cost: Cost
    public var startedMs: Int?
    public var finishedMs: Int?
    public var outputChars: Int
}

/// One attempt of a step on a model.
public struct AttemptRecord: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable, Hashable {
        case running, done, failed
        /// Replaced by another attempt before it ended (a swap that restarted it, a rerun).
        case abandoned
        case cancelled
    }
    public var runID: String
    public var stepID: String
    /// 1, 2, … per step.
    public var number: Int
    public var model: ModelID
    public var purpose: AttemptPurpose
    public var startedMs: Int
    public var finishedMs: Int?
    public var status: Status
    public var errorClass: ErrorClass?
    /// Server or client error text: untrusted, sanitize before drawing.
    public var message: String?
    public var httpStatus: Int?
    public var tokens: Int
    public var cost: Cost
}

/// What a resume needs, in detail: the plan and, for every finished step, its output and what it cost.
/// (`Journal.resumePoint(_:)` gives the engine's `ResumePoint` built from the same state.)
public struct ResumeData: Sendable {
    public struct FinishedStep: Sendable, Hashable {
        public var stepID: String
        public var parent: String?
        public var phase: Phase
        public var model: ModelID
        public var output: String
        public var usage: TokenUsage
        public var cost: Cost
        public var quality: QualityReport?
        public var attempts: Int
    }
    public var plan: RunPlan
    /// The run folded from its journal (status `interrupted` when it was cut off).
    public var state: RunState
    /// Steps whose status is `done`, in display order (parents before their children).
    public var finishedSteps: [FinishedStep]
    /// New events of the resumed run must use sequence numbers above this.
    public var lastSeq: Int
    /// Run-elapsed milliseconds reached before the interruption.
    public var elapsedMs: Int

    public func finished(_ stepID: String) -> FinishedStep? { finishedSteps.first { $0.stepID == stepID } }
}

/// A breaker state kept across sessions.
public struct PersistedBreaker: Codable, Sendable, Hashable {
    public var model: ModelID
    public var state: BreakerState
    public var reason: String
    /// Wall-clock time the breaker opened.
    public var openedAt: Date?
    /// Wall-clock time after which a half-open probe is allowed.
    public var cooldownUntil: Date?

    public init(model: ModelID, state: BreakerState, reason: String, openedAt: Date?, cooldownUntil: Date?) {
        self.model = model
        self.state = state
        self.reason = reason
        self.openedAt = openedAt
        self.cooldownUntil = cooldownUntil
    }

    /// Time left in the cool-down at `now` (zero when over or unknown).
    public func remainingCooldown(now: Date) -> TimeInterval {
        guard let until = cooldownUntil else { return 0 }
        return max(0, until.timeIntervalSince(now))
    }
}

/// Errors from the journal that a user can act on.
public enum JournalError: Error, Sendable, Equatable, CustomStringConvertible {
    case runNotFound(String)
    case ambiguousRunID(String, matches: [String])
    case noPlan(String)
    case invalidArgument(String)
    /// Another process owns the run: this one may not append its events.
    case notOwner(String, owner: String)

    public var description: String {
        switch self {
        case .runNotFound(let id): "no run matches '\(TerminalSanitizer.cell(id, limit: 80))'"
        case .ambiguousRunID(let p, let matches):
            "'\(TerminalSanitizer.cell(p, limit: 80))' matches several runs: "
                + matches.prefix(5).joined(separator: ", ") + (matches.count > 5 ? ", …" : "")
        case .noPlan(let id): "run \(id) has no plan in its journal"
        case .invalidArgument(let s): s
        case .notOwner(let id, let owner): "run \(id) is owned by \(owner); this process may not write its events"
        }
    }
}
