/// A colour as themes name it; the `Terminal` maps it to what the terminal can show.
public enum Color: Sendable, Hashable {
    /// The terminal's own foreground/background.
    case `default`
    /// One of the 256 indexed colours (0–15 are the terminal's palette).
    case indexed(UInt8)
    case rgb(UInt8, UInt8, UInt8)
}

/// Attributes a monochrome terminal can still show.
public struct Attributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = Attributes(rawValue: 1)
    public static let reverse = Attributes(rawValue: 2)
    public static let underline = Attributes(rawValue: 4)
    public static let dim = Attributes(rawValue: 8)
    public static let italic = Attributes(rawValue: 16)
}

/// A resolved cell style.
public struct Style: Sendable, Hashable {
    public var fg: Color
    public var bg: Color
    public var attrs: Attributes
    public init(fg: Color = .default, bg: Color = .default, attrs: Attributes = []) {
        self.fg = fg
        self.bg = bg
        self.attrs = attrs
    }
    public static let plain = Style()

    public func adding(_ a: Attributes) -> Style {
        var s = self
        s.attrs.formUnion(a)
        return s
    }
}

/// One terminal cell: a grapheme cluster and the style it is drawn in. A wide grapheme occupies
/// its cell and the next, which holds a continuation (`width == 0`).
public struct Cell: Sendable, Hashable {
    public var char: Character
    public var width: UInt8
    public var style: Style
    public static let blank = Cell(char: " ", width: 1, style: .plain)
}

/// A rectangle on the canvas.
public struct Rect: Sendable, Hashable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    public func inset(_ d: Int) -> Rect { Rect(x: x + d, y: y + d, width: width - 2 * d, height: height - 2 * d) }
    public func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }

    /// Splits off `n` rows from the top.
    public func takeTop(_ n: Int) -> (Rect, Rect) {
        let k = min(max(0, n), height)
        return (Rect(x: x, y: y, width: width, height: k), Rect(x: x, y: y + k, width: width, height: height - k))
    }
    public func takeBottom(_ n: Int) -> (Rect, Rect) {
        let k = min(max(0, n), height)
        return (Rect(x: x, y: maxY - k, width: width, height: k), Rect(x: x, y: y, width: width, height: height - k))
    }
    public func takeLeft(_ n: Int) -> (Rect, Rect) {
        let k = min(max(0, n), width)
        return (Rect(x: x, y: y, width: k, height: height), Rect(x: x + k, y: y, width: width - k, height: height))
    }
}

/// What a click on a region means; views record these while drawing, the app hit-tests clicks.
public enum HitTarget: Sendable, Hashable {
    case step(String)
    case run(String)
    case listRow(Int)
    case pane(Int)
}

