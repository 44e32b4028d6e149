import Foundation

/// JSON as the specification has it (RFC 8259): decoded strictly with Foundation's JSONDecoder — true is
/// not 1, 2.5 is not an integer. Written for the conformance test, independent of the MCP SDK.
enum JSON: Codable, Equatable, Sendable, CustomStringConvertible,
    ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    case null, bool(Bool), int(Int), double(Double), string(String), array([JSON]), object([String: JSON])

    init(stringLiteral v: String) { self = .string(v) }
    init(integerLiteral v: Int) { self = .int(v) }
    init(floatLiteral v: Double) { self = .double(v) }
    init(booleanLiteral v: Bool) { self = .bool(v) }
    init(arrayLiteral v: JSON...) { self = .array(v) }
    init(dictionaryLiteral v: (String, JSON)...) { self = .object(Dictionary(v, uniquingKeysWith: { a, _ in a })) }
    init(nilLiteral: ()) { self = .null }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    static func parse(_ text: String) throws -> JSON { try JSONDecoder().decode(JSON.self, from: Data(text.utf8)) }

    /// Canonical text: keys sorted, so two equal values have equal text.
    var canonical: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }
    var description: String { canonical }

    subscript(key: String) -> JSON? { if case .object(let o) = self { o[key] } else { nil } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var int: Int? { if case .int(let i) = self { i } else { nil } }
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    var array: [JSON]? { if case .array(let a) = self { a } else { nil } }
    var object: [String: JSON]? { if case .object(let o) = self { o } else { nil } }
    var number: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }
}

/// The subset of JSON Schema 2020-12 that `ymera mcp` publishes, checked independently of the server's
/// own validator: type, properties, required, additionalProperties, enum, minimum/maximum,
/// minLength/maxLength, items, minItems/maxItems, anyOf.
enum SchemaCheck {
    /// Why `value` does not conform (empty when it does), each with its JSON path.
    static func errors(_ value: JSON, _ schema: JSON, _ path: String = "$") -> [String] {
        guard let s = schema.object else { return ["\(path): schema is not an object"] }
        var out: [String] = []
        if let t = s["type"] {
            let types = t.array?.compactMap(\.string) ?? [t.string].compactMap { $0 }
            if !types.contains(where: { is_(value, $0) }) { return ["\(path): \(value.canonical.prefix(60)) is not \(types)"] }
        }
        if let e = s["enum"]?.array, !e.contains(where: { $0 == value || ($0.number != nil && $0.number == value.number) }) {
            out.append("\(path): \(value) not in enum \(e)")
        }
        if let n = value.number {
            if let m = s["minimum"]?.number, n < m { out.append("\(path): \(n) < minimum \(m)") }
            if let m = s["maximum"]?.number, n > m { out.append("\(path): \(n) > maximum \(m)") }
        }
        if let str = value.string {
            if let m = s["minLength"]?.int, str.count < m { out.append("\(path): shorter than \(m)") }
            if let m = s["maxLength"]?.int, str.count > m { out.append("\(path): longer than \(m)") }
        }
        if let a = value.array {
            if let m = s["minItems"]?.int, a.count < m { out.append("\(path): fewer than \(m) items") }
            if let m = s["maxItems"]?.int, a.count > m { out.append("\(path): more than \(m) items") }
            if let items = s["items"] { for (i, x) in a.enumerated() { out += errors(x, items, "\(path)[\(i)]") } }
        }
        if let o = value.object {
            let props = s["properties"]?.object ?? [:]
            for r in s["required"]?.array?.compactMap(\.string) ?? [] where o[r] == nil { out.append("\(path): missing required '\(r)'") }
            for (k, v) in o {
                if let p = props[k] { out += errors(v, p, "\(path).\(k)") }
                else if s["additionalProperties"] == .bool(false) { out.append("\(path): unexpected property '\(k)'") }
                else if let extra = s["additionalProperties"], extra.object != nil { out += errors(v, extra, "\(path).\(k)") }
            }
            if let any = s["anyOf"]?.array, !any.contains(where: { errors(value, $0, path).isEmpty }) { out.append("\(path): matches no anyOf branch") }
        }
        return out
    }

