import Foundation
import Synchronization
import YmeraConfig
import YmeraCore
import YmeraStore

/// The one place runs are hosted, for `run`, `resume`, `mcp` and the dashboard alike: it builds the
/// engine, owns each run it starts (an ownership record in the journal: pid, host, process start time,
/// heartbeat), journals every event in the engine's observer before anyone else sees it, and applies
/// the commands other processes address to its runs through the journal. Every other process reads
/// a run's events from the journal and writes commands into it.
final class RunHost: Sendable {
    let context: AppContext
    let journal: Journal
    let staleAfter: TimeInterval
    let heartbeatEvery: Duration

    private struct State {
        var runs: [String: HostedRun] = [:]
        var listener: Task<Void, Never>?
        var watcher: JournalWatcher?
    }
    private let state = Mutex(State())

    init(context: AppContext, journal: Journal, staleAfter: TimeInterval = Journal.defaultStaleAfter,
         heartbeatEvery: Duration = Journal.heartbeatInterval)
    {
        self.context = context
        self.journal = journal
        self.staleAfter = staleAfter
        self.heartbeatEvery = heartbeatEvery
    }

    /// Why a run could not be hosted here.
    enum HostError: Error, CustomStringConvertible {
        /// Another live process owns it.
        case ownedBy(String, RunOwner)
        case ended(String, RunStatus)
        case journal(String)

        var description: String {
            switch self {
            case .ownedBy(let id, let o): "run \(id) is owned by a live process: \(o.label); it cannot be driven from here"
            case .ended(let id, let s): "run \(id) already ended (\(s.rawValue)); nothing to resume"
            case .journal(let s): s
            }
        }
    }

    // MARK: engine

    /// The engine for a run: the clients, the chosen validator, breakers kept in the journal, the
    /// config's engine settings, the journal's history and the run workspace (see `Wiring`).
    func engine(
        serving: ServingKind, realtime: Bool, available: [ModelInfo], validator: String, faults: Double,
        workspace: (any RunWorkspace)? = nil, timeScale: Double = 1
    ) throws -> Engine {
        let wiring = Wiring(context: context)
        return try wiring.journaledEngine(
            journal: journal, clock: wiring.clock(serving: serving, realtime: realtime), available: available, validator: validator,
            faults: faults, workspace: workspace, timeScale: timeScale)
    }

    // MARK: hosting

    /// Claims a new run and starts it on `engine` (a fork: from its resume point, see `ForkPlanner`).
    func start(_ plan: RunPlan, engine: Engine, resume: ResumePoint? = nil) throws(HostError) -> HostedRun {
        try claim(plan.runID)
        return launch(engine: engine, plan: plan, resume: resume)
    }

    /// Takes over a run whose owner is gone (or continues one this process owns no more): claims it,
    /// then reads where it stands — after the claim, so no other process writes it meanwhile — and
    /// starts it from its last finished steps. `engine` builds the engine for the run's plan.
    func takeOver(_ runID: String, rerun: [String] = [], engine: (RunPlan) throws -> Engine) throws -> HostedRun {
        try claim(runID)
        do {
            let point = try journal.resumePoint(runID, rerun: rerun)
            guard let plan = point.prior.plan else { throw JournalError.noPlan(runID) }
            return launch(engine: try engine(plan), plan: plan, resume: point)
        } catch {
            try? journal.release(runID: runID)
            throw error
        }
    }

    private func claim(_ runID: String) throws(HostError) {
        let outcome: ClaimOutcome
        do { outcome = try journal.claim(runID: runID, staleAfter: staleAfter) } catch {
            throw .journal("the journal could not record the run's owner: \(error)")
        }
        switch outcome {
        case .claimed: return
        case .ownedBy(let o): throw .ownedBy(runID, o)
        case .ended(let s): throw .ended(runID, s)
        }
    }

