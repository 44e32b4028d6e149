import Foundation
import Logging
import MCP
import Synchronization
import YmeraConfig
import YmeraCore
@testable import YmeraMCP

/// Counts what test servers were started and stopped.
final class ServerLog: Sendable {
    private let state = Mutex<(started: [String], stopped: [String])>(([], []))
    func started(_ name: String) { state.withLock { $0.started.append(name) } }
    func stopped(_ name: String) { state.withLock { $0.stopped.append(name) } }
    var startedNames: [String] { state.withLock { $0.started } }
    var stoppedNames: [String] { state.withLock { $0.stopped } }
}

/// The escape-laden text the `long` tool returns (ESC sequences, a bell, a bidi override).
let hostileLine = "line \u{1B}[31mred\u{1B}[0m \u{1B}]0;title\u{07} \u{202E}evil\u{202C} end\n"

/// An in-process MCP server with the test tools, connected over `InMemoryTransport`:
/// `echo` (returns its `text`), `long` (a long text with escape sequences), `hang` (never answers),
/// `crash` (its server closes the transport while answering), `fail` (an `isError` result),
/// `picture` (an image part), `dots.and spaces` (a name that needs cleaning).
/// `first` moves one tool to the front of the list (the simulated model calls the first tool offered).
func testLauncher(log: ServerLog = ServerLog(), extraTools: [String] = [], first: String? = nil) -> ClosureLauncher {
    ClosureLauncher { config in
        let server = Server(name: "test-\(config.name)", version: "1.0", capabilities: .init(tools: .init()))
        var ordered = ["echo", "long", "hang", "crash", "fail", "picture", "dots.and spaces"] + extraTools
        if let first, let i = ordered.firstIndex(of: first) { ordered.insert(ordered.remove(at: i), at: 0) }
        let names = ordered
        await server.withMethodHandler(ListTools.self) { _ in
            .init(tools: names.map { name in
                Tool(
                    name: name, description: "test tool \(name)",
                    inputSchema: .object(["type": "object", "properties": .object(["text": .object(["type": "string"])])]))
            })
        }
        await server.withMethodHandler(CallTool.self) { [weak server] params in
            switch params.name {
            case "echo":
                return .init(content: [.text(text: "echo: " + (params.arguments?["text"]?.stringValue ?? ""), annotations: nil, _meta: nil)])
            case "long":
                return .init(content: [.text(text: String(repeating: hostileLine, count: 2_000), annotations: nil, _meta: nil)])
            case "hang":
                try? await Task.sleep(for: .seconds(60))
                return .init(content: [.text(text: "too late", annotations: nil, _meta: nil)])
            case "crash":
                Task { await server?.stop() }
                try? await Task.sleep(for: .seconds(60))
                return .init(content: [.text(text: "never", annotations: nil, _meta: nil)])
            case "fail":
                return .init(content: [.text(text: "no such file", annotations: nil, _meta: nil)], isError: true)
            case "picture":
                return .init(content: [
                    .text(text: "a chart:", annotations: nil, _meta: nil),
                    .image(data: "iVBORw0KGgoAAAANSUhEUg==", mimeType: "image/png", annotations: nil, _meta: nil),
                ])
            default:
                return .init(content: [.text(text: "called \(params.name)", annotations: nil, _meta: nil)])
            }
        }
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        try await server.start(transport: serverSide)
        log.started(config.name)
        return LaunchedServer(
            transport: clientSide,
            stop: {
                await server.stop()
                log.stopped(config.name)
            },
            diagnostics: { "test server \(config.name) log line" })
    }
}

/// A transport that speaks JSON-RPC by hand: answers the handshake and `tools/list` correctly, then
/// answers `tools/call` with `callReply` (`$ID` replaced by the request's id; garbage, say) or never answers the handshake at all.
actor ScriptedTransport: Transport {
    nonisolated let logger = Logger(label: "test.scripted", factory: { _ in SwiftLogNoOpLogHandler() })
    let answerHandshake: Bool
    let callReply: String
    private let stream: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation

    init(answerHandshake: Bool = true, callReply: String) {
        self.answerHandshake = answerHandshake
        self.callReply = callReply
        (stream, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
    }

    func connect() async throws {}
    func disconnect() async { continuation.finish() }
    func receive() -> AsyncThrowingStream<Data, any Error> { stream }

    func send(_ data: Data) async throws {
        guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any], let method = obj["method"] as? String else { return }
        let id = obj["id"].flatMap { try? JSONSerialization.data(withJSONObject: $0, options: .fragmentsAllowed) }.map { String(decoding: $0, as: UTF8.self) } ?? "null"
        switch method {
        case "initialize":
            guard answerHandshake else { return }
            reply(#"{"jsonrpc":"2.0","id":\#(id),"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"scripted","version":"1"}}}"#)
        case "tools/list":
            reply(#"{"jsonrpc":"2.0","id":\#(id),"result":{"tools":[{"name":"odd","description":"answers oddly","inputSchema":{"type":"object"}}]}}"#)
        case "tools/call":
            reply(callReply.replacingOccurrences(of: "$ID", with: id))
        default:
            break
        }
    }

    private func reply(_ text: String) { continuation.yield(Data(text.utf8)) }
}

func scriptedLauncher(answerHandshake: Bool = true, callReply: String = "") -> ClosureLauncher {
    ClosureLauncher { _ in
        LaunchedServer(transport: ScriptedTransport(answerHandshake: answerHandshake, callReply: callReply))
    }
}

func server(_ name: String, phases: Set<Phase> = MCPServerConfig.defaultPhases, callTimeoutMs: Int64 = 20_000, maxCalls: Int = 8, startupTimeoutMs: Int64 = 10_000) -> MCPServerConfig {
    MCPServerConfig(name: name, command: "unused", phases: phases, callTimeoutMs: callTimeoutMs, maxCalls: maxCalls, startupTimeoutMs: startupTimeoutMs)
}

func context(_ run: String = "run-1", step: String = "research", phase: Phase = .research) -> ToolContext {
    ToolContext(runID: run, stepID: step, phase: phase)
}

/// Runs `body` and returns the `ToolFailure` it threw (nil if it threw none or another error).
func toolFailure(_ body: () async throws -> Void) async -> ToolFailure? {
    do {
        try await body()
        return nil
    } catch let f as ToolFailure {
        return f
    } catch {
        return nil
    }
}
