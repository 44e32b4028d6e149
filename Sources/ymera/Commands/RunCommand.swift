import ArgumentParser
import Dispatch
import Foundation
import YmeraConfig
import YmeraCore
import YmeraStore

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Analyse, plan and run a task; show progress; end with a summary.",
        discussion: """
            With --json, prints one JSON object per line per event; the last line is the summary
            (status, phases, retries, fallbacks, breaker_trips, tokens, cost_usd, duration_ms).
            Exit status: 0 when the run succeeds (every scored phase passed its quality gate), 1 when
            it fails or is cancelled, 2 for bad input, 3 when the plan is refused (over budget, nothing
            can serve), 4 when it completed below the quality threshold (status
            completed_below_threshold; the summary names the phases, their scores and the threshold).
            """)

    @OptionGroup var planning: PlanningOptions
    @OptionGroup var gates: GateOptions
    @OptionGroup var common: CommonOptions

    @Flag(help: "One JSON object per line per event; the last line is the summary.")
    var json = false

    @Flag(help: "Pace simulated runs in real time (default: simulated time, instant and deterministic).")
    var realtime = false

    @Option(help: ArgumentHelp("real (toolchains, analyzers, tests, judge) or heuristic (text checks only).", valueName: "KIND"))
    var validator: String = "real"

    @Option(name: .customLong("sim-pace"), help: ArgumentHelp("With --realtime, slow simulated models down by this factor (1 = their usual speed).", valueName: "X"))
    var simPace: Double = 1

    func validate() throws {
        if !(0.01...100).contains(simPace) { throw ValidationError("--sim-pace must be between 0.01 and 100 (got \(simPace))") }
    }

    func run() async throws {
        try await withCLIErrors { try await execute() }
    }

    func execute() async throws {
        let context: AppContext
        do { context = try AppContext.make(common) } catch { throw CLIError.config("\(error)") }
        let journal: Journal
        do { journal = try Journal.open(directory: context.dataDirectory) } catch { throw CLIError.config("journal: \(error)") }
        var prepared: PreparedRun
        do {
            prepared = try await RunSetup.prepare(planning, context: context, history: journal)
        } catch let e as PlanError {
            throw CLIError.refused(e.message)
        }
        do { prepared.plan.gates = try gates.policy(defaults: context.loaded.defaults) } catch { throw CLIError.input("--gate: \(error)") }
        if planning.simulateFaults > 0 && prepared.plan.serving != .simulated {
            Output.err("warning: --simulate-faults only affects simulated models; this run is served by \(prepared.plan.serving.badge)")
        }
        if !json {
            Output.err(RunSetup.describe(prepared, catalog: context.catalog))
            if let line = GateOptions.describe(prepared.plan.gates) { Output.err(line) }
        }

        let workspace = StoreRunWorkspace(dataDirectory: context.dataDirectory)
        let host = RunHost(context: context, journal: journal)
        let engine = try host.engine(
            serving: prepared.plan.serving, realtime: realtime, available: prepared.available, validator: validator,
            faults: planning.simulateFaults, workspace: workspace, timeScale: simPace)
        let run: HostedRun
        do { run = try host.start(prepared.plan, engine: engine) } catch { throw CLIError.owned(error.description) }
        let handle = run.handle
        let interrupt = SignalWatcher { handle.cancel(reason: "interrupted (SIGINT)") }
        defer { interrupt.stop() }

        let progress = Progress()
        var notFound: [ModelID] = []
        for await event in handle.events {
            if case .attemptFailed(let p) = event.kind, p.errorClass == .modelNotFound { notFound.append(p.model) }
            if json {
                Output.jsonLine(event)
            } else {
                progress.show(event, state: handle.state)
            }
        }
        let final = await handle.finalState()
        if let error = await run.finish() { Output.err("warning: the journal could not record the end of the run: \(error)") }
        host.stop()
        ModelsCommand.rememberNotFound(notFound, context: context)
        let summary = final.summary
        if json {
            Output.jsonLine(summary)
        } else {
            let output = final.finalOutput
            if !output.isEmpty { Output.out(Output.clean(output)) }
            Output.err(Progress.table(summary))
            if let line = workspace.summaryLine(final) { Output.err(Output.clean(line)) }
        }
        try RunExit.check(final.status)
    }
}

/// The exit status of a finished run: 0 succeeded, 4 completed below the quality threshold, 1 otherwise.
enum RunExit {
    static let belowThreshold: Int32 = 4
    static func code(_ status: RunStatus) -> Int32 {
        switch status {
        case .succeeded: 0
        case .completedBelowThreshold: belowThreshold
        default: 1
        }
    }
    static func check(_ status: RunStatus) throws {
        let c = code(status)
        if c != 0 { throw ExitCode(c) }
    }
}

