import TOMLKit
import YmeraCore

/// Semantic roles views draw with; a theme maps each to a style.
public enum Role: String, CaseIterable, Sendable, Hashable {
    case normal, muted, border, title, header, selected, pending, running, done, failed, retrying, paused
    case skipped, splice, footer, input, error, prompt
    case borderFocus = "border_focus"
    case headerLabel = "header_label"
    case badgeSimulated = "badge_simulated"
    case badgeLocal = "badge_local"
    case badgeCloud = "badge_cloud"
    case breakerClosed = "breaker_closed"
    case breakerOpen = "breaker_open"
    case breakerHalfOpen = "breaker_half_open"
    case logInfo = "log_info"
    case logWarn = "log_warn"
    case logError = "log_error"
    case footerKey = "footer_key"
    case scoreGood = "score_good"
    case scoreMid = "score_mid"
    case scoreBad = "score_bad"
    case readOnly = "read_only"
}

/// An error in a theme file, with where it is.
public struct ThemeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A resolved theme: a style per role, in colour or in monochrome.
public struct Theme: Sendable {
    public var name: String
    public var monochrome: Bool
    private var styles: [Role: Style]

    public subscript(_ role: Role) -> Style { styles[role] ?? .plain }

    /// A short name for a style, for golden files: the role it came from.
    public func roleName(of style: Style) -> String {
        // Monochrome: the attributes are what the user sees; several roles share them.
        if monochrome { return Theme.attrNames(style.attrs) }
        for r in Role.allCases where styles[r] == style { return r.rawValue }
        // Derived styles (a role plus selection bold/reverse).
        for r in Role.allCases {
            if var base = styles[r] {
                let extra = style.attrs.subtracting(base.attrs)
                base.attrs.formUnion(extra)
                if base.fg == style.fg && base.bg == style.bg && base.attrs == style.attrs && !extra.isEmpty {
                    return r.rawValue + "+" + Theme.attrNames(extra)
                }
            }
        }
        return "fg=\(style.fg) bg=\(style.bg) attrs=\(Theme.attrNames(style.attrs))"
    }

    static func attrNames(_ a: Attributes) -> String {
        var n: [String] = []
        if a.contains(.bold) { n.append("bold") }
        if a.contains(.reverse) { n.append("reverse") }
        if a.contains(.underline) { n.append("underline") }
        if a.contains(.dim) { n.append("dim") }
        if a.contains(.italic) { n.append("italic") }
        return n.joined(separator: ",")
    }

    /// Names of the themes shipped with YMERA.
    public static var builtinNames: [String] { BuiltinThemes.all.map(\.0) }

    /// Loads a theme by name: a shipped one, or `<name>.toml` in one of `searchPaths`.
    /// The theme is merged over the default theme; `monochrome` picks each role's `mono` attributes.
    public static func load(named name: String, searchPaths: [String] = [], monochrome: Bool) throws -> Theme {
        let base = try ThemeSpec.parse(BuiltinThemes.defaultTheme, file: "default.toml")
        var overlay: ThemeSpec? = nil
        for dir in searchPaths {
            let path = dir + "/" + name + ".toml"
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                overlay = try ThemeSpec.parse(text, file: path)
                break
            }
        }
        if overlay == nil {
            guard let text = BuiltinThemes.all.first(where: { $0.0 == name })?.1 else {
                throw ThemeError(
                    "unknown theme '\(name)': shipped themes are \(builtinNames.joined(separator: ", "))")
            }
            overlay = try ThemeSpec.parse(text, file: name + ".toml")
        }
        return try base.merged(with: overlay!).resolve(monochrome: monochrome)
    }

    /// The default theme (colour or monochrome); never fails (the shipped file is tested).
    public static func standard(monochrome: Bool = false) -> Theme {
        (try? load(named: "default", monochrome: monochrome)) ?? Theme(name: "fallback", monochrome: true, styles: [:])
    }

    init(name: String, monochrome: Bool, styles: [Role: Style]) {
        self.name = name
        self.monochrome = monochrome
        self.styles = styles
    }
}

/// A theme file as written: unresolved colour names, per-field so a theme overrides only what it sets.
struct ThemeSpec: Sendable {
    struct RoleSpec: Sendable {
        var fg: String?
        var bg: String?
        var attrs: [String]?
        var mono: [String]?
    }
    var name: String
    /// The file each palette entry and role field came from (a merged spec has two), for errors.
    var origin: [String: String] = [:]
    var palette: [String: String] = [:]
    var roles: [String: RoleSpec] = [:]

