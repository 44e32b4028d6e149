import YmeraCore
/// Strips untrusted text (model output, task text, server errors) of everything a terminal would
/// act on: escape sequences (CSI, OSC, DCS, SOS, PM, APC, and two-byte ESC forms), C0 controls except
/// newline and tab, DEL, C1 controls (including 8-bit CSI/OSC/DCS introducers and their payloads) and
/// bidirectional overrides/isolates that could reorder what is shown.
public enum Sanitizer {
    /// Sanitized text; tabs become `tabWidth` spaces, CR LF and lone CR become LF.
    public static func clean(_ text: String, tabWidth: Int = 4, keepNewlines: Bool = true) -> String {
        TextSanitizer.clean(text, keepNewlines: keepNewlines, tabs: .expand(tabWidth))
    }

    /// One line: newlines become spaces.
    public static func line(_ text: String) -> String { clean(text, keepNewlines: false) }

}
