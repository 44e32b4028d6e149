import Foundation

/// What the user asked for, beyond the task text.
public struct PlanOptions: Sendable {
    /// nil: chosen by the seed's rules (and history, when it has strong evidence).
    public var strategy: Strategy?
    /// Phase or step id → model (`--model generation=openai/gpt-4o`).
    public var modelOverrides: [String: ModelID]
    public var budget: Budget
    public var seed: UInt64
    /// Candidates for the parallel strategy.
    public var parallelCandidates: Int
    public var qualityThreshold: Double
    public var runID: String?

    public init(
        strategy: Strategy? = nil, modelOverrides: [String: ModelID] = [:], budget: Budget = .unlimited,
        seed: UInt64 = 0, parallelCandidates: Int = 3, qualityThreshold: Double = 0.7, runID: String? = nil
    ) {
        self.strategy = strategy
        self.modelOverrides = modelOverrides
        self.budget = budget
        self.seed = seed
        self.parallelCandidates = parallelCandidates
        self.qualityThreshold = qualityThreshold
        self.runID = runID
    }
}

/// Why a plan could not be made.
public struct PlanError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Chooses a strategy, the steps, a model per step with its fallback chain, and forecasts tokens,
/// cost and time; keeps the plan within budget by downgrading models or refuses it, saying why.
///
/// The seed's rules are the defaults: complexity < 0.3 → one fast model; < 0.6 → planning, generation
/// and validation on different models; otherwise all six phases. Code tasks get code models for
/// generation and refinement; refinement reuses the generation model.
public struct Planner: Sendable {
    public var catalog: Catalog
    /// Models that can serve now (key present, local server up, or simulated).
    public var available: [ModelInfo]

    public init(catalog: Catalog, available: [ModelInfo]) {
        self.catalog = catalog
        self.available = available
    }

    public static let singleThreshold = 0.3
    public static let sixPhaseThreshold = 0.6

    public func plan(task: String, intent: Intent, options: PlanOptions, recommendation: Recommendation? = nil) throws -> RunPlan {
        guard !available.isEmpty else {
            throw PlanError("no model can serve: set a provider key (see `ymera doctor`), start the local model (`ymera local start`), or use --simulate")
        }
        var notes: [String] = []
        let strategy: Strategy
        if let s = options.strategy {
            strategy = s
            notes.append("strategy \(s.rawValue) chosen by the user")
        } else if let rec = recommendation, rec.similarRuns >= 5, rec.successRate >= 0.8 {
            strategy = rec.strategy
            notes.append("strategy \(rec.strategy.rawValue) from history: \(rec.rationale)")
        } else {
            strategy = intent.complexity < Self.singleThreshold ? .single : .multiModel
            notes.append(
                "strategy \(strategy.rawValue): complexity \(intent.complexity.rounded(places: 2)) "
                    + (strategy == .single ? "< \(Self.singleThreshold)" : "≥ \(Self.singleThreshold)"))
        }

        let promptTokens = TokenUsage.estimateTokens(characters: task.count)
        var steps = skeleton(strategy: strategy, intent: intent, candidates: max(2, options.parallelCandidates))
        var used: [ModelID] = []
        for i in steps.indices {
            let needs = requiredCapabilities(for: steps[i], intent: intent)
            let window = Self.contextNeed(steps[i], in: steps, taskTokens: promptTokens)
            if let forced = options.modelOverrides[steps[i].id] ?? options.modelOverrides[steps[i].phase.rawValue] {
                let m = try catalog.model(forced)
                guard m.contextWindow >= window else {
                    throw PlanError(
                        "\(steps[i].id): \(m.id) has a \(m.contextWindow)-token context window, and this step needs about \(window) tokens "
                            + "(task ~\(promptTokens), inputs from earlier steps and up to \(steps[i].maxTokens) tokens of answer). "
                            + "Shorten the task or choose a model with a larger window.")
                }
                steps[i].model = m.id
                notes.append("\(steps[i].id): \(m.id) chosen by the user")
            } else if steps[i].phase == .refinement, strategy != .cascade,
                let gen = steps.first(where: { $0.phase == .generation }),
                (try? catalog.model(gen.model))?.contextWindow ?? 0 >= window
            {
                steps[i].model = gen.model  // the seed's rule: refinement reuses the generation model
            } else {
                let pick = try choose(for: steps[i], needs: needs, intent: intent, avoid: strategy == .single ? [] : used, minContext: window, taskTokens: promptTokens)
                steps[i].model = pick.id
            }
            if !steps[i].candidates.isEmpty {
                steps[i].candidates = candidates(n: steps[i].candidates.count, needs: needs, intent: intent, first: steps[i].model, minContext: window)
            }
            steps[i].fallbacks = fallbackChain(for: steps[i], needs: needs, intent: intent, minContext: window)
            used.append(steps[i].model)
        }
        var plan = RunPlan(
            runID: options.runID ?? Self.newRunID(seed: options.seed, task: task), task: task, intent: intent,
            strategy: strategy, steps: forecast(steps, taskTokens: promptTokens, intent: intent), budget: options.budget,
            notes: notes, seed: options.seed, serving: serving(steps), recommendation: recommendation,
            qualityThreshold: options.qualityThreshold)
        plan = try fitBudget(plan, overrides: Set(options.modelOverrides.keys), taskTokens: promptTokens)
        try checkTokenBudget(plan)
        return plan
    }

