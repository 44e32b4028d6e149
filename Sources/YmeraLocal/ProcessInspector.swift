import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `/proc` says about a process: alive or not, whose it is, how much memory it holds.
public enum ProcessInspector {
    public enum Liveness: Sendable, Hashable {
        /// Running, and its command line names the expected program.
        case running
        /// No such process (or only a zombie left).
        case gone
        /// The pid is alive but belongs to another program: the pid was reused.
        case reused(commandLine: String)
    }

    /// Whether `pid` is a live process whose command line contains `marker`.
    ///
    /// A zombie child of ours is reaped on the way, so a server we spawned and that died reads as gone.
    public static func liveness(pid: Int32, marker: String) -> Liveness {
        guard pid > 1 else { return .gone }
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)  // reap our own exited child; ECHILD for others is fine
        if kill(pid, 0) != 0 && errno == ESRCH { return .gone }
        #if os(Linux)
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return .gone }
            if let state = processState(fromStat: stat), state == "Z" || state == "X" {
                _ = waitpid(pid, &status, WNOHANG)  // it exited after the first look: reap it if it is ours
                return .gone
            }
            let cmd = commandLine(pid: pid) ?? ""
            return cmd.contains(marker) ? .running : .reused(commandLine: cmd)
        #else
            return .running
        #endif
    }

    /// The one-letter state of `/proc/PID/stat` (R, S, D, Z, …), read after the last `)` since
    /// the command name may itself hold spaces and parentheses.
    public static func processState(fromStat stat: String) -> Character? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].first { $0 != " " }
    }

    /// `/proc/PID/cmdline` with its NUL separators turned into spaces.
    public static func commandLine(pid: Int32) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            .trimmingCharacters(in: .whitespaces)
    }

    /// Live processes whose command line contains `fragment` (zombies excluded), by scanning `/proc`.
    public static func pids(commandLineContaining fragment: String) -> [Int32] {
        #if os(Linux)
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
            let me = getpid()
            return entries.compactMap { Int32($0) }.filter { pid in
                guard pid != me, let cmd = commandLine(pid: pid), cmd.contains(fragment) else { return false }
                if case .running = liveness(pid: pid, marker: fragment) { return true }
                return false
            }.sorted()
        #else
            return []
        #endif
    }

    /// Resident memory in bytes from `/proc/PID/status` (`VmRSS:  198692 kB`).
    public static func residentBytes(pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return residentBytes(fromStatus: text)
    }

    public static func residentBytes(fromStatus text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.dropFirst("VmRSS:".count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let n = fields.first.flatMap({ Int($0) }) else { return nil }
            let unit = fields.dropFirst().first?.lowercased() ?? "kb"
            switch unit {
            case "kb": return n * 1024
            case "mb": return n * 1024 * 1024
            case "b": return n
            default: return n * 1024
            }
        }
        return nil
    }
}
