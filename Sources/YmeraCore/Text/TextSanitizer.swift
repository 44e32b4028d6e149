/// Strips untrusted text (model output, task text, server errors) of everything a terminal would act
/// on: escape sequences (CSI, OSC, DCS, SOS, PM, APC, and two-byte ESC forms, 7- and 8-bit), C0 controls
/// except newline and tab, DEL, C1 controls, and bidirectional overrides/isolates/marks that could
/// reorder what is shown. CR LF and a lone CR become LF. The one implementation: the dashboard, the
/// journal's exports, the CLI and the validator's reports all call it.
public enum TextSanitizer {
    public enum Tabs: Sendable, Hashable {
        /// Each tab becomes this many spaces (terminal cells).
        case expand(Int)
        /// Tabs stay (Markdown exports: code keeps its indentation).
        case keep
    }

    public static func clean(_ text: String, keepNewlines: Bool = true, tabs: Tabs = .expand(4)) -> String {
        var out = String.UnicodeScalarView()
        var it = Array(text.unicodeScalars)[...]
        while let s = it.popFirst() {
            switch s.value {
            case 0x1B: skipEscape(&it)
            case 0x9B: skipCSI(&it)  // 8-bit CSI
            case 0x90, 0x9D, 0x98, 0x9E, 0x9F: skipString(&it)  // 8-bit DCS, OSC, SOS, PM, APC
            case 0x0A: out.append(keepNewlines ? s : " ")
            case 0x0D: if it.first?.value != 0x0A { out.append(keepNewlines ? "\n" : " ") }
            case 0x09:
                switch tabs {
                case .keep: out.append(s)
                case .expand(let n): for _ in 0..<max(0, n) { out.append(" ") }
                }
            case 0x00..<0x20, 0x7F, 0x80..<0xA0: continue
            case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: continue  // bidi controls
            case 0xFEFF, 0xFFF9...0xFFFB: continue  // BOM, interlinear annotations
            default: out.append(s)
            }
        }
        return String(out)
    }

    static func skipEscape(_ it: inout ArraySlice<Unicode.Scalar>) {
        guard let n = it.popFirst() else { return }
        switch n {
        case "[": skipCSI(&it)
        case "]", "P", "X", "^", "_": skipString(&it)
        case "(", ")", "*", "+", "-", ".", "/", "#", "%", " ": _ = it.popFirst()  // designators take one more byte
        default: break  // two-byte sequence: both dropped
        }
    }

    /// Parameters and intermediates up to a final byte 0x40–0x7E. A malformed body (a control or a
    /// non-ASCII scalar) ends the sequence there, and the main loop judges that scalar.
    static func skipCSI(_ it: inout ArraySlice<Unicode.Scalar>) {
        while let c = it.first {
            if (0x40...0x7E).contains(c.value) {
                it.removeFirst()
                return
            }
            if c.value < 0x20 || c.value > 0x7E { return }
            it.removeFirst()
        }
    }

    /// OSC/DCS/SOS/PM/APC bodies up to BEL or ST (ESC \ or U+009C).
    static func skipString(_ it: inout ArraySlice<Unicode.Scalar>) {
        while let c = it.popFirst() {
            if c.value == 0x07 || c.value == 0x9C { return }
            if c.value == 0x1B {
                if it.first == "\\" { it.removeFirst() }
                return
            }
        }
    }
}
