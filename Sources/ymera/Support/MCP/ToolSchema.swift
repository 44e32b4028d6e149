import MCP

/// The subset of JSON Schema (2020-12) that `ymera mcp` publishes, as builders and as one validator.
/// The server validates every `tools/call` against the very `inputSchema` it lists, so what a client
/// reads is what is enforced: `type` (one name or a list), `properties`, `required`,
/// `additionalProperties: false`, `enum`, `minimum`/`maximum`, `minLength`/`maxLength`, `items`,
/// `minItems`/`maxItems` and `anyOf` (used with `required` only). An integral number (2.0) is an integer,
/// as JSON Schema says; 2.5 is not.
enum ToolSchema {
    // MARK: builders

    static func object(
        _ properties: [String: Value], required: [String] = [], additional: Bool = false, description: String? = nil,
        anyOf: [[String]] = []
    ) -> Value {
        var o: [String: Value] = ["type": "object", "properties": .object(properties), "required": strings(required)]
        if !additional { o["additionalProperties"] = false }
        if let description { o["description"] = .string(description) }
        if !anyOf.isEmpty { o["anyOf"] = .array(anyOf.map { .object(["required": strings($0)]) }) }
        return .object(o)
    }

    /// An object whose values all follow `values` (a map such as phase → model).
    static func map(_ values: Value, description: String) -> Value {
        .object(["type": "object", "additionalProperties": values, "description": .string(description)])
    }

    static func string(_ description: String, minLength: Int? = nil, maxLength: Int? = nil, oneOf values: [String]? = nil) -> Value {
        var o: [String: Value] = ["type": "string", "description": .string(description)]
        if let minLength { o["minLength"] = .int(minLength) }
        if let maxLength { o["maxLength"] = .int(maxLength) }
        if let values { o["enum"] = strings(values) }
        return .object(o)
    }

    static func integer(_ description: String, min: Int? = nil, max: Int? = nil) -> Value {
        var o: [String: Value] = ["type": "integer", "description": .string(description)]
        if let min { o["minimum"] = .int(min) }
        if let max { o["maximum"] = .int(max) }
        return .object(o)
    }

    static func number(_ description: String, min: Double? = nil, max: Double? = nil) -> Value {
        var o: [String: Value] = ["type": "number", "description": .string(description)]
        if let min { o["minimum"] = .double(min) }
        if let max { o["maximum"] = .double(max) }
        return .object(o)
    }

    static func boolean(_ description: String) -> Value { .object(["type": "boolean", "description": .string(description)]) }

    static func array(_ items: Value, _ description: String, maxItems: Int? = nil) -> Value {
        var o: [String: Value] = ["type": "array", "items": items, "description": .string(description)]
        if let maxItems { o["maxItems"] = .int(maxItems) }
        return .object(o)
    }

    /// `schema` that may also be null.
    static func nullable(_ schema: Value) -> Value {
        guard case .object(var o) = schema, let t = o["type"]?.stringValue else { return schema }
        o["type"] = .array([.string(t), "null"])
        return .object(o)
    }

    static func strings(_ values: [String]) -> Value { .array(values.map { .string($0) }) }

    // MARK: validation

