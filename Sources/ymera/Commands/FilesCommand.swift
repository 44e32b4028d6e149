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

/// `ymera diff RUN1 RUN2`: which files two runs added, removed or changed, with unified diffs.
struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "Compare two runs' generated files: added, removed, changed (with a unified diff).")

    @OptionGroup var data: DataDirOption

    @Argument(help: "The first run (id or unique prefix).")
    var run1: String

    @Argument(help: "The second run (id or unique prefix).")
    var run2: String

    func run() async throws {
        try await withCLIErrors {
            let journal = try data.openJournal()
            let a = try JournalCLI.resolve(journal, run1), b = try JournalCLI.resolve(journal, run2)
            let wa = try Workspace.existing(dataDirectory: journal.directory, runID: a)
            let wb = try Workspace.existing(dataDirectory: journal.directory, runID: b)
            if wa == nil && wb == nil { throw CLIError.input("neither run wrote files") }
            let c = Workspace.compare(wa, wb)
            for p in c.added { Output.out(Output.clean("A \(p)")) }
            for p in c.removed { Output.out(Output.clean("D \(p)")) }
            for p in c.changed { Output.out(Output.clean("M \(p)")) }
            for p in c.changed {
                guard let va = wa?.finalFiles.first(where: { $0.path == p }), let vb = wb?.finalFiles.first(where: { $0.path == p })
                else { continue }
                let da = try wa!.content(of: va.latest), db = try wb!.content(of: vb.latest)
                guard let text = try LineDiff.unified(da, db, labelA: "\(a)/\(p)", labelB: "\(b)/\(p)") else {
                    Output.out(Output.clean("Binary files \(a)/\(p) and \(b)/\(p) differ"))
                    continue
                }
                Output.out(Output.clean(text), terminator: "")
            }
            Output.err("\(c.added.count) added, \(c.removed.count) removed, \(c.changed.count) changed, \(c.unchanged.count) unchanged")
        }
    }
}

/// Unified diffs through `/usr/bin/diff -u`, bounded by a timeout.
enum LineDiff {
    /// The unified diff of two texts; nil when either is not UTF-8 text (or contains NUL).
    static func unified(_ a: Data, _ b: Data, labelA: String, labelB: String, timeout: TimeInterval = 10) throws -> String? {
        guard let _ = String(data: a, encoding: .utf8), let _ = String(data: b, encoding: .utf8), !a.contains(0), !b.contains(0)
        else { return nil }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-diff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: tmp) }
        let fa = tmp.appendingPathComponent("a"), fb = tmp.appendingPathComponent("b")
        try a.write(to: fa)
        try b.write(to: fb)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/diff")
        p.arguments = ["-u", "--label", labelA, "--label", labelB, fa.path, fb.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        do { try p.run() } catch { throw CLIError.config("cannot run /usr/bin/diff: \(error)") }
        // Read while diff runs so a large diff cannot fill the pipe and block it.
        let reader = DispatchQueue(label: "ymera.diff.read")
        let buffer = DiffBuffer()
        let handle = out.fileHandleForReading
        reader.async { buffer.set(handle.readDataToEndOfFile()) }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            p.terminate()
            // A child started from an async context may inherit a mask that blocks SIGTERM: then SIGKILL.
            if done.wait(timeout: .now() + 2) == .timedOut { kill(p.processIdentifier, SIGKILL) }
            throw CLIError.input("diff took longer than \(Int(timeout)) s")
        }
        let output = reader.sync { buffer.get() }
        return String(decoding: output, as: UTF8.self)
    }
}

private final class DiffBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) {
        lock.lock()
        data = d
        lock.unlock()
    }
    func get() -> Data {
        lock.lock()
        defer { lock.unlock() }
        return data
    }
}
