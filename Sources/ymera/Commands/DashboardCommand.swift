import ArgumentParser
import Foundation
import Synchronization
import YmeraConfig
import YmeraCore
import YmeraStore
import YmeraTUI

/// `ymera` with no arguments (or `ymera dashboard`): the terminal dashboard.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Open the terminal dashboard: live pipeline, models, breakers, quality, history.",
        discussion: """
            Keys: ? help, n new task, H history, p pause/resume, r retry phase, m swap model, x cancel,
            b breaker, / filter, : command line, q quit. NO_COLOR=1 or --monochrome for no colours.
            """)

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "Theme: default, light, high-contrast, solarized, or a <name>.toml in ./themes or $XDG_CONFIG_HOME/ymera/themes (default: [defaults] theme in the config).")
    var theme: String?

    @Flag(name: .long, help: "No colours: states shown with bold, reverse and underline.")
    var monochrome = false

    @Flag(help: "Use the simulated models even when keys or a local model are available.")
    var simulate = false

    @Option(name: .customLong("simulate-faults"), help: ArgumentHelp("Share of simulated attempts that fail with mixed error classes (0-1).", valueName: "RATE"))
    var simulateFaults: Double = 0

    @Option(name: .customLong("sim-pace"), help: ArgumentHelp("Slow simulated models down by this factor (1 = their usual speed; tests and demos use 3-5).", valueName: "X"))
    var simPace: Double = 1

    @Flag(name: .long, help: "Use the scripted demo backend (canned models and runs) instead of the engine.")
    var demo = false

    /// An engine-backed backend registered by the entry point (wins over the built-in one below).
    static let backend = BackendSlot()

    func validate() throws {
        if !(0...1).contains(simulateFaults) { throw ValidationError("--simulate-faults must be between 0 and 1 (got \(simulateFaults))") }
        if !(0.01...100).contains(simPace) { throw ValidationError("--sim-pace must be between 0.01 and 100 (got \(simPace))") }
    }

    func run() async throws {
        let backend: any DashboardBackend
        var themeName = theme ?? "default"
        if demo {
            backend = ScriptedBackend()
        } else if let make = Self.backend.factory {
            backend = try await make()
        } else {
            let context: AppContext
            do { context = try AppContext.make(common) } catch { throw ValidationError("\(error)") }
            if theme == nil, let t = context.loaded.defaults.theme { themeName = t }
            backend = EngineDashboardBackend(context: context, simulate: simulate, faults: simulateFaults, pace: simPace)
        }
        try await Self.open(backend: backend, theme: themeName, monochrome: monochrome)
    }

    /// Opens the dashboard on `backend`; prints a clear message and exits non-zero when there is no
    /// usable terminal (not a TTY, unknown TERM).
    static func open(backend: any DashboardBackend, theme: String = "default", monochrome: Bool = false) async throws {
        let code: Int32
        do {
            code = try await runDashboard(backend: backend, options: DashboardOptions(theme: theme, monochrome: monochrome))
        } catch let e as TerminalError {
            FileHandle.standardError.write(Data("ymera: \(e.description)\n".utf8))
            throw ExitCode(2)
        }
        if code != 0 { throw ExitCode(code) }
    }
}

/// Where the entry point can put the factory of another `DashboardBackend`.
final class BackendSlot: Sendable {
    typealias Factory = @Sendable () async throws -> any DashboardBackend
    private let slot = Mutex<Factory?>(nil)
    func register(_ make: @escaping Factory) { slot.withLock { $0 = make } }
    var factory: Factory? { slot.withLock { $0 } }
}