    /// A token budget cannot be met by cheaper models: a plan forecast over it is refused with the figures.
    /// (The engine also stops starting attempts once the run has used it.)
    func checkTokenBudget(_ plan: RunPlan) throws {
        guard let limit = plan.budget.maxTokens else { return }
        let forecast = plan.forecast.inputTokens + plan.forecast.outputTokens
        guard forecast > limit else { return }
        throw PlanError(
            "over the token budget: the forecast is \(forecast) tokens (\(plan.forecast.inputTokens) in, \(plan.forecast.outputTokens) out) against a budget of \(limit) tokens"
                + ". Raise --max-tokens, choose --strategy single, or shorten the task.")
    }

    // MARK: steps

    func skeleton(strategy: Strategy, intent: Intent, candidates: Int) -> [PlanStep] {
        let c = intent.complexity
        let genTokens = Int(900 + 1400 * c)
        switch strategy {
        case .single:
            return [PlanStep(id: "generation", phase: .generation, title: "Answer the task", model: "", maxTokens: genTokens, temperature: temperature(intent, .generation))]
        case .multiModel where c < Self.sixPhaseThreshold:
            return [
                PlanStep(id: "planning", phase: .planning, title: "Plan the work", model: "", maxTokens: 500, temperature: 0.2),
                PlanStep(id: "generation", phase: .generation, title: "Produce the result", model: "", dependsOn: ["planning"], maxTokens: genTokens, temperature: temperature(intent, .generation)),
                PlanStep(id: "validation", phase: .validation, title: "Check it against the task", model: "", dependsOn: ["generation"], maxTokens: 400, temperature: 0),
            ]
        case .multiModel:
            return [
                PlanStep(id: "planning", phase: .planning, title: "Plan the work and split it into subtasks", model: "", maxTokens: 600, temperature: 0.2),
                PlanStep(id: "research", phase: .research, title: "Gather facts and constraints", model: "", dependsOn: ["planning"], maxTokens: 700, temperature: 0.2),
                PlanStep(id: "generation", phase: .generation, title: "Produce the result, subtask by subtask", model: "", dependsOn: ["planning", "research"], decompose: true, maxTokens: genTokens, temperature: temperature(intent, .generation)),
                PlanStep(id: "review", phase: .review, title: "Review for defects", model: "", dependsOn: ["generation"], maxTokens: 600, temperature: 0.1),
                PlanStep(id: "refinement", phase: .refinement, title: "Fix what the review found", model: "", dependsOn: ["generation", "review"], maxTokens: genTokens, temperature: 0.2),
                PlanStep(id: "validation", phase: .validation, title: "Validate against the requirements", model: "", dependsOn: ["refinement"], maxTokens: 500, temperature: 0),
            ]
        case .parallel:
            var s: [PlanStep] = []
            if c >= Self.singleThreshold {
                s.append(PlanStep(id: "planning", phase: .planning, title: "Plan the work", model: "", maxTokens: 500, temperature: 0.2))
            }
            s.append(PlanStep(id: "generation", phase: .generation, title: "\(candidates) candidates, best kept", model: "", dependsOn: s.isEmpty ? [] : ["planning"], candidates: Array(repeating: "", count: candidates), maxTokens: genTokens, temperature: temperature(intent, .generation)))
            s.append(PlanStep(id: "validation", phase: .validation, title: "Validate the kept candidate", model: "", dependsOn: ["generation"], maxTokens: 400, temperature: 0))
            return s
        case .cascade:
            return [
                PlanStep(id: "draft", phase: .generation, title: "Draft quickly", model: "", maxTokens: genTokens, temperature: temperature(intent, .generation)),
                PlanStep(id: "refine", phase: .refinement, title: "Refine the draft", model: "", dependsOn: ["draft"], maxTokens: genTokens, temperature: 0.2),
                PlanStep(id: "polish", phase: .refinement, title: "Polish", model: "", dependsOn: ["refine"], maxTokens: genTokens, temperature: 0.1),
                PlanStep(id: "validate", phase: .validation, title: "Validate", model: "", dependsOn: ["polish"], maxTokens: 400, temperature: 0),
            ]
        }
    }

