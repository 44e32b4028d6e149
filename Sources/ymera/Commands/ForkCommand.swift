import ArgumentParser
import Foundation
import YmeraConfig
import YmeraCore
import YmeraStore

/// `ymera fork RUN --from PHASE [--model PHASE=MODEL]…`: a new run that reuses RUN's phases before
/// PHASE (no provider call, $0) and runs PHASE and every phase after it anew.
struct ForkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fork", abstract: "Start a new run from a phase of a past run, reusing the phases before it at no cost.",
        discussion: """
            The phases before PHASE take their kept outputs from RUN, byte for byte: no provider is called
            and they cost $0; each is marked `reused from RUN` in the events, the journal, `show` and
            `history`. PHASE and every phase after it run anew, on the models --model names (else on RUN's).
            The fork's workspace starts from RUN's files as they were after the phase before PHASE.
            `ymera diff RUN FORK` compares the two. Exit status as for `ymera run`; 2 for an unknown run or
            phase.
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "The run to fork (id or a unique prefix of it).")
    var run: String

    @Option(help: ArgumentHelp("The phase (or step id) to run anew from; the phases before it are reused.", valueName: "PHASE"))
    var from: String

    @Option(name: .customLong("model"), help: ArgumentHelp("PHASE=MODEL: run a phase from PHASE on on another model. Repeatable.", valueName: "PHASE=MODEL"))
    var models: [String] = []

    @Option(help: ArgumentHelp("Plan the fork with another strategy (single, multi, parallel, cascade); the phases before PHASE it shares with RUN are reused.", valueName: "S"))
    var strategy: String?

    @Flag(help: "One JSON object per line per event; the last line is the summary.")
    var json = false

    @Flag(help: "Pace simulated runs in real time.")
    var realtime = false

    @Option(help: ArgumentHelp("real or heuristic, as for `run`.", valueName: "KIND"))
    var validator: String = "real"

    func validate() throws {
        if let strategy, Strategy(rawValue: strategy) == nil {
            throw ValidationError("unknown --strategy '\(strategy)': use \(Strategy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for spec in models where !spec.contains("=") {
            throw ValidationError("--model \(spec): give PHASE=MODEL (a fork keeps the phases before --from as they were)")
        }
    }

    func run() async throws {
        try await withCLIErrors { try await execute() }
    }

    func execute() async throws {
        let context: AppContext
        do { context = try AppContext.make(common) } catch { throw CLIError.config("\(error)") }
        let journal: Journal
        do { journal = try Journal.open(directory: context.dataDirectory) } catch { throw CLIError.config("journal: \(error)") }
        let host = RunHost(context: context, journal: journal)
        defer { host.stop() }
        let (plan, resume) = try Self.prepare(
            parent: run, from: from, models: models, strategy: strategy.flatMap(Strategy.init(rawValue:)), context: context, journal: journal)
        if !json {
            Output.err("fork of \(plan.forkOf?.run ?? "") from \(plan.forkOf?.from ?? ""): run \(plan.runID)")
        }
        let workspace = StoreRunWorkspace(dataDirectory: context.dataDirectory)
        let engine = try host.engine(
            serving: plan.serving, realtime: realtime, available: plan.allModels.compactMap { try? context.catalog.model($0) },
            validator: validator, faults: 0, workspace: workspace)
        let hosted: HostedRun
        do { hosted = try host.start(plan, engine: engine, resume: resume) } catch { throw CLIError.owned(error.description) }
        try await Self.follow(hosted, json: json, workspace: workspace)
    }

    /// The fork's plan and resume point: RUN and PHASE resolved (unknown → exit 2 naming it), models
    /// checked, the plan re-made when another strategy is asked for.
    static func prepare(
        parent: String, from: String, models: [String], strategy: Strategy?, context: AppContext, journal: Journal
    ) throws -> (RunPlan, ResumePoint) {
        let parentID = try JournalCLI.resolve(journal, parent)
        guard let state = try journal.state(parentID), let parentPlan = state.plan else {
            throw CLIError.input("run \(parentID) has no plan in the journal; it cannot be forked")
        }
        var overrides: [String: ModelID] = [:]
        for spec in models {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw CLIError.input("--model \(spec): give PHASE=MODEL") }
            overrides[parts[0]] = try RunSetup.servableModel(parts[1], spec: spec, context: context, simulated: parentPlan.serving == .simulated).id
        }
        let newID = Planner.newRunID(seed: parentPlan.seed, task: parentPlan.task)
        var base: RunPlan?
        if let strategy, strategy != parentPlan.strategy {
            let available = context.servable(forceSimulated: parentPlan.serving == .simulated).models
            do {
                base = try Planner(catalog: context.catalog, available: available).plan(
                    task: parentPlan.task, intent: parentPlan.intent,
                    options: PlanOptions(
                        strategy: strategy, modelOverrides: [:], budget: parentPlan.budget, seed: parentPlan.seed,
                        qualityThreshold: parentPlan.qualityThreshold, runID: newID))
            } catch let e as PlanError {
                throw CLIError.refused(e.message)
            }
        }
        do {
            return try ForkPlanner.plan(parent: state, newRunID: newID, from: from, models: overrides, base: base)
        } catch {
            throw CLIError.input(error.description)
        }
    }

    /// Shows a hosted run's events until it ends (progress lines, or `--json` lines and the summary),
    /// records its end and exits with its status.
    static func follow(_ hosted: HostedRun, json: Bool, workspace: StoreRunWorkspace) async throws {
        let handle = hosted.handle
        let interrupt = SignalWatcher { handle.cancel(reason: "interrupted (SIGINT)") }
        defer { interrupt.stop() }
        let progress = Progress()
        for await event in handle.events {
            if json { Output.jsonLine(event) } else { progress.show(event, state: handle.state) }
        }
        let final = await handle.finalState()
        if let error = await hosted.finish() { Output.err("warning: the journal could not record the end of the run: \(error)") }
        if json {
            Output.jsonLine(final.summary)
        } else {
            Output.err(Progress.table(final.summary))
            if let line = workspace.summaryLine(final) { Output.err(Output.clean(line)) }
        }
        try RunExit.check(final.status)
    }
}