/// The dashboard on the real engine: planner, engine (real time), shared breakers, and the SQLite
/// journal for history and replay (this session's runs in memory when the journal cannot open). Its
/// runs are hosted by a `RunHost` like `ymera run`'s: owned, journaled in the engine's observer, and
/// steerable from other processes; the live runs of other processes are followed through the journal.
final class EngineDashboardBackend: DashboardBackend {
    let context: AppContext
    let engine: Engine
    let serving: ServingKind
    let available: [ModelInfo]
    private let clock: any RunClock
    /// Past runs for recommendations: the journal, or memory when it cannot be opened.
    private let learning: any ExecutionHistory
    private let runs = Mutex<Runs>(Runs())
    private let journal: Journal?
    /// Hosts this dashboard's runs (nil without a journal: runs then stay in this session's memory).
    private let host: RunHost?
    /// Where runs write their files (the files view reads them back).
    private let workspace: StoreRunWorkspace

    private struct Runs {
        var handles: [String: YmeraCore.RunHandle] = [:]
        var events: [String: [RunEvent]] = [:]
        var started: [String: Date] = [:]
    }

    init(context: AppContext, simulate: Bool, faults: Double, pace: Double = 1) {
        self.context = context
        let (models, serving, _) = context.servable(forceSimulated: simulate)
        self.available = models
        self.serving = serving
        let wiring = Wiring(context: context)
        let clock = wiring.clock(serving: serving, realtime: true)
        self.clock = clock
        workspace = StoreRunWorkspace(dataDirectory: context.dataDirectory)
        journal = try? Journal.open(directory: context.dataDirectory)
        // The same parts as `ymera run`: the real validator with a judge, and breakers that persist
        // across sessions through the journal (the dashboard runs on real time).
        if let journal {
            let host = RunHost(context: context, journal: journal)
            self.host = host
            learning = journal
            if let e = try? host.engine(
                serving: serving, realtime: true, available: models, validator: ValidatorKind.real.rawValue, faults: faults,
                workspace: workspace, timeScale: pace)
            {
                engine = e
                return
            }
        } else {
            host = nil
            learning = InMemoryExecutionHistory()
        }
        var config = context.loaded.engine
        if let c = context.loaded.defaults.subtaskConcurrency { config.subtaskConcurrency = c }
        engine = Engine(
            catalog: context.catalog, client: wiring.client(clock: clock, faults: .init(rate: faults), timeScale: pace),
            validator: wiring.validator(available: models, kind: .real), clock: clock,
            resilience: ResilienceRegistry(breakerConfig: context.loaded.breaker), config: config, history: learning,
            workspace: workspace, tools: wiring.toolHost())
    }

    func models() async -> [ModelStatus] {
        let breakers = engine.resilience.breakers()
        let now = clock.nowMs()
        return context.catalog.models.map { m in
            let a = context.availability(of: m)
            let b = breakers[m.id]
            var cooldown: Int?
            if case .open(let until)? = b?.state { cooldown = Int(max(0, until - now)) }
            return ModelStatus(
                info: m, serving: context.catalog.provider(for: m)?.servingKind ?? .cloud, available: a.canServe,
                unavailableReason: a.canServe ? nil : a.label, breaker: b?.state.kind ?? .closed,
                recentFailures: b?.failuresInWindow ?? 0, cooldownRemainingMs: cooldown)
        }
    }

    func plan(_ request: PlanRequest) async throws -> RunPlan {
        let intent = IntentAnalyzer().analyze(request.task)
        let defaults = context.loaded.defaults
        let budget = request.budget ?? defaults.budgetUSD.map { Budget(maxCost: Money(dollars: $0)) } ?? .unlimited
        let recommendation = await Recommender(history: learning).recommend(for: intent)
        var pool = available
        for id in request.models.values where !pool.contains(where: { $0.id == id }) {
            if let m = try? context.catalog.model(id), context.availability(of: m).canServe { pool.append(m) }
        }
        let seed = UInt64(Date().timeIntervalSince1970 * 1000) & 0xFFFF_FFFF
        var plan = try Planner(catalog: context.catalog, available: pool).plan(
            task: request.task, intent: intent,
            options: PlanOptions(
                strategy: request.strategy ?? defaults.strategy, modelOverrides: request.models, budget: budget, seed: seed,
                qualityThreshold: defaults.qualityThreshold ?? 0.7),
            recommendation: recommendation)
        // `[defaults] gates`: plan review shows them, and `g` changes them per phase.
        if let g = defaults.gates, !g.isEmpty {
            plan.gates = GatePolicy(phases: g, timeoutMs: defaults.gateTimeoutMs, onTimeout: defaults.gateTimeoutAction ?? .fail)
        }
        return plan
    }

