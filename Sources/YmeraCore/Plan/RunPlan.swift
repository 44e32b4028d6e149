import Foundation

/// A spending limit for a run.
public struct Budget: Codable, Sendable, Hashable {
    public var maxCost: Money?
    public var maxTokens: Int?
    public init(maxCost: Money? = nil, maxTokens: Int? = nil) {
        self.maxCost = maxCost
        self.maxTokens = maxTokens
    }
    public static let unlimited = Budget()
}

/// What a step is expected to use before it runs.
public struct StepForecast: Codable, Sendable, Hashable {
    public var inputTokens: Int
    public var outputTokens: Int
    public var cost: Cost
    public var durationMs: Int
    public init(inputTokens: Int, outputTokens: Int, cost: Cost, durationMs: Int) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cost = cost
        self.durationMs = durationMs
    }
    public static let zero = StepForecast(inputTokens: 0, outputTokens: 0, cost: .zero, durationMs: 0)

    public static func + (a: StepForecast, b: StepForecast) -> StepForecast {
        StepForecast(
            inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens,
            cost: a.cost + b.cost, durationMs: a.durationMs + b.durationMs)
    }
}

/// A subtask found in the planning phase's output; generation runs them as a graph.
public struct Subtask: Codable, Sendable, Hashable, Identifiable {
    /// `1`, `2`, ... as numbered in the plan.
    public var id: String
    public var title: String
    /// Ids of subtasks that must finish first.
    public var dependsOn: [String]
    public init(id: String, title: String, dependsOn: [String] = []) {
        self.id = id
        self.title = title
        self.dependsOn = dependsOn
    }
}

/// One step of a plan: a phase on a model, with its fallbacks and dependencies.
public struct PlanStep: Codable, Sendable, Hashable, Identifiable {
    /// Unique in the plan: the phase name for the standard pipeline (`generation`), or a cascade
    /// stage (`draft`, `polish`). Child ids: `generation/2` (subtask), `generation#1` (candidate).
    public var id: String
    public var phase: Phase
    public var title: String
    public var model: ModelID
    /// Models tried in order when `model` fails or its breaker is open.
    public var fallbacks: [ModelID]
    /// Steps whose output this one reads and waits for.
    public var dependsOn: [String]
    /// Parallel strategy: run one candidate per model and keep the best by score.
    public var candidates: [ModelID]
    /// Split this step's work into the subtasks the planning phase lists.
    public var decompose: Bool
    public var maxTokens: Int
    public var temperature: Double
    public var forecast: StepForecast

    public init(
        id: String, phase: Phase, title: String, model: ModelID, fallbacks: [ModelID] = [],
        dependsOn: [String] = [], candidates: [ModelID] = [], decompose: Bool = false, maxTokens: Int = 1024,
        temperature: Double = 0.3, forecast: StepForecast = .zero
    ) {
        self.id = id
        self.phase = phase
        self.title = title
        self.model = model
        self.fallbacks = fallbacks
        self.dependsOn = dependsOn
        self.candidates = candidates
        self.decompose = decompose
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.forecast = forecast
    }
}

/// A strategy proposed from past runs, with its evidence.
public struct Recommendation: Codable, Sendable, Hashable {
    public var strategy: Strategy
    public var similarRuns: Int
    public var meanScore: Double?
    public var meanCost: Money
    public var successRate: Double
    /// One line a user can read: "multi-model: 12 similar runs, mean score 0.84, mean cost $0.012".
    public var rationale: String
    public init(
        strategy: Strategy, similarRuns: Int, meanScore: Double?, meanCost: Money, successRate: Double,
        rationale: String
    ) {
        self.strategy = strategy
        self.similarRuns = similarRuns
        self.meanScore = meanScore
        self.meanCost = meanCost
        self.successRate = successRate
        self.rationale = rationale
    }
}

/// Where a fork comes from: its parent run and the step from which it runs anew (the steps before
/// it take their kept outputs from the parent).
public struct ForkOrigin: Codable, Sendable, Hashable {
    public var run: String
    /// The step id the fork runs anew from (`review`, or a cascade stage).
    public var from: String
    /// The steps whose kept outputs were taken from `run`, in plan order.
    public var reused: [String]
    public init(run: String, from: String, reused: [String]) {
        self.run = run
        self.from = from
        self.reused = reused
    }
}

/// Everything decided before a run starts.
public struct RunPlan: Codable, Sendable, Hashable {
    public var runID: String
    public var task: String
    public var intent: Intent
    public var strategy: Strategy
    public var steps: [PlanStep]
    public var budget: Budget
    /// Sum of the steps' forecasts.
    public var forecast: StepForecast
    /// Why the planner did what it did (downgrades, overrides, availability).
    public var notes: [String]
    public var seed: UInt64
    /// What serves this run: cloud, a local model, simulated models, or a mix.
    public var serving: ServingKind
    public var recommendation: Recommendation?
    /// Score under which an output is refined by the next model.
    public var qualityThreshold: Double
    public var createdAt: Date
    /// For a fork: the run it was forked from, the step it runs anew from, and the steps it reused.
    public var forkOf: ForkOrigin? = nil
    /// Phases that wait for a person's decision when they finish (nil: none; absent in older journals).
    public var gates: GatePolicy?

    public init(
        runID: String, task: String, intent: Intent, strategy: Strategy, steps: [PlanStep], budget: Budget,
        notes: [String] = [], seed: UInt64, serving: ServingKind, recommendation: Recommendation? = nil,
        qualityThreshold: Double = 0.7, createdAt: Date = Date()
    ) {
        self.runID = runID
        self.task = task
        self.intent = intent
        self.strategy = strategy
        self.steps = steps
        self.budget = budget
        self.forecast = steps.reduce(StepForecast.zero) { $0 + $1.forecast }
        self.notes = notes
        self.seed = seed
        self.serving = serving
        self.recommendation = recommendation
        self.qualityThreshold = qualityThreshold
        self.createdAt = createdAt
    }

    public func step(_ id: String) -> PlanStep? { steps.first { $0.id == id } }

    /// Models used anywhere in the plan (primary, fallbacks, candidates), in first-use order.
    public var allModels: [ModelID] {
        var seen = Set<ModelID>()
        var out: [ModelID] = []
        for s in steps {
            for m in [s.model] + s.candidates + s.fallbacks where seen.insert(m).inserted { out.append(m) }
        }
        return out
    }
}
