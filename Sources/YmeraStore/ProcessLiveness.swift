import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who is writing a run: a process id plus, on Linux, the process start time (so a reused pid is not
/// mistaken for the original writer).
public struct ProcessIdentity: Sendable, Hashable {
    public var pid: Int32
    /// Clock ticks since boot at which the process started (`/proc/PID/stat` field 22); 0 if unknown.
    public var startTicks: Int64

    public init(pid: Int32, startTicks: Int64) {
        self.pid = pid
        self.startTicks = startTicks
    }

    /// This process.
    public static let current = ProcessIdentity(pid: getpid(), startTicks: startTicks(of: getpid()) ?? 0)

    /// Whether the process still runs (and is the same process, where the start time is known).
    public var isAlive: Bool {
        if pid <= 0 { return false }
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        if startTicks != 0, let now = Self.startTicks(of: pid), now != startTicks { return false }
        #if os(Linux)
            // A zombie (killed, not yet reaped) is not writing any more.
            if let state = Self.procState(of: pid), state == "Z" || state == "X" { return false }
        #endif
        return true
    }

    static func statFields(of pid: Int32) -> [Substring]? {
        #if os(Linux)
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
                let text = String(data: data, encoding: .utf8),
                let close = text.lastIndex(of: ")")
            else { return nil }
            // Fields after the command name, starting with field 3 (state).
            return text[text.index(after: close)...].split(separator: " ")
        #else
            return nil
        #endif
    }

    static func startTicks(of pid: Int32) -> Int64? {
        guard let fields = statFields(of: pid), fields.count > 19 else { return nil }
        return Int64(fields[19])
    }

    static func procState(of pid: Int32) -> Character? {
        statFields(of: pid)?.first?.first
    }
}
