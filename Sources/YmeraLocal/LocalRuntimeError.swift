/// A failure of the local runtime, always with what to do about it.
public struct LocalRuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, Codable {
        case pythonMissing, venvFailed, pipFailed, runtimeBroken, downloadFailed, extractFailed
        case checksumMismatch, notInstalled, launcherMissing, invalidConfiguration, startFailed
        case startTimedOut, stopFailed, busy, stateUnreadable, io
    }

    public var code: Code
    /// What went wrong.
    public var message: String
    /// What the user should do next.
    public var fix: String
    /// The last lines of the relevant log, when there is one.
    public var detail: String?

    public init(_ code: Code, _ message: String, fix: String, detail: String? = nil) {
        self.code = code
        self.message = message
        self.fix = fix
        self.detail = detail
    }

    public var description: String {
        var s = message + "\n  what to do: " + fix
        if let detail, !detail.isEmpty {
            s += "\n  last output:\n" + detail.split(separator: "\n", omittingEmptySubsequences: false)
                .map { "    " + $0 }.joined(separator: "\n")
        }
        return s
    }
}
