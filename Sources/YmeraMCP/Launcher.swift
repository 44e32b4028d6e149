import Foundation
import MCP
import Synchronization
import YmeraConfig
import YmeraCore

#if canImport(System)
    import System
#else
    @preconcurrency import SystemPackage
#endif

/// A started MCP server: the transport to speak to it, how to stop it, and what it wrote to stderr.
public struct LaunchedServer: Sendable {
    public var transport: any Transport
    /// Stops the server and waits until it is gone (bounded).
    public var stop: @Sendable () async -> Void
    /// The end of the server's stderr, bounded (for error messages; sanitized by the caller).
    public var diagnostics: @Sendable () -> String

    public init(transport: any Transport, stop: @escaping @Sendable () async -> Void = {}, diagnostics: @escaping @Sendable () -> String = { "" }) {
        self.transport = transport
        self.stop = stop
        self.diagnostics = diagnostics
    }
}

/// Starts configured MCP servers. `ProcessLauncher` spawns them over stdio; tests pass a
/// `ClosureLauncher` that connects an in-process MCP `Server` over `InMemoryTransport`.
public protocol MCPServerLauncher: Sendable {
    /// Starts `server`; `onExit` is called once if the server goes away by itself (process exit).
    func launch(_ server: MCPServerConfig, onExit: @escaping @Sendable (String) -> Void) async throws -> LaunchedServer
}

/// A launcher from a closure (tests: in-memory transports to in-process servers).
public struct ClosureLauncher: MCPServerLauncher {
    let make: @Sendable (MCPServerConfig) async throws -> LaunchedServer
    public init(_ make: @escaping @Sendable (MCPServerConfig) async throws -> LaunchedServer) { self.make = make }
    public func launch(_ server: MCPServerConfig, onExit: @escaping @Sendable (String) -> Void) async throws -> LaunchedServer {
        try await make(server)
    }
}

