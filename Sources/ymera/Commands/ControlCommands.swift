import ArgumentParser
import Foundation
import YmeraConfig
import YmeraCore
import YmeraStore

/// Options of every command that steers a live run from outside its process.
struct ControlOptions: ParsableArguments {
    @OptionGroup var common: CommonOptions

    @Argument(help: "Run id or a unique prefix of it.")
    var run: String

    @Flag(help: "Print the confirming event as one JSON object.")
    var json = false

    @Option(help: ArgumentHelp("Seconds to wait for the owner to confirm (1-300).", valueName: "S"))
    var timeout: Double = 20

    func validate() throws {
        if !(1...300).contains(timeout) { throw ValidationError("--timeout must be between 1 and 300 seconds (got \(timeout))") }
    }
}

/// Sends a command to the process that owns a run, through the journal, and waits for its answer:
/// the event that confirms it, or the owner's refusal with its reason.
enum RemoteControl {
    static let discussion = """
        The command is written to the journal; the process that owns the run (`ymera run`, `ymera
        resume`, `ymera mcp` or a dashboard) takes it, applies it and journals the event that confirms
        it, which is printed. Exit status: 0 when confirmed, 2 when refused (the reason is printed; also
        for an unknown run or one no live process drives), 1 when no confirmation came in time.
        """

    /// Opens the journal and resolves the run id.
    static func open(_ o: ControlOptions) throws -> (AppContext, Journal, String) {
        let context: AppContext
        do { context = try AppContext.make(o.common) } catch { throw CLIError.config("\(error)") }
        let journal: Journal
        do { journal = try Journal.open(directory: context.dataDirectory) } catch { throw CLIError.config("journal: \(error)") }
        do { return (context, journal, try journal.resolveRunID(o.run)) } catch let e as JournalError {
            throw CLIError.input(e.description)
        }
    }

    /// Sends `command` to run `id`'s owner and reports the outcome (throws the exit status).
    static func perform(_ command: ControlCommand, runID id: String, journal: Journal, context: AppContext, json: Bool, timeout: Double) async throws {
        let host = RunHost(context: context, journal: journal)
        let wait = Duration.milliseconds(Int64(timeout * 1000))
        let start = ContinuousClock.now
        let record = try await host.control(id, command, timeout: wait)
        switch record.state {
        case .refused:
            throw CLIError.refusedCommand("\(command.name) refused for run \(id): \(record.reason ?? "no reason given")")
        case .pending, .taken:
            Output.err("error: the owner of run \(id) did not take the \(command.name) command within \(Int(timeout)) s")
            throw ExitCode(1)
        case .applied:
            break
        }
        if case .breaker = command {
            if json { Output.jsonLine(["run": id, "command": command.name, "state": "applied"]) } else { Output.err("\(command.name): applied by the owner of run \(id)") }
            return
        }
        let remaining = wait - (ContinuousClock.now - start)
        let after = record.afterSeq ?? 0
        switch try await awaitConfirmation(journal: journal, runID: id, command: command, after: after, timeout: max(.milliseconds(500), remaining)) {
        case .confirmed(let event):
            if json { Output.jsonLine(event) } else { Output.err(describe(event, runID: id)) }
        case .endedFirst(let event):
            Output.err("error: run \(id) ended (\(event.typeName)) before the \(command.name) took effect")
            throw ExitCode(1)
        case .timedOut:
            Output.err("error: no event confirmed the \(command.name) of run \(id) within \(Int(timeout)) s")
            throw ExitCode(1)
        }
    }

    enum Confirmation {
        case confirmed(RunEvent)
        case endedFirst(RunEvent)
        case timedOut
    }

    /// Reads the run's events after `after` each time the journal changes, until one confirms the
    /// command, the run ends, or `timeout` passes.
    static func awaitConfirmation(journal: Journal, runID: String, command: ControlCommand, after: Int, timeout: Duration) async throws -> Confirmation {
        let deadline = ContinuousClock.now + timeout
        let watcher = try JournalWatcher(journal: journal, tick: .milliseconds(250))
        defer { watcher.stop() }
        var wakes = watcher.changes.makeAsyncIterator()
        var seen = after
        while true {
            for e in try journal.events(runID, after: seen) {
                seen = max(seen, e.seq)
                if CommandPolicy.confirms(e, command) { return .confirmed(e) }
                if CommandPolicy.ends(e) { return .endedFirst(e) }
            }
            if ContinuousClock.now >= deadline { return .timedOut }
            guard await wakes.next() != nil else { return .timedOut }
        }
    }

    static func describe(_ e: RunEvent, runID: String) -> String {
        let what: String
        switch e.kind {
        case .paused(let p): what = "paused" + (p.inFlight.isEmpty ? "" : " (in flight, finishing: \(p.inFlight.joined(separator: ", ")))")
        case .resumed: what = "resumed"
        case .runCancelled(let p): what = "cancelled" + (p.reason.map { ": \($0)" } ?? "")
        case .stepReset(let p): what = "retrying \(p.step) (reset: \(p.reset.joined(separator: ", ")))"
        case .stepStarted(let p): what = "\(p.step) started again on \(p.model)"
        case .modelSwapped(let p): what = "\(p.step): \(p.from) → \(p.to)" + (p.restarted ? " (restarted)" : "")
        default: what = e.typeName
        }
        return Output.clean("run \(runID): \(what) (event \(e.seq))")
    }
}

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Pause a live run, wherever it runs: no new attempt starts.",
        discussion: RemoteControl.discussion)
    @OptionGroup var options: ControlOptions

    func run() async throws {
        try await withCLIErrors {
            let (context, journal, id) = try RemoteControl.open(options)
            try await RemoteControl.perform(.pause, runID: id, journal: journal, context: context, json: options.json, timeout: options.timeout)
        }
    }
}

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a live run, wherever it runs.", discussion: RemoteControl.discussion)
    @OptionGroup var options: ControlOptions

    @Option(help: ArgumentHelp("Why (journaled with the run's end).", valueName: "TEXT"))
    var reason: String = "cancelled from the command line"

    func run() async throws {
        try await withCLIErrors {
            let (context, journal, id) = try RemoteControl.open(options)
            try await RemoteControl.perform(
                .cancel(reason: String(reason.prefix(200))), runID: id, journal: journal, context: context, json: options.json,
                timeout: options.timeout)
        }
    }
}

struct RetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Run a phase of a live run again (and what depends on it).",
        discussion: RemoteControl.discussion)
    @OptionGroup var options: ControlOptions

    @Argument(help: "The phase (step id) to run again.")
    var phase: String

    func run() async throws {
        try await withCLIErrors {
            let (context, journal, id) = try RemoteControl.open(options)
            try await RemoteControl.perform(.retry(step: phase), runID: id, journal: journal, context: context, json: options.json, timeout: options.timeout)
        }
    }
}

struct SwapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swap", abstract: "Put a phase of a live run on another model (a running phase restarts on it).",
        discussion: RemoteControl.discussion)
    @OptionGroup var options: ControlOptions

    @Argument(help: "The phase (step id).")
    var phase: String

    @Argument(help: "The model id or alias from the catalog.")
    var model: String

    func run() async throws {
        try await withCLIErrors {
            let (context, journal, id) = try RemoteControl.open(options)
            let info: ModelInfo
            do { info = try context.catalog.model(model) } catch { throw CLIError.input("model '\(model)': \(error)") }
            try await RemoteControl.perform(
                .swap(step: phase, model: info.id), runID: id, journal: journal, context: context, json: options.json,
                timeout: options.timeout)
        }
    }
}
