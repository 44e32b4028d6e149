// StubServer — a loopback OpenAI-compatible chat completions server for the side-by-side benchmark
// (scripts/bench-compare.sh). Binds 127.0.0.1 only.
//
//   StubServer [--port N] [--threads N] [--port-file PATH]
//
// POST /v1/chat/completions answers a fixed small text:
//   - "stream": true  → text/event-stream in OpenAI's exact chunk format (role chunk, content chunks,
//                       a finish_reason chunk, a usage chunk when stream_options.include_usage, `[DONE]`);
//   - otherwise       → one chat.completion JSON object with usage.
// GET /stats         → {"requests":…, "median_us":…, "p99_us":…} of the stub's own service time since
//                      the last reset (from the request head read to the response end handed to the
//                      kernel); POST /stats/reset clears it. Clients subtract it to get their added latency.
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

let args = CommandLine.arguments
func option(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}
let port = Int(option("--port") ?? "0") ?? 0
let threads = Int(option("--threads") ?? "1") ?? 1

/// The answer, in eight pieces (each one streamed chunk).
enum Wire {
    static let pieces = ["The", " answer", " is", " forty", "-two", ":", " 42", "."]
    static let created = 1_764_460_800
    static let chunkID = "chatcmpl-stub0000000000000000000000"
    static let stats = Stats()
}

func chunk(_ delta: String, finish: String?, model: String) -> String {
    let f = finish.map { "\"\($0)\"" } ?? "null"
    return "data: {\"id\":\"\(Wire.chunkID)\",\"object\":\"chat.completion.chunk\",\"created\":\(Wire.created),\"model\":\"\(model)\",\"system_fingerprint\":\"fp_stub\",\"choices\":[{\"index\":0,\"delta\":\(delta),\"logprobs\":null,\"finish_reason\":\(f)}]}\n\n"
}

func streamBody(model: String, includeUsage: Bool) -> String {
    var s = chunk("{\"role\":\"assistant\",\"content\":\"\"}", finish: nil, model: model)
    for p in Wire.pieces { s += chunk("{\"content\":\"\(p)\"}", finish: nil, model: model) }
    s += chunk("{}", finish: "stop", model: model)
    if includeUsage {
        s += "data: {\"id\":\"\(Wire.chunkID)\",\"object\":\"chat.completion.chunk\",\"created\":\(Wire.created),\"model\":\"\(model)\",\"system_fingerprint\":\"fp_stub\",\"choices\":[],\"usage\":{\"prompt_tokens\":24,\"completion_tokens\":\(Wire.pieces.count),\"total_tokens\":\(24 + Wire.pieces.count)}}\n\n"
    }
    return s + "data: [DONE]\n\n"
}

func wholeBody(model: String) -> String {
    "{\"id\":\"\(Wire.chunkID)\",\"object\":\"chat.completion\",\"created\":\(Wire.created),\"model\":\"\(model)\",\"system_fingerprint\":\"fp_stub\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\(Wire.pieces.joined())\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":24,\"completion_tokens\":\(Wire.pieces.count),\"total_tokens\":\(24 + Wire.pieces.count)}}"
}

/// Service times (ns) since the last reset; bounded.
final class Stats: Sendable {
    private let samples = Mutex<[UInt64]>([])
    private let limit = 1_000_000
    func add(_ ns: UInt64) { samples.withLock { if $0.count < limit { $0.append(ns) } } }
    func reset() { samples.withLock { $0.removeAll(keepingCapacity: true) } }
    func json() -> String {
        let s = samples.withLock { $0 }.sorted()
        guard !s.isEmpty else { return "{\"requests\":0,\"median_us\":0,\"p99_us\":0}" }
        let median = Double(s[s.count / 2]) / 1000
        let p99 = Double(s[min(s.count - 1, Int(Double(s.count) * 0.99))]) / 1000
        return String(format: "{\"requests\":%d,\"median_us\":%.1f,\"p99_us\":%.1f}", s.count, median, p99)
    }
}

/// Finds a JSON string field's value in a small request body (enough for `model`).
func stringField(_ name: String, in body: String) -> String? {
    guard let r = body.range(of: "\"\(name)\"") else { return nil }
    let rest = body[r.upperBound...].drop { $0 == " " || $0 == ":" }
    guard rest.first == "\"" else { return nil }
    let value = rest.dropFirst().prefix { $0 != "\"" }
    return String(value)
}
func flag(_ name: String, in body: String) -> Bool {
    guard let r = body.range(of: "\"\(name)\"") else { return false }
    return body[r.upperBound...].drop { $0 == " " || $0 == ":" }.hasPrefix("true")
}

final class Handler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var started: UInt64 = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.clear()
            started = DispatchTime.now().uptimeNanoseconds
        case .body(var b):
            if body.readableBytes < 1 << 20 { body.writeBuffer(&b) }
        case .end:
            guard let h = head else { return }
            respond(context: context, head: h)
            head = nil
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        switch (head.method, path) {
        case (.POST, "/v1/chat/completions"), (.POST, "/chat/completions"):
            let text = body.getString(at: body.readerIndex, length: body.readableBytes) ?? ""
            let model = stringField("model", in: text) ?? "stub-model"
            if flag("stream", in: text) {
                send(context: context, head: head, status: .ok, contentType: "text/event-stream",
                     body: streamBody(model: model, includeUsage: flag("include_usage", in: text)), timed: true)
            } else {
                send(context: context, head: head, status: .ok, contentType: "application/json", body: wholeBody(model: model), timed: true)
            }
        case (.GET, "/stats"):
            send(context: context, head: head, status: .ok, contentType: "application/json", body: Wire.stats.json(), timed: false)
        case (.POST, "/stats/reset"):
            Wire.stats.reset()
            send(context: context, head: head, status: .ok, contentType: "application/json", body: "{}", timed: false)
        default:
            send(context: context, head: head, status: .notFound, contentType: "application/json",
                 body: "{\"error\":{\"message\":\"not found\",\"type\":\"invalid_request_error\"}}", timed: false)
        }
    }

    private func send(context: ChannelHandlerContext, head: HTTPRequestHead, status: HTTPResponseStatus, contentType: String, body text: String, timed: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        if contentType == "text/event-stream" {
            headers.add(name: "cache-control", value: "no-cache")
            headers.add(name: "transfer-encoding", value: "chunked")
        } else {
            headers.add(name: "content-length", value: String(text.utf8.count))
        }
        let keepAlive = head.isKeepAlive
        headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
        let started = self.started
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if timed { Wire.stats.add(DispatchTime.now().uptimeNanoseconds - started) }
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
            channel.pipeline.addHandler(Handler())
        }
    }
let channel = try await bootstrap.bind(host: "127.0.0.1", port: port).get()
let bound = channel.localAddress?.port ?? port
if let file = option("--port-file") { try String(bound).write(toFile: file, atomically: true, encoding: .utf8) }
FileHandle.standardOutput.write(Data("StubServer listening on http://127.0.0.1:\(bound)/v1 (\(threads) thread(s))\n".utf8))
try await channel.closeFuture.get()
