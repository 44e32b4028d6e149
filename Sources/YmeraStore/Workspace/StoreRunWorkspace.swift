import Foundation
import Synchronization
import YmeraCore

/// The engine's `RunWorkspace` on disk: each run's files in `<dataDir>/workspaces/<runID>/` (see
/// `Workspace`). A run's workspace is created by the first output that names a file; writes are
/// serialised per process (one lock around every run's `Workspace`), so subtasks finishing at once
/// cannot interleave a manifest update. Re-applying an output whose files are already there writes
/// nothing (same content, same version), which is what a resumed run does.
public final class StoreRunWorkspace: RunWorkspace {
    public let dataDirectory: URL
    private let open = Mutex<[String: Workspace]>([:])

    public init(dataDirectory: URL) { self.dataDirectory = dataDirectory }

    /// Runs whose workspace stays open in this process (the dashboard serves many runs).
    static let maxOpen = 32

    public func apply(_ output: String, runID: String, author: FileAuthor) throws -> WorkspaceChange {
        var parsed = WorkspaceParser.files(in: output)
        guard !parsed.isEmpty else { return WorkspaceChange() }
        // One answer naming more files than a run may hold: the rest are one refusal, not one each.
        var excess: RefusedFile?
        if parsed.count > Workspace.maxFiles {
            excess = RefusedFile(
                name: "(\(parsed.count - Workspace.maxFiles) more files)",
                reason: "one answer named \(parsed.count) files; a run may write at most \(Workspace.maxFiles)")
            parsed = Array(parsed.prefix(Workspace.maxFiles))
        }
        let dataDirectory = self.dataDirectory
        return try open.withLock { cache throws -> WorkspaceChange in
            let ws: Workspace
            if let w = cache[runID] {
                ws = w
            } else {
                ws = try Workspace.open(dataDirectory: dataDirectory, runID: runID)
                if cache.count >= Self.maxOpen, let other = cache.keys.first { cache.removeValue(forKey: other) }
                cache[runID] = ws
            }
            var change = WorkspaceChange()
            for file in parsed {
                switch ws.write(name: file.name, content: Data(file.content.utf8), author: author) {
                case .success(let w?):
                    let latest = ws.manifest.files.first { $0.path == w.path }?.latest
                    change.written.append(WrittenFile(path: w.path, version: w.version, bytes: latest?.size ?? 0, sha256: latest?.sha256 ?? ""))
                case .success(nil):
                    change.unchanged.append(file.name)
                case .failure(let refusal):
                    change.refused.append(RefusedFile(name: refusal.name, reason: refusal.reason))
                }
            }
            if let excess { change.refused.append(excess) }
            return change
        }
    }

    public func files(runID: String) throws -> [WorkspaceFile] {
        let dataDirectory = self.dataDirectory
        return try open.withLock { cache throws -> [WorkspaceFile] in
            guard let ws = try cache[runID] ?? Workspace.existing(dataDirectory: dataDirectory, runID: runID) else { return [] }
            return try ws.finalFiles.map { f in
                WorkspaceFile(path: f.path, content: String(decoding: try ws.content(of: f.latest), as: UTF8.self))
            }
        }
    }

    /// The run's workspace as written so far, read from disk (nil when it has none).
    public func workspace(runID: String) -> Workspace? {
        (try? Workspace.existing(dataDirectory: dataDirectory, runID: runID)) ?? nil
    }

    /// One line for a human (stderr) after a run, from its state: where the files are, how many, and
    /// every refused name with why. Nil when the run wrote no files and refused none.
    public func summaryLine(_ state: RunState) -> String? {
        guard !state.files.isEmpty || !state.refusedFiles.isEmpty else { return nil }
        let dir = Workspace.directory(dataDirectory: dataDirectory, runID: state.runID).appendingPathComponent("files").path
        var line = "workspace: \(dir) (\(state.files.count) file\(state.files.count == 1 ? "" : "s")"
        if !state.refusedFiles.isEmpty { line += ", \(state.refusedFiles.count) name\(state.refusedFiles.count == 1 ? "" : "s") refused" }
        line += ")"
        for r in state.refusedFiles.prefix(20) {
            line += "\n  ✗ refused file \"\(r.name.prefix(120))\" from \(r.step): \(r.reason)"
        }
        return line
    }
}
