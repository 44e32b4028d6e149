/// Whether a run's kept outputs passed the quality gate: the difference between `succeeded` and
/// `completed_below_threshold`. Decided from the run's state when its last phase is done.
public struct QualityVerdict: Codable, Sendable, Hashable {
    /// One kept output that was scored.
    public struct PhaseScore: Codable, Sendable, Hashable {
        public var step: String
        public var score: Double
        public var threshold: Double
        /// The pass band a noisy judge earned (the gate is `score >= threshold - tolerance`).
        public var tolerance: Double
        public var passed: Bool

        public init(step: String, score: Double, threshold: Double, tolerance: Double, passed: Bool) {
            self.step = step
            self.score = score
            self.threshold = threshold
            self.tolerance = tolerance
            self.passed = passed
        }
    }

    /// True when every scored kept output passed.
    public var passed: Bool
    /// Every scored kept output, in plan order.
    public var phases: [PhaseScore]

    public init(passed: Bool, phases: [PhaseScore]) {
        self.passed = passed
        self.phases = phases
    }

    /// The scored outputs that did not pass.
    public var below: [PhaseScore] { phases.filter { !$0.passed } }

    /// "generation 0.42, review 0.55 below 0.70" — which phases fell short, by how much.
    public var shortfall: String? {
        let b = below
        guard !b.isEmpty else { return nil }
        let list = b.map { "\($0.step) \(fmt2($0.score))" }.joined(separator: ", ")
        let thresholds = Set(b.map(\.threshold))
        let t = thresholds.count == 1 ? fmt2(thresholds.first!) : "their thresholds"
        return "\(list) below \(t)"
    }

    /// The verdict over a run's kept outputs: each top-level step's kept score (a decomposed step
    /// without its own score counts through its subtasks). Nil when nothing was scored.
    public static func of(_ state: RunState, order: [String]) -> QualityVerdict? {
        var phases: [PhaseScore] = []
        func add(_ s: StepState) {
            guard let q = s.quality else { return }
            phases.append(PhaseScore(
                step: s.id, score: q.score.rounded(places: 3), threshold: q.threshold, tolerance: q.tolerance, passed: q.passed))
        }
        for id in order {
            guard let s = state.steps[id], s.status == .done else { continue }
            if s.quality != nil {
                add(s)
            } else {
                for child in s.children where child.contains("/") && !child.contains("#") {
                    if let c = state.steps[child] { add(c) }
                }
            }
        }
        guard !phases.isEmpty else { return nil }
        return QualityVerdict(passed: phases.allSatisfy(\.passed), phases: phases)
    }

    /// The `run_finished` reason: the mean score, and what fell short.
    public static func reason(_ state: RunState, _ verdict: QualityVerdict?) -> String? {
        var parts: [String] = []
        if let s = state.score { parts.append("mean score \(s.rounded(places: 2))") }
        if let short = verdict?.shortfall { parts.append("below the quality threshold: \(short)") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}

private func fmt2(_ x: Double) -> String {
    let v = (x * 100).rounded() / 100
    var s = String(v)
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < 2 { s += String(repeating: "0", count: 2 - decimals) }
    }
    return s
}
