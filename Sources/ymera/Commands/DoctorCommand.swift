import ArgumentParser
import Foundation
import YmeraConfig
import YmeraCore
import YmeraMCP
import YmeraProviders
import YmeraQuality

/// `ymera doctor`: per provider, whether its key is set (never the key itself), the effective base
/// URL, whether it answers one cheap request, how fast, and what to set when nothing can serve.
/// Exits non-zero only when no provider at all, not even the simulated one, can serve.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check each provider (key, base URL, reachability, latency) and list the quality analyzers found.")

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("timeout-ms"), help: "Time limit for each provider's check, in milliseconds.")
    var timeoutMs: Int = 3000

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard (50...60_000).contains(timeoutMs) else { throw ValidationError("--timeout-ms must be between 50 and 60000") }
    }

    func run() async throws {
        let context: AppContext
        do { context = try AppContext.make(common) } catch { throw CLIError.config("\(error)") }
        let code = await Self.run(
            catalog: context.catalog, environment: context.environment, timeout: .milliseconds(timeoutMs), json: json)
        if !json && !context.loaded.mcpServers.isEmpty { print(await Self.checkMCP(context.loaded.mcpServers)) }
        if !json {
            let data = context.dataDirectory.path
            print("\n" + AnalyzerTools.render(AnalyzerTools.locate(dataDirectory: data, environment: context.environment), dataDirectory: data))
        }
        if code != 0 { throw ExitCode(code) }
    }

    /// Starts each configured MCP server, lists its tools and stops it: one line per server.
    static func checkMCP(_ servers: [MCPServerConfig]) async -> String {
        var lines = ["MCP servers"]
        for server in servers {
            let host = MCPToolHost(servers: [server])
            let phase = server.phases.min() ?? .research
            let started = ContinuousClock.now
            do {
                let tools = try await host.tools(for: phase, runID: "doctor")
                let ms = (ContinuousClock.now - started).components
                let took = ms.seconds * 1000 + ms.attoseconds / 1_000_000_000_000_000
                lines.append("  \(server.name): ok, \(tools.count) tools in \(took) ms (phases: \(server.phases.sorted().map(\.rawValue).joined(separator: ", ")))")
            } catch {
                let message = (error as? ToolFailure)?.message ?? "\(error)"
                lines.append("  \(server.name): FAILED — \(Output.clean(message))")
            }
            await host.endRun("doctor")
        }
        return lines.joined(separator: "\n")
    }

    /// Runs the checks and prints the report; returns the exit code.
    static func run(
        catalog: Catalog, environment: [String: String], timeout: Duration, json: Bool
    ) async -> Int32 {
        let http = HTTPModelClients.makeHTTPClient(
            timeouts: ProviderTimeouts(connect: timeout, firstByte: timeout, idle: timeout, total: timeout))
        let report = await ProviderDoctor(httpClient: http, environment: environment, timeout: timeout).run(catalog: catalog)
        try? await http.shutdown()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(report)) ?? Data("{}".utf8)
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(ProviderDoctor.render(report))
        }
        return report.exitCode
    }
}
