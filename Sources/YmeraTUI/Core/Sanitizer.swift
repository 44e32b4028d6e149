/// Strips untrusted text (model output, task text, server errors) of everything a terminal would
/// act on: escape sequences (CSI, OSC, DCS, SOS, PM, APC, and two-byte ESC forms), C0 controls except
/// newline and tab, DEL, C1 controls (including 8-bit CSI/OSC/DCS introducers and their payloads) and
/// bidirectional overrides/isolates that could reorder what is shown.
public enum Sanitizer {
    /// Sanitized text; tabs become `tabWidth` spaces, CR LF and lone CR become LF.
    public static func clean(_ text: String, tabWidth: Int = 4, keepNewlines: Bool = true) -> String {
        var out = String.UnicodeScalarView()
        var it = Array(text.unicodeScalars)[...]
        while let s = it.popFirst() {
            let v = s.value
            switch v {
            case 0x1B:  // ESC
                skipEscape(&it)
            case 0x9B:  // 8-bit CSI
                skipCSIBody(&it)
            case 0x90, 0x9D, 0x98, 0x9E, 0x9F:  // 8-bit DCS, OSC, SOS, PM, APC
                skipString(&it)
            case 0x0A:
                if keepNewlines { out.append(s) } else { out.append(" ") }
            case 0x0D:
                if it.first?.value != 0x0A { if keepNewlines { out.append("\n") } else { out.append(" ") } }
            case 0x09:
                for _ in 0..<tabWidth { out.append(" ") }
            case 0x00..<0x20, 0x7F, 0x80..<0xA0:
                continue
            case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C:  // bidi embeddings/overrides/isolates/marks
                continue
            case 0xFEFF, 0xFFF9...0xFFFB:
                continue
            default:
                out.append(s)
            }
        }
        return String(out)
    }

    /// One line: newlines become spaces.
    public static func line(_ text: String) -> String { clean(text, keepNewlines: false) }

    private static func skipEscape(_ it: inout ArraySlice<Unicode.Scalar>) {
        guard let next = it.first else { return }
        switch next.value {
        case 0x5B:  // [
            it.removeFirst()
            skipCSIBody(&it)
        case 0x5D, 0x50, 0x58, 0x5E, 0x5F:  // ] P X ^ _
            it.removeFirst()
            skipString(&it)
        case 0x20...0x2F:  // intermediates then a final byte (e.g. ESC ( B)
            while let c = it.first, (0x20...0x2F).contains(c.value) { it.removeFirst() }
            if let c = it.first, (0x30...0x7E).contains(c.value) { it.removeFirst() }
        case 0x30...0x7E:  // two-byte sequence (ESC c, ESC 7, ESC M ...)
            it.removeFirst()
        default:
            break  // lone ESC: dropped
        }
    }

    /// Parameters and intermediates up to and including the final byte (0x40–0x7E).
    private static func skipCSIBody(_ it: inout ArraySlice<Unicode.Scalar>) {
        var n = 0
        while let c = it.first, n < 256 {
            it.removeFirst()
            n += 1
            if (0x40...0x7E).contains(c.value) { return }
            if c.value < 0x20 || c.value == 0x1B { return }  // malformed: stop at a control
        }
    }

    /// A control string up to BEL, ST (ESC \) or 8-bit ST (0x9C).
    private static func skipString(_ it: inout ArraySlice<Unicode.Scalar>) {
        while let c = it.popFirst() {
            if c.value == 0x07 || c.value == 0x9C { return }
            if c.value == 0x1B {
                if it.first?.value == 0x5C { it.removeFirst() }
                return
            }
        }
    }
}
