import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Limits for one child process.
public struct ProcessLimits: Sendable, Hashable {
    /// Wall-clock limit; the process group is killed after it.
    public var timeout: Duration
    /// Bytes of stdout (and of stderr) kept; the rest is dropped and marked truncated.
    public var maxOutputBytes: Int
    /// Address-space limit (`ulimit -v`), in KiB; nil = none (compilers and node reserve a lot of it).
    public var memoryKiB: Int?
    /// Largest file the child may write (`ulimit -f`), in KiB.
    public var fileSizeKiB: Int
    /// CPU seconds (`ulimit -t`); nil = none.
    public var cpuSeconds: Int?
    /// Run without network access (`unshare -rn`) when the machine allows it.
    public var isolateNetwork: Bool

    public init(
        timeout: Duration = .seconds(20), maxOutputBytes: Int = 256 * 1024, memoryKiB: Int? = nil,
        fileSizeKiB: Int = 64 * 1024, cpuSeconds: Int? = nil, isolateNetwork: Bool = false
    ) {
        self.timeout = timeout
        self.maxOutputBytes = maxOutputBytes
        self.memoryKiB = memoryKiB
        self.fileSizeKiB = fileSizeKiB
        self.cpuSeconds = cpuSeconds
        self.isolateNetwork = isolateNetwork
    }
}

/// What a child process did.
public struct ToolResult: Sendable, Hashable {
    public var exitCode: Int32
    public var stdout: String
    public var stderr: String
    public var timedOut: Bool
    public var truncated: Bool
    /// Set when the process could not be started at all.
    public var launchError: String?
    /// Whether the network was actually cut off for this run.
    public var networkIsolated: Bool

    public var succeeded: Bool { launchError == nil && !timedOut && exitCode == 0 }
}

/// Runs analyzers and compilers as child processes: each in a working directory we own, with a
/// clean environment (no API keys or other secrets pass through), bounded output, a wall-clock
/// timeout that kills the whole process group, and optional resource and network limits.
public struct ToolRunner: Sendable {
    /// The `PATH` children see (the same one the tools were looked up in).
    public var searchPath: String
    /// System utilities used for the sandbox itself (`sh`, `timeout`, `unshare`), looked up here
    /// rather than in `searchPath`, so that hiding a toolchain does not disable the sandbox.
    public var systemPath: String
    /// Whether `unshare -rn` works on this machine (probed once by `ToolRunner.probeSandbox`).
    public var canIsolateNetwork: Bool
    /// Whether, inside that namespace, every filesystem but the working directory can be made
    /// read-only (`unshare -rnm` + bind remounts).
    public var canMakeFilesystemReadOnly: Bool

    public init(
        searchPath: String, systemPath: String = "/usr/bin:/bin", canIsolateNetwork: Bool = false,
        canMakeFilesystemReadOnly: Bool = false
    ) {
        self.searchPath = searchPath
        self.systemPath = systemPath
        self.canIsolateNetwork = canIsolateNetwork
        self.canMakeFilesystemReadOnly = canMakeFilesystemReadOnly
    }

    /// Shell lines that leave only `dir` writable: bind it onto itself, then remount every other
    /// mount (but /proc, /sys, /dev) read-only. The root mount must succeed, or the child does not run.
    static func readOnlyPrelude(mount: String, dir: String) -> String {
        let m = shellQuote(mount), d = shellQuote(dir)
        return "\(m) --bind \(d) \(d) && \(m) -o remount,bind,ro / || exit 96; "
            + "while read -r _ mp _; do case \"$mp\" in /|/proc*|/sys*|/dev*|\(d)) ;; "
            + "*) \(m) -o remount,bind,ro \"$mp\" 2>/dev/null ;; esac; done < /proc/self/mounts; "
    }