    private func launch(engine: Engine, plan: RunPlan, resume: ResumePoint?) -> HostedRun {
        // Every event is handed to the journal as it is emitted, before anyone else sees it; the
        // journal's writer commits off the run's path, and a step's end is durable before the next
        // attempt starts.
        let sink = JournalSink(journal: journal, onCommit: Self.commitTrace)
        let handle = engine.start(
            plan, resume: resume, observer: { event, _ in sink.record(event) },
            durable: { seq in await sink.durable(through: seq) })
        let hosted = HostedRun(handle: handle, sink: sink, engine: engine, journal: journal)
        state.withLock { $0.runs[handle.runID] = hosted }
        startListening()
        let id = handle.runID
        Task.detached { [self] in
            await hosted.finish()
            let remaining = state.withLock { s -> Int in
                s.runs[id] = nil
                return s.runs.count
            }
            if remaining == 0 { state.withLock { $0.watcher?.setTick(nil) } }
        }
        return hosted
    }

    /// Benchmarks (`YMERA_TRACE_JOURNAL=FILE`): each journaled event's wall-clock commit time in ms, run
    /// and seq, one line per event (scripts/bench-follow.sh joins them with the dashboard's frames).
    static let commitTrace: (@Sendable ([RunEvent]) -> Void)? = {
        guard let path = ProcessInfo.processInfo.environment["YMERA_TRACE_JOURNAL"] else { return nil }
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let file = FileHandle(forWritingAtPath: path) else { return nil }
        let lock = NSLock()
        return { events in
            let wallMs = Date().timeIntervalSince1970 * 1000
            let lines = events.map { "\(String(format: "%.3f", wallMs)) \($0.runID) \($0.seq) \($0.typeName)\n" }.joined()
            lock.withLock { file.write(Data(lines.utf8)) }
        }
    }()

    /// The run hosted here, if any.
    func hosted(_ runID: String) -> HostedRun? { state.withLock { $0.runs[runID] } }

    /// Stops listening for commands (the runs hosted here keep going until they end).
    func stop() {
        let (task, watcher) = state.withLock { s in
            defer {
                s.listener = nil
                s.watcher = nil
            }
            return (s.listener, s.watcher)
        }
        watcher?.stop()
        task?.cancel()
    }

    // MARK: commands

    /// One listener per process: woken by the journal watcher when another process commits (a command
    /// is a commit), and by the heartbeat tick while runs are hosted here.
    private func startListening() {
        let watcher: JournalWatcher? = state.withLock { s in
            if let w = s.watcher {
                w.setTick(heartbeatEvery)
                return nil
            }
            guard let w = try? JournalWatcher(journal: journal, tick: heartbeatEvery) else { return nil }
            s.watcher = w
            return w
        }
        guard let watcher else { return }
        let task = Task.detached { [self] in
            var lastBeat = ContinuousClock.now
            self.serveCommands()
            for await _ in watcher.changes {
                if ContinuousClock.now - lastBeat >= heartbeatEvery {
                    lastBeat = .now
                    beat()
                }
                serveCommands()
            }
        }
        state.withLock { $0.listener = task }
    }

    /// Renews the ownership of every hosted run; a run whose ownership was taken stops at once.
    private func beat() {
        for run in state.withLock({ Array($0.runs.values) }) where run.handle.state.isActive {
            let owned = (try? journal.heartbeat(runID: run.handle.runID)) ?? true
            if !owned { run.handle.cancel(reason: "another process took this run over; stopped here") }
        }
    }

    /// Takes the commands addressed to runs hosted here and applies them.
    func serveCommands() {
        let runs = state.withLock { $0.runs }
        guard !runs.isEmpty, let commands = try? journal.takeCommands(runIDs: Array(runs.keys)) else { return }
        for c in commands {
            guard let run = runs[c.runID] else { continue }
            let (outcome, reason, after) = run.apply(c.command)
            try? journal.settle(c.id, state: outcome, reason: reason, afterSeq: after)
        }
    }

