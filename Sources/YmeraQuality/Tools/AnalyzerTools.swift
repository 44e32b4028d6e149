import Foundation

/// The field's analyzers in YMERA's own virtual environment (`<data>/tools/venv`, made by
/// `ymera tools install`): the validator looks there first, then on `PATH`.
public enum AnalyzerTools {
    /// What `ymera tools install` puts into the environment (PyPI names).
    public static let packages = ["bandit", "ruff", "radon", "pytest", "coverage"]
    /// Every tool the validator may use, in the order `ymera doctor` lists them.
    public static let all = ["python3", "bandit", "ruff", "radon", "pytest", "coverage", "shellcheck", "node", "tsc"]

    public static func root(dataDirectory: String) -> String { (dataDirectory as NSString).appendingPathComponent("tools") }
    public static func venv(dataDirectory: String) -> String { (root(dataDirectory: dataDirectory) as NSString).appendingPathComponent("venv") }
    public static func bin(dataDirectory: String) -> String { (venv(dataDirectory: dataDirectory) as NSString).appendingPathComponent("bin") }
    public static func venvPython(dataDirectory: String) -> String { (bin(dataDirectory: dataDirectory) as NSString).appendingPathComponent("python") }

    /// The validator's search path: YMERA's tools first, then `PATH`.
    public static func searchPath(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let b = bin(dataDirectory: dataDirectory)
        return FileManager.default.fileExists(atPath: b) ? b + ":" + path : path
    }

    /// One analyzer and where it was found.
    public struct Found: Codable, Sendable, Hashable {
        public var name: String
        public var path: String?
        /// `ymera tools` (the venv), `PATH`, or nil when not found.
        public var source: String?
    }

    public static func locate(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> [Found] {
        let b = bin(dataDirectory: dataDirectory)
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return all.map { name in
            if let p = ToolLocator.find(name, in: b) { return Found(name: name, path: p, source: "ymera tools") }
            if let p = ToolLocator.find(name, in: path) { return Found(name: name, path: p, source: "PATH") }
            return Found(name: name, path: nil, source: nil)
        }
    }

    /// Lines for `ymera doctor`.
    public static func render(_ found: [Found], dataDirectory: String) -> String {
        var lines = ["Analyzers (quality validator; YMERA's tools in \(venv(dataDirectory: dataDirectory)) come first)"]
        for f in found {
            let name = f.name.padding(toLength: 11, withPad: " ", startingAt: 0)
            if let p = f.path, let s = f.source {
                lines.append("  \(name) found: \(p) (\(s))")
            } else {
                let fix = packages.contains(f.name) ? " — run `ymera tools install`" : ""
                lines.append("  \(name) not found\(fix)")
            }
        }
        let missing = found.filter { $0.path == nil && packages.contains($0.name) }
        if !missing.isEmpty {
            lines.append("  without them: built-in security rules only (see scripts/bandit-fallback.sh), no lint, McCabe by Python's ast")
        }
        return lines.joined(separator: "\n")
    }
}
