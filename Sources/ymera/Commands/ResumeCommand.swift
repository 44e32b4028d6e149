import ArgumentParser
import Foundation
import YmeraConfig
import YmeraCore
import YmeraStore

/// `ymera resume RUN`: continues a cut-off run from its journal; finished steps are kept, not re-run.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Continue a run that was cut off, from its last finished steps.")

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
        let journal = try Journal.open(directory: context.dataDirectory)
        let id: String
        let point: ResumePoint
        do {
            id = try journal.resolveRunID(run)
            point = try journal.resumePoint(id)
        } catch let e as JournalError { throw CLIError.input(e.description) }
        guard let plan = point.prior.plan else { throw CLIError.input("run \(id) has no plan") }
        let wiring = Wiring(context: context)
        let clock = wiring.clock(serving: plan.serving, realtime: realtime)
        let available = plan.allModels.compactMap { try? context.catalog.model($0) }
        let workspace = StoreRunWorkspace(dataDirectory: context.dataDirectory)
        let engine = try wiring.journaledEngine(
            journal: journal, clock: clock, available: available, validator: validator, faults: 0, workspace: workspace)
        let sink = JournalSink(journal: journal)
        let handle = engine.start(plan, resume: point, observer: { event, _ in sink.record(event) })
        let interrupt = SignalWatcher { handle.cancel(reason: "interrupted (SIGINT)") }
        defer { interrupt.stop() }
        let progress = Progress()
        for await event in handle.events {
            if json { Output.jsonLine(event) } else { progress.show(event, state: handle.state) }
        }
        let final = await handle.finalState()
        try sink.finish()
        if json {
            Output.jsonLine(final.summary)
        } else {
            Output.err(Progress.table(final.summary))
            if let line = workspace.summaryLine(final) { Output.err(Output.clean(line)) }
        }
        try RunExit.check(final.status)
    }
}