    func start(_ plan: RunPlan) async throws -> LiveRun { try launch(plan, resume: nil) }

    /// A fork of a past run (as `ymera fork RUN --from STEP --model STEP=MODEL`), hosted like any run.
    func fork(runID: String, from step: String, model: ModelID) async throws -> (RunPlan, LiveRun) {
        guard let journal, host != nil else { throw ValidationError("forks need the journal, which could not be opened") }
        let (plan, resume) = try ForkCommand.prepare(
            parent: runID, from: step, models: ["\(step)=\(model)"], strategy: nil, context: context, journal: journal)
        return (plan, try launch(plan, resume: resume))
    }

    private func launch(_ plan: RunPlan, resume: ResumePoint?) throws -> LiveRun {
        let handle: YmeraCore.RunHandle
        if let host {
            // Owned and journaled by the host, in the engine's observer, before anyone sees an event.
            do { handle = try host.start(plan, engine: engine, resume: resume).handle } catch { throw ValidationError(error.description) }
        } else {
            handle = engine.start(plan, resume: resume)
        }
        let id = handle.runID
        runs.withLock {
            $0.handles[id] = handle
            $0.started[id] = Date()
        }
        let (stream, continuation) = AsyncStream<RunEvent>.makeStream(bufferingPolicy: .unbounded)
        let keepInMemory = host == nil
        Task { [runs = self] in
            for await e in handle.events {
                if keepInMemory { runs.record(e) }
                continuation.yield(e)
            }
            continuation.finish()
        }
        return LiveRun(runID: id, events: stream)
    }

    private func record(_ e: RunEvent) {
        runs.withLock { $0.events[e.runID, default: []].append(e) }
    }

    func control(runID: String, _ command: RunControlAction) async throws {
        let c: YmeraCore.RunCommand
        switch command {
        case .pause: c = .pause
        case .resume: c = .resume
        case .retry(let step): c = .retry(step: step)
        case .swapModel(let step, let to): c = .swap(step: step, to: to)
        case .rerun(let step, let on): c = .retry(step: step, on: on)
        case .cancel: c = .cancel(reason: "cancelled from the dashboard")
        case .approve(let edited): c = .approve(edited: edited)
        case .gateRerun(let note, let model): c = .rerun(note: note, model: model)
        case .reject(let reason): c = .reject(reason: reason)
        }
        guard let host else {
            guard let h = runs.withLock({ $0.handles[runID] }) else { throw ValidationError("no live run \(runID)") }
            switch command {
            case .pause: h.pause()
            case .resume: h.resume()
            case .retry(let step): h.retry(step: step)
            case .swapModel(let step, let to): h.swap(step: step, to: to)
            case .rerun(let step, let on): h.retry(step: step, on: on)
            case .cancel: h.cancel(reason: "cancelled from the dashboard")
            case .approve, .gateRerun, .reject:
                if case .refused(let why) = h.send(c) { throw ValidationError("\(c.name): \(why)") }
            }
            return
        }
        // A run of this dashboard directly; one of another process through the journal's command channel.
        let record = try await host.control(runID, c)
        switch record.state {
        case .applied: return
        case .refused: throw ValidationError("\(c.name): \(record.reason ?? "refused")")
        case .pending, .taken: throw ValidationError("\(c.name): the owner of run \(runID) did not answer within 5 s")
        }
    }

