import Foundation

/// Finds `ymera_llama_server.py`, the package resource, without touching `Bundle.module` —
/// whose generated accessor on Linux calls `fatalError` when the bundle is missing.
public enum LauncherResource {
    public static let fileName = "ymera_llama_server.py"
    public static let bundleName = "ymera_YmeraLocal.resources"

    /// Places searched, in order: `$YMERA_LOCAL_LAUNCHER`; the resource bundle next to the
    /// executable (where SwiftPM puts it, and where an install copies it); the same next to
    /// `Bundle.main` (a test runner); the source tree this file was compiled from.
    public static func candidates(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executablePath: String? = executablePath(), mainBundlePath: String? = Bundle.main.bundlePath,
        sourceFile: String = #filePath
    ) -> [String] {
        var list: [String] = []
        if let explicit = environment["YMERA_LOCAL_LAUNCHER"], !explicit.isEmpty { list.append(explicit) }
        if let exe = executablePath {
            let dir = ((exe as NSString).resolvingSymlinksInPath as NSString).deletingLastPathComponent
            list.append(((dir as NSString).appendingPathComponent(bundleName) as NSString).appendingPathComponent(fileName))
        }
        if let main = mainBundlePath {
            for base in [main, (main as NSString).deletingLastPathComponent] {
                list.append(((base as NSString).appendingPathComponent(bundleName) as NSString).appendingPathComponent(fileName))
            }
        }
        let sourceDir = (sourceFile as NSString).deletingLastPathComponent
        list.append(
            ((sourceDir as NSString).appendingPathComponent("Resources") as NSString).appendingPathComponent(fileName))
        var seen = Set<String>()
        return list.filter { seen.insert($0).inserted }
    }

    /// The first candidate that exists, or an error listing where it looked.
    public static func locate(candidates: [String] = candidates()) throws -> String {
        for path in candidates where FileManager.default.isReadableFile(atPath: path) { return path }
        throw LocalRuntimeError(
            .launcherMissing,
            "the server launcher \(fileName) is not where YMERA looked:\n    "
                + candidates.joined(separator: "\n    "),
            fix: "keep the \(bundleName) folder next to the ymera binary when copying it, "
                + "or point YMERA_LOCAL_LAUNCHER at the script")
    }

    public static func executablePath() -> String? {
        #if os(Linux)
            if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        #endif
        return CommandLine.arguments.first.map { ($0 as NSString).isAbsolutePath ? $0 : ProcessInfo.processInfo.arguments[0] }
    }
}
