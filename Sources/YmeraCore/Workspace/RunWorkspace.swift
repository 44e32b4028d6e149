/// Who wrote a version of a file: the step, its phase and the model that served it.
public struct FileAuthor: Codable, Sendable, Hashable {
    public var step: String
    public var phase: Phase
    public var model: ModelID
    public init(step: String, phase: Phase, model: ModelID) {
        self.step = step
        self.phase = phase
        self.model = model
    }
}

/// A file written as a new version.
public struct WrittenFile: Codable, Sendable, Hashable {
    /// Relative path inside the run's workspace (normalised: no `.`, no empty components).
    public var path: String
    /// 1, 2, 3 … per path.
    public var version: Int
    public var bytes: Int
    public var sha256: String
    public init(path: String, version: Int, bytes: Int, sha256: String) {
        self.path = path
        self.version = version
        self.bytes = bytes
        self.sha256 = sha256
    }
}

/// A file name from model output that was not written, and why.
public struct RefusedFile: Codable, Sendable, Hashable {
    /// The name as the model wrote it (bounded; untrusted: sanitize before showing it).
    public var name: String
    public var reason: String
    public init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }
}

/// What applying one step's output to the workspace did.
public struct WorkspaceChange: Sendable, Hashable {
    public var written: [WrittenFile]
    /// Paths whose content equals their latest version (no new version).
    public var unchanged: [String]
    public var refused: [RefusedFile]
    public init(written: [WrittenFile] = [], unchanged: [String] = [], refused: [RefusedFile] = []) {
        self.written = written
        self.unchanged = unchanged
        self.refused = refused
    }
    public var isEmpty: Bool { written.isEmpty && refused.isEmpty }
}

/// A file's final content, for validation.
public struct WorkspaceFile: Sendable, Hashable {
    public var path: String
    public var content: String
    public init(path: String, content: String) {
        self.path = path
        self.content = content
    }
}

/// Where a run's generated files go. The engine calls it when a generation or refinement step's
/// output is ready to be scored, so the score refers to the files a user takes away; validation-phase
/// steps are scored against `files(runID:)`.
///
/// Names in the output are untrusted: an implementation refuses (and reports in
/// `WorkspaceChange.refused`) any name it will not write, and never writes outside the workspace.
/// Applying the same output twice must not create new versions (a resumed run re-applies).
/// YmeraCore does no I/O; YmeraStore's workspace implements this.
public protocol RunWorkspace: Sendable {
    /// Writes the named files in `output` as new versions by `author`.
    func apply(_ output: String, runID: String, author: FileAuthor) throws -> WorkspaceChange
    /// The final version of every file of the run, sorted by path.
    func files(runID: String) throws -> [WorkspaceFile]
}
