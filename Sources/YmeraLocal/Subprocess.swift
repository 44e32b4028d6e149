import Foundation
import Synchronization
import YmeraCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Child processes: commands run to completion with their output streamed line by line, and the
/// server spawned detached in its own session.
enum Subprocess {
    struct Result: Sendable {
        var exitCode: Int32
        var timedOut: Bool
        /// The last lines of combined stdout and stderr.
        var tail: [String]
        var tailText: String { tail.joined(separator: "\n") }
    }

    /// Runs `executable` with `arguments` until it exits or `timeout` passes (then SIGTERM, and SIGKILL 5 s later).
    /// Every output line goes to `onLine` and, when given, to the file at `logPath`.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        timeout: Duration, logPath: String? = nil, tailLines: Int = 30,
        onLine: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            let thread = Thread {
                do {
                    continuation.resume(
                        returning: try runBlocking(
                            executable, arguments, environment: environment, timeout: timeout, logPath: logPath,
                            tailLines: tailLines, onLine: onLine))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    private static func runBlocking(
        _ executable: String, _ arguments: [String], environment: [String: String]?, timeout: Duration,
        logPath: String?, tailLines: Int, onLine: @Sendable (String) -> Void
    ) throws -> Result {
        var log: FileHandle?
        if let logPath {
            if !FileManager.default.fileExists(atPath: logPath) {
                _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            }
            log = FileHandle(forWritingAtPath: logPath)
            _ = try? log?.seekToEnd()
            let header = "\n$ \(([executable] + arguments).joined(separator: " "))\n"
            try? log?.write(contentsOf: Data(header.utf8))
        }
        defer { try? log?.close() }

        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw LocalRuntimeError(.io, "cannot create a pipe: \(String(cString: strerror(errno)))", fix: "try again")
        }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        // Close-on-exec, so children spawned elsewhere meanwhile do not hold our pipe open.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        let pid: Int32
        do {
            pid = try spawn(
                executable, arguments, environment: environment ?? ProcessInfo.processInfo.environment,
                output: .descriptor(writeEnd), newSession: false)
        } catch {
            close(readEnd)
            close(writeEnd)
            throw error
        }
        close(writeEnd)
        defer { close(readEnd) }

        let exited = Mutex(false)
        let timedOut = Mutex(false)
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout.seconds) {
            let alive = exited.withLock { !$0 }
            guard alive else { return }
            timedOut.withLock { $0 = true }
            kill(pid, SIGTERM)
            DispatchQueue.global().asyncAfter(deadline: .now() + 5) {
                if exited.withLock({ !$0 }) { kill(pid, SIGKILL) }
            }
        }
        var tail: [String] = []
        var partial: [UInt8] = []
        func emit(_ bytes: ArraySlice<UInt8>) {
            var line = String(decoding: bytes, as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            // pip redraws progress with carriage returns: keep the last state of the line.
            if let cr = line.lastIndex(of: "\r") { line = String(line[line.index(after: cr)...]) }
            tail.append(line)
            if tail.count > tailLines { tail.removeFirst(tail.count - tailLines) }
            onLine(line)
        }
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            try? log?.write(contentsOf: Data(buffer[0..<n]))
            partial.append(contentsOf: buffer[0..<n])
            while let nl = partial.firstIndex(of: 0x0A) {
                emit(partial[0..<nl])
                partial.removeSubrange(0...nl)
            }
        }
        if !partial.isEmpty { emit(partial[...]) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        exited.withLock { $0 = true }
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(exitCode: code, timedOut: timedOut.withLock { $0 }, tail: tail)
    }

    enum Output {
        /// Append to a file (opened in the child).
        case file(String)
        /// An open descriptor of ours (a pipe's write end).
        case descriptor(Int32)
    }

    /// posix_spawn with stdin from /dev/null, stdout and stderr to `output`, every other
    /// descriptor closed, default dispositions and an empty mask for the usual signals (a
    /// thread of ours may have them blocked, and a child inherits that), optionally in a new session.
    static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String], output: Output,
        newSession: Bool
    ) throws -> Int32 {
        var fileActions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&fileActions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&fileActions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        switch output {
        case .file(let path):
            posix_spawn_file_actions_addopen(&fileActions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        case .descriptor(let fd):
            posix_spawn_file_actions_adddup2(&fileActions, fd, 1)
        }
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        closeInheritedDescriptors(&fileActions)

        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        #if os(Linux)
            if newSession { flags |= 0x80 }  // POSIX_SPAWN_SETSID (glibc ≥ 2.26), not imported as a macro
        #endif
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] =
            environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &fileActions, &attributes, argv, envp)
        guard rc == 0 else {
            throw LocalRuntimeError(
                .startFailed, "cannot run \(executable): \(String(cString: strerror(rc)))",
                fix: FileManager.default.fileExists(atPath: executable)
                    ? "check its permissions" : "run `ymera local install` to (re)create the runtime")
        }
        return pid
    }

    /// Spawns a process detached from ours: its own session (no terminal, untouched by our
    /// Ctrl-C), stdin from /dev/null, stdout and stderr appended to `logPath`, default signal
    /// dispositions and an empty signal mask. Returns its pid; the caller owns waiting for it.
    static func spawnDetached(
        _ executable: String, _ arguments: [String], environment: [String: String], logPath: String
    ) throws -> Int32 {
        try spawn(executable, arguments, environment: environment, output: .file(logPath), newSession: true)
    }
}

#if os(Linux)
    /// Closes every descriptor above stderr in the child, so a pipe or lock of ours never stays
    /// open in the long-lived server. glibc ≥ 2.34 has `posix_spawn_file_actions_addclosefrom_np`,
    /// which Swift's Glibc module does not import; it is looked up at run time.
    private func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return }
        let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
        _ = closeFrom(&actions, 3)
    }
#else
    private func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {}
#endif

/// Strips control and escape sequences from untrusted text (pip output, server logs) before it
/// reaches a terminal. Tabs and newlines stay. The rules are the core's one sanitizer.
public enum TerminalText {
    public static func sanitize(_ text: String) -> String { TextSanitizer.clean(text, tabs: .keep) }
}
