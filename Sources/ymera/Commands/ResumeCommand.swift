import ArgumentParser
import Foundation
import YmeraConfig
import YmeraCore
import YmeraStore

/// `ymera resume RUN`: continues a cut-off run from its journal; finished steps are kept, not re-run.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Continue a run that was cut off, from its last finished steps (or a paused live run).",
        discussion: """
            A run whose owning process is gone (killed, crashed, its heartbeat stale) is taken over: this
            process becomes its owner and runs what was not finished; finished phases are kept, not called
            again. Of several processes resuming one run at once exactly one wins. A paused run of a live
            process is resumed through that process. Any other live run is refused (exit 2, naming its
            owner: pid, host, since).
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: "Run id or a unique prefix of it.")
    var run: String

    @Flag(help: "One JSON object per line per event; the last line is the summary.")
    var json = false

    @Flag(help: "Pace simulated runs in real time.")
    var realtime = false

    @Option(help: ArgumentHelp("real or heuristic, as for `run`.", valueName: "KIND"))
    var validator: String = "real"

    func run() async throws {
        try await withCLIErrors { try await execute() }
    }

    func execute() async throws {
        let context: AppContext
        do { context = try AppContext.make(common) } catch { throw CLIError.config("\(error)") }
        let journal: Journal
        do { journal = try Journal.open(directory: context.dataDirectory) } catch { throw CLIError.config("journal: \(error)") }
        let id: String
        do { id = try journal.resolveRunID(run) } catch let e as JournalError { throw CLIError.input(e.description) }
        let host = RunHost(context: context, journal: journal)
        defer { host.stop() }

        // A live run of another process: a paused one is resumed through its owner; any other is refused.
        if let owner = try journal.liveOwner(of: id, staleAfter: host.staleAfter), owner.pid != getpid() {
            let status = try journal.state(id)?.status
            if status == .awaitingApproval {
                throw CLIError.owned(
                    "run \(id) waits at a gate in a live process: \(owner.label). Decide it with `ymera approve \(id)` [--edit FILE], "
                        + "`ymera rerun \(id)` [--note TEXT] [--model M] or `ymera reject \(id)` [--reason TEXT]")
            }
            guard status == .paused else {
                throw CLIError.owned(
                    "run \(id) is \(status?.rawValue ?? "live") and owned by a live process: \(owner.label). "
                        + "`ymera pause \(id)` pauses it, `ymera cancel \(id)` cancels it; `ymera resume` takes over only a run whose owner is gone")
            }
            try await RemoteControl.perform(.resume, runID: id, journal: journal, context: context, json: json, timeout: 20)
            return
        }

        let workspace = StoreRunWorkspace(dataDirectory: context.dataDirectory)
        let hosted: HostedRun
        do {
            hosted = try host.takeOver(id) { plan in
                try host.engine(
                    serving: plan.serving, realtime: realtime, available: plan.allModels.compactMap { try? context.catalog.model($0) },
                    validator: validator, faults: 0, workspace: workspace)
            }
        } catch let e as RunHost.HostError {
            throw CLIError.owned(e.description)
        } catch let e as JournalError {
            throw CLIError.input(e.description)
        }
        try await ForkCommand.follow(hosted, json: json, workspace: workspace)
    }
}
