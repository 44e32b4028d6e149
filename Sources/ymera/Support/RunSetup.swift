import ArgumentParser
import Foundation
import YmeraConfig
import YmeraCore

/// Options shared by `run` and `plan`: the task and how to plan it.
struct PlanningOptions: ParsableArguments {
    @Argument(help: "The task, in plain words. Use - to read it from standard input.")
    var task: String?

    @Option(name: .customLong("task-file"), help: ArgumentHelp("Read the task from a file.", valueName: "FILE"))
    var taskFile: String?

    @Option(help: ArgumentHelp("single, multi, parallel or cascade (default: chosen by complexity).", valueName: "S"))
    var strategy: String?

    @Option(help: ArgumentHelp("Spending limit in US dollars; a plan over it is downgraded or refused.", valueName: "USD"))
    var budget: Double?

    @Option(name: .customLong("max-tokens"), help: ArgumentHelp("Token limit for the whole run (input + output); a plan forecast over it is refused, and no attempt starts once it is used.", valueName: "N"))
    var maxTokens: Int?

    @Option(name: .customLong("model"), help: ArgumentHelp("PHASE=MODEL to pin a phase's model, or MODEL alone for every phase. Repeatable.", valueName: "PHASE=MODEL"))
    var models: [String] = []

    @Option(help: ArgumentHelp("Seed for everything random; same seed, same simulated run.", valueName: "N"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("Quality score under which a step is refined by the next model (0-1).", valueName: "X"))
    var threshold: Double?

    @Option(help: ArgumentHelp("Candidates for the parallel strategy.", valueName: "N"))
    var candidates: Int = 3

    @Flag(help: "Use the simulated models even when keys or a local model are available.")
    var simulate = false

    @Flag(name: .customLong("refine-intent"), help: "Ask the fastest available model to refine the intent analysis (validated JSON; the heuristic stays on any failure).")
    var refineIntent = false

    @Option(name: .customLong("simulate-faults"), help: ArgumentHelp("Share of simulated attempts that fail with mixed error classes (0-1).", valueName: "RATE"))
    var simulateFaults: Double = 0

    func validate() throws {
        if let budget, budget < 0 { throw ValidationError("--budget must be 0 or more (got \(budget))") }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be 1 or more (got \(maxTokens))") }
        if let threshold, !(0...1).contains(threshold) { throw ValidationError("--threshold must be between 0 and 1 (got \(threshold))") }
        if !(0...1).contains(simulateFaults) { throw ValidationError("--simulate-faults must be between 0 and 1 (got \(simulateFaults))") }
        if !(1...8).contains(candidates) { throw ValidationError("--candidates must be between 1 and 8 (got \(candidates))") }
        if let strategy, Strategy(rawValue: strategy) == nil {
            throw ValidationError("unknown --strategy '\(strategy)': use \(Strategy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// The task text from the argument, `--task-file`, or standard input.
    func readTask() throws(CLIError) -> String {
        var text: String
        if let taskFile {
            guard let data = FileManager.default.contents(atPath: taskFile) else { throw CLIError.input("cannot read --task-file '\(taskFile)'") }
            guard let s = String(data: data, encoding: .utf8) else { throw CLIError.input("--task-file '\(taskFile)' is not UTF-8 text") }
            text = s
        } else if task == "-" || (task == nil && isatty(STDIN_FILENO) == 0) {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let s = String(data: data, encoding: .utf8) else { throw CLIError.input("standard input is not UTF-8 text") }
            text = s
        } else if let task {
            text = task
        } else {
            throw CLIError.input("give a task: ymera run \"Write a haiku about SQLite\"")
        }
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw CLIError.input("the task is empty") }
        let limit = 8 * 1024 * 1024
        guard text.utf8.count <= limit else {
            throw CLIError.input("the task is \(text.utf8.count / 1024) KiB; the limit is \(limit / 1024 / 1024) MiB")
        }
        return text
    }
}

/// Everything decided before a run starts.
struct PreparedRun {
    var plan: RunPlan
    var intent: Intent
    var servingNote: String
    var available: [ModelInfo]
}

enum RunSetup {
    static func prepare(_ o: PlanningOptions, context: AppContext, history: (any ExecutionHistory)? = nil, runID: String? = nil) async throws -> PreparedRun {
        let task = try o.readTask()
        var intent = IntentAnalyzer().analyze(task)
        var (available, serving, note) = context.servable(forceSimulated: o.simulate)
        if o.refineIntent, let fast = available.max(by: { ($0.speedTier, -$0.qualityTier) < ($1.speedTier, -$1.qualityTier) }),
            let provider = context.catalog.provider(for: fast)
        {
            let wiring = Wiring(context: context)
            let clock = wiring.clock(serving: serving, realtime: false)
            clock.enter()
            intent = await IntentRefiner(client: wiring.client(clock: clock, faults: .init()), model: fast, provider: provider, clock: clock)
                .refine(intent, task: task, seed: o.seed ?? 0)
            clock.leave()
        }
        let catalog = context.catalog

        // --model: PHASE=MODEL, or MODEL for every phase.
        var overrides: [String: ModelID] = [:]
        var everyStep: ModelInfo?
        let stepNames = Set(Phase.allCases.map(\.rawValue) + ["draft", "refine", "polish", "validate"])
        for spec in o.models {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts.count == 2 ? parts[1] : parts[0]
            let model = try servableModel(name, spec: spec, context: context, simulated: available.first?.provider == "sim")
            if parts.count == 2 {
                guard stepNames.contains(parts[0]) else {
                    throw CLIError.input("--model \(spec): '\(parts[0])' is not a phase; use \(Phase.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                overrides[parts[0]] = model.id
            } else {
                everyStep = model
            }
            if !available.contains(where: { $0.id == model.id }) { available.append(model) }
        }
        if let every = everyStep {
            for name in stepNames where overrides[name] == nil { overrides[name] = every.id }
            // One model named for everything: it serves alone, its provider's siblings as fallbacks.
            available = [every] + available.filter { $0.provider == every.provider && $0.id != every.id }
            note = "every phase on \(every.id) (--model)"
        }

        let defaults = context.loaded.defaults
        let strategy = o.strategy.flatMap(Strategy.init(rawValue:)) ?? defaults.strategy
        let budget = Budget(maxCost: (o.budget ?? defaults.budgetUSD).map { Money(dollars: $0) }, maxTokens: o.maxTokens)
        let seed = o.seed ?? UInt64(Date().timeIntervalSince1970 * 1000) & 0xFFFF_FFFF
        var recommendation: Recommendation?
        if let history { recommendation = await Recommender(history: history).recommend(for: intent) }
        let planner = Planner(catalog: catalog, available: available)
        let plan = try planner.plan(
            task: task, intent: intent,
            options: PlanOptions(
                strategy: strategy, modelOverrides: overrides, budget: budget, seed: seed, parallelCandidates: o.candidates,
                qualityThreshold: o.threshold ?? defaults.qualityThreshold ?? 0.7, runID: runID),
            recommendation: recommendation)
        return PreparedRun(plan: plan, intent: intent, servingNote: note, available: available)
    }

    /// The model `--model SPEC` names, when it can serve: without its key, a real model's simulated
    /// twin serves a simulated run.
    static func servableModel(_ name: String, spec: String, context: AppContext, simulated: Bool) throws -> ModelInfo {
        var model: ModelInfo
        do { model = try context.catalog.model(name) } catch { throw CLIError.input("--model \(spec): \(error)") }
        if context.availability(of: model) != .ready && context.availability(of: model) != .simulated {
            if simulated, let twin = try? context.catalog.model("sim/\(model.id.name)") {
                model = twin
            } else {
                throw CLIError.input("--model \(spec): \(model.id) cannot serve: \(context.availability(of: model).label)")
            }
        }
        return model
    }

    /// The plan as a human reads it.
    static func describe(_ p: PreparedRun, catalog: Catalog) -> String {
        let plan = p.plan
        let i = plan.intent
        var s = ""
        s += "[\(plan.serving.badge)] \(p.servingNote)\n"
        s += "task: \(Output.clean(String(plan.task.prefix(160))))\(plan.task.count > 160 ? "…" : "")\n"
        s += "intent: \(i.taskType.rawValue), complexity \(fmt(i.complexity)), urgency \(fmt(i.urgency)), creativity \(fmt(i.creativity))"
        s += i.capabilities.isEmpty ? "\n" : ", needs \(i.capabilities.sorted().map(\.rawValue).joined(separator: ", "))\n"
        s += "strategy: \(plan.strategy.displayName)   seed \(plan.seed)   run \(plan.runID)\n"
        for st in plan.steps {
            let models = st.candidates.isEmpty ? st.model.rawValue : st.candidates.map(\.rawValue).joined(separator: " | ")
            let deps = st.dependsOn.isEmpty ? "" : " ← " + st.dependsOn.joined(separator: ", ")
            s += "  \(Output.pad(st.id, 11)) \(Output.pad(models, 36)) ~\(st.forecast.inputTokens + st.forecast.outputTokens) tok  \(Output.pad(st.forecast.cost.display, 10)) ~\(Output.ms(st.forecast.durationMs))\(deps)\n"
            if !st.fallbacks.isEmpty { s += "  \(Output.pad("", 11)) fallbacks: \(st.fallbacks.map(\.rawValue).joined(separator: ", "))\n" }
        }
        let f = plan.forecast
        s += "forecast: ~\(f.inputTokens + f.outputTokens) tokens, \(f.cost.display), ~\(Output.ms(f.durationMs)) sequential"
        if let max = plan.budget.maxCost { s += " (budget \(max))" }
        if let max = plan.budget.maxTokens { s += " (token budget \(max))" }
        s += "\n"
        if let r = plan.recommendation { s += "history: \(r.rationale)\n" }
        for n in plan.notes { s += "note: \(n)\n" }
        return s
    }

    static func fmt(_ x: Double) -> String { String(format: "%.2f", x) }
}