    func temperature(_ intent: Intent, _ phase: Phase) -> Double {
        (0.2 + 0.7 * intent.creativity).rounded(places: 2)
    }

    func requiredCapabilities(for step: PlanStep, intent: Intent) -> Set<Capability> {
        var needs: Set<Capability> = []
        switch step.phase {
        case .planning: needs.insert(.reasoning)
        case .research: if intent.capabilities.contains(.longContext) { needs.insert(.longContext) }
        case .generation, .refinement: if intent.taskType == .code { needs.insert(.code) }
        case .review: needs.insert(.review)
        case .validation: break
        }
        if intent.capabilities.contains(.longContext) { needs.insert(.longContext) }
        return needs
    }

    /// Ranks models for a step: capability fit first, then quality for hard work, speed for easy or
    /// urgent work, and price.
    func rank(_ m: ModelInfo, for step: PlanStep, needs: Set<Capability>, intent: Intent) -> Double {
        var score = 0.0
        let fit = needs.isEmpty ? 1 : Double(needs.intersection(m.capabilities).count) / Double(needs.count)
        score += 4 * fit
        let c = intent.complexity
        let wantQuality: Double
        switch step.phase {
        case .planning, .review, .refinement: wantQuality = 0.5 + c
        case .generation: wantQuality = 0.3 + c
        case .research: wantQuality = 0.4 + 0.5 * c
        case .validation: wantQuality = 0.2 + 0.4 * c
        }
        let wantSpeed = 0.3 + intent.urgency + (step.phase == .validation ? 0.4 : 0) + (c < Self.singleThreshold ? 0.6 : 0)
        score += wantQuality * Double(m.qualityTier) / 5 * 2
        score += wantSpeed * Double(m.speedTier) / 5 * 1.5
        if let p = m.pricing {
            let perM = p.inputPerMillion + p.outputPerMillion * 3
            score -= min(1.5, perM / 40) * (1.2 - c)
        } else {
            score -= 0.3  // unpriced: less predictable cost
        }
        if m.has(.code) && step.phase == .generation && intent.taskType == .code { score += 0.5 }
        if m.has(.review) && step.phase == .review { score += 0.4 }
        if m.has(.reasoning) && step.phase == .planning { score += 0.3 }
        if m.has(.accuracy) && step.phase == .validation { score += 0.3 }
        return score
    }

    /// Tokens a step's request may take in a model's window: the task, the outputs of the steps it
    /// reads (at their limit), the prompt's own text, and its answer's limit.
    public static func contextNeed(_ step: PlanStep, in steps: [PlanStep], taskTokens: Int) -> Int {
        let inputs = step.dependsOn.reduce(0) { sum, id in sum + (steps.first { $0.id == id }?.maxTokens ?? 0) }
        return 120 + taskTokens + inputs + step.maxTokens
    }

    /// Available models whose window holds `minContext` tokens, best first for the step.
    func sorted(for step: PlanStep, needs: Set<Capability>, intent: Intent, minContext: Int = 0) -> [ModelInfo] {
        let pool = available.filter { $0.contextWindow >= minContext }
        return pool.sorted {
            let a = rank($0, for: step, needs: needs, intent: intent)
            let b = rank($1, for: step, needs: needs, intent: intent)
            return a == b ? $0.id < $1.id : a > b
        }
    }

