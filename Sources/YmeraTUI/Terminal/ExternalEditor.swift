import Foundation

/// Edits a text in the person's editor (`$VISUAL`, else `$EDITOR`, else `vi`) on a private temporary
/// file, with the dashboard's terminal handed over meanwhile (the one `Terminal` suspends and takes
/// it back). Used at a gate: the saved text becomes the phase's kept output.
enum ExternalEditor {
    enum Outcome: Sendable, Hashable {
        case edited(String)
        case unchanged
        case failed(String)
    }

    /// Longest text taken back from the editor (an edited output is bounded like one from a file).
    static let maxBytes = 4 << 20

    static func editorCommand(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        for key in ["VISUAL", "EDITOR"] {
            if let v = env[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty { return v }
        }
        return "vi"
    }

    /// Runs the editor on `text` (blocking the calling thread, the UI loop's, until it exits).
    static func edit(_ text: String, name: String, terminal: Terminal?) -> Outcome {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-edit-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            return .failed("cannot create a temporary file: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }.prefix(60))
        let file = dir.appendingPathComponent("\(safe).md")
        guard FileManager.default.createFile(atPath: file.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            return .failed("cannot write \(file.path)")
        }
        let command = editorCommand()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The editor setting may carry arguments ("code -w"); the file is passed as one argument.
        p.arguments = ["-c", "\(command) \"$1\"", "ymera-editor", file.path]
        terminal?.suspend()
        defer { terminal?.resumeAfterSuspend() }
        do {
            try p.run()
        } catch {
            return .failed("cannot start the editor '\(command)': \(error.localizedDescription)")
        }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            return .failed("the editor '\(command)' exited with status \(p.terminationStatus); nothing was sent")
        }
        guard let data = try? Data(contentsOf: file) else { return .failed("cannot read the edited file back") }
        guard data.count <= maxBytes else { return .failed("the edited text is \(data.count) bytes; at most \(maxBytes)") }
        guard let edited = String(data: data, encoding: .utf8) else { return .failed("the edited file is not UTF-8 text") }
        if edited == text { return .unchanged }
        if edited.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return .failed("the edited output is empty; nothing was sent") }
        return .edited(edited)
    }
}
