import ArgumentParser
import Foundation
import MCP
import YmeraCore
import YmeraStore

struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve YMERA over MCP (stdio): plan tasks, start and follow runs, search the journal.",
        discussion: """
            Speaks the Model Context Protocol on standard input and output (nothing else is written to
            standard output; messages go to standard error). Tools: analyse_task, plan_task, start_run,
            run_state, run_events, list_runs, search_runs, pause_run, resume_run, cancel_run. Resources:
            ymera://runs/<id> (a run's summary as JSON). Runs are journaled like `ymera run`; when the client
            disconnects, runs still going are cancelled and recorded as such.

            Register it in an MCP client as the command `ymera` with the arguments `mcp` (add `--simulate`
            to try it without keys).
            """)

    @OptionGroup var common: CommonOptions

    @Flag(help: "Runs use the simulated models even when keys or a local model are available.")
    var simulate = false

    @Option(help: ArgumentHelp("real (toolchains, analyzers, tests, judge) or heuristic (text checks only).", valueName: "KIND"))
    var validator: String = "real"

    func run() async throws {
        try await withCLIErrors { try await execute() }
    }

    func execute() async throws {
        guard ValidatorKind(rawValue: validator) != nil else { throw CLIError.input("unknown --validator '\(validator)': use real or heuristic") }
        let context: AppContext
        do { context = try AppContext.make(common) } catch { throw CLIError.config("\(error)") }
        let journal: Journal
        do { journal = try Journal.open(directory: context.dataDirectory) } catch { throw CLIError.config("journal: \(error)") }
        // The client going away while we write must not end the process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let service = MCPService(context: context, journal: journal, simulate: simulate, validator: validator)
        let server = Server(
            name: "ymera", version: Ymera.version, title: "YMERA",
            instructions: "Plan a task with plan_task, start it with start_run, poll run_state until terminal is true, then read its summary.",
            capabilities: .init(resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))
        await server.withMethodHandler(ListTools.self) { _ in .init(tools: MCPService.tools) }
        await server.withMethodHandler(CallTool.self) { params in
            try await service.call(params.name, params.arguments ?? [:])
        }
        await server.withMethodHandler(ListResources.self) { _ in
            .init(resources: try await service.resources())
        }
        await server.withMethodHandler(ReadResource.self) { params in
            .init(contents: try await service.readResource(params.uri))
        }
        Output.err("ymera mcp: serving over stdio (data: \(context.dataDirectory.path))")
        try await server.start(transport: StdioTransport())
        await server.waitUntilCompleted()
        // Standard input ended: requests already read are answered in their own tasks; give them a moment.
        try? await Task.sleep(for: .milliseconds(300))
        await service.shutdown()
        try? journal.sync()
    }
}
