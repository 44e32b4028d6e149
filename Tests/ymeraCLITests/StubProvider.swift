import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback OpenAI-compatible chat server that counts requests per API key (each test process gets
/// its own key), streams each answer in `chunks` pieces `chunkDelayMs` apart, and can hold a request
/// forever (until `stop`) once a key has made `holdFrom` requests — a moment a test can kill at.
final class StubProvider: Sendable {
    let port: UInt16
    private let listenFD: Int32
    private let counts = Mutex<[String: Int]>([:])
    private let held = Mutex<[Int32]>([])
    private let stopped = Atomic<Bool>(false)
    let chunks: Int
    let chunkDelayMs: Int
    let holdFrom: [String: Int]
    /// Called (on the connection's thread) when a request is held: key, its request number.
    let onHold: @Sendable (String, Int) -> Void
    /// The body of every request, in order, with its key.
    private let bodies = Mutex<[(key: String, body: String)]>([])
    /// The whole answer for a request body (nil: the usual numbered answer in `chunks` pieces).
    let reply: @Sendable (String) -> String?

    init(chunks: Int = 3, chunkDelayMs: Int = 0, holdFrom: [String: Int] = [:], onHold: @escaping @Sendable (String, Int) -> Void = { _, _ in },
         reply: @escaping @Sendable (String) -> String? = { _ in nil }) throws {
        self.reply = reply
        self.chunks = chunks
        self.chunkDelayMs = chunkDelayMs
        self.holdFrom = holdFrom
        self.onHold = onHold
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CocoaError(.fileNoSuchFile) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 128) == 0 else {
            close(fd)
            throw CocoaError(.fileWriteUnknown)
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: addr.sin_port)
        listenFD = fd
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Requests made with `key` so far.
    func count(_ key: String) -> Int { counts.withLock { $0[key] ?? 0 } }
    /// Requests of one key to one model (the provider's name for it: `echo` for `stub/echo`).
    func count(_ key: String, model: String) -> Int { counts.withLock { $0["\(key) \(model)"] ?? 0 } }

    /// The `model` of a chat request body ("" when it names none).
    static func modelName(in body: String) -> String {
        guard let r = body.range(of: "\"model\":\"") ?? body.range(of: "\"model\" : \"") else { return "" }
        return String(body[r.upperBound...].prefix { $0 != "\"" })
    }

    /// The bodies (JSON text) of the requests made with `key`, in order.
    func requests(_ key: String) -> [String] { bodies.withLock { $0.filter { $0.key == key }.map(\.body) } }

    /// Closes the listener and every held connection.
    func stop() {
        guard !stopped.exchange(true, ordering: .sequentiallyConsistent) else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        for fd in held.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit { stop() }

    /// The catalog entries that point the `stub` provider at this server.
    var catalogTOML: String {
        """
        [providers.stub]
        kind = "openai-compatible"
        name = "Loopback stub"
        base_url = "http://127.0.0.1:\(port)/v1"
        api_key_env = "STUB_KEY"

        [[models]]
        id = "stub/echo"
        name = "Stub echo"
        context_window = 32768
        max_output_tokens = 1024
        price_input = 0.1
        price_output = 0.2
        speed = 4
        quality = 4
        capabilities = ["code", "reasoning", "review", "accuracy", "long-context", "fast"]

        """
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .sequentiallyConsistent) {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            Thread.detachNewThread { [self] in serve(c) }
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        // Read the head and the body (Content-Length).
        var data = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 16 * 1024)
        var headEnd: Int?
        var need = Int.max
        while data.count < need {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { return }
            data += buf[0..<n]
            if headEnd == nil, let r = Self.find(data, [13, 10, 13, 10]) {
                headEnd = r + 4
                let head = String(decoding: data[0..<r], as: UTF8.self).lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                need = r + 4 + length
            }
        }
        let head = String(decoding: data[0..<(headEnd ?? 0)], as: UTF8.self)
        let key = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("authorization:") }
            .map { String($0.split(separator: " ").last ?? "") } ?? ""
        let body = String(decoding: data[(headEnd ?? 0)...], as: UTF8.self)
        bodies.withLock { $0.append((key, body)) }
        let model = Self.modelName(in: body)
        let n = counts.withLock { c -> Int in
            c[key, default: 0] += 1
            c["\(key) \(model)", default: 0] += 1
            return c[key]!
        }
        if let from = holdFrom[key], n >= from {
            held.withLock { $0.append(fd) }
            onHold(key, n)
            // Held until the test stops the server (or the client goes away).
            while !stopped.load(ordering: .sequentiallyConsistent) {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 200) > 0 && read(fd, &buf, buf.count) <= 0 { return }
            }
            return
        }
        put(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n")
        let whole = reply(body)
        for i in 0..<(whole == nil ? chunks : 1) {
            if chunkDelayMs > 0 { usleep(UInt32(chunkDelayMs * 1000)) }
            let word = whole.map(Self.jsonEscaped) ?? (i == 0 ? "Answer \(n) for the task:" : " point \(i) holds;")
            put(fd, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"model\":\"echo\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\(word)\"},\"finish_reason\":null}]}\n\n")
        }
        put(fd, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"model\":\"echo\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
        put(fd, "data: {\"id\":\"s\",\"object\":\"chat.completion.chunk\",\"model\":\"echo\",\"choices\":[],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":\(chunks * 3),\"total_tokens\":\(20 + chunks * 3)}}\n\n")
        put(fd, "data: [DONE]\n\n")
    }

    /// Writes all of `s` (MSG_NOSIGNAL: a client that went away must not SIGPIPE the test process).
    private func put(_ fd: Int32, _ s: String) {
        let bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    /// A string's content as a JSON string literal holds it (without the quotes).
    static func jsonEscaped(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst(2).dropLast(2))
    }

    private static func find(_ data: [UInt8], _ pattern: [UInt8]) -> Int? {
        guard data.count >= pattern.count else { return nil }
        for i in 0...(data.count - pattern.count) where data[i] == pattern[0] && Array(data[i..<(i + pattern.count)]) == pattern {
            return i
        }
        return nil
    }
}
