import Foundation
import TOMLKit

/// A TOML value decoded at the edge into a plain, `Sendable` tree.
public indirect enum ConfigValue: Sendable, Hashable {
    case table([(String, ConfigValue)])
    case array([ConfigValue])
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)

    public static func == (a: ConfigValue, b: ConfigValue) -> Bool { a.debugText == b.debugText }
    public func hash(into h: inout Hasher) { h.combine(debugText) }

    var debugText: String {
        switch self {
        case .table(let kv): "{" + kv.map { "\($0.0)=\($0.1.debugText)" }.joined(separator: ",") + "}"
        case .array(let a): "[" + a.map(\.debugText).joined(separator: ",") + "]"
        case .string(let s): "\"\(s)\""
        case .int(let i): String(i)
        case .double(let d): String(d)
        case .bool(let b): String(b)
        }
    }

    public var typeName: String {
        switch self {
        case .table: "table"
        case .array: "array"
        case .string: "string"
        case .int: "integer"
        case .double: "number"
        case .bool: "boolean"
        }
    }

    public subscript(key: String) -> ConfigValue? {
        if case .table(let kv) = self { return kv.first { $0.0 == key }?.1 }
        return nil
    }

    public var keys: [String] {
        if case .table(let kv) = self { return kv.map(\.0) }
        return []
    }

    static func from(_ v: any TOMLValueConvertible) -> ConfigValue {
        if let t = v.table {
            return .table(t.keys.sorted().compactMap { k in t[k].map { (k, from($0)) } })
        }
        if let a = v.array { return .array(a.map { from($0) }) }
        if let b = v.bool { return .bool(b) }
        if let i = v.int { return .int(i) }
        if let d = v.double { return .double(d) }
        if let s = v.string { return .string(s) }
        return .string(String(describing: v))
    }
}

/// An error in a configuration, catalog or theme file: which file, which line, which key.
public struct ConfigError: Error, Sendable, CustomStringConvertible, Hashable {
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String

    public init(file: String, line: Int?, key: String?, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ": "
        if let key { s += "key '\(key)': " }
        return s + message
    }
}

/// A parsed TOML document that remembers where each key was written, so errors can name the line.
public struct ConfigDocument: Sendable {
    public let file: String
    public let root: ConfigValue
    /// `section.key` or `models[2].key` → 1-based line.
    let lines: [String: Int]

    public init(text: String, file: String) throws(ConfigError) {
        self.file = file
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ConfigError(file: file, line: e.source.begin.line, key: nil, message: "TOML syntax: \(e.description) (column \(e.source.begin.column))")
        } catch {
            throw ConfigError(file: file, line: nil, key: nil, message: "TOML syntax: \(error)")
        }
        self.root = ConfigValue.from(table)
        self.lines = Self.mapLines(text)
    }

    public static func load(path: String) throws(ConfigError) -> ConfigDocument {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, line: nil, key: nil, message: "cannot read the file (missing or not readable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: nil, key: nil, message: "the file is not UTF-8 text")
        }
        return try ConfigDocument(text: text, file: path)
    }

    /// The line of a key path such as `providers.groq.base_url` or `models[3].price_input`.
    public func line(of path: String) -> Int? {
        if let l = lines[path] { return l }
        // Fall back to the enclosing table's header.
        var p = path
        while let dot = p.lastIndex(of: ".") {
            p = String(p[..<dot])
            if let l = lines[p] { return l }
        }
        return nil
    }

    public func error(_ path: String, _ message: String) -> ConfigError {
        ConfigError(file: file, line: line(of: path), key: path, message: message)
    }

    static func mapLines(_ text: String) -> [String: Int] {
        var map: [String: Int] = [:]
        var header = ""
        var arrayCounts: [String: Int] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || line.isEmpty { continue }
            if line.hasPrefix("[[") {
                let name = line.dropFirst(2).prefix { $0 != "]" }.trimmingCharacters(in: .whitespaces)
                let n = arrayCounts[name, default: 0]
                arrayCounts[name] = n + 1
                header = "\(name)[\(n)]"
                map[header] = i + 1
            } else if line.hasPrefix("[") {
                header = line.dropFirst().prefix { $0 != "]" }.trimmingCharacters(in: .whitespaces)
                    .replacingOccurrences(of: "\"", with: "")
                map[header] = i + 1
            } else if let eq = line.firstIndex(of: "=") {
                let key = line[..<eq].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\"", with: "")
                map[header.isEmpty ? key : "\(header).\(key)"] = i + 1
            }
        }
        return map
    }
}

/// Typed, strict reading of a table: every read names its key path; unknown keys are errors.
struct TableReader {
    let doc: ConfigDocument
    let path: String
    let value: ConfigValue

    func full(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func checkKeys(_ allowed: [String]) throws(ConfigError) {
        for k in value.keys where !allowed.contains(k) {
            let near = allowed.min { distance($0, k) < distance($1, k) }
            let hint = near.map { distance($0, k) <= 3 ? " (did you mean '\($0)'?)" : "" } ?? ""
            throw doc.error(full(k), "unknown key\(hint); allowed here: \(allowed.joined(separator: ", "))")
        }
    }

    func string(_ key: String) throws(ConfigError) -> String? {
        guard let v = value[key] else { return nil }
        guard case .string(let s) = v else { throw doc.error(full(key), "expected a string, found \(v.typeName)") }
        return s
    }
    func requiredString(_ key: String) throws(ConfigError) -> String {
        guard let s = try string(key) else { throw doc.error(full(key), "is required") }
        return s
    }
    func int(_ key: String, in range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int? {
        guard let v = value[key] else { return nil }
        guard case .int(let i) = v else { throw doc.error(full(key), "expected an integer, found \(v.typeName)") }
        if let range, !range.contains(i) { throw doc.error(full(key), "\(i) is out of range \(range.lowerBound)…\(range.upperBound)") }
        return i
    }
    func double(_ key: String, in range: ClosedRange<Double>? = nil) throws(ConfigError) -> Double? {
        guard let v = value[key] else { return nil }
        let d: Double
        switch v {
        case .double(let x): d = x
        case .int(let i): d = Double(i)
        default: throw doc.error(full(key), "expected a number, found \(v.typeName)")
        }
        if let range, !range.contains(d) { throw doc.error(full(key), "\(d) is out of range \(range.lowerBound)…\(range.upperBound)") }
        return d
    }
    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let v = value[key] else { return nil }
        guard case .bool(let b) = v else { throw doc.error(full(key), "expected true or false, found \(v.typeName)") }
        return b
    }
    func strings(_ key: String) throws(ConfigError) -> [String]? {
        guard let v = value[key] else { return nil }
        guard case .array(let a) = v else { throw doc.error(full(key), "expected an array of strings, found \(v.typeName)") }
        var out: [String] = []
        for (i, e) in a.enumerated() {
            guard case .string(let s) = e else { throw doc.error(full(key), "element \(i + 1) should be a string, found \(e.typeName)") }
            out.append(s)
        }
        return out
    }
    func table(_ key: String) throws(ConfigError) -> TableReader? {
        guard let v = value[key] else { return nil }
        guard case .table = v else { throw doc.error(full(key), "expected a table, found \(v.typeName)") }
        return TableReader(doc: doc, path: full(key), value: v)
    }

    func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var prev = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return a.isEmpty ? b.count : prev[b.count]
    }
}
