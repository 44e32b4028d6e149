import Foundation

/// Finds executables by `PATH` lookup, with per-tool overrides. An empty search path finds nothing:
/// that is how tests simulate a machine without a toolchain.
public struct ToolLocator: Sendable {
    public var searchPath: String
    /// Tool name → absolute path (or "" to mark the tool as absent).
    public var overrides: [String: String]

    public init(searchPath: String? = nil, overrides: [String: String] = [:]) {
        self.searchPath = searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        self.overrides = overrides
    }

    public func find(_ name: String) -> String? {
        if let o = overrides[name] {
            return o.isEmpty || !FileManager.default.isExecutableFile(atPath: o) ? nil : o
        }
        return Self.find(name, in: searchPath)
    }

    public static func find(_ name: String, in path: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in path.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = "\(dir)/\(name)"
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate)
            {
                return candidate
            }
        }
        return nil
    }
}

/// A scratch directory removed when the work is done.
struct Scratch {
    let url: URL
    init(prefix: String = "ymera-quality") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    init(existing url: URL) { self.url = url }
    func write(_ name: String, _ text: String) throws -> URL {
        let u = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: u)
        return u
    }
    func remove() { try? FileManager.default.removeItem(at: url) }
}