    static func parse(_ text: String, file: String) throws -> ThemeSpec {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ThemeError("\(file): line \(e.source.begin.line), column \(e.source.begin.column): \(TextSanitizer.clean(e.description, keepNewlines: false))")
        }
        var spec = ThemeSpec(name: table["name"]?.string ?? file)
        spec.origin[""] = file
        for key in table.keys {
            switch key {
            case "name", "description": continue
            case "palette":
                guard let p = table["palette"]?.table else { throw ThemeError("\(file): [palette] must be a table") }
                for k in p.keys {
                    guard let v = p[k]?.string else { throw ThemeError("\(file): palette.\(quoted(k)) must be a string") }
                    spec.palette[k] = v
                    spec.origin["palette.\(k)"] = file
                }
            case "role":
                guard let r = table["role"]?.table else { throw ThemeError("\(file): [role] must be a table") }
                for k in r.keys {
                    guard Role(rawValue: k) != nil else {
                        throw ThemeError("\(file): unknown role '\(quoted(k))' (known: \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    guard let t = r[k]?.table else { throw ThemeError("\(file): role.\(quoted(k)) must be a table") }
                    var rs = RoleSpec()
                    for field in t.keys {
                        switch field {
                        case "fg", "bg", "attrs", "mono": spec.origin["role.\(k).\(field)"] = file
                        default: break
                        }
                        switch field {
                        case "fg": rs.fg = try colourString(t[field], "\(file): role.\(k).fg")
                        case "bg": rs.bg = try colourString(t[field], "\(file): role.\(k).bg")
                        case "attrs": rs.attrs = try stringArray(t[field], "\(file): role.\(k).attrs")
                        case "mono": rs.mono = try stringArray(t[field], "\(file): role.\(k).mono")
                        default: throw ThemeError("\(file): unknown key role.\(k).\(quoted(field)) (fg, bg, attrs, mono)")
                        }
                    }
                    spec.roles[k] = rs
                }
            default:
                throw ThemeError("\(file): unknown key '\(quoted(key))' (name, description, palette, role)")
            }
        }
        return spec
    }

    private static func colourString(_ v: TOMLValueConvertible?, _ at: String) throws -> String {
        if let s = v?.string { return s }
        if let i = v?.int { return String(i) }
        throw ThemeError("\(at) must be a colour string or 0–255")
    }

    private static func stringArray(_ v: TOMLValueConvertible?, _ at: String) throws -> [String] {
        guard let a = v?.array else { throw ThemeError("\(at) must be an array of strings") }
        var out: [String] = []
        for item in a {
            guard let s = item.string else { throw ThemeError("\(at) must be an array of strings") }
            out.append(s)
        }
        return out
    }

    func merged(with o: ThemeSpec) -> ThemeSpec {
        var m = self
        m.name = o.name
        for (k, v) in o.origin { m.origin[k] = v }
        for (k, v) in o.palette { m.palette[k] = v }
        for (k, r) in o.roles {
            var base = m.roles[k] ?? RoleSpec()
            if let fg = r.fg { base.fg = fg }
            if let bg = r.bg { base.bg = bg }
            if let a = r.attrs { base.attrs = a }
            if let mono = r.mono { base.mono = mono }
            m.roles[k] = base
        }
        return m
    }

    /// Every wrong colour or attribute is reported at once, each with the file and key it came from.
    func resolve(monochrome: Bool) throws -> Theme {
        var styles: [Role: Style] = [:]
        var wrong: [String] = []
        func attempt<T>(_ key: String, _ fallback: T, _ body: () throws -> T) -> T {
            do { return try body() } catch {
                wrong.append("\(origin[key] ?? origin[""] ?? name): \(error)")
                return fallback
            }
        }
        for role in Role.allCases {
            let r = roles[role.rawValue] ?? RoleSpec()
            let key = "role.\(role.rawValue)"
            if monochrome {
                styles[role] = Style(attrs: attempt(key + ".mono", []) { try Self.attributes(r.mono ?? [], key + ".mono") })
            } else {
                styles[role] = Style(
                    fg: attempt(key + ".fg", .default) { try color(r.fg, key + ".fg") },
                    bg: attempt(key + ".bg", .default) { try color(r.bg, key + ".bg") },
                    attrs: attempt(key + ".attrs", []) { try Self.attributes(r.attrs ?? [], key + ".attrs") })
            }
        }
        if wrong.count == 1 { throw ThemeError(wrong[0]) }
        if !wrong.isEmpty {
            throw ThemeError("theme '\(Self.quoted(name))': \(wrong.count) wrong values:\n  " + wrong.prefix(40).joined(separator: "\n  ")
                + (wrong.count > 40 ? "\n  … and \(wrong.count - 40) more" : ""))
        }
        return Theme(name: name, monochrome: monochrome, styles: styles)
    }

    /// A value from the file, fit to quote in a message (terminal controls removed, length bounded).
    static func quoted(_ s: String) -> String {
        let clean = TextSanitizer.clean(s, keepNewlines: false)
        return clean.count > 60 ? String(clean.prefix(60)) + "…" : clean
    }

    static func attributes(_ names: [String], _ at: String) throws -> Attributes {
        var a: Attributes = []
        for n in names {
            switch n {
            case "bold": a.insert(.bold)
            case "reverse": a.insert(.reverse)
            case "underline": a.insert(.underline)
            case "dim": a.insert(.dim)
            case "italic": a.insert(.italic)
            default: throw ThemeError("\(at): unknown attribute '\(quoted(n))' (bold, reverse, underline, dim, italic)")
            }
        }
        return a
    }

    static let ansi = [
        "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
    ]

    func color(_ s: String?, _ at: String, depth: Int = 0) throws -> Color {
        guard let s, s != "default" else { return .default }
        if let p = palette[s], depth < 4 { return try color(p, at, depth: depth + 1) }
        if s.hasPrefix("#"), s.count == 7, let v = UInt32(s.dropFirst(), radix: 16) {
            return .rgb(UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF))
        }
        if let i = Int(s), (0...255).contains(i) { return .indexed(UInt8(i)) }
        if let i = Self.ansi.firstIndex(of: s) { return .indexed(UInt8(i)) }
        if s.hasPrefix("bright-"), let i = Self.ansi.firstIndex(of: String(s.dropFirst(7))) { return .indexed(UInt8(i + 8)) }
        throw ThemeError("\(at): unknown colour '\(Self.quoted(s))' (a palette name, #rrggbb, 0–255, an ANSI name, bright-NAME or default)")
    }
}
