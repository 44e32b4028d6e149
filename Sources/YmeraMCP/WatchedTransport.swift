import Foundation
import Logging
import MCP

/// What a `WatchedTransport` saw that ends the server's usefulness.
enum TransportEvent: Sendable {
    /// The server's side closed (its process exited, or the in-memory peer disconnected).
    case closed(String)
    /// A line that is not JSON-RPC (a stray log line on stdout, binary noise).
    case garbage(String)
}

/// Wraps a server's transport to notice, at once, what the SDK's client would only log: the stream
/// ending (a crash) or a message that is not JSON-RPC (garbage). Pending calls then fail fast instead of
/// waiting for their time limits. Its stream also ends with an error when the inner one ends, so the
/// client's receive loop stops instead of asking a finished transport again and again.
actor WatchedTransport: Transport {
    nonisolated let logger: Logger
    private let inner: any Transport
    private let onEvent: @Sendable (TransportEvent) -> Void
    private let stream: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    private var pump: Task<Void, Never>?
    private var disconnecting = false

    init(inner: any Transport, onEvent: @escaping @Sendable (TransportEvent) -> Void) {
        self.inner = inner
        self.logger = Logger(label: "ymera.mcp.transport", factory: { _ in SwiftLogNoOpLogHandler() })
        self.onEvent = onEvent
        (stream, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
    }

    func connect() async throws {
        try await inner.connect()
        let inner = self.inner
        let continuation = self.continuation
        let onEvent = self.onEvent
        pump = Task { [weak self] in
            let messages = await inner.receive()
            var reason = "the server closed its output"
            do {
                for try await data in messages {
                    if let problem = Self.notJSONRPC(data) {
                        onEvent(.garbage(problem))
                        continue
                    }
                    continuation.yield(data)
                }
            } catch {
                reason = "the server's connection failed (\(error))"
            }
            if await self?.disconnecting != true { onEvent(.closed(reason)) }
            continuation.finish(throwing: MCPError.connectionClosed)
        }
    }

    func disconnect() async {
        disconnecting = true
        await inner.disconnect()
        pump?.cancel()
        continuation.finish(throwing: MCPError.connectionClosed)
    }

    func send(_ data: Data) async throws {
        try await inner.send(data)
    }

    func receive() -> AsyncThrowingStream<Data, any Error> { stream }

    /// Nil for a JSON object or array (JSON-RPC message or batch); otherwise a short, sanitized preview.
    static func notJSONRPC(_ data: Data) -> String? {
        if let obj = try? JSONSerialization.jsonObject(with: data, options: []) {
            if let dict = obj as? [String: Any], dict["jsonrpc"] != nil { return nil }
            if obj is [Any] { return nil }
        }
        let text = String(decoding: data.prefix(200), as: UTF8.self)
        return "'" + Bounded.oneLine(text, max: 120) + "'"
    }
}