/// The last bytes a server wrote to stderr (bounded ring; drawn only after sanitizing).
final class StderrTail: Sendable {
    private let buffer = Mutex<[UInt8]>([])
    let limit: Int
    init(limit: Int) { self.limit = limit }
    func append(_ data: Data) {
        buffer.withLock { b in
            b.append(contentsOf: data)
            if b.count > limit { b.removeFirst(b.count - limit) }
        }
    }
    var text: String { buffer.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// Spawns a configured server as a child process and speaks MCP over its stdin/stdout. Stopping closes
/// its stdin, then sends SIGTERM, then SIGKILL after a grace; Foundation's `Process` reaps it.
public struct ProcessLauncher: MCPServerLauncher {
    /// The environment every server starts with (its `env` table is added on top).
    public var environment: [String: String]
    /// Time between closing stdin / SIGTERM and the next, harder step.
    public var graceMs: Int64

    /// Variables a server inherits from YMERA's environment; everything else (provider API keys among
    /// them) stays out unless the server's `env` table names it.
    public static let inheritedVariables: Set<String> = [
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ",
        "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR",
    ]

    /// The part of `environment` a server inherits (`inheritedVariables`).
    public static func inherited(from environment: [String: String]) -> [String: String] {
        environment.filter { inheritedVariables.contains($0.key) }
    }

    public init(environment: [String: String] = ProcessLauncher.inherited(from: ProcessInfo.processInfo.environment), graceMs: Int64 = 1_000) {
        self.environment = environment
        self.graceMs = graceMs
    }

    public func launch(_ server: MCPServerConfig, onExit: @escaping @Sendable (String) -> Void) async throws -> LaunchedServer {
        // A server that dies while we write to it must not take YMERA with it.
        signal(SIGPIPE, SIG_IGN)
        guard let exe = Self.resolve(server.command, path: environment["PATH"] ?? "/usr/bin:/bin") else {
            throw ToolFailure(.serverUnavailable, "MCP server '\(server.name)': command '\(Bounded.oneLine(server.command, max: 200))' was not found (not an executable path, nor in PATH)", server: server.name)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = server.args
        process.environment = environment.merging(server.env) { _, new in new }
        let toServer = Pipe(), fromServer = Pipe(), errors = Pipe()
        process.standardInput = toServer
        process.standardOutput = fromServer
        process.standardError = errors
        let tail = StderrTail(limit: 8_192)
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil } else { tail.append(data) }
        }
        let name = server.name
        process.terminationHandler = { p in
            let how = p.terminationReason == .uncaughtSignal ? "was killed by signal \(p.terminationStatus)" : "exited with status \(p.terminationStatus)"
            onExit("MCP server '\(name)' \(how)")
        }
        do {
            try await Self.runWithDefaultSignalMask(process)
        } catch {
            errors.fileHandleForReading.readabilityHandler = nil
            throw ToolFailure(.serverUnavailable, "MCP server '\(server.name)': could not start '\(exe)': \(error.localizedDescription)", server: server.name)
        }
        let child = Child(process: process, toServer: toServer, fromServer: fromServer, errors: errors)
        let transport = StdioTransport(
            input: FileDescriptor(rawValue: fromServer.fileHandleForReading.fileDescriptor),
            output: FileDescriptor(rawValue: toServer.fileHandleForWriting.fileDescriptor))
        let grace = graceMs
        return LaunchedServer(transport: transport, stop: { await child.stop(graceMs: grace) }, diagnostics: { tail.text })
    }

    /// The child process and its pipes (Foundation's types are not `Sendable`; only `stop` touches them
    /// after the start).
    final class Child: @unchecked Sendable {
        let process: Process
        let toServer: Pipe, fromServer: Pipe, errors: Pipe
        private let stopped = Mutex(false)

        /// A `Process` handed to the spawning thread.
        final class Box: @unchecked Sendable {
            let process: Process
            init(_ process: Process) { self.process = process }
        }
        init(process: Process, toServer: Pipe, fromServer: Pipe, errors: Pipe) {
            self.process = process
            self.toServer = toServer
            self.fromServer = fromServer
            self.errors = errors
        }

        /// MCP's stdio shutdown: close the server's input, then SIGTERM, then SIGKILL; then the pipes.
        func stop(graceMs: Int64) async {
            guard !stopped.withLock({ s in defer { s = true }; return s }) else { return }
            try? toServer.fileHandleForWriting.close()
            if await !ProcessLauncher.waitExit(process, ms: graceMs / 2) {
                process.terminate()
                if await !ProcessLauncher.waitExit(process, ms: graceMs) {
                    kill(process.processIdentifier, SIGKILL)
                    _ = await ProcessLauncher.waitExit(process, ms: 2_000)
                }
            }
            errors.fileHandleForReading.readabilityHandler = nil
            // The transport's read loop has stopped (the client disconnected first); let it see that.
            try? await Task.sleep(for: .milliseconds(30))
            try? fromServer.fileHandleForReading.close()
            try? errors.fileHandleForReading.close()
        }
    }

    /// Starts `process` from a fresh thread whose signal mask is empty. A child inherits the mask of the
    /// thread that spawns it, and the concurrency runtime's threads block nearly every signal: a server
    /// started from one would never see SIGTERM (only SIGKILL would stop it).
    static func runWithDefaultSignalMask(_ process: Process) async throws {
        let box = Child.Box(process)
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                var empty = sigset_t()
                sigemptyset(&empty)
                pthread_sigmask(SIG_SETMASK, &empty, nil)
                do {
                    try box.process.run()
                    c.resume()
                } catch {
                    c.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    /// Waits (polling, bounded) for the process to exit; true if it did.
    static func waitExit(_ process: Process, ms: Int64) async -> Bool {
        let steps = max(1, ms / 20)
        for _ in 0..<steps {
            if !process.isRunning { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !process.isRunning
    }

    /// An executable path for `command`: itself if it contains a slash, else the first match in `path`.
    static func resolve(_ command: String, path: String) -> String? {
        let fm = FileManager.default
        if command.contains("/") { return fm.isExecutableFile(atPath: command) ? command : nil }
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(command)"
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
