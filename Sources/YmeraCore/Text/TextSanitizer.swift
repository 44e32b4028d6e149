/// Strips control and escape sequences from untrusted text (model output, task text, server errors)
/// before it reaches a terminal: CSI, OSC, DCS/SOS/PM/APC strings, other ESC sequences, C0 controls
/// except newline and tab, C1 controls, DEL, and bidi overrides that can disguise text.
public enum TextSanitizer {
    public static func clean(_ text: String, keepNewlines: Bool = true, tabWidth: Int = 4) -> String {
        var out = String.UnicodeScalarView()
        var it = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return it.next()
        }
        while let c = next() {
            switch c.value {
            case 0x1B:  // ESC
                guard let n = next() else { break }
                switch n {
                case "[": skipCSI(&it)
                case "]", "P", "X", "^", "_": skipString(&it)
                case "(", ")", "*", "+", "#", "%", " ": _ = it.next()
                default: break  // two-byte sequence: drop both
                }
            case 0x9B: skipCSI(&it)  // C1 CSI
            case 0x9D, 0x90, 0x98, 0x9E, 0x9F: skipString(&it)  // C1 OSC, DCS, SOS, PM, APC
            case 0x0A: if keepNewlines { out.append(c) } else { out.append(" ") }
            case 0x09: for _ in 0..<tabWidth { out.append(" ") }
            case 0x0D: break  // carriage return: would overwrite the line
            case 0x00...0x1F, 0x7F, 0x80...0x9F: break
            case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: break  // bidi controls
            default: out.append(c)
            }
        }
        return String(out)
    }

    /// CSI: parameters and intermediates until a final byte 0x40–0x7E.
    static func skipCSI(_ it: inout String.UnicodeScalarView.Iterator) {
        var guardCount = 0
        while let c = it.next(), guardCount < 256 {
            guardCount += 1
            if (0x40...0x7E).contains(c.value) { return }
        }
    }

    /// OSC/DCS/…: until BEL or ST (ESC \ or 0x9C).
    static func skipString(_ it: inout String.UnicodeScalarView.Iterator) {
        var guardCount = 0
        var lastEsc = false
        while let c = it.next(), guardCount < 65_536 {
            guardCount += 1
            if c.value == 0x07 || c.value == 0x9C { return }
            if lastEsc && c == "\\" { return }
            lastEsc = c.value == 0x1B
        }
    }
}
