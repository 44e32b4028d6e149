import Foundation
import Testing
@testable import YmeraTUI

/// Compares rendered text with `Golden/<name>.txt`. A missing or different file fails; set
/// YMERA_RECORD_GOLDEN=1 to (re)write the files, then review the diff.
enum Golden {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    }

    static var recording: Bool { ProcessInfo.processInfo.environment["YMERA_RECORD_GOLDEN"] == "1" }

    static func render(_ canvas: Canvas, theme: Theme) -> String {
        canvas.plainText() + "\n== styles (\(theme.name)\(theme.monochrome ? ", monochrome" : "")) ==\n"
            + canvas.styleMap(names: theme.roleName(of:)) + "\n"
    }

    static func check(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let url = directory.appendingPathComponent(name + ".txt")
        if recording {
            try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try? actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            Issue.record("missing golden file \(url.path) (record with YMERA_RECORD_GOLDEN=1)", sourceLocation: sourceLocation)
            return
        }
        if expected != actual {
            let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
            var firstDiff = 0
            while firstDiff < min(e.count, a.count) && e[firstDiff] == a[firstDiff] { firstDiff += 1 }
            let exp = firstDiff < e.count ? String(e[firstDiff]) : "<end>"
            let act = firstDiff < a.count ? String(a[firstDiff]) : "<end>"
            Issue.record("golden \(name) differs at line \(firstDiff + 1):\n expected: \(exp)\n actual:   \(act)", sourceLocation: sourceLocation)
        }
    }
}
