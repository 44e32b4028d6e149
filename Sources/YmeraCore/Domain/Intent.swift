/// What the intent analyzer made of a task.
public struct Intent: Codable, Sendable, Hashable {
    public var taskType: TaskType
    /// 0 (trivial) … 1 (very complex).
    public var complexity: Double
    /// 0 (whenever) … 1 (right now).
    public var urgency: Double
    /// 0 (factual) … 1 (open-ended, creative).
    public var creativity: Double
    public var capabilities: Set<Capability>
    /// Requirements found in the task text ("with authentication", "deploy it"), checked later one by one.
    public var requirements: [String]
    /// Why the analyzer decided as it did: each signal and its weight, for the UI.
    public var signals: [String]
    /// `heuristic`, or the model that refined the analysis.
    public var source: String

    public init(
        taskType: TaskType, complexity: Double, urgency: Double, creativity: Double,
        capabilities: Set<Capability>, requirements: [String] = [], signals: [String] = [],
        source: String = "heuristic"
    ) {
        self.taskType = taskType
        self.complexity = complexity
        self.urgency = urgency
        self.creativity = creativity
        self.capabilities = capabilities
        self.requirements = requirements
        self.signals = signals
        self.source = source
    }
}

extension Intent {
    enum CodingKeys: String, CodingKey {
        case taskType, complexity, urgency, creativity, capabilities, requirements, signals, source
    }

    /// Capabilities are a set: encoded sorted, so the same intent is always the same JSON (journal rows,
    /// `--json`, MCP results).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(taskType, forKey: .taskType)
        try c.encode(complexity, forKey: .complexity)
        try c.encode(urgency, forKey: .urgency)
        try c.encode(creativity, forKey: .creativity)
        try c.encode(capabilities.sorted(), forKey: .capabilities)
        try c.encode(requirements, forKey: .requirements)
        try c.encode(signals, forKey: .signals)
        try c.encode(source, forKey: .source)
    }
}
