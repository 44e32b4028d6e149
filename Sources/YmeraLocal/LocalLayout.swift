import Foundation

/// Files of the local runtime under YMERA's data directory (`<data>/local/…`).
public struct LocalLayout: Sendable, Hashable {
    public var dataDirectory: String

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    private func path(_ parts: String...) -> String {
        parts.reduce(dataDirectory) { ($0 as NSString).appendingPathComponent($1) }
    }

    public var root: String { path("local") }
    public var venv: String { path("local", "venv") }
    public var venvPython: String { path("local", "venv", "bin", "python") }
    /// Written once the runtime is installed and imports: version, python.
    public var runtimeMarker: String { path("local", "runtime.json") }
    public var modelsDirectory: String { path("local", "models") }
    public var downloads: String { path("local", "downloads") }
    public func modelFile(_ spec: LocalModelSpec) -> String { path("local", "models", spec.modelFileName) }
    /// Size, mtime and sha256 of the model file as verified, so re-checks need not re-hash 98 MB.
    public func modelMarker(_ spec: LocalModelSpec) -> String {
        path("local", "models", spec.modelFileName + ".verified.json")
    }
    /// The launcher, copied from the package resource so a running server never points into a build folder.
    public var launcher: String { path("local", LauncherResource.fileName) }
    public var stateFile: String { path("local", "server.json") }
    public var readyFile: String { path("local", "server.ready.json") }
    public var logFile: String { path("local", "server.log") }
    public var installLog: String { path("local", "install.log") }
    public var lockFile: String { path("local", "server.lock") }
    public var lastRunFile: String { path("local", "last-run.json") }
}