    /// A command for any run on the machine: applied here when this process hosts it, else written to
    /// the journal for its owner. Waits (bounded) until the owner took it; returns the settled record.
    func control(_ runID: String, _ command: YmeraCore.RunCommand, timeout: Duration = .seconds(5)) async throws -> ControlCommandRecord {
        if let run = hosted(runID) {
            let (outcome, reason, after) = run.apply(command)
            return ControlCommandRecord(
                id: 0, runID: runID, command: command, issuedBy: "this process", issuedAt: Date(), state: outcome, reason: reason,
                afterSeq: after)
        }
        guard try journal.liveOwner(of: runID, staleAfter: staleAfter) != nil else {
            let status = (try? journal.state(runID))?.status
            let reason =
                status?.isTerminal == true
                ? "run \(runID) is not running: it has already ended (\(status?.rawValue ?? ""))"
                : "run \(runID) is not running (status: \(status?.rawValue ?? "unknown")); no live process drives it"
                    + (status == .interrupted ? " — `ymera resume \(runID)` takes it over" : "")
            return ControlCommandRecord(
                id: 0, runID: runID, command: command, issuedBy: "this process", issuedAt: Date(), state: .refused, reason: reason)
        }
        let id = try journal.send(command, to: runID)
        return try await Self.awaitSettled(journal: journal, id: id, timeout: timeout)
    }

    /// Waits until command `id` is applied or refused, woken by the journal watcher; at `timeout` the
    /// record is returned as it stands (still pending or taken).
    static func awaitSettled(journal: Journal, id: Int64, timeout: Duration) async throws -> ControlCommandRecord {
        let deadline = ContinuousClock.now + timeout
        let watcher = try JournalWatcher(journal: journal, tick: .milliseconds(250))
        defer { watcher.stop() }
        var record = try journal.command(id)
        var wakes = watcher.changes.makeAsyncIterator()
        while let r = record, r.state == .pending || r.state == .taken, ContinuousClock.now < deadline {
            guard await wakes.next() != nil else { break }
            record = try journal.command(id)
        }
        guard let record else { throw JournalError.invalidArgument("command \(id) is missing from the journal") }
        return record
    }
}

/// A run hosted by this process: its handle, its journal sink and its engine.
final class HostedRun: Sendable {
    let handle: RunHandle
    let sink: JournalSink
    let engine: Engine
    let journal: Journal
    private let ended = Mutex<Task<(any Error)?, Never>?>(nil)

    init(handle: RunHandle, sink: JournalSink, engine: Engine, journal: Journal) {
        self.handle = handle
        self.sink = sink
        self.engine = engine
        self.journal = journal
    }

    var runID: String { handle.runID }

    /// Waits for the run's end, writes the rest of its journal and gives up its ownership. Returns the
    /// journal's first write error, if any. Safe to call more than once (one finish happens).
    @discardableResult
    func finish() async -> (any Error)? {
        let task = ended.withLock { t -> Task<(any Error)?, Never> in
            if let t { return t }
            let handle = self.handle
            let sink = self.sink
            let journal = self.journal
            let new = Task<(any Error)?, Never> {
                _ = await handle.finalState()
                var failure: (any Error)?
                do { try await sink.finish() } catch { failure = error }
                try? journal.release(runID: handle.runID)
                return failure
            }
            t = new
            return new
        }
        return await task.value
    }

    /// Applies a command through the engine's controls: its control machine applies it, or refuses it
    /// with a reason (journaled as a `command_refused` event while the run lives).
    func apply(_ command: YmeraCore.RunCommand) -> (ControlCommandRecord.State, String?, Int?) {
        let after = handle.state.lastSeq
        switch handle.send(command) {
        case .accepted: return (.applied, nil, after)
        case .refused(let reason): return (.refused, reason, nil)
        }
    }
}