/// Human-readable progress lines on standard error.
struct Progress {
    func show(_ e: RunEvent, state: RunState) {
        let t = Output.ms(e.elapsedMs)
        func line(_ s: String) { Output.err("\(Output.pad(t, 7)) \(Output.clean(s))") }
        switch e.kind {
        case .stepStarted(let p):
            line("▶ \(p.step) on \(p.model)" + (p.attempt > 1 ? " (attempt \(p.attempt), \(p.purpose.rawValue))" : "")
                + (p.purpose == .continuation ? " — the answer hit the output limit; asking it to go on" : ""))
        case .attemptFailed(let p):
            line("✗ \(p.step) on \(p.model): \(p.errorClass.rawValue) — \(p.message)")
        case .retryScheduled(let p):
            line("↻ \(p.step): retry on \(p.model) in \(Output.ms(p.delayMs)) (\(p.basis))")
        case .fallbackTaken(let p):
            line("↪ \(p.step): \(p.from) → \(p.to) (\(p.reason.rawValue))" + (p.mode == .continue ? ", continuing at char \(p.spliceAt ?? 0)" : ""))
        case .breakerChanged(let p):
            line("⚡ breaker \(p.model): \(p.from.rawValue) → \(p.to.rawValue) (\(p.reason))")
        case .throttled(let p):
            line("⏳ \(p.step): waiting \(Output.ms(p.waitMs)) (\(p.reason))")
        case .subtasksPlanned(let p):
            line("⑂ \(p.step): \(p.subtasks.count) subtasks — " + p.subtasks.map { "\($0.id) \($0.title)" + ($0.dependsOn.isEmpty ? "" : " ←\($0.dependsOn.joined(separator: ","))") }.joined(separator: "; "))
        case .qualityScored(let p):
            line("★ \(p.step): score \(String(format: "%.2f", p.report.score))" + (p.report.passed ? "" : " (below \(p.report.threshold))"))
        case .candidateChosen(let p):
            line("◆ \(p.step): kept \(p.chosen)")
        case .filesWritten(let p):
            if !p.files.isEmpty {
                line("✎ \(p.step): wrote " + p.files.prefix(8).map { "\($0.path) v\($0.version)" }.joined(separator: ", ") + (p.files.count > 8 ? ", …" : ""))
            }
            for r in p.refused { line("✗ \(p.step): refused file \"\(r.name.prefix(120))\": \(r.reason)") }
            if let e = p.error { line("✗ \(p.step): workspace error: \(e)") }
        case .toolCalled(let p):
            line("⚙ \(p.step): \(p.model) calls \(p.tool)(\(p.arguments.prefix(80)))")
        case .toolReturned(let p):
            line("⚙ \(p.step): \(p.tool) \(p.isError ? "reported an error" : "returned") \(p.content.count) chars in \(Output.ms(p.durationMs))"
                + (p.originalChars > p.content.count ? " (cut from \(p.originalChars))" : ""))
        case .toolFailed(let p):
            line("✗ \(p.step): tool \(p.tool) failed (\(p.failure.rawValue)): \(p.message.prefix(200))")
        case .stepDone(let p):
            let s = state.steps[p.step]
            let kids = (s?.children ?? []).compactMap { state.steps[$0] }
            let tokens = (s?.usage.totalTokens ?? 0) + kids.reduce(0) { $0 + $1.usage.totalTokens }
            let cost = kids.reduce(s?.cost ?? .zero) { $0 + $1.cost }
            line("✓ \(p.step) on \(p.model)  \(Output.ms(s?.durationMs))  \(tokens) tok  \(cost.display)"
                + (p.finishReason == .length ? "  TRUNCATED (stopped at the output-token limit)" : ""))
        case .stepFailed(let p):
            line("✗ \(p.step) failed: \(p.reason)")
        case .stepSkipped(let p):
            line("– \(p.step) skipped: \(p.reason)")
        case .paused: line("‖ paused")
        case .resumed: line("▶ resumed")
        case .modelSwapped(let p): line("⇄ \(p.step): \(p.from) → \(p.to)")
        case .commandRefused(let p): line("⊘ \(p.command) refused: \(p.reason)")
        case .stepReused(let p) where !p.step.contains("/") && !p.step.contains("#"):
            line("↺ \(p.step) reused from \(p.fromRun) (\(p.model), \(p.output.count) chars, no call, $0)")
        case .awaitingApproval(let p):
            let limit = p.timeoutMs.map { " — \(Output.ms($0)) to decide, then \(p.onTimeout?.rawValue ?? "fail")" } ?? ""
            line("⏸ \(p.step) waits at its gate: \(p.outputChars) chars on \(p.model)" + (p.score.map { String(format: ", score %.2f", $0) } ?? "") + limit)
            Output.err("        decide from any terminal: ymera approve \(e.runID) [--edit FILE] | ymera rerun \(e.runID) [--note TEXT] [--model M] | ymera reject \(e.runID) [--reason TEXT]")
        case .gateApproved(let p):
            line("✓ \(p.step) approved by \(p.by)" + (p.editedOutput.map { " (edited: \($0.count) chars kept)" } ?? ""))
        case .stepReset(let p) where p.note != nil || p.model != nil:
            line("↻ \(p.step) runs again" + (p.model.map { " on \($0)" } ?? "") + (p.note.map { " with the note: \($0.prefix(120))" } ?? ""))
        case .runFinished(let p): line("● run succeeded" + (p.reason.map { " (\($0))" } ?? ""))
        case .runFailed(let p): line("● run failed: \(p.reason ?? "")")
        case .runCancelled(let p): line("● run cancelled: \(p.reason ?? "")")
        default: break
        }
    }

