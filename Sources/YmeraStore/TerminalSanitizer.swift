import YmeraCore
/// Strips control and escape sequences from untrusted text (model output, task text, server errors)
/// before it reaches a terminal.
///
/// Removed: ESC sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`, DCS/SOS/PM/APC `… ST`, two-byte
/// `ESC x`), the 8-bit C1 forms of the same, every other C0/C1 control and DEL, and the bidirectional
/// override/isolate characters that can make text read differently from what it is (Trojan Source).
/// Kept: printable text, `\n`, and `\t` (unless `keepNewlines` is false, when both become a space).
public enum TerminalSanitizer {
    public static func sanitize(_ text: String, keepNewlines: Bool = true) -> String {
        // Tabs stay: code in Markdown exports keeps its indentation.
        TextSanitizer.clean(text, keepNewlines: keepNewlines, tabs: .keep)
    }

    public static func cell(_ text: String, limit: Int) -> String {
        let flat = sanitize(text, keepNewlines: false)
        var squeezed = ""
        squeezed.reserveCapacity(min(flat.count, limit + 1))
        var lastSpace = false
        for ch in flat {
            if ch == " " {
                if lastSpace { continue }
                lastSpace = true
            } else {
                lastSpace = false
            }
            squeezed.append(ch)
            if squeezed.count > limit { break }
        }
        let trimmed = squeezed.trimmingCharacters(in: " ")
        if trimmed.count <= limit { return trimmed }
        return String(trimmed.prefix(max(0, limit - 1))) + "…"
    }
}

extension String {
    fileprivate func trimmingCharacters(in c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s.removeFirst() }
        while s.last == c { s.removeLast() }
        return String(s)
    }
}
