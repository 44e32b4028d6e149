import ArgumentParser
import Foundation
import Synchronization
import YmeraTUI

/// `ymera` with no arguments (or `ymera dashboard`): the terminal dashboard.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Open the terminal dashboard: live pipeline, models, breakers, quality, history.",
        discussion: """
            Keys: ? help, n new task, H history, p pause/resume, r retry phase, m swap model, x cancel,
            b breaker, / filter, : command line, q quit. NO_COLOR=1 or --monochrome for no colours.
            """)

    @Option(name: .long, help: "Theme: default, light, high-contrast, solarized, or a <name>.toml in ./themes or $XDG_CONFIG_HOME/ymera/themes.")
    var theme: String = "default"

    @Flag(name: .long, help: "No colours: states shown with bold, reverse and underline.")
    var monochrome = false

    @Flag(name: .long, help: "Use the scripted demo backend (canned models and runs) instead of the engine.")
    var demo = false

    /// The engine-backed backend, registered by the executable's entry point before parsing.
    static let backend = BackendSlot()

    func run() async throws {
        let backend: any DashboardBackend
        if demo {
            backend = ScriptedBackend()
        } else if let make = Self.backend.factory {
            backend = try await make()
        } else {
            throw ValidationError("no engine backend is registered; `ymera dashboard --demo` opens the scripted demo")
        }
        try await Self.open(backend: backend, theme: theme, monochrome: monochrome)
    }

    /// Opens the dashboard on `backend`; prints a clear message and exits non-zero when there is no
    /// usable terminal (not a TTY, unknown TERM).
    static func open(backend: any DashboardBackend, theme: String = "default", monochrome: Bool = false) async throws {
        let code: Int32
        do {
            code = try await runDashboard(backend: backend, options: DashboardOptions(theme: theme, monochrome: monochrome))
        } catch let e as TerminalError {
            FileHandle.standardError.write(Data("ymera: \(e.description)\n".utf8))
            throw ExitCode(2)
        }
        if code != 0 { throw ExitCode(code) }
    }
}

/// Where the entry point puts the factory of the engine-backed `DashboardBackend`.
final class BackendSlot: Sendable {
    typealias Factory = @Sendable () async throws -> any DashboardBackend
    private let slot = Mutex<Factory?>(nil)
    func register(_ make: @escaping Factory) { slot.withLock { $0 = make } }
    var factory: Factory? { slot.withLock { $0 } }
}
