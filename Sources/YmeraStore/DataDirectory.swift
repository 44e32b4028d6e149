import Foundation

/// Where the journal lives on disk.
public enum DataDirectory {
    /// The journal's file name inside the data directory.
    public static let databaseFileName = "journal.sqlite"

    /// The data directory: `$YMERA_HOME` when set, else `$XDG_DATA_HOME/ymera`, else `~/.local/share/ymera`.
    ///
    /// An explicit `--data-dir` wins over all of these; pass it to `Journal.open(directory:)` instead.
    public static func `default`(environment: [String: String]) -> URL {
        if let home = environment["YMERA_HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home, isDirectory: true).standardizedFileURL
        }
        // XDG: a relative XDG_DATA_HOME is invalid and must be ignored.
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg, isDirectory: true).appendingPathComponent("ymera", isDirectory: true)
                .standardizedFileURL
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home, isDirectory: true)
            .appendingPathComponent(".local/share/ymera", isDirectory: true).standardizedFileURL
    }

    /// `explicit` (the CLI's `--data-dir`) when given, else `default(environment:)`.
    public static func resolve(explicit: String?, environment: [String: String]) -> URL {
        if let explicit, !explicit.isEmpty {
            return URL(fileURLWithPath: (explicit as NSString).expandingTildeInPath, isDirectory: true)
                .standardizedFileURL
        }
        return `default`(environment: environment)
    }
}

extension Journal {
    /// The default data directory (see `DataDirectory.default(environment:)`).
    public static func defaultDataDirectory(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> URL
    {
        DataDirectory.default(environment: environment)
    }
}
