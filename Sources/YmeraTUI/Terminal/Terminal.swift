import CNcursesw
import Foundation

/// Why the dashboard cannot open a terminal.
public struct TerminalError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// An input event decoded from curses.
public enum InputEvent: Sendable, Hashable {
    case key(Key)
    case resize
    case mouse(x: Int, y: Int, wheel: Int)
}

/// How many colours the terminal shows, which decides how theme colours are mapped.
public enum ColorMode: String, Sendable {
    case none, basic, indexed256 = "256", direct = "truecolor"
}

/// The only type that calls curses. Not thread-safe (ncurses here is not reentrant): one owner,
/// the UI loop, creates it, uses it and shuts it down.
public final class Terminal {
    private let screen: OpaquePointer
    private let win: UnsafeMutablePointer<WINDOW>
    public let colorMode: ColorMode
    private var pairs: [PairKey: Int32] = [:]
    private var closed = false
    private var fullRedraw = false
    private let colorCount: Int

    private struct PairKey: Hashable {
        var fg: Int32
        var bg: Int32
    }

    /// Opens the terminal. `outputFD`/`inputFD` nil: the process's stdout/stdin (which must be
    /// terminals). Throws, never exits, on an unknown TERM.
    public init(term: String? = nil, outputFD: Int32? = nil, inputFD: Int32? = nil, monochrome: Bool) throws {
        ymera_setlocale()
        let termName = term ?? ProcessInfo.processInfo.environment["TERM"] ?? ""
        if outputFD == nil {
            guard isatty(STDOUT_FILENO) == 1 else {
                throw TerminalError("standard output is not a terminal: the dashboard needs one (use `ymera run TASK --json` for headless output)")
            }
            guard isatty(STDIN_FILENO) == 1 else {
                throw TerminalError("standard input is not a terminal: the dashboard needs one to read keys")
            }
        }
        guard !termName.isEmpty, termName != "dumb" else {
            throw TerminalError("TERM is \(termName.isEmpty ? "not set" : "'dumb'"): the dashboard needs a full-screen terminal (try TERM=xterm-256color)")
        }
        let scr: OpaquePointer? = termName.withCString { name in
            if let o = outputFD, let i = inputFD { return ymera_newterm_fds(name, o, i) }
            return ymera_newterm(name)
        }
        guard let scr else {
            throw TerminalError("TERM '\(termName)' is not known to this system's terminfo: the dashboard cannot draw (try TERM=xterm-256color, or install ncurses-term)")
        }
        screen = scr
        set_term(scr)
        guard let w = ymera_stdscr() else {
            endwin()
            delscreen(scr)
            throw TerminalError("curses gave no screen")
        }
        win = w
        ymera_set_curses_active(1)
        ymera_install_crash_handlers()
        raw()
        noecho()
        nonl()
        keypad(win, true)
        nodelay(win, true)
        set_escdelay(25)
        intrflush(win, false)
        leaveok(win, false)
        curs_set(0)
        var mode = ColorMode.none
        var count = 0
        if !monochrome && has_colors() {
            start_color()
            use_default_colors()
            count = Int(ymera_colors())
            mode = count >= 0x1000000 ? .direct : count >= 256 ? .indexed256 : count >= 8 ? .basic : .none
        }
        colorMode = mode
        colorCount = count
        _ = mousemask(ymera_all_mouse_events(), nil)
        mouseinterval(0)
    }

    deinit { shutdown() }

    /// Restores the terminal (idempotent).
    public func shutdown() {
        guard !closed else { return }
        closed = true
        _ = mousemask(0, nil)
        curs_set(1)
        endwin()
        ymera_set_curses_active(0)
        delscreen(screen)
    }

    /// Hands the terminal to another program (an editor): curses' modes are saved and the screen
    /// restored to what it was before the dashboard. `resumeAfterSuspend` takes it back.
    public func suspend() {
        guard !closed else { return }
        def_prog_mode()
        _ = mousemask(0, nil)
        curs_set(1)
        endwin()
        ymera_set_curses_active(0)
    }

    /// Takes the terminal back after `suspend`: the saved modes, the mouse, and a full repaint.
    public func resumeAfterSuspend() {
        guard !closed else { return }
        ymera_set_curses_active(1)
        reset_prog_mode()
        curs_set(0)
        _ = mousemask(ymera_all_mouse_events(), nil)
        fullRedraw = true
        wrefresh(win)
    }

    public var size: (width: Int, height: Int) {
        (Int(getmaxx(win)), Int(getmaxy(win)))
    }

