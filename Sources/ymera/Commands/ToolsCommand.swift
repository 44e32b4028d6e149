import ArgumentParser
import Foundation
import YmeraLocal
import YmeraQuality

/// `ymera tools install | status`: the quality validator's analyzers (Bandit, Ruff, radon, pytest,
/// coverage) in YMERA's own virtual environment, as `ymera local install` does for the model runtime.
struct ToolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools",
        abstract: "Install the quality analyzers (Bandit, Ruff, radon, pytest, coverage) into YMERA's own environment.",
        discussion: """
            `install` creates a virtual environment under YMERA's data directory (<data>/tools/venv) and installs \
            \(AnalyzerTools.packages.joined(separator: ", ")) into it from PyPI; the validator looks there first, then on PATH. \
            It needs Python 3.10+ with venv and access to PyPI once; safe to run again. `status` lists each analyzer and where \
            it was found (as `ymera doctor` does).

            Data directory: --data-dir, else $YMERA_HOME, else $XDG_DATA_HOME/ymera, else ~/.local/share/ymera.
            """,
        subcommands: [Install.self, Status.self])

    struct Common: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "YMERA's data directory (default: $YMERA_HOME, $XDG_DATA_HOME/ymera or ~/.local/share/ymera).")
        var dataDir: String?

        var dataDirectory: String { YmeraDataDirectory.resolve(option: dataDir) }
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create <data>/tools/venv and install the analyzers into it.")

        @OptionGroup var common: Common

        func run() async throws {
            let data = common.dataDirectory
            let env = ProcessInfo.processInfo.environment
            let venv = AnalyzerTools.venv(dataDirectory: data)
            let python = AnalyzerTools.venvPython(dataDirectory: data)
            do {
                try FileManager.default.createDirectory(atPath: AnalyzerTools.root(dataDirectory: data), withIntermediateDirectories: true)
            } catch {
                throw CLIError.config("cannot create \(AnalyzerTools.root(dataDirectory: data)): \(error.localizedDescription)")
            }
            if ToolsCommand.exec(python, ["-m", "pip", "--version"], quiet: true) != 0 {
                guard let system = ToolsCommand.systemPython(env) else {
                    Output.err("error: no python3 (3.10 or newer) with the venv module on PATH")
                    Output.err("fix: install it (Debian/Ubuntu: sudo apt-get install python3 python3-venv) or set YMERA_PYTHON")
                    throw ExitCode(2)
                }
                Output.err("[1/3] Creating \(venv) with \(system)")
                guard ToolsCommand.exec(system, ["-m", "venv", "--clear", venv]) == 0 else {
                    Output.err("error: creating the virtual environment \(venv) failed")
                    Output.err("fix: install the venv module (Debian/Ubuntu: sudo apt-get install python3-venv), then run `ymera tools install` again")
                    throw ExitCode(1)
                }
            } else {
                Output.err("[1/3] \(venv) exists")
            }
            Output.err("[2/3] Installing \(AnalyzerTools.packages.joined(separator: " ")) from PyPI")
            let pip = ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off", "--timeout", "60",
                       "--retries", "3", "--upgrade"] + AnalyzerTools.packages
            guard ToolsCommand.exec(python, pip) == 0 else {
                Output.err("error: pip could not install the analyzers")
                Output.err("fix: check access to PyPI (behind a proxy set HTTPS_PROXY or PIP_INDEX_URL), then run `ymera tools install` again")
                throw ExitCode(1)
            }
            Output.err("[3/3] Checking each analyzer runs")
            var failed: [String] = []
            let bin = AnalyzerTools.bin(dataDirectory: data)
            for tool in AnalyzerTools.packages {
                let code = ToolsCommand.exec((bin as NSString).appendingPathComponent(tool), ["--version"], quiet: true)
                if code != 0 { failed.append(tool) }
            }
            print(AnalyzerTools.render(AnalyzerTools.locate(dataDirectory: data), dataDirectory: data))
            if !failed.isEmpty {
                Output.err("error: installed but not runnable: \(failed.joined(separator: ", "))")
                throw ExitCode(1)
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List each analyzer and where it was found.")

        @OptionGroup var common: Common

        func run() throws {
            let data = common.dataDirectory
            print(AnalyzerTools.render(AnalyzerTools.locate(dataDirectory: data), dataDirectory: data))
        }
    }

    /// `$YMERA_PYTHON`, else the first python3 on PATH of 3.10 or newer with venv.
    static func systemPython(_ env: [String: String]) -> String? {
        var candidates: [String] = []
        if let p = env["YMERA_PYTHON"], !p.isEmpty { candidates.append(p) }
        for dir in (env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            for name in ["python3", "python3.13", "python3.12", "python3.11", "python3.10"] { candidates.append("\(dir)/\(name)") }
        }
        return candidates.first { p in
            FileManager.default.isExecutableFile(atPath: p)
                && exec(p, ["-c", "import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)"], quiet: true) == 0
        }
    }

    /// Runs a command to completion (its output on standard error unless quiet); its exit status, or -1.
    static func exec(_ path: String, _ args: [String], quiet: Bool = false) -> Int32 {
        guard FileManager.default.isExecutableFile(atPath: path) else { return -1 }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = quiet ? FileHandle.nullDevice : FileHandle.standardError
        p.standardError = quiet ? FileHandle.nullDevice : FileHandle.standardError
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
