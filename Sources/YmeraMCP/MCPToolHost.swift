import Foundation
import Logging
import MCP
import YmeraConfig
import YmeraCore

/// The engine's `ToolHost` for configured MCP servers.
///
/// A run's servers start on demand — when a phase that may use them first asks for tools — and stop
/// with `endRun`. Their tools are offered as `server__tool` (provider-safe names, collisions resolved);
/// calls are routed back to the server with a real-time limit. Whatever goes wrong is a classified
/// `ToolFailure`: `timeout`, `server_crashed` (process exit or closed transport; pending calls end at
/// once), `protocol_error` (not MCP), `server_unavailable` (start or handshake failed), `unknown_tool`,
/// `bad_arguments`, `limit_reached`. Results are bounded and sanitized here already.
public actor MCPToolHost: ToolHost {
    private let servers: [MCPServerConfig]
    private let launcher: any MCPServerLauncher
    /// Characters of one result kept (the engine bounds again for the prompt).
    private let maxResultChars: Int
    private var runs: [String: RunTools] = [:]
    /// Runs that ended (bounded): a late request must not start their servers again.
    private var ended: [String] = []

    struct Route: Sendable {
        var server: String
        var tool: String
    }

    struct RunTools {
        var sessions: [String: ServerSession] = [:]
        /// Exposed name → server and MCP tool name.
        var routes: [String: Route] = [:]
        /// Specs per server, in the server's order, once listed.
        var specs: [String: [ToolSpec]] = [:]
        /// Servers whose failure was already reported to the engine.
        var reported: Set<String> = []
    }

    public init(servers: [MCPServerConfig], launcher: any MCPServerLauncher = ProcessLauncher(), maxResultChars: Int = 64_000) {
        self.servers = servers
        self.launcher = launcher
        self.maxResultChars = max(256, maxResultChars)
    }

    public nonisolated var isEmpty: Bool { servers.isEmpty }

    // MARK: ToolHost

    public func tools(for phase: Phase, runID: String) async throws -> [ToolSpec] {
        let wanted = servers.filter { $0.phases.contains(phase) }
        guard !wanted.isEmpty, !ended.contains(runID) else { return [] }
        var run = runs[runID] ?? RunTools()
        let sessions = wanted.map { cfg in
            if let s = run.sessions[cfg.name] { return s }
            let s = ServerSession(config: cfg, launcher: launcher)
            run.sessions[cfg.name] = s
            return s
        }
        runs[runID] = run
        // Start the phase's servers together.
        let outcomes: [(String, Result<[Tool], ToolFailure>)] = await withTaskGroup(of: (String, Result<[Tool], ToolFailure>).self) { group in
            for s in sessions {
                group.addTask {
                    let name = s.config.name
                    do {
                        return (name, .success(try await s.start()))
                    } catch let f as ToolFailure {
                        return (name, .failure(f))
                    } catch {
                        return (name, .failure(ToolFailure(.serverUnavailable, "MCP server '\(name)': \(Bounded.oneLine("\(error)", max: 300))", server: name)))
                    }
                }
            }
            var out: [(String, Result<[Tool], ToolFailure>)] = []
            for await item in group { out.append(item) }
            return out
        }
        try Task.checkCancellation()
        guard var current = runs[runID] else { return [] }  // the run ended meanwhile
        var fresh: [ToolFailure] = []
        for cfg in wanted {
            guard let outcome = outcomes.first(where: { $0.0 == cfg.name })?.1 else { continue }
            switch outcome {
            case .failure(let f):
                if current.reported.insert(cfg.name).inserted { fresh.append(f) }
            case .success(let tools):
                guard current.specs[cfg.name] == nil else { continue }
                var specs: [ToolSpec] = []
                for tool in tools {
                    let name = Self.uniqueName(server: cfg.name, tool: tool.name, taken: current.routes)
                    current.routes[name] = Route(server: cfg.name, tool: tool.name)
                    specs.append(ToolSpec(name: name, description: Self.describe(tool, server: cfg.name), inputSchemaJSON: Self.schemaJSON(tool.inputSchema), server: cfg.name))
                }
                current.specs[cfg.name] = specs
            }
        }
        runs[runID] = current
        // A server's failure is reported once (the engine records it); after that the phase gets the
        // other servers' tools, and the failed one is not restarted within the run.
        if var first = fresh.first {
            if fresh.count > 1 { first.message += " (also failing: \(fresh.dropFirst().compactMap(\.server).joined(separator: ", ")))" }
            throw first
        }
        let healthy = Set(outcomes.compactMap { name, outcome in (try? outcome.get()) != nil ? name : nil })
        return wanted.filter { healthy.contains($0.name) }.flatMap { current.specs[$0.name] ?? [] }
    }

    public func call(_ call: ToolCall, context: ToolContext, timeoutMs: Int64) async throws -> ToolResult {
        guard let run = runs[context.runID], let route = run.routes[call.name], let session = run.sessions[route.server] else {
            let known = runs[context.runID].map { Array($0.routes.keys).sorted() } ?? []
            let list = known.isEmpty ? "none" : known.prefix(20).joined(separator: ", ")
            throw ToolFailure(.unknownTool, "no tool '\(Bounded.oneLine(call.name, max: 80))' was offered; offered: \(list)")
        }
        guard session.config.phases.contains(context.phase) else {
            throw ToolFailure(.unknownTool, "tool '\(call.name)' is not offered in the \(context.phase.rawValue) phase", server: route.server)
        }
        let arguments = try Self.arguments(call.argumentsJSON, tool: call.name, server: route.server)
        let result: CallTool.Result
        do {
            result = try await session.call(tool: route.tool, arguments: arguments, stepKey: context.stepID, timeoutMs: timeoutMs)
        } catch let f as ToolFailure {
            // The call's failure is reported by the engine; a server-level one ends the server for the run.
            if [.serverCrashed, .protocolError, .serverUnavailable].contains(f.failureClass) {
                runs[context.runID]?.reported.insert(route.server)
            }
            throw f
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return try Self.classify(error, call: call, server: route.server)
        }
        let text = Self.render(result.content, structured: result.structuredContent)
        return ToolResult(callID: call.id, name: call.name, content: Bounded.text(text, max: maxResultChars), isError: result.isError ?? false)
    }

    public func endRun(_ runID: String) async {
        guard let run = runs.removeValue(forKey: runID) else { return }
        ended.append(runID)
        if ended.count > 256 { ended.removeFirst(ended.count - 256) }
        await withTaskGroup(of: Void.self) { group in
            for s in run.sessions.values { group.addTask { await s.stop() } }
        }
    }

    /// Stops every run's servers (the process is ending).
    public func shutdown() async {
        for id in Array(runs.keys) { await endRun(id) }
    }

    /// Servers running (started, not failed or stopped) per run, for tests and `ymera doctor`.
    public func runIDs() -> [String] { Array(runs.keys).sorted() }

    // MARK: Naming, schemas, results

    /// `server__tool` reduced to `[a-zA-Z0-9_-]`, at most 64 characters, unique within the run.
    static func uniqueName(server: String, tool: String, taken: [String: Route]) -> String {
        func safe(_ s: String) -> String {
            let mapped = String(s.unicodeScalars.map { c in
                (c.isASCII && (CharacterSet.alphanumerics.contains(c) || c == "_" || c == "-")) ? Character(c) : "_"
            })
            return mapped.isEmpty ? "tool" : mapped
        }
        let base = String((safe(server) + "__" + safe(tool)).prefix(64))
        if taken[base] == nil { return base }
        for n in 2...10_000 {
            let suffix = "_\(n)"
            let candidate = String(base.prefix(64 - suffix.count)) + suffix
            if taken[candidate] == nil { return candidate }
        }
        return String(UUID().uuidString.prefix(64))
    }

    static func describe(_ tool: Tool, server: String) -> String {
        let text = tool.description ?? tool.title ?? ""
        let body = Bounded.oneLine(text, max: 1_000)
        return body.isEmpty ? "Tool '\(Bounded.oneLine(tool.name, max: 64))' of MCP server \(server)" : body
    }

    /// The tool's input schema as JSON text; an object schema, whatever the server sent.
    static func schemaJSON(_ schema: Value) -> String {
        guard case .object(var object) = schema else { return #"{"type":"object"}"# }
        if object["type"] == nil { object["type"] = .string("object") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(Value.object(object)), data.count <= 32_000 else { return #"{"type":"object"}"# }
        return String(decoding: data, as: UTF8.self)
    }

    static func arguments(_ json: String, tool: String, server: String) throws -> [String: Value]? {
        let trimmed = json.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return [:] }
        guard let data = trimmed.data(using: .utf8), let value = try? JSONDecoder().decode(Value.self, from: data) else {
            throw ToolFailure(.badArguments, "the arguments for '\(tool)' are not valid JSON: \(Bounded.oneLine(trimmed, max: 120))", server: server)
        }
        switch value {
        case .object(let o): return o
        case .null: return [:]
        default: throw ToolFailure(.badArguments, "the arguments for '\(tool)' should be a JSON object", server: server)
        }
    }

    /// Text parts joined; other parts said in a line (`[image image/png, 1234 bytes]`).
    static func render(_ content: [Tool.Content], structured: Value?) -> String {
        var parts: [String] = []
        for item in content.prefix(1_000) {
            switch item {
            case .text(let text, _, _): parts.append(text)
            case .image(let data, let mime, _, _): parts.append("[image \(Bounded.oneLine(mime, max: 60)), \(data.count * 3 / 4) bytes]")
            case .audio(let data, let mime, _, _): parts.append("[audio \(Bounded.oneLine(mime, max: 60)), \(data.count * 3 / 4) bytes]")
            case .resource(let r, _, _):
                if let text = r.text { parts.append(text) } else { parts.append("[resource \(Bounded.oneLine(r.uri, max: 200))\(r.mimeType.map { ", \($0)" } ?? "")]") }
            case .resourceLink(let uri, let name, _, _, _, _): parts.append("[resource link \(Bounded.oneLine(name, max: 100)): \(Bounded.oneLine(uri, max: 200))]")
            }
        }
        if parts.isEmpty, let structured {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            if let data = try? encoder.encode(structured) { parts.append(String(decoding: data.prefix(200_000), as: UTF8.self)) }
        }
        return parts.joined(separator: "\n")
    }

    /// An error from the SDK for one call: a JSON-RPC error answer is the tool's error (the model sees
    /// it); a closed connection is a crash; an answer that does not decode is a protocol error.
    static func classify(_ error: any Error, call: ToolCall, server: String) throws -> ToolResult {
        if let e = error as? MCPError {
            switch e {
            case .connectionClosed, .transportError:
                throw ToolFailure(.serverCrashed, "MCP server '\(server)': \(Bounded.oneLine(ServerSession.describe(e), max: 300))", server: server)
            case .parseError, .invalidRequest:
                throw ToolFailure(.protocolError, "MCP server '\(server)' answered '\(call.name)' with \(Bounded.oneLine(ServerSession.describe(e), max: 300))", server: server)
            default:
                return ToolResult(callID: call.id, name: call.name, content: "error: " + Bounded.oneLine(ServerSession.describe(e), max: 2_000), isError: true)
            }
        }
        // A decoding error, or the SDK's type mismatch: the answer was JSON-RPC but not a tool result.
        throw ToolFailure(.protocolError, "MCP server '\(server)' answered '\(call.name)' with something that is not an MCP tool result", server: server)
    }
}
