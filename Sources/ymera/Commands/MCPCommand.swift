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
            run_state, run_events, list_runs, search_runs, pause_run, resume_run, cancel_run (README: a table
            of their inputs, outputs and errors). Resources: ymera://runs/{id} (a run's summary as JSON) and
            ymera://runs/{id}/files/{path} (a file it wrote). Runs are journaled like `ymera run`; when the client
            disconnects, runs still going are cancelled and recorded as such.

            Register it in an MCP client as the command `ymera` with the arguments `mcp` (add `--simulate`
            to try it without keys).
            """)

    @OptionGroup var common: CommonOptions

    @Flag(help: "Runs use the simulated models even when keys or a local model are available.")
    var simulate = false

    @Flag(help: "Pace simulated runs in real time (default: simulated time, instant and deterministic); start_run's pacing overrides it per run.")
    var realtime = false

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
        let service = MCPService(context: context, journal: journal, simulate: simulate, validator: validator, realtime: realtime)
        let server = Server(
            name: "ymera", version: Ymera.version, title: "YMERA",
            instructions: "Plan a task with plan_task, start it with start_run, poll run_state until terminal is true, then read its summary.",
            capabilities: .init(resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))
        await server.withMethodHandler(ListTools.self) { _ in .init(tools: MCPTools.tools) }
        // tools/call parsed here, not by the SDK: a malformed request is `invalid params` (-32602),
        // like an unknown tool; everything a caller can correct is a result with isError.
        await server.withMethodHandler(RawCallTool.self) { params in
            guard case .object(let fields) = params.value else {
                throw MCPError.invalidParams("tools/call needs params {\"name\": TOOL, \"arguments\": {…}}")
            }
            guard let name = fields["name"]?.stringValue else { throw MCPError.invalidParams("tools/call: name must be a string (the tool's name)") }
            var arguments: [String: Value] = [:]
            switch fields["arguments"] {
            case nil, .null?: break
            case .object(let a)?: arguments = a
            default: throw MCPError.invalidParams("tools/call: arguments must be an object")
            }
            return try await service.call(name, arguments)
        }
        await server.withMethodHandler(ListResources.self) { params in
            let page = try await service.resources(cursor: params.cursor)
            return .init(resources: page.resources, nextCursor: page.next)
        }
        await server.withMethodHandler(ListResourceTemplates.self) { _ in .init(templates: MCPService.templates) }
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

/// `tools/call` with its params as raw JSON, so that their shape is checked here (see above).
enum RawCallTool: MCP.Method {
    static let name = CallTool.name

    struct Parameters: NotRequired, Hashable, Codable, Sendable {
        var value: Value
        init() { value = .null }
        init(from decoder: any Decoder) throws { value = try decoder.singleValueContainer().decode(Value.self) }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(value)
        }
    }

    typealias Result = CallTool.Result
}
