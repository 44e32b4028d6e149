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
    static func perform(_ command: YmeraCore.RunCommand, runID id: String, journal: Journal, context: AppContext, json: Bool, timeout: Double) async throws {
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
        if case .resetBreaker = command {
            if json { Output.jsonLine(["run": id, "command": command.name, "state": "applied"]) } else { Output.err("\(command.name): applied by the owner of run \(id)") }
            return
        }
        if case .forceOpenBreaker = command {
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
    static func awaitConfirmation(journal: Journal, runID: String, command: YmeraCore.RunCommand, after: Int, timeout: Duration) async throws -> Confirmation {
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
        case .stepReset(let p) where p.note != nil || p.model != nil:
            what = "\(p.step) runs again" + (p.model.map { " on \($0)" } ?? "") + (p.note == nil ? "" : " with your note") + " (reset: \(p.reset.joined(separator: ", ")))"
        case .stepReset(let p): what = "retrying \(p.step) (reset: \(p.reset.joined(separator: ", ")))"
        case .stepStarted(let p): what = "\(p.step) started again on \(p.model)"
        case .modelSwapped(let p): what = "\(p.step): \(p.from) → \(p.to)" + (p.restarted ? " (restarted)" : "")
        case .gateApproved(let p): what = "\(p.step) approved" + (p.editedOutput.map { " with your edit (\($0.count) chars)" } ?? "") + "; the run goes on"
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
                .swap(step: phase, to: info.id), runID: id, journal: journal, context: context, json: options.json,
                timeout: options.timeout)
        }
    }
}

// MARK: gates

/// The text a person put in a file to be kept as a phase's output (bounded, UTF-8, not empty).
enum EditedOutput {
    static let maxBytes = 4 << 20

    static func read(_ path: String) throws(CLIError) -> String {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw CLIError.input("--edit \(path): cannot read the file: \(error.localizedDescription)") }
        guard data.count <= maxBytes else { throw CLIError.input("--edit \(path): \(data.count) bytes; an edited output holds at most \(maxBytes)") }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError.input("--edit \(path): the file is not UTF-8 text") }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw CLIError.input("--edit \(path): the file is empty; approve without --edit to keep the output as it is")
        }
        return text
    }
}

struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve", abstract: "Approve the phase a run waits on at its gate (as it is, or edited); the run goes on.",
        discussion: RemoteControl.discussion)
    @OptionGroup var options: ControlOptions

    @Option(help: ArgumentHelp(
        "A file whose text becomes the phase's kept output, marked as written by you (its files are new workspace versions).",
        valueName: "FILE"))
    var edit: String?

    func run() async throws {
        try await withCLIErrors {
            var edited: String?
            if let edit { edited = try EditedOutput.read(edit) }
            let (context, journal, id) = try RemoteControl.open(options)
            try await RemoteControl.perform(.approve(edited: edited), runID: id, journal: journal, context: context, json: options.json, timeout: options.timeout)
        }
    }
}

struct RejectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject", abstract: "Reject the phase a run waits on at its gate: the run ends as cancelled, with the reason.",
        discussion: RemoteControl.discussion)
    @OptionGroup var options: ControlOptions

    @Option(help: ArgumentHelp("Why (journaled with the run's end).", valueName: "TEXT"))
    var reason: String = "rejected from the command line"

    func run() async throws {
        try await withCLIErrors {
            let (context, journal, id) = try RemoteControl.open(options)
            try await RemoteControl.perform(
                .reject(reason: String(reason.prefix(200))), runID: id, journal: journal, context: context, json: options.json, timeout: options.timeout)
        }
    }
}

struct RerunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun", abstract: "Run the phase a run waits on at its gate again: with a note added to its prompt, on another model, or both.",
        discussion: RemoteControl.discussion)
    @OptionGroup var options: ControlOptions

    @Option(help: ArgumentHelp("An instruction added to the phase's prompt (kept for its later runs too).", valueName: "TEXT"))
    var note: String?

    @Option(help: ArgumentHelp("The model id or alias from the catalog the phase runs on.", valueName: "MODEL"))
    var model: String?

    func run() async throws {
        try await withCLIErrors {
            let (context, journal, id) = try RemoteControl.open(options)
            var modelID: ModelID?
            if let model {
                do { modelID = try context.catalog.model(model).id } catch { throw CLIError.input("--model '\(model)': \(error)") }
            }
            let text = note.map { String($0.prefix(2_000)) }
            try await RemoteControl.perform(.rerun(note: text, model: modelID), runID: id, journal: journal, context: context, json: options.json, timeout: options.timeout)
        }
    }
}
