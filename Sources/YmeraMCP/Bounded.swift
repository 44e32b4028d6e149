import Foundation
import YmeraCore

/// Untrusted text from MCP servers (tool results, descriptions, stderr) bounded and sanitized — by the
/// engine's own rules (`ToolLoop`), so a result reads the same whichever side cut it.
enum Bounded {
    /// Sanitized, newlines kept, cut at `max` characters with the cut said.
    static func text(_ s: String, max: Int) -> String { ToolLoop.bounded(s, maxChars: max).text }

    /// Sanitized on one line, cut at `max` characters with an ellipsis.
    static func oneLine(_ s: String, max: Int) -> String {
        ToolLoop.preview(s, max).trimmingCharacters(in: .whitespaces)
    }
}
