/// Proposes a strategy for a task from similar past runs, with its evidence.
public struct Recommender: Sendable {
    public var history: any ExecutionHistory
    public var tolerance: Double
    public var sampleLimit: Int

    public init(history: any ExecutionHistory, tolerance: Double = 0.15, sampleLimit: Int = 200) {
        self.history = history
        self.tolerance = tolerance
        self.sampleLimit = sampleLimit
    }

    /// Per strategy: runs, success rate, mean score, mean cost. The best strategy is the one with the
    /// highest expected value — success rate × mean score — with cost as the tie-breaker; strategies
    /// with fewer than 2 runs are not recommended.
    public func recommend(for intent: Intent) async -> Recommendation? {
        guard let runs = try? await history.similar(to: intent.taskType, complexity: intent.complexity, tolerance: tolerance, limit: sampleLimit),
            !runs.isEmpty
        else { return nil }
        let groups = Dictionary(grouping: runs, by: \.strategy)
        var best: (Strategy, Double, Recommendation)?
        for (strategy, rs) in groups where rs.count >= 2 {
            let successRate = Double(rs.filter(\.succeeded).count) / Double(rs.count)
            let scores = rs.compactMap(\.score)
            let meanScore = scores.isEmpty ? nil : scores.reduce(0, +) / Double(scores.count)
            let meanCost = Money(nanodollars: rs.reduce(Int64(0)) { $0 + $1.cost.money.nanodollars } / Int64(rs.count))
            let value = successRate * (meanScore ?? 0.5) - min(0.1, meanCost.dollars)
            let rationale =
                "\(strategy.rawValue): \(rs.count) similar \(intent.taskType.rawValue) runs, "
                + "\(Int((successRate * 100).rounded()))% succeeded"
                + (meanScore.map { ", mean score \($0.rounded(places: 2))" } ?? "") + ", mean cost \(meanCost)"
            let rec = Recommendation(
                strategy: strategy, similarRuns: rs.count, meanScore: meanScore.map { $0.rounded(places: 3) }, meanCost: meanCost,
                successRate: successRate.rounded(places: 3), rationale: rationale)
            if best == nil || value > best!.1 || (value == best!.1 && strategy.rawValue < best!.0.rawValue) {
                best = (strategy, value, rec)
            }
        }
        return best?.2
    }
}
