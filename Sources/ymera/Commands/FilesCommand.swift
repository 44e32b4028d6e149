import ArgumentParser
import Dispatch
import Foundation
import YmeraCore
import YmeraQuality
import YmeraStore

/// `ymera files RUN [--to DIR]`: lists a run's generated files, or copies their final versions.
struct FilesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "files", abstract: "List a run's generated files, or copy their final versions to a directory.")

    @OptionGroup var data: DataDirOption

    @Argument(help: "Run id or a unique prefix of it.")
    var run: String

    @Option(help: ArgumentHelp("Copy the final version of every file into DIR.", valueName: "DIR"))
    var to: String?

    @Flag(help: "With --to, overwrite files that already exist in DIR.")
    var force = false

    @Flag(help: "Print the manifest (every file with every version, and refused names) as JSON.")
    var json = false

    @Flag(help: "Score each final file with the real validator (syntax, analyzers; tests are not run per file).")
    var validate = false

    struct FilesJSON: Encodable {
        var runID: String
        var directory: String
        var files: [WorkspaceFileHistory]
        var refused: [WorkspaceRefusal]
    }

    func run() async throws {
        try await withCLIErrors {
            let journal = try data.openJournal()
            let id = try JournalCLI.resolve(journal, run)
            guard let ws = try Workspace.existing(dataDirectory: journal.directory, runID: id) else {
                throw CLIError.input("run \(id) wrote no files")
            }
            if let to {
                let copied: [String]
                do {
                    copied = try ws.copyFinal(to: URL(fileURLWithPath: to), force: force)
                } catch let e as WorkspaceError { throw CLIError.input(e.description) }
                if json {
                    try JournalCLI.printJSON(copied)
                } else {
                    for p in copied { Output.out(Output.clean(p)) }
                    Output.err("copied \(copied.count) files to \(to)")
                }
                return
            }
            if json {
                try JournalCLI.printJSON(
                    FilesJSON(runID: id, directory: ws.filesDirectory.path, files: ws.finalFiles, refused: ws.manifest.refused))
                return
            }
            var scores: [String: String] = [:]
            if validate {
                var options = RealValidator.Options()
                options.runTests = false
                options.searchPath = AnalyzerTools.searchPath(dataDirectory: journal.directory.path)
                let validator = RealValidator(options: options)
                let task = (try? journal.run(id))?.task ?? ""
                for f in ws.finalFiles {
                    // Score the recorded final version (copied to a private temp file), not whatever is in files/ now.
                    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-files-\(UUID().uuidString)")
                    try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                    defer { try? FileManager.default.removeItem(at: tmp) }
                    let url = tmp.appendingPathComponent((f.path as NSString).lastPathComponent)
                    try ws.content(of: f.latest).write(to: url)
                    let report = await validator.validate(fileURL: url, task: task)
                    scores[f.path] = String(format: "%.2f", report.score) + (report.passed ? "" : " ✗")
                }
            }
            let rows = ws.finalFiles.map { f in
                [f.path, "v\(f.latest.version)", "\(f.latest.size)", f.latest.phase, f.latest.step, f.latest.model]
                    + (validate ? [scores[f.path] ?? "-"] : [])
            }
            let header = ["file", "ver", "bytes", "phase", "step", "model"] + (validate ? ["score"] : [])
            Output.out(Output.clean(JournalCLI.table(header, rows)))
            for r in ws.manifest.refused { Output.err("refused: " + Output.clean(r.description)) }
            Output.err("\(ws.finalFiles.count) files in \(ws.filesDirectory.path)")
        }
    }
}

/// Unified diffs of workspace files (YmeraCore's line diff).
enum FileDiff {
    /// The unified diff of two files' contents; nil when either is not UTF-8 text (or contains NUL).
    static func unified(_ a: Data, _ b: Data, labelA: String, labelB: String) -> String? {
        guard let ta = String(data: a, encoding: .utf8), let tb = String(data: b, encoding: .utf8), !a.contains(0), !b.contains(0)
        else { return nil }
        return LineDiff.unified(ta, tb, labelA: labelA, labelB: labelB)
    }
}
