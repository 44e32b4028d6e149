import Foundation
import YmeraCore

/// Writing to stdout and stderr, with untrusted text cleaned for terminals.
enum Output {
    nonisolated(unsafe) static var stdoutIsTerminal = isatty(STDOUT_FILENO) == 1
    nonisolated(unsafe) static var stderrIsTerminal = isatty(STDERR_FILENO) == 1

    static func out(_ s: String, terminator: String = "\n") {
        FileHandle.standardOutput.write(Data((s + terminator).utf8))
    }
    static func err(_ s: String, terminator: String = "\n") {
        FileHandle.standardError.write(Data((s + terminator).utf8))
    }
    /// Untrusted text for a human reader.
    static func clean(_ s: String) -> String { TextSanitizer.clean(s) }

    static let jsonEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static func jsonLine<T: Encodable>(_ value: T) {
        guard let data = try? jsonEncoder.encode(value), let s = String(data: data, encoding: .utf8) else { return }
        out(s)
    }

    static func pretty<T: Encodable>(_ value: T) -> String {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return (try? e.encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    static func pad(_ s: String, _ n: Int) -> String {
        let c = s.count
        return c >= n ? String(s.prefix(n)) : s + String(repeating: " ", count: n - c)
    }

    static func ms(_ v: Int?) -> String {
        guard let v else { return "-" }
        return v >= 1000 ? String(format: "%.1fs", Double(v) / 1000) : "\(v)ms"
    }
}