    func choose(for step: PlanStep, needs: Set<Capability>, intent: Intent, avoid: [ModelID], minContext: Int, taskTokens: Int) throws -> ModelInfo {
        let ranked = sorted(for: step, needs: needs, intent: intent, minContext: minContext)
        guard !ranked.isEmpty else {
            let largest = available.max { $0.contextWindow < $1.contextWindow }
            throw PlanError(
                "the task does not fit any available model's context window: step \(step.id) needs about \(minContext) tokens "
                    + "(task ~\(taskTokens) tokens, inputs from earlier steps and up to \(step.maxTokens) tokens of answer); "
                    + (largest.map { "the largest window available is \($0.contextWindow) tokens (\($0.id))" } ?? "no model is available")
                    + ". Shorten the task, or make a model with a larger window available.")
        }
        // Prefer a model not yet used (multi-model: a different model per phase), unless it is much worse.
        if let best = ranked.first, let fresh = ranked.first(where: { !avoid.contains($0.id) }),
            rank(fresh, for: step, needs: needs, intent: intent) >= rank(best, for: step, needs: needs, intent: intent) - 1.2
        {
            return fresh
        }
        return ranked.first ?? available[0]
    }

    func candidates(n: Int, needs: Set<Capability>, intent: Intent, first: ModelID, minContext: Int) -> [ModelID] {
        let probe = PlanStep(id: "generation", phase: .generation, title: "", model: first)
        var out = [first]
        for m in sorted(for: probe, needs: needs, intent: intent, minContext: minContext) where !out.contains(m.id) && out.count < n {
            out.append(m.id)
        }
        while out.count < n { out.append(out[out.count % max(1, out.count)]) }
        return out
    }

    /// Other available models with the needed capabilities, best first (at most 3).
    func fallbackChain(for step: PlanStep, needs: Set<Capability>, intent: Intent, minContext: Int = 0) -> [ModelID] {
        let ranked = sorted(for: step, needs: needs, intent: intent, minContext: minContext).filter { $0.id != step.model }
        let capable = ranked.filter { needs.isSubset(of: $0.capabilities) }
        let rest = ranked.filter { !needs.isSubset(of: $0.capabilities) }
        return Array((capable + rest).prefix(3).map(\.id))
    }

    func serving(_ steps: [PlanStep]) -> ServingKind {
        let kinds = Set(steps.flatMap { [$0.model] + $0.candidates }.compactMap { id -> ServingKind? in
            guard let m = try? catalog.model(id) else { return nil }
            return catalog.provider(for: m)?.servingKind
        })
        return kinds.count == 1 ? kinds.first! : .mixed
    }

    // MARK: forecast and budget

    /// Expected tokens, cost and time per step. Output is expected to fill ~60% of `maxTokens`; each
    /// step reads the task plus the outputs it depends on.
    public func forecast(_ steps: [PlanStep], taskTokens: Int, intent: Intent) -> [PlanStep] {
        var out = steps
        var expectedOutput: [String: Int] = [:]
        for i in out.indices {
            let s = out[i]
            let outTokens = Int(Double(s.maxTokens) * 0.6)
            let inTokens = 120 + taskTokens + s.dependsOn.reduce(0) { $0 + (expectedOutput[$1] ?? 0) }
            let models = s.candidates.isEmpty ? [s.model] : s.candidates
            var cost = Cost.zero
            var duration = 0
            for id in models {
                guard let m = try? catalog.model(id) else { continue }
                cost += m.cost(of: TokenUsage(inputTokens: inTokens, outputTokens: outTokens))
                duration = max(duration, Self.expectedDurationMs(m, outputTokens: outTokens))
            }
            out[i].forecast = StepForecast(inputTokens: inTokens * models.count, outputTokens: outTokens * models.count, cost: cost, durationMs: duration)
            expectedOutput[s.id] = outTokens
        }
        return out
    }

    /// Time to first token plus output at the tier's speed.
    public static func expectedDurationMs(_ m: ModelInfo, outputTokens: Int) -> Int {
        let tier = min(5, max(1, m.speedTier))
        let tps: [Double] = [25, 45, 80, 150, 400]
        let ttft: [Int] = [1500, 900, 600, 350, 200]
        return ttft[tier - 1] + Int(Double(outputTokens) / tps[tier - 1] * 1000)
    }

