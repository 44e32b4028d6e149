import ArgumentParser
import Foundation
import YmeraLocal

/// `ymera local install | start | stop | status | bench`: a real small model served on this machine.
struct LocalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local",
        abstract: "Run two real small models on this machine, offline (llama.cpp's server with SmolLM2-135M-Instruct and Gemma 3 270M).",
        discussion: """
            `install` puts the llama.cpp runtime (the xllamacpp wheel) into a virtual environment under YMERA's data directory, and the model files (sha256 checked) beside it. It needs Python 3.10+ with venv, the system library libgomp1, and access to PyPI once. `start` serves each model on its own free 127.0.0.1 port with one thread; runs then use them as the `local` and `local-gemma` providers, at no cost, and spread their phases over the two. `start --install` does both on first use. `--model smollm2` or `--model gemma` picks one.

            Data directory: --data-dir, else $YMERA_HOME, else $XDG_DATA_HOME/ymera, else ~/.local/share/ymera.
            """,
        subcommands: [Install.self, Start.self, Stop.self, Status.self, Bench.self])

    struct Common: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "YMERA's data directory (default: $YMERA_HOME, $XDG_DATA_HOME/ymera or ~/.local/share/ymera).")
        var dataDir: String?

        @Flag(name: .customLong("json"), help: "Print the result as JSON on standard output.")
        var json = false

        @Option(help: "Which local model: smollm2, gemma or all (default: all).")
        var model: String = "all"

        func validate() throws {
            guard model == "all" || LocalModelSpec.named(model) != nil else {
                throw ValidationError("unknown --model '\(model)': use smollm2, gemma or all")
            }
        }

        /// The chosen models' runtimes, in install order.
        var runtimes: [LocalRuntime] {
            let specs = model == "all" ? LocalModelSpec.all : LocalModelSpec.named(model).map { [$0] } ?? []
            return specs.map { LocalRuntime(dataDirectory: dataDir, spec: $0) }
        }

        var runtime: LocalRuntime { runtimes.first ?? LocalRuntime(dataDirectory: dataDir) }
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install the llama.cpp runtime and the model (about 350 MB from PyPI for both models); safe to run again.")

        @OptionGroup var common: Common

        func run() async throws {
            let quiet = common.json
            var reports: [InstallReport] = []
            for runtime in common.runtimes {
                if !quiet { LocalCommand.err("== \(runtime.spec.displayName)") }
                reports.append(try await LocalCommand.reporting {
                    try await runtime.install { LocalCommand.showProgress($0, quiet: quiet) }
                })
            }
            if common.json {
                try LocalCommand.printJSON(reports)
                return
            }
            for (runtime, report) in zip(common.runtimes, reports) {
                var parts = ["total \(LocalCommand.seconds(report.totalSeconds))"]
                if let s = report.runtimeInstallSeconds { parts.append("runtime \(LocalCommand.seconds(s))") }
                if let s = report.modelDownloadSeconds { parts.append("model download \(LocalCommand.seconds(s))") }
                print(
                    "\(runtime.spec.modelID):", report.alreadyInstalled ? "already installed" : "installed",
                    "(\(parts.joined(separator: ", "))).")
                print("  Model:   \(report.modelPath)")
            }
            print("Runtime: xllamacpp \(reports.last?.runtimeVersion ?? "?") in \(common.runtime.layout.venv)")
            print("Next:    ymera local start")
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start the local model server on a free 127.0.0.1 port and wait until it is healthy.")

        @OptionGroup var common: Common

        @Option(help: "CPU threads (1 is fastest on a busy 2-core machine).")
        var threads: Int = 1

        @Option(help: "Context size in tokens, 256…8192 (default: the model's full 8192, as the catalog says; less saves memory).")
        var ctx: Int = 8192

        @Option(help: "Seconds to wait for the server to become healthy.")
        var timeout: Int = 60

        @Flag(help: "Install the runtime and model first when they are missing (first use).")
        var install = false

        func validate() throws {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
            guard (256...8192).contains(ctx) else { throw ValidationError("--ctx must be between 256 and 8192") }
            guard (1...600).contains(timeout) else { throw ValidationError("--timeout must be 1…600 seconds") }
        }

        func run() async throws {
            let options = LocalServerOptions(threads: threads, contextSize: ctx, startTimeout: .seconds(timeout))
            let quiet = common.json
            var states: [LocalServerState] = []
            for runtime in common.runtimes {
                let result = try await LocalCommand.reporting {
                    install
                        ? try await runtime.ensureServing(options: options) { LocalCommand.showProgress($0, quiet: quiet) }
                        : try await runtime.start(options: options)
                }
                let s = result.state
                states.append(s)
                if common.json { continue }
                if result.alreadyRunning {
                    print("Already running: \(s.modelID) at \(s.baseURL) (pid \(s.pid), started \(s.startedAt)).")
                } else {
                    let took = s.startupSeconds.map { " in \(LocalCommand.seconds($0))" } ?? ""
                    print("Started \(s.modelID) at \(s.baseURL) (pid \(s.pid), \(s.threads) thread(s), context \(s.contextSize))\(took).")
                }
            }
            if common.json {
                try LocalCommand.printJSON(states)
                return
            }
            print("Stop with: ymera local stop")
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop the local model server (SIGTERM, then SIGKILL after a bounded wait).")

        @OptionGroup var common: Common

        @Option(help: "Seconds to wait after SIGTERM before SIGKILL.")
        var timeout: Int = 10

        func run() async throws {
            let wait = max(1, min(timeout, 120))
            var results: [StopResult] = []
            for runtime in common.runtimes {
                let result = try await LocalCommand.reporting { try await runtime.stop(timeout: .seconds(wait)) }
                results.append(result)
                if common.json { continue }
                if result.wasRunning, let pid = result.pid {
                    print("Stopped \(runtime.spec.modelID) (pid \(pid)) in \(LocalCommand.seconds(result.seconds))\(result.forced ? ", forced" : "").")
                } else {
                    print("\(runtime.spec.modelID): not running.")
                }
                for note in result.notes where note != "not running" { print("  note: \(note)") }
            }
            if common.json { try LocalCommand.printJSON(results) }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show whether the local model is installed and running, its address, memory and speed.")

        @OptionGroup var common: Common

        func run() async throws {
            var all: [LocalStatus] = []
            for runtime in common.runtimes { all.append(await runtime.status()) }
            if common.json {
                try LocalCommand.printJSON(all)
                return
            }
            for (i, s) in all.enumerated() {
                if i > 0 { print("") }
                show(s)
            }
        }

        func show(_ s: LocalStatus) {
            print("Local model  \(s.model)  [LOCAL MODEL — llama.cpp, free]")
            print("Data         \(s.dataDirectory)")
            if s.installed {
                let size = s.modelBytes.map { " (\(LocalCommand.bytes($0)))" } ?? ""
                print("Installed    yes — xllamacpp \(s.runtimeVersion ?? "?"), \(s.modelFile ?? "")\(size)")
            } else {
                print("Installed    no — missing \(s.missing.joined(separator: ", ")); run `ymera local install`")
            }
            switch s.state {
            case .stopped:
                print("Server       stopped")
            case .running, .unhealthy:
                let health = s.state == .running ? "running" : "UNHEALTHY"
                print("Server       \(health) at \(s.baseURL ?? "?") — pid \(s.pid.map(String.init) ?? "?")")
                if let up = s.uptimeSeconds { print("Uptime       \(LocalCommand.seconds(up))") }
                if let t = s.threads, let c = s.contextSize { print("Settings     \(t) thread(s), context \(c) tokens") }
                if let rss = s.residentBytes { print("Memory       \(LocalCommand.bytes(rss)) resident") }
                if let n = s.serverTokensGenerated, n > 0 {
                    let speed = s.serverTokensPerSecond.map { String(format: ", %.1f tokens/s", $0) } ?? ""
                    print("Generated    \(n) tokens since start\(speed)")
                }
            }
            if let run = s.lastRun, let tps = run.tokensPerSecond {
                print(String(format: "Last run     %.1f tokens/s (%d tokens, %@, %@)", tps, run.outputTokens, run.source,
                             ISO8601DateFormatter().string(from: run.finishedAt)))
            }
            for note in s.notes { print("Note         \(TerminalText.sanitize(note))") }
        }
    }

    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send one real request to the running local server and report its speed.")

        @OptionGroup var common: Common

        @Option(help: "Tokens to generate.")
        var maxTokens: Int = 128

        func run() async throws {
            let runtime = common.runtime
            let tokens = max(1, min(maxTokens, 2048))
            let r = try await LocalCommand.reporting { try await runtime.bench(maxTokens: tokens) }
            if common.json {
                try LocalCommand.printJSON(r)
                return
            }
            print(TerminalText.sanitize(r.text))
            print(String(
                format: "\n%d prompt tokens in %.2f s; %d tokens generated in %.2f s: %.1f tokens/s (wall %.2f s)",
                r.promptTokens, r.promptSeconds, r.outputTokens, r.generationSeconds, r.tokensPerSecond ?? 0,
                r.wallSeconds))
        }
    }

    // MARK: - Output helpers

    /// Install progress on standard error; pip's own lines too unless `quiet`.
    @Sendable static func showProgress(_ event: LocalProgress, quiet: Bool) {
        switch event {
        case .stepStarted(let i, let n, let title):
            err("[\(i)/\(n)] \(title) …")
        case .stepFinished(_, _, _, let seconds, let skipped, let detail):
            let what = skipped ? "already done" : "done"
            let extra = detail.map { " — " + TerminalText.sanitize($0) } ?? ""
            err("      \(what) in \(LocalCommand.seconds(seconds))\(extra)")
        case .output(let line):
            let clean = TerminalText.sanitize(line).trimmingCharacters(in: .whitespaces)
            if !quiet, !clean.isEmpty { err("      | " + String(clean.prefix(160))) }
        }
    }

    /// Runs `body`; a `LocalRuntimeError` is printed with what to do, and the command exits 1.
    static func reporting<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as LocalRuntimeError {
            err("error: " + error.description)
            throw ExitCode(1)
        }
    }

    static func err(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase  // like every other `--json` of the CLI
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    static func seconds(_ s: Double) -> String {
        s < 10 ? String(format: "%.2f s", s) : s < 120 ? String(format: "%.1f s", s) : String(format: "%d min %d s", Int(s) / 60, Int(s) % 60)
    }

    static func bytes(_ n: Int) -> String {
        n >= 1 << 20 ? String(format: "%.1f MB", Double(n) / 1_048_576) : String(format: "%.1f kB", Double(n) / 1024)
    }
}
