import Foundation

/// What the learning system remembers of a finished run.
public struct ExecutionRecord: Codable, Sendable, Hashable {
    public var runID: String
    public var taskType: TaskType
    public var complexity: Double
    public var strategy: Strategy
    /// Step id → model that produced the kept output.
    public var modelsByStep: [String: ModelID]
    public var score: Double?
    public var durationMs: Int
    public var cost: Cost
    public var succeeded: Bool
    public var finishedAt: Date

    public init(
        runID: String, taskType: TaskType, complexity: Double, strategy: Strategy,
        modelsByStep: [String: ModelID], score: Double?, durationMs: Int, cost: Cost, succeeded: Bool,
        finishedAt: Date
    ) {
        self.runID = runID
        self.taskType = taskType
        self.complexity = complexity
        self.strategy = strategy
        self.modelsByStep = modelsByStep
        self.score = score
        self.durationMs = durationMs
        self.cost = cost
        self.succeeded = succeeded
        self.finishedAt = finishedAt
    }
}

/// Past executions, read by the recommender. In memory here; on SQLite in `YmeraStore`.
public protocol ExecutionHistory: Sendable {
    func record(_ execution: ExecutionRecord) async throws
    /// Runs of the same task type whose complexity is within `tolerance`, newest first.
    func similar(to taskType: TaskType, complexity: Double, tolerance: Double, limit: Int) async throws
        -> [ExecutionRecord]
}

/// History kept in memory (tests, and runs without a journal).
public actor InMemoryExecutionHistory: ExecutionHistory {
    public private(set) var records: [ExecutionRecord] = []
    public init(_ records: [ExecutionRecord] = []) { self.records = records }

    public func record(_ execution: ExecutionRecord) async throws { records.append(execution) }

    public func similar(to taskType: TaskType, complexity: Double, tolerance: Double, limit: Int) async throws
        -> [ExecutionRecord]
    {
        Array(
            records.filter { $0.taskType == taskType && abs($0.complexity - complexity) <= tolerance }
                .sorted { $0.finishedAt > $1.finishedAt }
                .prefix(limit))
    }
}
