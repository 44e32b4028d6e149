/// A validating JSON reader over one text's bytes that builds no tree and allocates nothing.
///
/// The chunk interpreters' fast paths use it: a streamed chunk is validated in one pass, then the
/// few members an interpreter needs are found by position, and only the strings it keeps become
/// `String`s. Acceptance is `JSONParser`'s exactly (RFC 8259, nesting at most 256), so a chunk the
/// scanner accepts is one the parser accepts; anything a fast path is not sure of goes to the parser.
///
/// Positions are byte offsets of a value's first byte (after whitespace).
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    /// True when some object key contains an escape: a lookup by raw bytes could then miss a key the
    /// parser would decode (`"con\u0074ent"`), so fast paths give such texts to the parser.
    private(set) var keysHaveEscapes = false

    private static let maxDepth = 256

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    enum Kind { case object, array, string, number, bool, null }

    // MARK: validation

    /// Validates the whole text; returns the root value's position, or nil when it is not JSON.
    mutating func validate() -> Int? {
        let start = space(0)
        guard let end = check(start, depth: 0), space(end) == bytes.count else { return nil }
        return start
    }

    func space(_ from: Int) -> Int {
        var i = from
        while i < bytes.count {
            let b = bytes[i]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { break }
            i += 1
        }
        return i
    }

    /// Checks the value at `i` (no leading whitespace); returns the index after it.
    private mutating func check(_ i: Int, depth: Int) -> Int? {
        guard i < bytes.count else { return nil }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            guard depth < Self.maxDepth else { return nil }
            var j = space(i + 1)
            guard j < bytes.count else { return nil }
            if bytes[j] == UInt8(ascii: "}") { return j + 1 }
            while true {
                guard j < bytes.count, bytes[j] == UInt8(ascii: "\"") else { return nil }
                guard let (end, escaped) = checkString(j) else { return nil }
                if escaped { keysHaveEscapes = true }
                j = space(end)
                guard j < bytes.count, bytes[j] == UInt8(ascii: ":") else { return nil }
                guard let v = check(space(j + 1), depth: depth + 1) else { return nil }
                j = space(v)
                guard j < bytes.count else { return nil }
                if bytes[j] == UInt8(ascii: "}") { return j + 1 }
                guard bytes[j] == UInt8(ascii: ",") else { return nil }
                j = space(j + 1)
            }
        case UInt8(ascii: "["):
            guard depth < Self.maxDepth else { return nil }
            var j = space(i + 1)
            guard j < bytes.count else { return nil }
            if bytes[j] == UInt8(ascii: "]") { return j + 1 }
            while true {
                guard let v = check(j, depth: depth + 1) else { return nil }
                j = space(v)
                guard j < bytes.count else { return nil }
                if bytes[j] == UInt8(ascii: "]") { return j + 1 }
                guard bytes[j] == UInt8(ascii: ",") else { return nil }
                j = space(j + 1)
            }
        case UInt8(ascii: "\""):
            return checkString(i)?.end
        case UInt8(ascii: "t"): return literal(i, "true")
        case UInt8(ascii: "f"): return literal(i, "false")
        case UInt8(ascii: "n"): return literal(i, "null")
        default: return checkNumber(i)
        }
    }

    private func literal(_ i: Int, _ word: StaticString) -> Int? {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { return nil }
        let w = word.utf8Start
        for k in 0..<n where bytes[i + k] != w[k] { return nil }
        return i + n
    }

    /// A string at `i` (its opening quote): the index after the closing quote and whether it has escapes.
    private func checkString(_ i: Int) -> (end: Int, escaped: Bool)? {
        var j = i + 1
        var escaped = false
        while j < bytes.count {
            let b = bytes[j]
            if b == UInt8(ascii: "\"") { return (j + 1, escaped) }
            if b < 0x20 { return nil }
            if b == UInt8(ascii: "\\") {
                escaped = true
                guard j + 1 < bytes.count else { return nil }
                switch bytes[j + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    j += 2
                case UInt8(ascii: "u"):
                    guard Self.hex4(bytes, j + 2) != nil else { return nil }
                    j += 6
                default:
                    return nil
                }
                continue
            }
            j += 1
        }
        return nil
    }

    static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32? {
        guard at + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for k in 0..<4 {
            let b = bytes[at + k]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: return nil
            }
            v = v * 16 + d
        }
        return v
    }

    private func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }

    private func checkNumber(_ from: Int) -> Int? {
        var i = from
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { return nil }
        if bytes[i] == 0x30 {
            i += 1
        } else {
            while isDigit(i) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { return nil }
            while isDigit(i) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { return nil }
            while isDigit(i) { i += 1 }
        }
        return i
    }

    // MARK: reading (only on a validated text)

    func kind(_ i: Int) -> Kind {
        switch bytes[i] {
        case UInt8(ascii: "{"): .object
        case UInt8(ascii: "["): .array
        case UInt8(ascii: "\""): .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): .bool
        case UInt8(ascii: "n"): .null
        default: .number
        }
    }

    /// The index after the (valid) value at `i`, without checking it again.
    func skip(_ i: Int) -> Int {
        switch bytes[i] {
        case UInt8(ascii: "\""):
            var j = i + 1
            while bytes[j] != UInt8(ascii: "\"") { j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
            return j + 1
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var j = i
            repeat {
                switch bytes[j] {
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; j += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1; j += 1
                case UInt8(ascii: "\""): j = skip(j)
                default: j += 1
                }
            } while depth > 0
            return j
        case UInt8(ascii: "t"), UInt8(ascii: "n"): return i + 4
        case UInt8(ascii: "f"): return i + 5
        default:
            var j = i
            while j < bytes.count {
                switch bytes[j] {
                case 0x30...0x39, UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                    j += 1
                default: return j
                }
            }
            return j
        }
    }

    /// The value of `key` in the object at `object` — the last one when a key repeats, as the parser
    /// keeps it. Keys are compared as raw bytes (see `keysHaveEscapes`).
    func member(_ object: Int, _ key: StaticString) -> Int? {
        guard bytes[object] == UInt8(ascii: "{") else { return nil }
        var found: Int?
        var j = space(object + 1)
        if bytes[j] == UInt8(ascii: "}") { return nil }
        while true {
            let keyEnd = skip(j)
            let v = space(space(keyEnd) + 1)
            if keyEquals(j + 1, keyEnd - 1, key) { found = v }
            j = space(skip(v))
            if bytes[j] == UInt8(ascii: "}") { return found }
            j = space(j + 1)
        }
    }

    private func keyEquals(_ from: Int, _ to: Int, _ key: StaticString) -> Bool {
        let n = key.utf8CodeUnitCount
        guard to - from == n else { return false }
        let k = key.utf8Start
        for x in 0..<n where bytes[from + x] != k[x] { return false }
        return true
    }

    /// Calls `body` with the position of each element of the array at `array`; stops when it returns false.
    func forEachElement(_ array: Int, _ body: (Int) -> Bool) {
        guard bytes[array] == UInt8(ascii: "[") else { return }
        var j = space(array + 1)
        if bytes[j] == UInt8(ascii: "]") { return }
        while true {
            guard body(j) else { return }
            j = space(skip(j))
            if bytes[j] == UInt8(ascii: "]") { return }
            j = space(j + 1)
        }
    }

    /// For the string at `i` without escapes: whether it is exactly `word`. Nil when the value is not
    /// a string or has escapes (the caller cannot tell without decoding it).
    func plainStringEquals(_ i: Int, _ word: StaticString) -> Bool? {
        guard bytes[i] == UInt8(ascii: "\"") else { return nil }
        let end = skip(i)
        for j in (i + 1)..<(end - 1) where bytes[j] == UInt8(ascii: "\\") { return nil }
        return keyEquals(i + 1, end - 1, word)
    }

    /// The string at `i`, decoded as the parser decodes it (escapes, surrogate pairs, U+FFFD for a lone
    /// surrogate or invalid UTF-8). One allocation at most; none for up to 15 UTF-8 bytes.
    func string(_ i: Int) -> String? {
        guard bytes[i] == UInt8(ascii: "\"") else { return nil }
        let start = i + 1
        let end = skip(i) - 1
        var plain = true
        for j in start..<end where bytes[j] == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain { return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) }
        // Decoded text is never longer than its escaped form.
        return String(unsafeUninitializedCapacity: end - start) { out in
            var n = 0
            var j = start
            func put(_ b: UInt8) {
                out[n] = b
                n += 1
            }
            while j < end {
                let b = bytes[j]
                guard b == UInt8(ascii: "\\") else {
                    put(b)
                    j += 1
                    continue
                }
                let e = bytes[j + 1]
                j += 2
                switch e {
                case UInt8(ascii: "b"): put(0x08)
                case UInt8(ascii: "f"): put(0x0C)
                case UInt8(ascii: "n"): put(0x0A)
                case UInt8(ascii: "r"): put(0x0D)
                case UInt8(ascii: "t"): put(0x09)
                case UInt8(ascii: "u"):
                    var code = Self.hex4(bytes, j)!
                    j += 4
                    if (0xD800...0xDBFF).contains(code) {
                        if j + 1 < end, bytes[j] == UInt8(ascii: "\\"), bytes[j + 1] == UInt8(ascii: "u"),
                            let low = Self.hex4(bytes, j + 2), (0xDC00...0xDFFF).contains(low)
                        {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            j += 6
                        } else {
                            code = 0xFFFD
                        }
                    } else if (0xDC00...0xDFFF).contains(code) {
                        code = 0xFFFD
                    }
                    for unit in UTF8.encode(Unicode.Scalar(code) ?? "\u{FFFD}")! { put(unit) }
                default: put(e)  // \" \\ \/
                }
            }
            return n
        }
    }

    /// A plain integer (no fraction, no exponent) that fits in `Int`; nil for any other value, so a
    /// fast path falls back to the parser for the forms it reads leniently.
    func plainInt(_ i: Int) -> Int? {
        var j = i
        let negative = bytes[j] == UInt8(ascii: "-")
        if negative { j += 1 }
        guard isDigit(j) else { return nil }
        var v = 0
        while isDigit(j) {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(bytes[j] - 0x30))
            guard !o1, !o2 else { return nil }
            v = a
            j += 1
        }
        if j < bytes.count, bytes[j] == UInt8(ascii: ".") || bytes[j] == UInt8(ascii: "e") || bytes[j] == UInt8(ascii: "E") {
            return nil
        }
        return negative ? -v : v
    }
}

extension String {
    /// Runs `body` on the string's UTF-8 bytes without copying them when the string is native.
    func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let r = utf8.withContiguousStorageIfAvailable(body) { return r }
        var copy = self
        return copy.withUTF8(body)
    }
}

/// Byte-level checks the chunk fast paths share.
enum ChunkBytes {
    /// Only ASCII spaces and tabs (what `trimmingCharacters(in: .whitespaces)` empties, short of the
    /// Unicode spaces, which the fast paths leave to the parser).
    static func isBlank(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        for x in b where x != 0x20 && x != 0x09 { return false }
        return true
    }

    /// Equal to `word` once ASCII spaces and tabs around it are dropped.
    static func equalsTrimmed(_ b: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        var lo = 0
        var hi = b.count
        while lo < hi, b[lo] == 0x20 || b[lo] == 0x09 { lo += 1 }
        while hi > lo, b[hi - 1] == 0x20 || b[hi - 1] == 0x09 { hi -= 1 }
        guard hi - lo == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for k in 0..<(hi - lo) where b[lo + k] != w[k] { return false }
        return true
    }
}
