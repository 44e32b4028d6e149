/// One scored dimension of a quality report (syntax, security, relevance, ...).
public struct QualityDimension: Codable, Sendable, Hashable {
    public var name: String
    /// 0 … 1, or nil when it could not be measured ("not checked" — never a guessed pass).
    public var score: Double?
    /// Weight in the combined score.
    public var weight: Double
    /// Why: what was measured and how.
    public var detail: String

    public init(name: String, score: Double?, weight: Double, detail: String) {
        self.name = name
        self.score = score
        self.weight = weight
        self.detail = detail
    }
}

/// A finding from a check: rule id, which tool produced it, and where.
public struct QualityFinding: Codable, Sendable, Hashable {
    public enum Severity: String, Codable, Sendable, Comparable {
        case info, low, medium, high
        public static func < (a: Severity, b: Severity) -> Bool {
            let order: [Severity] = [.info, .low, .medium, .high]
            return order.firstIndex(of: a)! < order.firstIndex(of: b)!
        }
    }
    public var rule: String
    /// Who produced it: `ymera`, `bandit`, `shellcheck`, `python3`, ...
    public var source: String
    public var severity: Severity
    public var line: Int?
    public var message: String

    public init(rule: String, source: String, severity: Severity, line: Int? = nil, message: String) {
        self.rule = rule
        self.source = source
        self.severity = severity
        self.line = line
        self.message = message
    }
}

/// The result of validating one output.
/// Tokens a validator spent on one model while scoring.
public struct QualitySpend: Codable, Sendable, Hashable {
    public var model: ModelID
    public var usage: TokenUsage
    public init(model: ModelID, usage: TokenUsage) {
        self.model = model
        self.usage = usage
    }
}

public struct QualityReport: Codable, Sendable, Hashable {
    /// Combined score 0 … 1 (weighted mean of the measured dimensions).
    public var score: Double
    public var threshold: Double
    public var dimensions: [QualityDimension]
    public var findings: [QualityFinding]
    /// Which validator produced it.
    public var validator: String
    /// Extra pass band when a judge is noisy (the gate is `score >= threshold - tolerance`).
    public var tolerance: Double
    /// Model calls the validator made to score (a judge): billed to the scored step by the engine.
    public var spend: [QualitySpend]?

    public init(
        score: Double, threshold: Double, dimensions: [QualityDimension], findings: [QualityFinding] = [],
        validator: String, tolerance: Double = 0
    ) {
        self.score = score
        self.threshold = threshold
        self.dimensions = dimensions
        self.findings = findings
        self.validator = validator
        self.tolerance = tolerance
    }

    public var passed: Bool { score + 1e-9 >= threshold - tolerance }

    /// Weighted mean of measured dimensions; unmeasured ones are left out, not counted as passes.
    public static func combine(_ dims: [QualityDimension]) -> Double {
        let measured = dims.compactMap { d in d.score.map { ($0, d.weight) } }
        let total = measured.reduce(0) { $0 + $1.1 }
        guard total > 0 else { return 0 }
        return measured.reduce(0) { $0 + $1.0 * $1.1 } / total
    }
}

/// What a validator is given: the output and what it was for.
public struct ValidationInput: Sendable {
    public var task: String
    public var intent: Intent
    public var stepID: String
    public var phase: Phase
    public var output: String
    /// Requirements and subtasks from the planning phase, to check completeness against.
    public var requirements: [String]
    public var threshold: Double
    /// The run's workspace as it stands (final version of each file) when there is one: a validator
    /// checks these as a project (tests run against the files as written). Empty: only `output`.
    public var files: [WorkspaceFile]
    /// The model whose output is scored: a judge model must be another one.
    public var judgedModel: ModelID?

    public init(
        task: String, intent: Intent, stepID: String, phase: Phase, output: String, requirements: [String],
        threshold: Double, files: [WorkspaceFile] = [], judgedModel: ModelID? = nil
    ) {
        self.files = files
        self.judgedModel = judgedModel
        self.task = task
        self.intent = intent
        self.stepID = stepID
        self.phase = phase
        self.output = output
        self.requirements = requirements
        self.threshold = threshold
    }
}

/// Scores an output after a phase. The real one lives in `YmeraQuality`.
public protocol QualityValidator: Sendable {
    func evaluate(_ input: ValidationInput) async -> QualityReport
}
