// Properties shared by the targets.

import YmeraCore

/// True when `text` holds nothing a terminal acts on: no ESC, no C0 control other than newline and
/// tab (newline only when `newlines`), no DEL, no C1 control. (Swift strings are valid Unicode, so
/// their UTF-8 is valid; `validUTF8` checks the bytes anyway.)
func isTerminalSafe(_ text: String, newlines: Bool = true, tabs: Bool = true) -> Bool {
    for s in text.unicodeScalars {
        switch s.value {
        case 0x0A: if !newlines { return false }
        case 0x09: if !tabs { return false }
        case 0x00..<0x20, 0x7F, 0x80..<0xA0: return false
        default: continue
        }
    }
    return validUTF8(Array(text.utf8))
}

/// A strict UTF-8 check (no overlongs, no surrogates, nothing above U+10FFFF).
func validUTF8(_ bytes: [UInt8]) -> Bool {
    var it = bytes.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&it) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}

/// A failure the user may be shown: its message must be safe to print.
func checkFailure(_ error: any Error, _ what: String) {
    if let f = error as? ModelFailure {
        require(isTerminalSafe(f.message), "\(what): failure message not sanitized: \(f.message.debugDescription)")
    }
}
