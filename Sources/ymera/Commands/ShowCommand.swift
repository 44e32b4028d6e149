import ArgumentParser
import Foundation
import YmeraCore
import YmeraStore

/// `ymera show RUN`: one past run — its phases, models, scores, costs and final output.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a past run: phases, models, scores, costs and output.")

    @OptionGroup var data: DataDirOption

    @Argument(help: "Run id or a unique prefix of it.")
    var run: String

    @Flag(help: "Print the run as JSON (record, summary, steps, attempts).")
    var json = false

    @Flag(help: "Print the run as a Markdown report.")
    var markdown = false

    func validate() throws {
        if json && markdown { throw ValidationError("choose one of --json and --markdown") }
    }

    struct ShowJSON: Encodable {
        var run: RunRecord
        var summary: RunSummary
        var steps: [StepRecord]
        var attempts: [AttemptRecord]
        var finalOutput: String
    }

    func run() async throws {
        let journal = try data.openJournal()
        let id = try JournalCLI.resolve(journal, run)
        guard let record = try journal.run(id), let state = try journal.state(id) else {
            throw CLIError.input("no run \(id)")
        }
        if json {
            try JournalCLI.printJSON(
                ShowJSON(run: record, summary: state.summary, steps: try journal.steps(id), attempts: try journal.attempts(id),
                         finalOutput: state.finalOutput))
            return
        }
        if markdown {
            print(try journal.export(id, format: .markdown), terminator: "")
            return
        }
        let s = state.summary
        var out = "run      \(record.id)\n"
        out += "task     \(TerminalSanitizer.cell(record.task, limit: 200))\n"
        out += "status   \(s.status.rawValue)\(s.reason.map { " (\(TerminalSanitizer.cell($0, limit: 120)))" } ?? "")\n"
        if let plan = state.plan {
            out += "type     \(plan.intent.taskType.rawValue), complexity \(String(format: "%.2f", plan.intent.complexity))\n"
            out += "strategy \(plan.strategy.displayName) · serving \(plan.serving.badge)\n"
        }
        out += "started  \(JournalCLI.localTime(record.startedAt)) · \(JournalCLI.seconds(s.durationMs))\n"
        if let f = s.forkOf {
            out += "fork of  \(f.run) from \(f.from); reused from \(f.run): \(f.reused.isEmpty ? "nothing" : f.reused.joined(separator: ", ")) (no call, $0)\n"
        }
        if let forks = record.forks { out += "forks    \(forks.joined(separator: ", "))\n" }
        if let below = s.belowThreshold, s.status == .completedBelowThreshold {
            out += "quality  below the threshold: " + below.map {
                "\(TerminalSanitizer.cell($0.step, limit: 24)) \(JournalCLI.score($0.score)) < \(JournalCLI.score($0.threshold))"
            }.joined(separator: ", ") + "\n"
        }
        out += "score    \(JournalCLI.score(s.score)) · tokens \(s.tokens)\(s.tokensEstimated ? " (estimated)" : "") · cost \(s.cost)\n"
        out += "retries \(s.retries) · fallbacks \(s.fallbacks) · breaker trips \(s.breakerTrips) · swaps \(s.swaps) · refinements \(s.refinements)"
        if let calls = s.toolCalls { out += " · tool calls \(calls)" + ((s.toolFailures ?? 0) > 0 ? " (\(s.toolFailures!) failed)" : "") }
        out += "\n\n"
        let rows = s.phases.map { p in
            [
                TerminalSanitizer.cell(p.name, limit: 24), p.phase.rawValue, TerminalSanitizer.cell(p.model.rawValue, limit: 40) + (p.editedBy.map { " (edited by \($0))" } ?? ""),
                String(p.attempts), p.reusedFrom.map { "reused from \($0)" } ?? p.status.rawValue, JournalCLI.score(p.score), String(p.tokens), p.cost.display,
                p.durationMs.map(JournalCLI.seconds) ?? "—",
            ]
        }
        out += JournalCLI.table(["STEP", "PHASE", "MODEL", "TRIES", "STATUS", "SCORE", "TOKENS", "COST", "TIME"], rows) + "\n"
        let final = state.finalOutput
        if !final.isEmpty {
            out += "\n── output ──\n" + TerminalSanitizer.sanitize(final)
            if !final.hasSuffix("\n") { out += "\n" }
        }
        for g in state.gates {
            out += "\nWaiting at the gate of \(g.step): ymera approve \(record.id) [--edit FILE] · ymera rerun \(record.id) [--note TEXT] [--model M] · ymera reject \(record.id)\n"
        }
        if state.status == .interrupted {
            out += "\nThis run was cut off. Continue it with: ymera resume \(record.id)\n"
        }
        print(out, terminator: "")
    }
}
