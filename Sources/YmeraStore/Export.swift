import Foundation
import YmeraCore

/// Export formats.
public enum ExportFormat: String, Sendable, CaseIterable, Codable {
    case json, markdown
}

/// The JSON export of a run: plan, every event, and the summary.
public struct RunExport: Codable, Sendable {
    public var format: String = "ymera-run-export"
    public var version: Int = 1
    public var run: RunRecord
    public var plan: RunPlan?
    public var events: [RunEvent]
    public var summary: RunSummary
}

extension Journal {
    /// The run as JSON (plan, events, summary) or as a Markdown report.
    public func export(_ runID: String, format: ExportFormat) throws -> String {
        guard let record = try run(runID), let state = try state(runID) else { throw JournalError.runNotFound(runID) }
        switch format {
        case .json:
            let export = RunExport(run: record, plan: state.plan, events: try events(runID), summary: state.summary)
            return String(decoding: try Self.exportEncoder(pretty: true).encode(export), as: UTF8.self) + "\n"
        case .markdown:
            return MarkdownReport.render(record: record, state: state, attempts: try attempts(runID))
        }
    }
}

extension Journal {
    /// The JSON conventions of the command line (`ymera run --json`): snake_case keys, sorted, ISO 8601 dates.
    public static func exportEncoder(pretty: Bool) -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }
}

/// A readable report of a run: phases, models, scores, costs and outputs.
public enum MarkdownReport {
    public static func render(record: RunRecord, state: RunState, attempts: [AttemptRecord]) -> String {
        let s = state.summary
        var md = "# Run \(record.id)\n\n"
        md += "> " + inline(record.task.isEmpty ? "(no task)" : record.task).replacingOccurrences(of: "\n", with: "\n> ") + "\n\n"
        md += "| | |\n|---|---|\n"
        md += "| Status | \(s.status.rawValue)\(s.reason.map { " — " + inline($0) } ?? "") |\n"
        if let plan = state.plan {
            md += "| Task type | \(plan.intent.taskType.rawValue) (complexity \(fmt(plan.intent.complexity))) |\n"
            md += "| Strategy | \(plan.strategy.displayName) |\n"
            md += "| Serving | \(plan.serving.badge) |\n"
        }
        md += "| Started | \(iso(record.startedAt)) |\n"
        md += "| Duration | \(seconds(s.durationMs)) |\n"
        md += "| Score | \(s.score.map(fmt) ?? "—") |\n"
        md += "| Tokens | \(s.tokens) (in \(s.inputTokens), out \(s.outputTokens)\(s.tokensEstimated ? ", estimated" : "")) |\n"
        md += "| Cost | \(s.cost)\(s.costComplete ? "" : " (some models unpriced)") |\n"
        md += "| Retries / fallbacks / breaker trips / swaps / refinements | \(s.retries) / \(s.fallbacks) / \(s.breakerTrips) / \(s.swaps) / \(s.refinements) |\n\n"

        md += "## Phases\n\n"
        md += "| Step | Phase | Model | Attempts | Status | Score | Tokens | Cost | Duration |\n"
        md += "|---|---|---|---|---|---|---|---|---|\n"
        for p in s.phases {
            md += "| \(cell(p.name)) | \(p.phase.rawValue) | \(cell(p.model.rawValue)) | \(p.attempts) | \(p.status.rawValue) | "
            md += "\(p.score.map(fmt) ?? "—") | \(p.tokens) | \(p.cost.display) | \(p.durationMs.map(seconds) ?? "—") |\n"
        }
        md += "\n"

        let failed = attempts.filter { $0.status == .failed }
        if !failed.isEmpty {
            md += "## Failed attempts\n\n"
            for a in failed {
                md += "- `\(cell(a.stepID))` attempt \(a.number) on `\(cell(a.model.rawValue))`: "
                md += "\(a.errorClass?.rawValue ?? "error")\(a.httpStatus.map { " (HTTP \($0))" } ?? "")"
                md += a.message.map { " — " + inline($0) } ?? ""
                md += "\n"
            }
            md += "\n"
        }

        md += "## Outputs\n\n"
        for step in state.steps.values where step.parent == nil || !step.output.isEmpty {
            let depth = step.parent == nil ? "###" : "####"
            md += "\(depth) \(inline(step.id)) — \(inline(step.title)) (\(step.status.rawValue), \(inline(step.model.rawValue)))\n\n"
            if let by = step.editedBy { md += "Output edited by \(inline(by)) at the gate (the model's answer was replaced).\n\n" }
            for n in step.notes { md += "Note from the reviewer: \(inline(n))\n\n" }
            if let q = step.quality {
                md += "Score \(fmt(q.score)) (threshold \(fmt(q.threshold)), \(inline(q.validator)))"
                let dims = q.dimensions.map { "\(inline($0.name)) \($0.score.map(fmt) ?? "not checked")" }
                if !dims.isEmpty { md += ": " + dims.joined(separator: ", ") }
                md += "\n\n"
            }
            if step.output.isEmpty {
                md += "_no output_\n\n"
            } else {
                md += fenced(step.output) + "\n\n"
            }
        }
        let final = state.finalOutput
        if !final.isEmpty {
            md += "## Final output\n\n" + fenced(final) + "\n"
        }
        return md
    }

    /// A fenced block whose fence is longer than any backtick run inside, so output cannot close it.
    static func fenced(_ text: String) -> String {
        var longest = 0
        var run = 0
        for ch in text {
            if ch == "`" {
                run += 1
                longest = max(longest, run)
            } else {
                run = 0
            }
        }
        let fence = String(repeating: "`", count: max(3, longest + 1))
        let body = TerminalSanitizer.sanitize(text)
        return fence + "\n" + body + (body.hasSuffix("\n") ? "" : "\n") + fence
    }

    static func inline(_ s: String) -> String { TerminalSanitizer.sanitize(s, keepNewlines: true) }
    static func cell(_ s: String) -> String {
        TerminalSanitizer.cell(s, limit: 200).replacingOccurrences(of: "|", with: "\\|")
    }
    static func fmt(_ x: Double) -> String { String(format: "%.2f", x) }
    static func seconds(_ ms: Int) -> String { String(format: "%.1f s", Double(ms) / 1000) }
    static func iso(_ d: Date) -> String { d.formatted(.iso8601) }
}
