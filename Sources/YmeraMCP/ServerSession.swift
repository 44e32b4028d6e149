import Foundation
import Logging
import MCP
import Synchronization
import YmeraConfig
import YmeraCore

/// One configured server within one run: started once (concurrent callers share the start), then
/// called until it fails or the run ends. A failure (exit, closed transport, garbage) is kept: pending
/// calls fail at once with it, later calls fail fast with it.
actor ServerSession {
    let config: MCPServerConfig
    private let launcher: any MCPServerLauncher
    private var startTask: Task<[Tool], any Error>?
    private var client: Client?
    private var launched: LaunchedServer?
    private var failure: ToolFailure?
    private var started = false
    private var stopped = false
    /// Failure listeners of in-flight operations (start and calls).
    private var listeners: [UUID: @Sendable (ToolFailure) -> Void] = [:]
    /// Calls made per step (`max_calls`).
    private var callsPerStep: [String: Int] = [:]

    init(config: MCPServerConfig, launcher: any MCPServerLauncher) {
        self.config = config
        self.launcher = launcher
    }

    /// Starts the server (once) and lists its tools.
    func start() async throws -> [Tool] {
        if let failure { throw failure }
        if stopped { throw ToolFailure(.serverUnavailable, "MCP server '\(config.name)' was stopped (the run ended)", server: config.name) }
        if let startTask { return try await startTask.value }
        let task = Task { try await self.doStart() }
        startTask = task
        return try await task.value
    }

    private func doStart() async throws -> [Tool] {
        let name = config.name
        let launched: LaunchedServer
        do {
            // Strong captures: the cycle ends when `shutdown` lets go of the client and the server.
            launched = try await launcher.launch(config) { why in
                Task { await self.fail(ToolFailure(.serverCrashed, why, server: name)) }
            }
        } catch let f as ToolFailure {
            failure = f
            throw f
        } catch {
            let f = ToolFailure(.serverUnavailable, "MCP server '\(name)' could not be started: \(Bounded.oneLine("\(error)", max: 300))", server: name)
            failure = f
            throw f
        }
        self.launched = launched
        let transport = WatchedTransport(inner: launched.transport) { event in
            Task { await self.transportEvent(event) }
        }
        let client = Client(name: "ymera", version: "1.0")
        self.client = client
        let limit = config.startupTimeoutMs
        do {
            let tools = try await race(
                timeoutMs: limit,
                timeout: ToolFailure(.serverUnavailable, "MCP server '\(name)' did not finish its MCP handshake within \(limit) ms", server: name)
            ) {
                try await client.connect(transport: transport)
                var tools: [Tool] = []
                var cursor: String?
                // Pages are bounded: at most 20 pages, 256 tools per server.
                for _ in 0..<20 {
                    let page = try await client.listTools(cursor: cursor)
                    tools += page.tools
                    cursor = page.nextCursor
                    if cursor == nil || tools.count >= 256 { break }
                }
                return Array(tools.prefix(256))
            }
            started = true
            return tools
        } catch {
            let f = startFailure(error)
            failure = f
            await shutdown()
            throw f
        }
    }

    /// A start that did not succeed is `server_unavailable`, with what the server wrote to stderr.
    private func startFailure(_ error: any Error) -> ToolFailure {
        var message: String
        if let f = error as? ToolFailure {
            message = f.message
        } else {
            message = "MCP server '\(config.name)' failed its MCP handshake: \(Bounded.oneLine(Self.describe(error), max: 300))"
        }
        let stderr = stderrTail()
        if !stderr.isEmpty { message += "; stderr: \(stderr)" }
        return ToolFailure(.serverUnavailable, message, server: config.name)
    }

    func stderrTail() -> String {
        guard let text = launched?.diagnostics(), !text.isEmpty else { return "" }
        return Bounded.oneLine(String(text.suffix(600)), max: 400)
    }

    /// Calls `tool` with a real-time limit; a failure of the server ends the call at once.
    func call(tool: String, arguments: [String: Value]?, stepKey: String, timeoutMs: Int64) async throws -> CallTool.Result {
        if let failure { throw failure }
        guard let client, started, !stopped else {
            throw ToolFailure(.serverUnavailable, "MCP server '\(config.name)' is not running", server: config.name)
        }
        let made = callsPerStep[stepKey, default: 0]
        guard made < config.maxCalls else {
            throw ToolFailure(.limitReached, "MCP server '\(config.name)': max_calls (\(config.maxCalls)) reached for this step", server: config.name)
        }
        callsPerStep[stepKey] = made + 1
        let request: MCP.RequestContext<CallTool.Result> = try await client.callTool(name: tool, arguments: arguments)
        let limit = min(timeoutMs, config.callTimeoutMs)
        let name = config.name
        do {
            return try await race(
                timeoutMs: limit,
                timeout: ToolFailure(.timeout, "MCP server '\(name)' did not answer '\(tool)' within \(limit) ms", server: name)
            ) {
                try await request.value
            }
        } catch let f as ToolFailure {
            if f.failureClass == .timeout {
                // Tell the server to give up; the client then drops the pending request.
                Task { try? await client.cancelRequest(request.requestID, reason: "timeout") }
            }
            throw f
        }
    }

    /// Runs `operation` against a real-time limit and this server's failure, whichever comes first.
    /// The operation is not awaited past that point (the SDK's requests do not observe cancellation).
    private func race<T: Sendable>(timeoutMs: Int64, timeout: ToolFailure, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let shot = OneShot<T>()
        let id = UUID()
        if let failure { throw failure }
        listeners[id] = { f in shot.resume(.failure(f)) }
        defer { listeners[id] = nil }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                shot.install(continuation)
                let work = Task {
                    do { shot.resume(.success(try await operation())) } catch { shot.resume(.failure(error)) }
                }
                let timer = Task {
                    try? await Task.sleep(for: .milliseconds(timeoutMs))
                    if !Task.isCancelled { shot.resume(.failure(timeout)) }
                }
                shot.onFinish {
                    timer.cancel()
                    work.cancel()
                }
            }
        } onCancel: {
            shot.resume(.failure(CancellationError()))
        }
    }

    private func transportEvent(_ event: TransportEvent) async {
        switch event {
        case .closed(let why):
            var message = "MCP server '\(config.name)': \(why)"
            let stderr = stderrTail()
            if !stderr.isEmpty { message += "; stderr: \(stderr)" }
            await fail(ToolFailure(.serverCrashed, message, server: config.name))
        case .garbage(let preview):
            await fail(ToolFailure(.protocolError, "MCP server '\(config.name)' wrote something that is not MCP JSON-RPC: \(preview)", server: config.name))
        }
    }

    /// Keeps the first failure, ends everything in flight with it, and stops the server.
    func fail(_ f: ToolFailure) async {
        guard failure == nil, !stopped else { return }
        var f = f
        if f.failureClass == .serverCrashed, !f.message.contains("stderr:") {
            let stderr = stderrTail()
            if !stderr.isEmpty { f.message += "; stderr: \(stderr)" }
        }
        failure = f
        for listener in listeners.values { listener(f) }
        listeners = [:]
        await shutdown()
    }

    /// Stops the server for good (the run ended).
    func stop() async {
        guard !stopped else { return }
        let f = ToolFailure(.serverUnavailable, "MCP server '\(config.name)' was stopped (the run ended)", server: config.name)
        for listener in listeners.values { listener(f) }
        listeners = [:]
        stopped = true
        await shutdown()
        startTask?.cancel()
    }

    private func shutdown() async {
        let client = self.client, launched = self.launched
        self.client = nil
        self.launched = nil
        await client?.disconnect()
        await launched?.stop()
    }

    /// A transport or decoding error in plain words.
    static func describe(_ error: any Error) -> String {
        if let e = error as? MCPError { return e.errorDescription ?? "\(e)" }
        return "\(error)"
    }
}

/// Resumes a continuation once, from whichever side finishes first.
final class OneShot<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var done = false
        var onFinish: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func install(_ c: CheckedContinuation<T, any Error>) {
        let early: Result<T, any Error>? = state.withLock { s in
            if let e = s.early { s.early = nil; return e }
            s.continuation = c
            return nil
        }
        if let early { c.resume(with: early) }
    }

    func onFinish(_ f: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { s in
            if s.done { return true }
            s.onFinish = f
            return false
        }
        if runNow { f() }
    }

    func resume(_ r: Result<T, any Error>) {
        let (c, finish): (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) = state.withLock { s in
            if s.done { return (nil, nil) }
            s.done = true
            let f = s.onFinish
            s.onFinish = nil
            if let c = s.continuation {
                s.continuation = nil
                return (c, f)
            }
            s.early = r
            return (nil, f)
        }
        c?.resume(with: r)
        finish?()
    }
}
