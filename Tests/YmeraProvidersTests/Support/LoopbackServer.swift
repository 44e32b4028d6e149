import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A request the loopback server received.
struct RecordedRequest: Sendable {
    var method: String
    var uri: String
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }
}

/// What the loopback server does with one request.
struct Script: Sendable {
    enum Step: Sendable {
        case send([UInt8])
        case pause(milliseconds: Int)
    }

    enum Ending: Sendable {
        /// Ends the body properly (the chunked terminator, or the last byte of a sized body).
        case end
        /// Closes the connection (FIN) in the middle of the body.
        case close
        /// Resets the connection (RST: SO_LINGER 0, then close).
        case reset
        /// Sends nothing more and keeps the connection open until the server stops.
        case hang
    }

    var status: Int = 200
    var headers: [(String, String)] = []
    /// false: accept the request and never answer.
    var answers = true
    var steps: [Step] = []
    var ending: Ending = .end

    static let silent = Script(answers: false)

    static func json(_ status: Int, _ body: String, headers: [(String, String)] = []) -> Script {
        let bytes = Array(body.utf8)
        return Script(
            status: status,
            headers: [("content-type", "application/json"), ("content-length", String(bytes.count))] + headers,
            steps: [.send(bytes)])
    }

    static func sse(_ chunks: [String], headers: [(String, String)] = [], ending: Ending = .end) -> Script {
        Script(
            status: 200, headers: [("content-type", "text/event-stream")] + headers,
            steps: chunks.map { .send(Array($0.utf8)) }, ending: ending)
    }

    static func sseBytes(_ bytes: [UInt8], headers: [(String, String)] = [], ending: Ending = .end) -> Script {
        Script(status: 200, headers: [("content-type", "text/event-stream")] + headers, steps: [.send(bytes)], ending: ending)
    }
}

/// An HTTP/1.1 server on 127.0.0.1 (ephemeral port) that replays scripted responses byte for byte.
final class LoopbackServer: Sendable {
    private let serverChannel: any Channel
    private let state: Mutex<State>
    let port: Int

    private struct State {
        var requests: [RecordedRequest] = []
        var connections: [ObjectIdentifier: any Channel] = [:]
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var requests: [RecordedRequest] { state.withLock { $0.requests } }

    private init(serverChannel: any Channel, port: Int) {
        self.serverChannel = serverChannel
        self.state = Mutex(State())
        self.port = port
    }

    /// Starts a server answering every request with `route(request)`.
    static func start(_ route: @escaping @Sendable (RecordedRequest) -> Script) async throws -> LoopbackServer {
        let box = ServerBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try child.pipeline.syncOperations.addHandler(RequestHandler(box: box, route: route))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw CancellationError() }
        let server = LoopbackServer(serverChannel: channel, port: port)
        box.server.withLock { $0 = server }
        return server
    }

    /// Closes the listener and every open connection (hanging ones included).
    func stop() async {
        let open = state.withLock { Array($0.connections.values) }
        for c in open { try? await c.close() }
        try? await serverChannel.close()
    }

    fileprivate func opened(_ channel: any Channel) {
        state.withLock { $0.connections[ObjectIdentifier(channel)] = channel }
    }

    fileprivate func closed(_ channel: any Channel) {
        _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    fileprivate func record(_ r: RecordedRequest) {
        state.withLock { $0.requests.append(r) }
    }
}

/// Lets the handlers reach the server once it exists.
private final class ServerBox: Sendable {
    let server = Mutex<LoopbackServer?>(nil)
    var value: LoopbackServer? { server.withLock { $0 } }
}

private final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let box: ServerBox
    let route: @Sendable (RecordedRequest) -> Script
    var head: HTTPRequestHead?
    var body: [UInt8] = []

    init(box: ServerBox, route: @escaping @Sendable (RecordedRequest) -> Script) {
        self.box = box
        self.route = route
    }

    func channelActive(context: ChannelHandlerContext) {
        box.value?.opened(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        box.value?.closed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head else { return }
            let request = RecordedRequest(
                method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: body)
            box.value?.record(request)
            let script = route(request)
            launch(script, on: context.channel)
        }
    }

    private func launch(_ script: Script, on channel: any Channel) {
        let operation: @Sendable () async -> Void = { await RequestHandler.play(script, on: channel) }
        Task(operation: operation)
    }

    static func play(_ script: Script, on channel: any Channel) async {
        guard script.answers else { return }
        var headers = HTTPHeaders()
        for (k, v) in script.headers { headers.add(name: k, value: v) }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: script.status), headers: headers)
        do {
            try await channel.writeAndFlush(HTTPServerResponsePart.head(head))
            for step in script.steps {
                switch step {
                case .send(let bytes):
                    try await channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: bytes))))
                case .pause(let ms):
                    try await Task.sleep(for: .milliseconds(ms))
                }
            }
            switch script.ending {
            case .end:
                try await channel.writeAndFlush(HTTPServerResponsePart.end(nil))
            case .close:
                try await channel.close()
            case .reset:
                if let provider = channel as? any SocketOptionProvider {
                    try await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
                }
                try await channel.close()
            case .hang:
                break
            }
        } catch {
            // The client went away first; nothing to do.
        }
    }
}
