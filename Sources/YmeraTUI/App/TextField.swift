/// A multi-line text buffer with a cursor (the task editor; one line for prompts and filters).
public struct TextBuffer: Sendable, Hashable {
    public var lines: [[Character]] = [[]]
    public var row = 0
    public var col = 0
    public var multiline: Bool

    public init(_ text: String = "", multiline: Bool = true) {
        self.multiline = multiline
        set(text)
    }

    public var text: String { lines.map { String($0) }.joined(separator: "\n") }
    public var isEmpty: Bool { lines.count == 1 && lines[0].isEmpty }

    public mutating func set(_ text: String) {
        let parts = multiline ? text.split(separator: "\n", omittingEmptySubsequences: false) : [Substring(Sanitizer.line(text))]
        lines = parts.map { Array($0) }
        if lines.isEmpty { lines = [[]] }
        row = lines.count - 1
        col = lines[row].count
    }

    /// Handles an editing key; returns false when the key is not an editing key.
    public mutating func handle(_ key: Key) -> Bool {
        switch key {
        case .char(let c):
            insert(c)
        case .enter where multiline:
            let rest = Array(lines[row][col...])
            lines[row].removeSubrange(col...)
            lines.insert(rest, at: row + 1)
            row += 1
            col = 0
        case .backspace:
            if col > 0 {
                lines[row].remove(at: col - 1)
                col -= 1
            } else if row > 0 {
                col = lines[row - 1].count
                lines[row - 1] += lines[row]
                lines.remove(at: row)
                row -= 1
            }
        case .delete:
            if col < lines[row].count {
                lines[row].remove(at: col)
            } else if row + 1 < lines.count {
                lines[row] += lines[row + 1]
                lines.remove(at: row + 1)
            }
        case .left:
            if col > 0 { col -= 1 } else if row > 0 { row -= 1; col = lines[row].count }
        case .right:
            if col < lines[row].count { col += 1 } else if row + 1 < lines.count { row += 1; col = 0 }
        case .up where multiline:
            if row > 0 { row -= 1; col = min(col, lines[row].count) }
        case .down where multiline:
            if row + 1 < lines.count { row += 1; col = min(col, lines[row].count) }
        case .home, .ctrl("a"):
            col = 0
        case .end, .ctrl("e"):
            col = lines[row].count
        case .ctrl("u"):
            lines[row].removeSubrange(0..<col)
            col = 0
        case .ctrl("k"):
            lines[row].removeSubrange(col...)
        default:
            return false
        }
        return true
    }

    public mutating func insert(_ c: Character) {
        // Pasted text may carry control or escape characters: keep only what the sanitizer keeps.
        if c == "\n" || c == "\r\n" {
            if multiline { _ = handle(.enter) }
            return
        }
        if c == "\t" {
            for _ in 0..<4 { insert(" ") }
            return
        }
        let clean = Sanitizer.line(String(c))
        for ch in clean {
            lines[row].insert(ch, at: col)
            col += 1
        }
    }
}
