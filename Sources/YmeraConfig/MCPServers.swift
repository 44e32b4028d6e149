import YmeraCore

/// An MCP server the user declared in a config file (`[mcp.servers.NAME]`): a command started over
/// stdio when a phase that may use it first asks for tools, and stopped when the run ends.
public struct MCPServerConfig: Sendable, Hashable {
    /// The table's name; tools are offered to models as `NAME__TOOL`.
    public var name: String
    /// The program to start (a path, or a name looked up in `PATH`).
    public var command: String
    public var args: [String]
    /// Variables added to (or replacing) YMERA's own environment for the server.
    public var env: [String: String]
    /// Phases whose models are offered the server's tools.
    public var phases: Set<Phase>
    /// One call's time limit.
    public var callTimeoutMs: Int64
    /// Calls per attempt through this server's tools (the engine's loop has its own total bound).
    public var maxCalls: Int
    /// The time the server gets to start and finish its MCP handshake.
    public var startupTimeoutMs: Int64

    public static let defaultPhases: Set<Phase> = [.research, .generation]

    public init(
        name: String, command: String, args: [String] = [], env: [String: String] = [:],
        phases: Set<Phase> = MCPServerConfig.defaultPhases, callTimeoutMs: Int64 = 20_000, maxCalls: Int = 8,
        startupTimeoutMs: Int64 = 10_000
    ) {
        self.name = name
        self.command = command
        self.args = args
        self.env = env
        self.phases = phases
        self.callTimeoutMs = callTimeoutMs
        self.maxCalls = maxCalls
        self.startupTimeoutMs = startupTimeoutMs
    }
}

extension ConfigLoader {
    /// Reads `[mcp]` (only `servers` so far) into `servers`, later files replacing same-named entries.
    static func readMCP(_ t: TableReader, into servers: inout [MCPServerConfig]) throws(ConfigError) {
        try t.checkKeys(["servers"])
        guard let s = try t.table("servers") else { return }
        for name in s.value.keys {
            guard let entry = try s.table(name) else { continue }
            let server = try readMCPServer(name: name, entry)
            servers.removeAll { $0.name == name }
            servers.append(server)
        }
    }

    static func readMCPServer(name: String, _ t: TableReader) throws(ConfigError) -> MCPServerConfig {
        guard !name.isEmpty, name.count <= 32, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw t.doc.error(t.path, "MCP server '\(name)': the name must be 1–32 letters, digits, '-' or '_' (it prefixes the tool names models see)")
        }
        try t.checkKeys(["command", "args", "env", "phases", "call_timeout_ms", "max_calls", "startup_timeout_ms"])
        let command: String
        do throws(ConfigError) { command = try t.requiredString("command") } catch { throw named(name, error) }
        guard !command.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw t.doc.error(t.full("command"), "MCP server '\(name)': the command is empty")
        }
        var env: [String: String] = [:]
        do throws(ConfigError) {
            if let e = try t.table("env") {
                for k in e.value.keys { env[k] = try e.requiredString(k) }
            }
        } catch { throw named(name, error) }
        var phases = MCPServerConfig.defaultPhases
        do throws(ConfigError) {
            if let list = try t.strings("phases") {
                phases = []
                for p in list {
                    guard let phase = Phase(rawValue: p) else {
                        throw t.doc.error(t.full("phases"), "'\(p)' is not a phase; use \(Phase.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    phases.insert(phase)
                }
            }
            return MCPServerConfig(
                name: name, command: command, args: try t.strings("args") ?? [], env: env, phases: phases,
                callTimeoutMs: Int64(try t.int("call_timeout_ms", in: 10...3_600_000) ?? 20_000),
                maxCalls: try t.int("max_calls", in: 1...1000) ?? 8,
                startupTimeoutMs: Int64(try t.int("startup_timeout_ms", in: 100...600_000) ?? 10_000))
        } catch { throw named(name, error) }
    }

    /// Prefixes an error with the server's name so a broken entry is easy to find.
    private static func named(_ name: String, _ error: ConfigError) -> ConfigError {
        var e = error
        if !e.message.hasPrefix("MCP server") { e.message = "MCP server '\(name)': " + e.message }
        return e
    }
}