    static func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// The environment every child gets: nothing inherited but what tools need to start.
    func environment(workDir: URL, extra: [String: String]) -> [String: String] {
        var env: [String: String] = [
            "PATH": searchPath,
            "HOME": workDir.path,
            "TMPDIR": workDir.path,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "NO_COLOR": "1",
            "TERM": "dumb",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONHASHSEED": "0",
        ]
        // pyenv shims find their interpreter through PYENV_ROOT (defaults to $HOME/.pyenv, and HOME
        // is the sandbox): pass the root of any shim directory on the search path.
        for dir in searchPath.split(separator: ":") where dir.hasSuffix("/shims") {
            let root = String(dir.dropLast("/shims".count))
            if FileManager.default.fileExists(atPath: root + "/versions") {
                env["PYENV_ROOT"] = root
                break
            }
        }
        // rustup proxies (~/.cargo/bin) find their toolchains through RUSTUP_HOME/CARGO_HOME, which
        // also default to $HOME.
        for dir in searchPath.split(separator: ":") where dir.hasSuffix("/.cargo/bin") {
            let cargo = String(dir.dropLast("/bin".count))
            let rustup = String(cargo.dropLast("/.cargo".count)) + "/.rustup"
            env["CARGO_HOME"] = cargo
            if FileManager.default.fileExists(atPath: rustup) { env["RUSTUP_HOME"] = rustup }
            break
        }
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Runs `executable` with `arguments` in `workDir`.
    public func run(
        _ executable: String, _ arguments: [String], in workDir: URL, limits: ProcessLimits = .init(),
        environment extra: [String: String] = [:]
    ) async -> ToolResult {
        let fm = FileManager.default
        let captureDir = fm.temporaryDirectory.appendingPathComponent("ymera-capture-\(UUID().uuidString)")
        do {
            try fm.createDirectory(at: captureDir, withIntermediateDirectories: true)
        } catch {
            return ToolResult(
                exitCode: -1, stdout: "", stderr: "", timedOut: false, truncated: false,
                launchError: "cannot create capture directory: \(error)", networkIsolated: false)
        }
        defer { try? fm.removeItem(at: captureDir) }
        let outURL = captureDir.appendingPathComponent("stdout")
        let errURL = captureDir.appendingPathComponent("stderr")
        _ = fm.createFile(atPath: outURL.path, contents: nil)
        _ = fm.createFile(atPath: errURL.path, contents: nil)

        // Command line: [timeout -k 1 S] [unshare -rn] sh -c 'ulimit …; exec "$0" "$@"' TOOL ARGS…
        let isolated = limits.isolateNetwork && canIsolateNetwork
        let mountTool = ToolLocator.find("mount", in: systemPath)
        let readOnly = isolated && canMakeFilesystemReadOnly && mountTool != nil
        var script = readOnly ? Self.readOnlyPrelude(mount: mountTool ?? "mount", dir: workDir.path) : ""
        script += "ulimit -f \(max(1, limits.fileSizeKiB * 2)) 2>/dev/null; "  // dash counts 512-byte blocks
        if let mem = limits.memoryKiB { script += "ulimit -v \(mem) || exit 97; " }
        if let cpu = limits.cpuSeconds { script += "ulimit -t \(cpu) 2>/dev/null; " }
        script += "exec \"$0\" \"$@\""
        guard let sh = ToolLocator.find("sh", in: systemPath) else {
            return ToolResult(
                exitCode: -1, stdout: "", stderr: "", timedOut: false, truncated: false,
                launchError: "no sh in \(systemPath)", networkIsolated: false)
        }
        var argv: [String] = [sh, "-c", script, executable] + arguments
        if isolated, let unshare = ToolLocator.find("unshare", in: systemPath) {
            argv = [unshare, readOnly ? "-rnm" : "-rn"] + argv
        }
        let seconds = max(1, Int((Double(limits.timeout.components.seconds)
            + Double(limits.timeout.components.attoseconds) / 1e18).rounded(.up)))
        let timeoutTool = ToolLocator.find("timeout", in: systemPath)
        if let timeoutTool {
            argv = [timeoutTool, "-k", "1", String(seconds)] + argv
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.currentDirectoryURL = workDir
        process.environment = environment(workDir: workDir, extra: extra)
        process.standardInput = FileHandle.nullDevice
        do {
            process.standardOutput = try FileHandle(forWritingTo: outURL)
            process.standardError = try FileHandle(forWritingTo: errURL)
        } catch {
            return ToolResult(
                exitCode: -1, stdout: "", stderr: "", timedOut: false, truncated: false,
                launchError: "cannot open capture files: \(error)", networkIsolated: false)
        }

        let started = ContinuousClock.now
        let watchdog = Mutex<Task<Void, Never>?>(nil)
        let grace = Duration.seconds(seconds) + .seconds(3)
        let (code, signaled, launchError): (Int32, Bool, String?) = await withCheckedContinuation { cont in
            process.terminationHandler = { p in
                cont.resume(returning: (p.terminationStatus, p.terminationReason == .uncaughtSignal, nil))
            }
            do {
                try process.run()
            } catch {
                cont.resume(returning: (-1, false, "cannot start \(argv[0]): \(error)"))
                return
            }
            // Backstop in case `timeout` is missing or does not act: kill the child (and its group).
            let pid = process.processIdentifier
            watchdog.withLock {
                $0 = Task.detached {
                    try? await Task.sleep(for: grace)
                    if Task.isCancelled { return }
                    _ = kill(-pid, SIGKILL)
                    _ = kill(pid, SIGKILL)
                }
            }
        }
        watchdog.withLock { $0?.cancel() }
        let elapsed = ContinuousClock.now - started
        let timedOut =
            launchError == nil && elapsed >= limits.timeout
            && (code == 124 || code == 137 || code == 9 || signaled)
        let (out, outCut) = Self.readBounded(outURL, limits.maxOutputBytes)
        let (err, errCut) = Self.readBounded(errURL, limits.maxOutputBytes)
        return ToolResult(
            exitCode: code, stdout: out, stderr: err, timedOut: timedOut, truncated: outCut || errCut,
            launchError: launchError, networkIsolated: isolated)
    }

    static func readBounded(_ url: URL, _ max: Int) -> (String, Bool) {
        guard let h = try? FileHandle(forReadingFrom: url) else { return ("", false) }
        defer { try? h.close() }
        let data = (try? h.read(upToCount: max + 1)) ?? Data()
        let cut = data.count > max
        return (String(decoding: cut ? data.prefix(max) : data, as: UTF8.self), cut)
    }

    /// What the sandbox can do on this machine.
    public struct SandboxSupport: Sendable, Hashable {
        public var network: Bool
        public var readOnlyFilesystem: Bool
        /// For people: what the tests run under.
        public var detail: String
    }

    /// Probes `unshare -rn` (user + network namespace) and, inside it with a mount namespace, making
    /// the filesystem read-only outside a scratch directory.
    public static func probeSandbox(systemPath: String = "/usr/bin:/bin") async -> SandboxSupport {
        guard let unshare = ToolLocator.find("unshare", in: systemPath) else {
            return SandboxSupport(network: false, readOnlyFilesystem: false, detail: "unshare not installed: tests run with the machine's network and files")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-probe-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let runner = ToolRunner(searchPath: systemPath, systemPath: systemPath)
        let net = await runner.run(unshare, ["-rn", "true"], in: dir, limits: .init(timeout: .seconds(5)))
        guard net.succeeded else {
            let why = net.stderr.split(separator: "\n").first.map(String.init) ?? "exit \(net.exitCode)"
            return SandboxSupport(network: false, readOnlyFilesystem: false, detail: "unshare -rn refused here (\(why)): tests run with the machine's network and files")
        }
        guard let mount = ToolLocator.find("mount", in: systemPath), let touch = ToolLocator.find("touch", in: systemPath) else {
            return SandboxSupport(network: true, readOnlyFilesystem: false, detail: "network cut off with unshare -rn; filesystem not protected (no mount tool)")
        }
        // Inside: the scratch dir must stay writable and its parent must not be.
        let outside = dir.deletingLastPathComponent().appendingPathComponent("ymera-probe-outside-\(UUID().uuidString)").path
        let script = readOnlyPrelude(mount: mount, dir: dir.path)
            + "\(shellQuote(touch)) \(shellQuote(dir.path + "/w")) || exit 1; \(shellQuote(touch)) \(shellQuote(outside)) 2>/dev/null && exit 2; exit 0"
        let fs = await runner.run(unshare, ["-rnm", "/bin/sh", "-c", script], in: dir, limits: .init(timeout: .seconds(5)))
        try? FileManager.default.removeItem(atPath: outside)
        if fs.succeeded {
            return SandboxSupport(network: true, readOnlyFilesystem: true, detail: "network cut off and filesystem read-only outside the temp dir (unshare -rnm)")
        }
        return SandboxSupport(network: true, readOnlyFilesystem: false, detail: "network cut off with unshare -rn; filesystem not protected (read-only remount refused, exit \(fs.exitCode))")
    }
}