/// A pure cell grid that views draw into. It never touches the terminal: the `Terminal` copies
/// it to the screen, tests compare it as text.
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    public private(set) var hits: [(Rect, HitTarget)] = []
    /// Where the terminal cursor should be (text fields), if visible.
    public var cursor: (x: Int, y: Int)?

    public init(width: Int, height: Int, fill: Style = .plain) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Cell(char: " ", width: 1, style: fill), count: self.width * self.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        cells[y * width + x]
    }

    public mutating func hit(_ rect: Rect, _ target: HitTarget) { hits.append((rect, target)) }

    public func target(atX x: Int, y: Int) -> HitTarget? {
        hits.last { $0.0.contains(x: x, y: y) }?.1
    }

    /// Fills a rectangle with spaces in `style`.
    public mutating func fill(_ r: Rect, _ style: Style) {
        let x0 = max(0, r.x), x1 = min(width, r.maxX), y0 = max(0, r.y), y1 = min(height, r.maxY)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 {
            for x in x0..<x1 { cells[y * width + x] = Cell(char: " ", width: 1, style: style) }
        }
    }

    /// Writes `text` (already sanitized) at (x, y), clipped to `clip` (default: the whole canvas).
    /// Returns the column after the last drawn cell. Control characters are skipped, never drawn.
    @discardableResult
    public mutating func text(_ text: String, x: Int, y: Int, _ style: Style, clip: Rect? = nil) -> Int {
        let c = clip ?? bounds
        guard y >= max(0, c.y), y < min(height, c.maxY) else { return x }
        let maxX = min(width, c.maxX)
        let minX = max(0, c.x)
        var cx = x
        for ch in text {
            let w: Int
            if let a = ch.asciiValue {
                if a < 0x20 || a == 0x7F { continue }
                w = 1
            } else {
                w = DisplayWidth.of(ch)
                if w == 0 {
                    // A lone combining mark or format char: attach nothing, skip.
                    continue
                }
            }
            if cx + w > maxX { break }
            if cx >= minX {
                put(ch, width: w, x: cx, y: y, style)
            }
            cx += w
        }
        return cx
    }

    private mutating func put(_ ch: Character, width w: Int, x: Int, y: Int, _ style: Style) {
        let i = y * width + x
        // Overwriting the second half of a wide char: blank its first half.
        if cells[i].width == 0, x > 0, cells[i - 1].width == 2 {
            cells[i - 1] = Cell(char: " ", width: 1, style: cells[i - 1].style)
        }
        // Overwriting the first half of a wide char: blank its continuation.
        if cells[i].width == 2, x + 1 < width {
            cells[i + 1] = Cell(char: " ", width: 1, style: cells[i + 1].style)
        }
        cells[i] = Cell(char: ch, width: UInt8(w), style: style)
        if w == 2, x + 1 < width {
            if cells[i + 1].width == 2, x + 2 < width {
                cells[i + 2] = Cell(char: " ", width: 1, style: cells[i + 2].style)
            }
            cells[i + 1] = Cell(char: " ", width: 0, style: style)
        }
    }

    /// Sets the style of existing cells (selection bars).
    public mutating func restyle(_ r: Rect, _ transform: (Style) -> Style) {
        let x0 = max(0, r.x), x1 = min(width, r.maxX), y0 = max(0, r.y), y1 = min(height, r.maxY)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 {
            for x in x0..<x1 { cells[y * width + x].style = transform(cells[y * width + x].style) }
        }
    }

    /// A box with a title on its top edge.
    public mutating func box(_ r: Rect, title: String? = nil, _ style: Style, titleStyle: Style? = nil) {
        guard r.width >= 2, r.height >= 2 else { return }
        let top = "┌" + String(repeating: "─", count: r.width - 2) + "┐"
        let bottom = "└" + String(repeating: "─", count: r.width - 2) + "┘"
        text(top, x: r.x, y: r.y, style)
        text(bottom, x: r.x, y: r.maxY - 1, style)
        if r.height > 2 {
            for y in (r.y + 1)..<(r.maxY - 1) {
                text("│", x: r.x, y: y, style)
                text("│", x: r.maxX - 1, y: y, style)
            }
        }
        if let title, r.width > 6 {
            let t = " " + DisplayWidth.truncate(title, to: r.width - 6) + " "
            text(t, x: r.x + 2, y: r.y, titleStyle ?? style)
        }
    }

    /// Plain text, one line per row, trailing spaces trimmed (for golden files).
    public func plainText() -> String {
        var lines: [String] = []
        for y in 0..<height {
            var line = ""
            for x in 0..<width {
                let c = cells[y * width + x]
                if c.width == 0 { continue }
                line.append(c.char)
            }
            while line.hasSuffix(" ") { line.removeLast() }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// A map of styles, one letter per cell, with a legend in order of first appearance (for golden
    /// files: shows colour and monochrome attributes as text).
    public func styleMap(names: (Style) -> String) -> String {
        var legend: [Style: Character] = [:]
        var order: [Style] = []
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var rows: [String] = []
        for y in 0..<height {
            var row = ""
            for x in 0..<width {
                let st = cells[y * width + x].style
                if st == .plain { row.append("."); continue }
                if legend[st] == nil {
                    legend[st] = order.count < letters.count ? letters[order.count] : "?"
                    order.append(st)
                }
                row.append(legend[st]!)
            }
            while row.hasSuffix(".") { row.removeLast() }
            rows.append(row)
        }
        let legendLines = order.map { "\(legend[$0]!) = \(names($0))" }
        return (legendLines + ["--"] + rows).joined(separator: "\n")
    }
}
