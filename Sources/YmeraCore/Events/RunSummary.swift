/// The end-of-run summary: the last line of `ymera run --json`, the history row, the footer of a
/// finished run. Computed from `RunState`, so it is the same wherever it is shown.
public struct RunSummary: Codable, Sendable, Hashable {
    public struct PhaseSummary: Codable, Sendable, Hashable {
        public var name: String
        public var phase: Phase
        public var model: ModelID
        public var attempts: Int
        public var status: StepStatus
        public var score: Double?
        public var tokens: Int
        public var cost: Cost
        public var durationMs: Int?
        public var subtasks: Int
        /// True when the phase's answer (or a subtask's) stopped at the output-token limit.
        public var truncated: Bool? = nil
        /// In a fork: the run whose kept output this phase took (no call, $0).
        public var reusedFrom: String? = nil
        /// Who wrote the kept output when a person edited it at a gate (`you`); absent otherwise.
        public var editedBy: String? = nil
    }

    public var type: String = "summary"
    public var runID: String
    public var task: String
    public var status: RunStatus
    public var reason: String?
    public var strategy: Strategy?
    public var serving: ServingKind?
    public var phases: [PhaseSummary]
    public var retries: Int
    public var fallbacks: Int
    public var breakerTrips: Int
    public var swaps: Int
    public var refinements: Int
    public var tokens: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var tokensEstimated: Bool
    public var costUSD: Double
    /// False when some tokens came from models with no known price.
    public var costComplete: Bool
    public var cost: String
    public var durationMs: Int
    public var score: Double?
    /// The run's workspace: each file's latest version and its author (nil when the run wrote none).
    public var files: [FileSummary]? = nil
    /// File names the workspace refused (nil when none).
    public var refusedFiles: [RefusedFile]? = nil
    /// Tool calls the phases made (MCP), and how many failed (nil when the run made none).
    public var toolCalls: Int? = nil
    public var toolFailures: Int? = nil
    /// Whether every scored kept output passed the quality gate (nil when the run did not finish or
    /// nothing was scored); false goes with status `completed_below_threshold`.
    public var qualityPassed: Bool? = nil
    /// The scored outputs below the threshold: step, score, threshold (nil when none).
    public var belowThreshold: [QualityVerdict.PhaseScore]? = nil
    /// For a fork: its parent run and the phase it ran anew from (nil for other runs).
    public var forkOf: ForkOrigin? = nil

    public struct FileSummary: Codable, Sendable, Hashable {
        public var path: String
        public var version: Int
        public var phase: Phase
        public var model: ModelID
        public var bytes: Int
    }
}

extension RunState {
    public var summary: RunSummary {
        let top = steps.values.filter { $0.parent == nil }
        return RunSummary(
            runID: runID, task: task, status: status, reason: endReason, strategy: plan?.strategy,
            serving: plan?.serving,
            phases: top.map { s in
                // A parent's attempts include its children's (subtasks and candidates).
                let kids = s.children.compactMap { steps[$0] }
                let childUsage = kids.reduce(0) { $0 + $1.usage.totalTokens }
                let childCost = kids.reduce(Cost.zero) { $0 + $1.cost }
                return RunSummary.PhaseSummary(
                    name: s.id, phase: s.phase, model: s.model, attempts: s.attempts + kids.reduce(0) { $0 + $1.attempts },
                    status: s.status, score: s.quality?.score.rounded(places: 3),
                    tokens: s.usage.totalTokens + childUsage, cost: s.cost + childCost, durationMs: s.durationMs,
                    subtasks: s.children.filter { $0.contains("/") }.count,
                    truncated: s.truncated || kids.contains { k in k.truncated && (s.chosenCandidate == nil || s.chosenCandidate == k.id) } ? true : nil,
                    reusedFrom: s.reusedFrom,
                    editedBy: s.editedBy)
            },
            retries: retries, fallbacks: fallbacks, breakerTrips: breakerTrips, swaps: swaps, refinements: refinements,
            tokens: usage.totalTokens, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens + usage.reasoningTokens,
            tokensEstimated: usage.estimated, costUSD: cost.money.dollars, costComplete: cost.isFullyPriced,
            cost: cost.display, durationMs: elapsedMs, score: score?.rounded(places: 3),
            files: files.isEmpty ? nil : files.values.map { RunSummary.FileSummary(path: $0.path, version: $0.version, phase: $0.phase, model: $0.model, bytes: $0.bytes) },
            refusedFiles: refusedFiles.isEmpty ? nil : refusedFiles.map { RefusedFile(name: $0.name, reason: $0.reason) },
            toolCalls: toolCalls == 0 && toolFailures == 0 ? nil : toolCalls,
            toolFailures: toolCalls == 0 && toolFailures == 0 ? nil : toolFailures,
            qualityPassed: qualityVerdict?.passed,
            belowThreshold: qualityVerdict.flatMap { $0.below.isEmpty ? nil : $0.below }, forkOf: plan?.forkOf)
    }
}

extension Double {
    public func rounded(places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}
