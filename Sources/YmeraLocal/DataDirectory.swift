import Foundation

/// Where YMERA keeps its data (run journal, local runtime, model files).
///
/// The rule, shared with the store: `$YMERA_HOME` when set, else `$XDG_DATA_HOME/ymera`, else
/// `~/.local/share/ymera`. Relative values of the variables are ignored, as the XDG spec asks.
public enum YmeraDataDirectory {
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home = environment["YMERA_HOME"], !home.isEmpty {
            return absolute(home, environment: environment)
        }
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            return (xdg as NSString).appendingPathComponent("ymera")
        }
        let userHome = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return (userHome as NSString).appendingPathComponent(".local/share/ymera")
    }

    /// `~` expanded; a relative path made absolute against the current directory.
    static func absolute(_ path: String, environment: [String: String]) -> String {
        var p = path
        if p == "~" || p.hasPrefix("~/") {
            let userHome = environment["HOME"] ?? NSHomeDirectory()
            p = userHome + p.dropFirst()
        }
        if !p.hasPrefix("/") {
            p = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(p)
        }
        return (p as NSString).standardizingPath
    }

    /// A directory given on the command line (`--data-dir`), or the default rule.
    public static func resolve(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> String
    {
        if let option, !option.isEmpty { return absolute(option, environment: environment) }
        return resolve(environment: environment)
    }
}
