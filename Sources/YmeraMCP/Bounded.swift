import Foundation
import YmeraCore

/// Untrusted text from MCP servers (tool results, descriptions, stderr) bounded and sanitized.
enum Bounded {
    /// Sanitized, newlines kept, cut at `max` characters with the cut said.
    static func text(_ s: String, max: Int) -> String {
        let clean = TextSanitizer.clean(s)
        guard clean.count > max else { return clean }
        return String(clean.prefix(max)) + "\n[… cut: \(clean.count - max) more characters]"
    }

    /// Sanitized on one line, cut at `max` characters with an ellipsis.
    static func oneLine(_ s: String, max: Int) -> String {
        let clean = TextSanitizer.clean(s, keepNewlines: false).trimmingCharacters(in: .whitespaces)
        guard clean.count > max else { return clean }
        return String(clean.prefix(max)) + "…"
    }
}