    static func is_(_ v: JSON, _ type: String) -> Bool {
        switch (type, v) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object),
            ("integer", .int), ("number", .int), ("number", .double): true
        case ("integer", .double(let d)): d.rounded() == d
        default: false
        }
    }

    /// A schema the checker understands: every keyword is one it implements (so nothing is skipped silently).
    static func unknownKeywords(_ schema: JSON, _ path: String = "$") -> [String] {
        let known: Set<String> = [
            "type", "properties", "required", "additionalProperties", "enum", "minimum", "maximum", "minLength", "maxLength",
            "items", "minItems", "maxItems", "anyOf", "description",
        ]
        guard let s = schema.object else { return [] }
        var out = s.keys.filter { !known.contains($0) }.map { "\(path).\($0)" }
        for (k, p) in s["properties"]?.object ?? [:] { out += unknownKeywords(p, "\(path).properties.\(k)") }
        if let i = s["items"] { out += unknownKeywords(i, "\(path).items") }
        if let a = s["additionalProperties"], a.object != nil { out += unknownKeywords(a, "\(path).additionalProperties") }
        for (n, b) in (s["anyOf"]?.array ?? []).enumerated() { out += unknownKeywords(b, "\(path).anyOf[\(n)]") }
        return out
    }
}

struct RPCError: Error, CustomStringConvertible {
    let description: String
}

/// A JSON-RPC 2.0 peer over a child process's stdin/stdout, newline-delimited as MCP's stdio transport
/// says: requests are written as one line each; every line read must be a JSON-RPC message.
final class RPCPeer: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe(), output = Pipe(), errors = Pipe()
    private let lock = NSLock()
    private var buffer = Data()
    private var arrived: [String: String] = [:]
    private var waiting: [String: CheckedContinuation<String, any Error>] = [:]
    private var stderrData = Data()
    private var exited = false
    /// Lines on stdout that are not JSON-RPC messages (must stay empty).
    private(set) var strayLines: [String] = []
    private var nextID = 1

    init(executable: URL, arguments: [String], environment: [String: String]) throws {
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        output.fileHandleForReading.readabilityHandler = { [weak self] h in self?.consume(h.availableData) }
        errors.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            self?.lock.withLock { self?.stderrData.append(d) }
        }
        process.terminationHandler = { [weak self] _ in self?.failAll() }
        try process.run()
    }

    var stderr: String { lock.withLock { String(decoding: stderrData, as: UTF8.self) } }

    private func consume(_ data: Data) {
        var resume: [(CheckedContinuation<String, any Error>, String)] = []
        lock.withLock {
            if data.isEmpty { return }
            buffer.append(data)
            while let nl = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...nl)
                guard let msg = try? JSON.parse(line), msg["jsonrpc"] == "2.0" else {
                    strayLines.append(line)
                    continue
                }
                // Responses carry an id and a result or an error; server requests/notifications are ignored.
                guard let id = msg["id"], msg["method"] == nil else { continue }
                let key = id.canonical
                if let c = waiting.removeValue(forKey: key) { resume.append((c, line)) } else { arrived[key] = line }
            }
        }
        for (c, line) in resume { c.resume(returning: line) }
    }

    private func failAll() {
        let pending = lock.withLock { () -> [CheckedContinuation<String, any Error>] in
            exited = true
            defer { waiting.removeAll() }
            return Array(waiting.values)
        }
        for c in pending { c.resume(throwing: RPCError(description: "the server exited; stderr: \(stderr.suffix(2000))")) }
    }

    func send(_ message: JSON) throws { try sendLine(message.canonical) }

    func sendLine(_ line: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
    }

    func newID() -> Int { lock.withLock { defer { nextID += 1 }; return nextID } }

    /// Sends a request and returns the raw response line and its parsed form.
    func request(_ method: String, _ params: JSON? = nil, id: Int? = nil, timeout: Duration = .seconds(60)) async throws -> (raw: String, message: JSON) {
        let id = id ?? newID()
        var msg: [String: JSON] = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
        if let params { msg["params"] = params }
        try send(.object(msg))
        let raw = try await response(key: JSON.int(id).canonical, timeout: timeout)
        return (raw, try JSON.parse(raw))
    }

    func notify(_ method: String, _ params: JSON? = nil) throws {
        var msg: [String: JSON] = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { msg["params"] = params }
        try send(.object(msg))
    }

    private func response(key: String, timeout: Duration) async throws -> String {
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            guard let self else { return }
            let c = self.lock.withLock { self.waiting.removeValue(forKey: key) }
            c?.resume(throwing: RPCError(description: "no response to request \(key) within \(timeout); stderr: \(self.stderr.suffix(2000))"))
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { c in
            let (line, gone): (String?, Bool) = lock.withLock {
                if let line = arrived.removeValue(forKey: key) { return (line, false) }
                if exited { return (nil, true) }
                waiting[key] = c
                return (nil, false)
            }
            if let line { c.resume(returning: line) }
            if gone { c.resume(throwing: RPCError(description: "the server has exited; stderr: \(stderr.suffix(2000))")) }
        }
    }

    /// Closes stdin (the MCP way to end a stdio session) and waits for the process to exit (bounded).
    func close() async {
        try? input.fileHandleForWriting.close()
        for _ in 0..<200 where process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
    }
}