    /// Next draw clears and repaints the whole screen (Ctrl-L).
    public func requestFullRedraw() { fullRedraw = true }

    /// Reads every pending input event (non-blocking).
    public func readInput(limit: Int = 4096) -> [InputEvent] {
        var out: [InputEvent] = []
        var ch: UInt32 = 0
        for _ in 0..<limit {
            let r = ymera_get_wch(win, &ch)
            if r == ERR { break }
            if r == KEY_CODE_YES {
                if let ev = decodeKeyCode(Int32(bitPattern: ch)) { out.append(ev) }
            } else {
                if let k = Self.decodeChar(ch) { out.append(.key(k)) }
            }
        }
        return out
    }

    static func decodeChar(_ ch: UInt32) -> Key? {
        switch ch {
        case 10, 13: return .enter
        case 27: return .escape
        case 127, 8: return .backspace
        case 9: return .tab
        case 0: return nil
        case 1...26: return .ctrl(Character(Unicode.Scalar(UInt8(ch) + 96)))
        case 28...31: return nil
        default:
            guard let s = Unicode.Scalar(ch) else { return nil }
            return .char(Character(s))
        }
    }

    private func decodeKeyCode(_ c: Int32) -> InputEvent? {
        switch c {
        case KEY_UP: return .key(.up)
        case KEY_DOWN: return .key(.down)
        case KEY_LEFT: return .key(.left)
        case KEY_RIGHT: return .key(.right)
        case KEY_ENTER: return .key(.enter)
        case KEY_BACKSPACE: return .key(.backspace)
        case KEY_DC: return .key(.delete)
        case KEY_HOME: return .key(.home)
        case KEY_END: return .key(.end)
        case KEY_PPAGE: return .key(.pageUp)
        case KEY_NPAGE: return .key(.pageDown)
        case KEY_BTAB: return .key(.backTab)
        case KEY_RESIZE: return .resize
        case KEY_MOUSE:
            var ev = MEVENT()
            guard getmouse(&ev) == OK else { return nil }
            let b = ev.bstate
            if b & ymera_button4_pressed() != 0 { return .mouse(x: Int(ev.x), y: Int(ev.y), wheel: -1) }
            if ymera_button5_pressed() != 0 && b & ymera_button5_pressed() != 0 { return .mouse(x: Int(ev.x), y: Int(ev.y), wheel: 1) }
            if b & (ymera_button1_pressed() | ymera_button1_clicked()) != 0 { return .mouse(x: Int(ev.x), y: Int(ev.y), wheel: 0) }
            return nil
        default:
            if c >= KEY_F0 && c <= KEY_F0 + 24 { return .key(.function(Int(c - KEY_F0))) }
            return nil
        }
    }

    // MARK: drawing

    /// Copies a canvas to the screen: erase, draw, `wnoutrefresh` + `doupdate`, so curses sends
    /// only the cells that changed (no flicker).
    public func draw(_ canvas: Canvas) {
        if fullRedraw {
            clearok(win, true)
            fullRedraw = false
        }
        werase(win)
        let (w, h) = size
        let width = min(w, canvas.width)
        let height = min(h, canvas.height)
        var buf: [wchar_t] = []
        buf.reserveCapacity(width)
        for y in 0..<height {
            var x = 0
            while x < width {
                let cell = canvas[x, y]
                if cell.width == 0 { x += 1; continue }
                let style = cell.style
                if cell.char.isASCII {
                    // Batch a run of ASCII cells in one style.
                    buf.removeAll(keepingCapacity: true)
                    let start = x
                    while x < width {
                        let c2 = canvas[x, y]
                        guard c2.style == style, c2.width == 1, let a = c2.char.asciiValue else { break }
                        buf.append(wchar_t(a))
                        x += 1
                    }
                    apply(style)
                    buf.withUnsafeBufferPointer { p in _ = ymera_put_wide(win, Int32(y), Int32(start), p.baseAddress, Int32(p.count)) }
                } else {
                    // One grapheme at its own position, so a width disagreement with the C library
                    // cannot shift the rest of the row.
                    apply(style)
                    if cell.width == 2 && x + 1 < width {
                        var sp: [wchar_t] = [32]
                        _ = ymera_put_wide(win, Int32(y), Int32(x + 1), &sp, 1)
                    }
                    buf.removeAll(keepingCapacity: true)
                    for s in cell.char.unicodeScalars { buf.append(wchar_t(bitPattern: s.value)) }
                    buf.withUnsafeBufferPointer { p in _ = ymera_put_wide(win, Int32(y), Int32(x), p.baseAddress, Int32(p.count)) }
                    x += Int(cell.width)
                }
            }
        }
        if let cur = canvas.cursor, cur.x >= 0, cur.x < w, cur.y >= 0, cur.y < h {
            wmove(win, Int32(cur.y), Int32(cur.x))
            curs_set(1)
        } else {
            curs_set(0)
        }
        wnoutrefresh(win)
        doupdate()
    }

