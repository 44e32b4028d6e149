/// One server-sent event.
public struct SSEEvent: Sendable, Hashable {
    /// The `event:` field; nil when the server sent none (the default type, "message").
    public var event: String?
    /// The `data:` lines joined with "\n".
    public var data: String
    /// The last `id:` seen in the stream (it persists across events, as the spec says).
    public var id: String?
    /// A `retry:` value in milliseconds, when this event carried one.
    public var retry: Int?

    public init(event: String? = nil, data: String, id: String? = nil, retry: Int? = nil) {
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry
    }
}

/// An incremental decoder for `text/event-stream` (WHATWG HTML, "server-sent events").
///
/// Feed it bytes exactly as they arrive: chunks may split a line, a CRLF pair or a UTF-8 scalar
/// anywhere. Lines end with CRLF, LF or CR; lines starting with `:` are comments; a blank line
/// dispatches the event; `data:` lines accumulate. Text is decoded only from complete lines, so a
/// scalar split across chunks is never damaged.
public struct SSEDecoder: Sendable {
    private var line: [UInt8] = []
    private var lastWasCR = false
    private var atStreamStart = true
    private var data: String?
    private var eventType: String?
    private var lastEventID: String?
    private var retry: Int?

    /// Comment lines seen (keep-alives such as `: ping` or `: OPENROUTER PROCESSING`).
    public private(set) var commentCount = 0
    /// Bytes fed so far.
    public private(set) var byteCount = 0

    public init() {}

    /// True when bytes of an unfinished line are buffered (a stream cut mid-line).
    public var hasPartialLine: Bool { !line.isEmpty }

    /// Consumes the next bytes and returns the events they complete.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [SSEEvent] where Bytes.Element == UInt8 {
        let chunk = bytes.withContiguousStorageIfAvailable { Array($0) } ?? Array(bytes)
        guard !chunk.isEmpty else { return [] }
        byteCount += chunk.count
        var events: [SSEEvent] = []
        var start = 0
        if lastWasCR {
            lastWasCR = false
            if chunk[0] == 0x0A { start = 1 }  // the LF of a CRLF pair split across chunks
        }
        var index = start
        let count = chunk.count
        while index < count {
            let byte = chunk[index]
            guard byte == 0x0A || byte == 0x0D else {
                index += 1
                continue
            }
            line.append(contentsOf: chunk[start..<index])
            if let e = processLine() { events.append(e) }
            if byte == 0x0D {
                if index + 1 < count {
                    if chunk[index + 1] == 0x0A { index += 1 }
                } else {
                    lastWasCR = true
                }
            }
            index += 1
            start = index
        }
        if start < count { line.append(contentsOf: chunk[start..<count]) }
        return events
    }

    /// The stream ended. Returns an event whose lines were complete but which had no closing blank
    /// line (lenient: some servers end `data: [DONE]\n` and close). An unfinished line is dropped.
    public mutating func finish() -> [SSEEvent] {
        line.removeAll()
        lastWasCR = false
        guard let e = dispatch() else { return [] }
        return [e]
    }

    private mutating func processLine() -> SSEEvent? {
        var bytes = line[...]
        line.removeAll(keepingCapacity: true)
        if atStreamStart {
            atStreamStart = false
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        }
        if bytes.isEmpty { return dispatch() }
        if bytes.first == 0x3A {  // ':'
            commentCount += 1
            return nil
        }
        let field: String
        var value: String
        if let colon = bytes.firstIndex(of: 0x3A) {
            field = String(decoding: bytes[bytes.startIndex..<colon], as: UTF8.self)
            var start = bytes.index(after: colon)
            if start < bytes.endIndex, bytes[start] == 0x20 { start = bytes.index(after: start) }
            value = String(decoding: bytes[start...], as: UTF8.self)
        } else {
            field = String(decoding: bytes, as: UTF8.self)
            value = ""
        }
        switch field {
        case "data":
            if let existing = data {
                value = existing + "\n" + value
            }
            data = value
        case "event":
            eventType = value
        case "id":
            if !value.unicodeScalars.contains("\u{0}") { lastEventID = value }
        case "retry":
            if !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { retry = Int(value) }
        default:
            break  // unknown fields are ignored
        }
        return nil
    }

    private mutating func dispatch() -> SSEEvent? {
        defer {
            data = nil
            eventType = nil
            retry = nil
        }
        guard let data else { return nil }
        let type = (eventType?.isEmpty ?? true) ? nil : eventType
        return SSEEvent(event: type, data: data, id: lastEventID, retry: retry)
    }
}