    /// Every way `value` breaks `schema`, each naming where (`limit`, `models[2]`) and what to change.
    /// Empty when it conforms.
    static func problems(_ value: Value, against schema: Value, at path: String = "") -> [String] {
        guard case .object(let s) = schema else { return [] }
        let here = path.isEmpty ? "the arguments" : path
        if let types = s["type"] {
            let allowed: [String] = types.arrayValue?.compactMap(\.stringValue) ?? [types.stringValue].compactMap { $0 }
            if !allowed.contains(where: { matches(value, type: $0) }) {
                return ["\(here): expected \(allowed.map(article).joined(separator: " or ")), got \(describe(value))"]
            }
        }
        var out: [String] = []
        if let options = s["enum"]?.arrayValue, !options.contains(where: { same($0, value) }) {
            let list = options.map { $0.stringValue ?? describe($0) }.joined(separator: ", ")
            out.append("\(here): \(describe(value)) is not one of \(list)")
        }
        if let n = number(value) {
            if let min = s["minimum"].flatMap(number), n < min { out.append("\(here): \(describe(value)) is under the minimum of \(format(min))") }
            if let max = s["maximum"].flatMap(number), n > max { out.append("\(here): \(describe(value)) is over the maximum of \(format(max))") }
        }
        if let text = string(value) {
            let count = text.count
            if let min = s["minLength"]?.intValue, count < min {
                out.append(min == 1 ? "\(here): must not be empty" : "\(here): \(count) characters; at least \(min)")
            }
            if let max = s["maxLength"]?.intValue, count > max { out.append("\(here): \(count) characters is over the limit of \(max)") }
        }
        if case .array(let items) = value {
            if let min = s["minItems"]?.intValue, items.count < min { out.append("\(here): \(items.count) items; at least \(min)") }
            if let max = s["maxItems"]?.intValue, items.count > max { out.append("\(here): \(items.count) items is over the limit of \(max)") }
            if let itemSchema = s["items"] {
                for (i, item) in items.enumerated() { out += problems(item, against: itemSchema, at: "\(path)[\(i)]") }
            }
        }
        if case .object(let fields) = value {
            let properties = s["properties"]?.objectValue ?? [:]
            for name in (s["required"]?.arrayValue ?? []).compactMap(\.stringValue) where fields[name] == nil {
                out.append("\(join(path, name)): required")
            }
            for name in fields.keys.sorted() {
                let child = join(path, name)
                if let p = properties[name] {
                    out += problems(fields[name]!, against: p, at: child)
                } else if case .bool(false)? = s["additionalProperties"] {
                    let known = properties.keys.sorted().joined(separator: ", ")
                    out.append("\(child): unknown \(path.isEmpty ? "argument" : "field"); \(known.isEmpty ? "none are taken" : "use \(known)")")
                } else if let extra = s["additionalProperties"], case .object = extra {
                    out += problems(fields[name]!, against: extra, at: child)
                }
            }
            if let alternatives = s["anyOf"]?.arrayValue, !alternatives.isEmpty,
                !alternatives.contains(where: { problems(value, against: $0, at: path).isEmpty })
            {
                let names = alternatives.map { ($0.objectValue?["required"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " and ") }
                out.append("\(here): give \(names.joined(separator: " or "))")
            }
        }
        return out
    }

    static func matches(_ value: Value, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("string", .data), ("array", .array), ("object", .object),
            ("integer", .int), ("number", .int), ("number", .double):
            return true
        case ("integer", .double(let d)): return d.isFinite && d.rounded() == d && abs(d) < 9.007_199_254_740_992e15
        default: return false
        }
    }

    static func number(_ value: Value) -> Double? {
        switch value {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    static func string(_ value: Value) -> String? {
        switch value {
        case .string(let s): s
        case .data(let mime, let data): "data:\(mime ?? "");base64,\(data.base64EncodedString())"
        default: nil
        }
    }

    static func same(_ a: Value, _ b: Value) -> Bool {
        if let x = number(a), let y = number(b) { return x == y }
        return a == b
    }

    static func describe(_ value: Value) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return format(d)
        case .string, .data:
            let s = string(value) ?? ""
            return "'" + (s.count > 40 ? String(s.prefix(40)) + "…" : s) + "'"
        case .array(let a): return "an array of \(a.count)"
        case .object: return "an object"
        }
    }

    static func format(_ d: Double) -> String {
        d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }

    static func article(_ type: String) -> String {
        switch type {
        case "integer", "object", "array": "an \(type)"
        case "null": "null"
        default: "a \(type)"
        }
    }

    static func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }
}

/// A tool's arguments after they passed its input schema: typed reads, no second guessing.
struct ToolArguments {
    let values: [String: Value]

    func has(_ key: String) -> Bool { values[key] != nil && values[key] != .null }
    func string(_ key: String) -> String? { values[key].flatMap(ToolSchema.string) }
    func double(_ key: String) -> Double? { values[key].flatMap(ToolSchema.number) }
    /// Integers arrive as 7 or 7.0 (both integers to JSON Schema).
    func int(_ key: String) -> Int? {
        guard let d = values[key].flatMap(ToolSchema.number), d.rounded() == d, abs(d) < 9.007_199_254_740_992e15 else { return nil }
        return Int(d)
    }
    func strings(_ key: String) -> [String]? { values[key]?.arrayValue?.compactMap(ToolSchema.string) }
}