    private var lastStyle: Style?

    private func apply(_ s: Style) {
        var a = ymera_a_normal()
        if s.attrs.contains(.bold) { a |= ymera_a_bold() }
        if s.attrs.contains(.reverse) { a |= ymera_a_reverse() }
        if s.attrs.contains(.underline) { a |= ymera_a_underline() }
        if s.attrs.contains(.dim) { a |= ymera_a_dim() }
        if s.attrs.contains(.italic) { a |= ymera_a_italic() }
        let pair = colorMode == .none ? 0 : pairFor(fg: s.fg, bg: s.bg)
        ymera_set_attr(win, a, pair)
    }

    private func pairFor(fg: Color, bg: Color) -> Int32 {
        let key = PairKey(fg: number(fg), bg: number(bg))
        if key.fg == -1 && key.bg == -1 { return 0 }
        if let p = pairs[key] { return p }
        let p = ymera_alloc_pair(key.fg, key.bg)
        let pair = p < 0 ? 0 : p
        pairs[key] = pair
        return pair
    }

    /// A theme colour as this terminal's colour number (degrading truecolor → 256 → 8).
    private func number(_ c: Color) -> Int32 {
        switch c {
        case .default: return -1
        case .indexed(let i):
            if Int(i) < colorCount { return Int32(i) }
            let (r, g, b) = ColorMath.rgb(ofIndex: i)
            return Int32(ColorMath.nearestBasic(r, g, b, count: colorCount))
        case .rgb(let r, let g, let b):
            switch colorMode {
            case .direct: return Int32(r) << 16 | Int32(g) << 8 | Int32(b)
            case .indexed256: return Int32(ColorMath.nearest256(r, g, b))
            default: return Int32(ColorMath.nearestBasic(r, g, b, count: colorCount))
            }
        }
    }
}

/// Colour conversions for degrading truecolor themes.
public enum ColorMath {
    static let cube: [Int] = [0, 95, 135, 175, 215, 255]

    /// The RGB of an xterm-256 index.
    public static func rgb(ofIndex i: UInt8) -> (UInt8, UInt8, UInt8) {
        let basic: [(UInt8, UInt8, UInt8)] = [
            (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
            (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
        ]
        if i < 16 { return basic[Int(i)] }
        if i >= 232 {
            let v = UInt8(8 + 10 * (Int(i) - 232))
            return (v, v, v)
        }
        let n = Int(i) - 16
        return (UInt8(cube[n / 36]), UInt8(cube[n / 6 % 6]), UInt8(cube[n % 6]))
    }

    /// Nearest xterm-256 index (cube or grey ramp) of an RGB colour.
    public static func nearest256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        func idx(_ v: UInt8) -> Int { v < 48 ? 0 : v < 115 ? 1 : (Int(v) - 35) / 40 }
        let (ri, gi, bi) = (idx(r), idx(g), idx(b))
        let cubeIndex = 16 + 36 * ri + 6 * gi + bi
        let avg = (Int(r) + Int(g) + Int(b)) / 3
        let greyIndex = avg > 238 ? 23 : max(0, (avg - 3) / 10)
        let grey = 8 + 10 * greyIndex
        func dist(_ a: (Int, Int, Int)) -> Int {
            let dr = a.0 - Int(r), dg = a.1 - Int(g), db = a.2 - Int(b)
            return dr * dr + dg * dg + db * db
        }
        let dc = dist((cube[ri], cube[gi], cube[bi]))
        let dg = dist((grey, grey, grey))
        return dg < dc ? 232 + greyIndex : cubeIndex
    }

    /// Nearest of the first `count` (8 or 16) palette colours.
    public static func nearestBasic(_ r: UInt8, _ g: UInt8, _ b: UInt8, count: Int) -> Int {
        let n = count >= 16 ? 16 : 8
        var best = 0
        var bestD = Int.max
        for i in 0..<n {
            let (pr, pg, pb) = rgb(ofIndex: UInt8(i))
            let d = (Int(pr) - Int(r)) * (Int(pr) - Int(r)) + (Int(pg) - Int(g)) * (Int(pg) - Int(g)) + (Int(pb) - Int(b)) * (Int(pb) - Int(b))
            if d < bestD { bestD = d; best = i }
        }
        return best
    }
}
