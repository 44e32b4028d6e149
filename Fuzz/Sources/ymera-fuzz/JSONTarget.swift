// The hand-written JSONParser, differentially against Foundation's JSONSerialization: the same
// inputs accepted, the same values.
//
// Deliberate differences (the wire code is lenient where providers are sloppy), skipped here and
// pinned by YmeraProvidersTests' "JSONParser leniency" tests instead:
//  - invalid UTF-8 inside a string becomes U+FFFD (Foundation refuses the document);
//  - an unpaired surrogate escape (`\ud83d` alone, as some tokenizers stream half an emoji) becomes
//    U+FFFD (Foundation refuses it);
//  - nesting deeper than 256 is refused (Foundation allows more);
//  - UTF-16/32 input and a byte-order mark are not JSON on the wire (Foundation detects them).

import Foundation
@testable import YmeraProviders

indirect enum Canon: Equatable {
    case null, number(Double), string(String), array([Canon]), object([String: Canon])
}

func canon(_ v: JSONValue) -> Canon {
    switch v {
    case .null: return .null
    case .bool(let b): return .number(b ? 1 : 0)
    case .int(let i): return .number(Double(i))
    case .double(let d): return .number(d)
    case .string(let s): return .string(s)
    case .array(let a): return .array(a.map(canon))
    case .object(let o): return .object(o.mapValues(canon))
    }
}

func canon(_ v: Any) -> Canon {
    switch v {
    case is NSNull: return .null
    case let s as String: return .string(s)
    case let a as [Any]: return .array(a.map { canon($0) })
    case let o as [String: Any]: return .object(o.mapValues { canon($0) })
    case let n as NSNumber: return .number(n.doubleValue)
    case let d as Decimal: return .number(NSDecimalNumber(decimal: d).doubleValue)
    default: return .string("<\(type(of: v))>")
    }
}

func fuzzJSON(_ raw: UnsafeRawBufferPointer) {
    let bytes = Array(raw)
    let ours = JSONParser.parse(bytes)
    // Skips: see the header.
    if bytes.prefix(4).contains(0) || bytes.starts(with: [0xEF, 0xBB, 0xBF]) || bytes.starts(with: [0xFE, 0xFF])
        || bytes.starts(with: [0xFF, 0xFE]) { return }
    if !validUTF8(bytes) { return }
    if bytes.filter({ $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "{") }).count > 250 { return }
    let theirs = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    if ours != nil, theirs == nil, hasSurrogateEscape(bytes) { return }
    let text = String(decoding: bytes.prefix(200), as: UTF8.self).debugDescription
    require((ours == nil) == (theirs == nil),
            "JSON: JSONParser \(ours == nil ? "refuses" : "accepts") what JSONSerialization \(theirs == nil ? "refuses" : "accepts"): \(text)")
    if let ours, let theirs {
        require(canon(ours) == canon(theirs), "JSON: values differ for \(text): \(canon(ours)) vs \(canon(theirs))")
    }
}

/// `\uD800`–`\uDFFF` written as an escape anywhere in the input.
func hasSurrogateEscape(_ b: [UInt8]) -> Bool {
    guard b.count >= 6 else { return false }
    for i in 0..<(b.count - 5) where b[i] == UInt8(ascii: "\\") && b[i + 1] == UInt8(ascii: "u") {
        let third = b[i + 3] | 0x20  // lower case
        if (b[i + 2] | 0x20) == UInt8(ascii: "d"), (UInt8(ascii: "8")...UInt8(ascii: "9")).contains(third)
            || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(third) {
            return true
        }
    }
    return false
}