    static func table(_ s: RunSummary) -> String {
        var out = "\n\(s.status.rawValue.uppercased())  run \(s.runID)  [\(s.serving?.badge ?? "")]\n"
        if let f = s.forkOf { out += "  fork of \(f.run) from \(f.from)\n" }
        out += "  \(Output.pad("phase", 12)) \(Output.pad("model", 34)) \(Output.pad("status", 8)) att  score  tokens  cost\n"
        for p in s.phases {
            out += "  \(Output.pad(p.name, 12)) \(Output.pad(p.model.rawValue, 34)) \(Output.pad(p.status.rawValue, 8)) \(Output.pad(String(p.attempts), 4)) \(Output.pad(p.score.map { String(format: "%.2f", $0) } ?? "-", 6)) \(Output.pad(String(p.tokens), 7)) \(p.cost.display)\(p.truncated == true ? "  TRUNCATED" : "")\(p.reusedFrom.map { "  reused from \($0)" } ?? "")\n"
        }
        out += "  retries \(s.retries), fallbacks \(s.fallbacks), breaker trips \(s.breakerTrips), refinements \(s.refinements)"
        if let calls = s.toolCalls { out += ", tool calls \(calls)" + ((s.toolFailures ?? 0) > 0 ? " (\(s.toolFailures!) failed)" : "") }
        out += "\n"
        out += "  tokens \(s.tokens)\(s.tokensEstimated ? " (some estimated)" : ""), cost \(s.cost), \(Output.ms(s.durationMs))"
        if let score = s.score { out += ", score \(String(format: "%.2f", score))" }
        if let r = s.reason, s.status != .succeeded { out += "\n  reason: \(r)" }
        if s.status == .completedBelowThreshold {
            out += "\n  quality: below the threshold — " + (s.belowThreshold ?? []).map {
                String(format: "%@ %.2f < %.2f", $0.step, $0.score, $0.threshold)
            }.joined(separator: ", ")
        }
        return out
    }
}

/// Calls `handler` on SIGINT (once), for a graceful cancel.
final class SignalWatcher {
    private let source: any DispatchSourceSignal
    init(_ handler: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
    }
    func stop() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}

/// Errors that end a command with a clear message and a specific exit status.
enum CLIError: Error, CustomStringConvertible {
    case config(String)
    case refused(String)
    case input(String)
    /// The run belongs to another live process, or cannot be driven from here.
    case owned(String)
    /// The owner of a run refused a command (the reason is in the text).
    case refusedCommand(String)

    var description: String {
        switch self {
        case .config(let s): "configuration error: \(s)"
        case .refused(let s): "plan refused: \(s)"
        case .input(let s), .owned(let s), .refusedCommand(let s): s
        }
    }
}

extension CLIError {
    var exitCode: Int32 {
        switch self {
        case .config, .input, .owned, .refusedCommand: 2
        case .refused: 3
        }
    }
}

/// Runs a command body; a `CLIError` becomes one clear `error:` line on stderr and its exit status.
func withCLIErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let e as CLIError {
        Output.err("error: \(Output.clean(e.description))")
        throw ExitCode(e.exitCode)
    }
}
