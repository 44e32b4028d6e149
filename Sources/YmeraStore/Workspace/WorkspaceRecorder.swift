import Foundation
import YmeraCore

/// Writes the files of generation and refinement steps into the run's workspace as they finish.
/// Used by `ymera run` and `ymera resume` in their event loops (not inside the engine).
public final class WorkspaceRecorder {
    private let dataDirectory: URL
    public private(set) var workspace: Workspace?
    public private(set) var refused: [WorkspaceRefusal] = []
    public private(set) var openError: String?

    public init(dataDirectory: URL) { self.dataDirectory = dataDirectory }

    /// After a `step_done`: writes the step's named files, if it is a generation or refinement step.
    public func record(_ event: RunEvent, state: RunState) {
        guard case .stepDone(let done) = event.kind, let step = state.steps[done.step],
            step.phase == .generation || step.phase == .refinement
        else { return }
        guard !WorkspaceParser.files(in: step.output).isEmpty else { return }
        if workspace == nil && openError == nil {
            do { workspace = try Workspace.open(dataDirectory: dataDirectory, runID: state.runID) } catch {
                openError = "\(error)"
            }
        }
        guard let ws = workspace else { return }
        let author = WorkspaceAuthor(step: done.step, phase: step.phase.rawValue, model: done.model.rawValue)
        refused += ws.write(output: step.output, author: author).refused
    }

    /// One line for a human (stderr), or nil when the run wrote no workspace.
    public var summaryLine: String? {
        if let e = openError { return "warning: the workspace could not be opened: \(e)" }
        guard let ws = workspace else { return nil }
        var line = "workspace: \(ws.filesDirectory.path) (\(ws.finalFiles.count) files"
        if !refused.isEmpty { line += ", \(refused.count) names refused" }
        line += ")"
        for r in refused { line += "\n  ✗ \(r.description)" }
        return line
    }
}

