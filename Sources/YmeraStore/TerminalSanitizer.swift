/// Strips control and escape sequences from untrusted text (model output, task text, server errors)
/// before it reaches a terminal.
///
/// Removed: ESC sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`, DCS/SOS/PM/APC `… ST`, two-byte
/// `ESC x`), the 8-bit C1 forms of the same, every other C0/C1 control and DEL, and the bidirectional
/// override/isolate characters that can make text read differently from what it is (Trojan Source).
/// Kept: printable text, `\n`, and `\t` (unless `keepNewlines` is false, when both become a space).
public enum TerminalSanitizer {
    public static func sanitize(_ text: String, keepNewlines: Bool = true) -> String {
        var out = String.UnicodeScalarView()
        var it = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil

        func next() -> Unicode.Scalar? {
            if let p = pending {
                pending = nil
                return p
            }
            return it.next()
        }
        // Skips a string-type sequence body up to BEL or ST (ESC \ or U+009C).
        func skipString(belEnds: Bool) {
            while let c = next() {
                if c.value == 0x9C || (belEnds && c.value == 0x07) { return }
                if c.value == 0x1B {
                    if let d = next(), d != "\\" { pending = d }
                    return
                }
            }
        }
        // Skips a CSI body: parameter/intermediate bytes, then one final byte 0x40–0x7E.
        func skipCSI() {
            while let c = next() {
                if c.value >= 0x40 && c.value <= 0x7E { return }
                if c.value < 0x20 || c.value > 0x7E {
                    // Malformed: stop here and let the main loop judge this scalar.
                    pending = c
                    return
                }
            }
        }

        while let c = next() {
            let v = c.value
            switch v {
            case 0x0A, 0x09:
                out.append(keepNewlines ? c : " ")
            case 0x0D:
                // A lone CR would let text overwrite the start of its line: drop it (CRLF becomes LF).
                continue
            case 0x1B:
                guard let d = next() else { continue }
                switch d.value {
                case 0x5B: skipCSI()  // [
                case 0x5D: skipString(belEnds: true)  // ]
                case 0x50, 0x58, 0x5E, 0x5F: skipString(belEnds: false)  // P X ^ _
                case 0x20...0x2F:
                    // nF escape: intermediates, then one final byte.
                    while let e = next(), e.value >= 0x20 && e.value <= 0x2F {}
                default: continue  // two-byte escape: both dropped
                }
            case 0x9B: skipCSI()
            case 0x9D: skipString(belEnds: true)
            case 0x90, 0x98, 0x9E, 0x9F: skipString(belEnds: false)
            case 0x00...0x1F, 0x7F, 0x80...0x9F:
                continue
            case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C:
                continue
            default:
                out.append(c)
            }
        }
        return String(out)
    }

    /// One line for a table cell: controls removed, newlines and tabs as spaces, runs of spaces squeezed,
    /// cut to `limit` characters with an ellipsis.
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