    /// Downgrades the most expensive steps to the cheapest adequate models until the forecast fits the
    /// budget, or refuses the plan with the figures.
    func fitBudget(_ plan: RunPlan, overrides: Set<String>, taskTokens: Int) throws -> RunPlan {
        guard let limit = plan.budget.maxCost else { return plan }
        var p = plan
        if !p.forecast.cost.isFullyPriced {
            p.notes.append("forecast incomplete: some models are unpriced, so the budget cannot be checked for them")
        }
        guard p.forecast.cost.money > limit else { return p }
        let before = p.forecast.cost.money
        var downgraded: [String] = []
        // Most expensive first.
        let order = p.steps.indices.sorted { p.steps[$0].forecast.cost.money > p.steps[$1].forecast.cost.money }
        for i in order where !overrides.contains(p.steps[i].id) && !overrides.contains(p.steps[i].phase.rawValue) {
            let needs = requiredCapabilities(for: p.steps[i], intent: p.intent)
            let window = Self.contextNeed(p.steps[i], in: p.steps, taskTokens: taskTokens)
            let fitting = available.filter { $0.pricing != nil && $0.contextWindow >= window }
            let adequate = fitting.filter { needs.isSubset(of: $0.capabilities) }
            let pool = adequate.isEmpty ? fitting : adequate
            let inTok = p.steps[i].forecast.inputTokens / max(1, p.steps[i].candidates.count)
            let outTok = p.steps[i].forecast.outputTokens / max(1, p.steps[i].candidates.count)
            guard let cheapest = pool.min(by: {
                let a = $0.cost(of: TokenUsage(inputTokens: inTok, outputTokens: outTok)).money
                let b = $1.cost(of: TokenUsage(inputTokens: inTok, outputTokens: outTok)).money
                return a == b ? $0.qualityTier > $1.qualityTier : a < b
            }) else { continue }
            if p.steps[i].candidates.isEmpty {
                guard cheapest.id != p.steps[i].model else { continue }
                downgraded.append("\(p.steps[i].id): \(p.steps[i].model) → \(cheapest.id)")
                p.steps[i].model = cheapest.id
            } else {
                let old = p.steps[i].candidates
                p.steps[i].candidates = Array(repeating: cheapest.id, count: 1)
                p.steps[i].model = cheapest.id
                downgraded.append("\(p.steps[i].id): \(old.count) candidates → 1 on \(cheapest.id)")
            }
            p.steps[i].fallbacks = p.steps[i].fallbacks.filter { $0 != cheapest.id }
            let steps = forecast(p.steps, taskTokens: taskTokens, intent: p.intent)
            p = RunPlan(
                runID: p.runID, task: p.task, intent: p.intent, strategy: p.strategy, steps: steps, budget: p.budget,
                notes: p.notes, seed: p.seed, serving: serving(steps), recommendation: p.recommendation,
                qualityThreshold: p.qualityThreshold, createdAt: p.createdAt)
            if p.forecast.cost.money <= limit { break }
        }
        guard p.forecast.cost.money <= limit else {
            throw PlanError(
                "over budget: the forecast is \(p.forecast.cost.money) (was \(before) before downgrading) against a budget of \(limit), even with the cheapest adequate models"
                    + (downgraded.isEmpty ? "" : " (\(downgraded.joined(separator: "; ")))")
                    + ". Raise --budget, choose --strategy single, or shorten the task.")
        }
        p.notes.append("downgraded to fit the budget of \(limit) (forecast \(before) → \(p.forecast.cost.money)): " + downgraded.joined(separator: "; "))
        return p
    }

    /// A short, sortable, unique run id: time + a hash of seed and task.
    public static func newRunID(seed: UInt64, task: String, now: Date = Date()) -> String {
        let t = Int(now.timeIntervalSince1970 * 1000)
        var g = SplitMix64(seed: SplitMix64.derive(seed ^ UInt64(t), task))
        let suffix = String(g.next() % 0xFFFFFF, radix: 16)
        return "r" + String(t, radix: 36) + "-" + String(repeating: "0", count: max(0, 6 - suffix.count)) + suffix
    }
}
