import Foundation

/// Files of the local runtime under YMERA's data directory (`<data>/local/…`).
public struct LocalLayout: Sendable, Hashable {
    public var dataDirectory: String
    /// Stem of the server's own files (`server` for SmolLM2, `gemma` for Gemma): each model's server
    /// has its state, ready, log and lock file; the runtime and the launcher are shared.
    public var serverName: String

    public init(dataDirectory: String, serverName: String = "server") {
        self.dataDirectory = dataDirectory
        self.serverName = serverName
    }

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
    public var stateFile: String { path("local", "\(serverName).json") }
    public var readyFile: String { path("local", "\(serverName).ready.json") }
    public var logFile: String { path("local", "\(serverName).log") }
    public var installLog: String { path("local", "install.log") }
    public var lockFile: String { path("local", "\(serverName).lock") }
    public var lastRunFile: String { path("local", serverName == "server" ? "last-run.json" : "\(serverName)-last-run.json") }
}
