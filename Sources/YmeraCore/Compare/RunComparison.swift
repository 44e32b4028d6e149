/// Two runs side by side, phase by phase: each run's model, score, tokens, cost and time, and the
/// unified diff of their kept outputs. Computed from the runs' states (their journals replayed).
public struct RunComparison: Codable, Sendable, Hashable {
    /// One run's figures for a phase (nil in `PhaseRow` when that run has no such phase).
    public struct Side: Codable, Sendable, Hashable {
        public var model: ModelID
        public var status: StepStatus
        public var score: Double?
        public var tokens: Int
        public var costUSD: Double
        public var cost: String
        public var durationMs: Int?
        /// In a fork: the run whose output this phase reused.
        public var reusedFrom: String?
        public var outputChars: Int
    }
    public struct PhaseRow: Codable, Sendable, Hashable {
        public var name: String
        public var phase: Phase
        public var a: Side?
        public var b: Side?
        /// Both runs kept the same output, byte for byte.
        public var sameOutput: Bool
        /// The unified diff of the two outputs (nil when they are the same).
        public var outputDiff: String?
    }

    public var runA: String
    public var runB: String
    public var phases: [PhaseRow]
    public var scoreA: Double?
    public var scoreB: Double?
    public var costA: String
    public var costB: String

    public init(_ a: RunState, _ b: RunState) {
        runA = a.runID
        runB = b.runID
        scoreA = a.score?.rounded(places: 3)
        scoreB = b.score?.rounded(places: 3)
        costA = a.cost.display
        costB = b.cost.display
        let sa = a.summary.phases, sb = b.summary.phases
        var names = sa.map(\.name)
        for p in sb where !names.contains(p.name) { names.append(p.name) }
        phases = names.map { name in
            let pa = sa.first { $0.name == name }, pb = sb.first { $0.name == name }
            let oa = a.steps[name]?.output, ob = b.steps[name]?.output
            func side(_ p: RunSummary.PhaseSummary?, _ output: String?) -> Side? {
                p.map {
                    Side(
                        model: $0.model, status: $0.status, score: $0.score, tokens: $0.tokens, costUSD: $0.cost.money.dollars,
                        cost: $0.cost.display, durationMs: $0.durationMs, reusedFrom: $0.reusedFrom, outputChars: output?.count ?? 0)
                }
            }
            let same = oa == ob
            return PhaseRow(
                name: name, phase: (pa ?? pb)!.phase, a: side(pa, oa), b: side(pb, ob), sameOutput: same,
                outputDiff: same ? nil : LineDiff.unified(oa ?? "", ob ?? "", labelA: "\(a.runID)/\(name)", labelB: "\(b.runID)/\(name)"))
        }
    }
}