    func breaker(_ model: ModelID, _ command: BreakerCommand) async throws {
        // Through a live run, so the change is an event the dashboard sees (the breakers are shared).
        if let h = runs.withLock({ $0.handles.values.first { $0.state.isActive } }) {
            switch command {
            case .reset: h.resetBreaker(model)
            case .forceOpen: h.forceOpenBreaker(model, forMs: 60_000)
            }
        } else {
            let now = clock.nowMs()
            switch command {
            case .reset: _ = engine.resilience.reset(model, nowMs: now)
            case .forceOpen: _ = engine.resilience.forceOpen(model, nowMs: now, forMs: 60_000, reason: "forced open from the dashboard")
            }
        }
        // Breakers are per process: the owners of other live runs get the same command.
        guard let journal else { return }
        for (id, owner) in (try? journal.liveRuns()) ?? [] where owner.pid != getpid() {
            _ = try? journal.send(command == .forceOpen ? .forceOpenBreaker(model, forMs: 60_000) : .resetBreaker(model), to: id)
        }
    }

    func followOtherRuns(_ deliver: @escaping @Sendable ([FollowedRunUpdate]) -> Void) async {
        guard let journal, let watcher = try? JournalWatcher(journal: journal) else { return }
        defer { watcher.stop() }
        var cursor = FollowCursor()
        func step() {
            defer {
                // While another process's run is followed, a slow tick notices an owner that died without
                // a word (a crash writes nothing); with nothing followed, only a commit wakes the watcher.
                watcher.setTick(cursor.following.isEmpty ? nil : .seconds(2))
            }
            guard let u = try? journal.follow(&cursor), !u.isEmpty else { return }
            var out: [FollowedRunUpdate] = u.discovered.map { .discovered(runID: $0.runID, owner: $0.owner.label, events: $0.events) }
            if !u.events.isEmpty { out.append(.events(u.events)) }
            out += u.ownerGone.map { .ownerGone(runID: $0) }
            deliver(out)
        }
        step()
        for await _ in watcher.changes { step() }
    }

    func history(search: String?, limit: Int) async throws -> [HistoryEntry] {
        if let journal {
            // Rows from the journal; each summary is its events folded by the one reducer.
            return try journal.runs(RunFilter(search: search, limit: min(limit, 200))).map { r in
                var st = RunState.replay(try journal.events(r.id))
                if r.status == .interrupted { st.markInterruptedIfOpen() }
                return HistoryEntry(summary: st.summary, startedAt: r.startedAt)
            }
        }
        let (events, started) = runs.withLock { ($0.events, $0.started) }
        var out: [HistoryEntry] = []
        for (id, evs) in events {
            let st = RunState.replay(evs)
            if let q = search?.lowercased(), !q.isEmpty,
                !(st.task.lowercased().contains(q) || st.finalOutput.lowercased().contains(q))
            {
                continue
            }
            out.append(HistoryEntry(summary: st.summary, startedAt: started[id] ?? Date()))
        }
        return Array(out.sorted { $0.startedAt > $1.startedAt }.prefix(limit))
    }

    func events(ofRun runID: String) async throws -> [RunEvent] {
        if let journal {
            let e = try journal.events(runID)
            if !e.isEmpty { return e }
        }
        guard let e = runs.withLock({ $0.events[runID] }) else { throw ValidationError("no run \(runID) in this session's history") }
        return e
    }

    func fileContent(runID: String, path: String, version: Int) async throws -> String {
        guard let ws = workspace.workspace(runID: runID) else { throw ValidationError("run \(runID) has no files") }
        guard let file = ws.manifest.files.first(where: { $0.path == path }),
            let v = file.versions.first(where: { $0.version == version }) ?? (version > file.latest.version ? file.latest : nil)
        else { throw ValidationError("no version \(version) of \(path) in run \(runID)") }
        return String(decoding: try ws.content(of: v), as: UTF8.self)
    }
}
