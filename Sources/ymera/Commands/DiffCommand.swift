import ArgumentParser
import Foundation
import YmeraCore
import YmeraStore

/// `ymera diff RUN1 RUN2 [--json]`: two runs side by side — per phase each run's model, score, tokens,
/// cost and time, the diff of their outputs, and the diff of their workspaces.
struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two runs side by side: per phase model, score, tokens, cost, time and output; then their files.",
        discussion: """
            Phases are matched by name. For each phase whose kept outputs differ, a unified diff of the
            outputs follows the table; then the workspaces: files added, removed and changed (with a
            unified diff). A fork and its parent (`ymera fork`) are the usual pair.
            """)

    @OptionGroup var data: DataDirOption

    @Argument(help: "The first run (id or unique prefix).")
    var run1: String

    @Argument(help: "The second run (id or unique prefix).")
    var run2: String

    @Flag(help: "Print the comparison as one JSON object.")
    var json = false

    struct FileChange: Encodable {
        var path: String
        /// nil for binary files.
        var diff: String?
    }
    struct FilesJSON: Encodable {
        var added: [String]
        var removed: [String]
        var changed: [FileChange]
        var unchanged: [String]
    }
    struct DiffJSON: Encodable {
        var comparison: RunComparison
        var files: FilesJSON
    }

    func run() async throws {
        try await withCLIErrors {
            let journal = try data.openJournal()
            let a = try JournalCLI.resolve(journal, run1), b = try JournalCLI.resolve(journal, run2)
            guard let sa = try journal.state(a) else { throw CLIError.input("no run \(a)") }
            guard let sb = try journal.state(b) else { throw CLIError.input("no run \(b)") }
            let comparison = RunComparison(sa, sb)
            let files = try Self.files(journal: journal, a, b)
            if json {
                try JournalCLI.printJSON(DiffJSON(comparison: comparison, files: files))
                return
            }
            Output.out(Self.render(comparison, files: files))
        }
    }

    /// The workspaces compared: added, removed, changed (with unified diffs), unchanged.
    static func files(journal: Journal, _ a: String, _ b: String) throws -> FilesJSON {
        let wa = try Workspace.existing(dataDirectory: journal.directory, runID: a)
        let wb = try Workspace.existing(dataDirectory: journal.directory, runID: b)
        let c = Workspace.compare(wa, wb)
        let changed = try c.changed.map { p -> FileChange in
            guard let va = wa?.finalFiles.first(where: { $0.path == p }), let vb = wb?.finalFiles.first(where: { $0.path == p }),
                let wa, let wb
            else { return FileChange(path: p, diff: nil) }
            return FileChange(path: p, diff: FileDiff.unified(try wa.content(of: va.latest), try wb.content(of: vb.latest), labelA: "\(a)/\(p)", labelB: "\(b)/\(p)"))
        }
        return FilesJSON(added: c.added, removed: c.removed, changed: changed, unchanged: c.unchanged)
    }

    static func render(_ c: RunComparison, files: FilesJSON) -> String {
        func cell(_ s: RunComparison.Side?, _ f: (RunComparison.Side) -> String) -> String { s.map(f) ?? "—" }
        func cost(_ s: RunComparison.Side) -> String { s.reusedFrom == nil ? s.cost : "\(s.cost) reused" }
        var out = "A  \(c.runA)\nB  \(c.runB)\n\n"
        let rows = c.phases.map { p in
            [
                TerminalSanitizer.cell(p.name, limit: 24),
                cell(p.a) { TerminalSanitizer.cell($0.model.rawValue, limit: 32) }, cell(p.b) { TerminalSanitizer.cell($0.model.rawValue, limit: 32) },
                cell(p.a) { JournalCLI.score($0.score) }, cell(p.b) { JournalCLI.score($0.score) },
                cell(p.a) { String($0.tokens) }, cell(p.b) { String($0.tokens) },
                cell(p.a, cost), cell(p.b, cost),
                cell(p.a) { $0.durationMs.map(JournalCLI.seconds) ?? "—" }, cell(p.b) { $0.durationMs.map(JournalCLI.seconds) ?? "—" },
                p.sameOutput ? "same" : "differs",
            ]
        }
        out += JournalCLI.table(
            ["PHASE", "MODEL A", "MODEL B", "SCORE A", "SCORE B", "TOK A", "TOK B", "COST A", "COST B", "TIME A", "TIME B", "OUTPUT"], rows)
        out += "\nscore A \(JournalCLI.score(c.scoreA)) · B \(JournalCLI.score(c.scoreB)) · cost A \(c.costA) · B \(c.costB)\n"
        for p in c.phases {
            guard let d = p.outputDiff else { continue }
            out += "\n── output: \(TerminalSanitizer.cell(p.name, limit: 24)) ──\n" + TerminalSanitizer.sanitize(d)
        }
        out += "\n── files: \(files.added.count) added, \(files.removed.count) removed, \(files.changed.count) changed, \(files.unchanged.count) unchanged ──\n"
        for p in files.added { out += "A \(TerminalSanitizer.cell(p, limit: 200))\n" }
        for p in files.removed { out += "D \(TerminalSanitizer.cell(p, limit: 200))\n" }
        for f in files.changed {
            out += "M \(TerminalSanitizer.cell(f.path, limit: 200))\n"
            out += f.diff.map { TerminalSanitizer.sanitize($0) } ?? "Binary files differ\n"
        }
        return out
    }
}
