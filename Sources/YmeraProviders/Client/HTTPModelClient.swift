import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import YmeraCore

/// A `ModelClient` speaking one wire format over AsyncHTTPClient.
///
/// Each request runs in its own task beside a watchdog that enforces `ProviderTimeouts`
/// (first byte, silence between chunks, total). Whatever goes wrong ends in one `ModelFailure`
/// from `FailureClassifier`, carrying the text received so far and the usage known so far.
/// Cancelling the consumer of the stream cancels the HTTP request.
public struct HTTPModelClient<Format: WireFormat>: ModelClient {
    public let format: Format
    let httpClient: HTTPClient
    let environment: [String: String]
    let timeouts: ProviderTimeouts
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        format: Format, httpClient: HTTPClient, environment: [String: String] = ProcessInfo.processInfo.environment,
        timeouts: ProviderTimeouts = .default, logger: Logger = Logger(label: "ymera.providers"),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.format = format
        self.httpClient = httpClient
        self.environment = environment
        self.timeouts = timeouts
        self.logger = logger
        self.now = now
    }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ModelStreamEvent.self)
        let task = Task { await self.run(request, continuation) }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func run(_ request: ModelRequest, _ continuation: AsyncThrowingStream<ModelStreamEvent, any Error>.Continuation) async {
        let provider = request.provider.id
        let endpoint = ProviderEndpoint.resolve(request.provider, environment: environment)
        if let variable = request.provider.apiKeyEnv, endpoint.apiKey == nil {
            continuation.finish(
                throwing: ModelFailure(.auth, "\(provider): no API key: set \(variable)", provider: provider))
            return
        }
        let progress = RequestProgress(clock: ContinuousClock())
        let started = ContinuousClock.now
        do {
            let reason = try await withThrowingTaskGroup(of: FinishReason?.self) { group in
                group.addTask {
                    try await self.perform(request, endpoint: endpoint, progress: progress, continuation: continuation)
                }
                group.addTask {
                    try await Self.watch(progress, timeouts: self.timeouts, provider: provider)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                guard let first else { throw ModelFailure(.unknown, "\(provider): request ended without a result") }
                return first
            }
            logger.debug(
                "model call finished",
                metadata: ["provider": "\(provider)", "model": "\(request.model.apiName)", "ms": "\(started.duration(to: .now))"])
            continuation.yield(.finished(reason))
            continuation.finish()
        } catch {
            let snapshot = progress.snapshot()
            var failure = FailureClassifier.classifyTransport(error, phase: snapshot.phase, provider: provider)
            if Task.isCancelled && failure.errorClass != .cancelled {
                failure = ModelFailure(.cancelled, "\(provider): request cancelled", provider: provider)
            }
            if failure.provider == nil { failure.provider = provider }
            failure.partialOutput = snapshot.text
            failure.usage = TokenUsage.billable(
                reported: failure.usage ?? snapshot.usage, promptCharacters: request.promptCharacters,
                outputCharacters: snapshot.text.count, complete: false)
            failure = FailureClassifier.redact(failure, secrets: endpoint.apiKey.map { [$0] } ?? [])
            logger.debug(
                "model call failed",
                metadata: ["provider": "\(provider)", "model": "\(request.model.apiName)", "class": "\(failure.errorClass.rawValue)"])
            continuation.finish(throwing: failure)
        }
    }

    /// Sends the request and reads the answer; returns the finish reason after yielding deltas and usage.
    private func perform(
        _ request: ModelRequest, endpoint: (baseURL: String, apiKey: String?), progress: RequestProgress,
        continuation: AsyncThrowingStream<ModelStreamEvent, any Error>.Continuation
    ) async throws -> FinishReason {
        let provider = request.provider.id
        let prepared = format.prepare(request, baseURL: endpoint.baseURL, apiKey: endpoint.apiKey)
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(
                Self.httpRequest(prepared), deadline: .now() + Self.nio(timeouts.total) + .seconds(1), logger: nil)
        } catch {
            throw FailureClassifier.classifyTransport(error, phase: .beforeFirstByte, provider: provider)
        }
        if let snapshot = RateLimitHeaders.snapshot(provider: provider, headers: response.headers, now: now()) {
            continuation.yield(.rateLimit(snapshot))
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let body = (try? await Self.collect(response.body, limit: 64 * 1024, progress: progress)) ?? []
            throw FailureClassifier.classifyResponse(
                status: status, headers: response.headers, body: String(decoding: body, as: UTF8.self),
                format: format.kind, provider: provider, now: now())
        }
        let contentType = response.headers.first(name: "content-type")?.lowercased() ?? ""
        if request.stream && !contentType.contains("json") {
            return try await readStream(response.body, request: request, progress: progress, continuation: continuation)
        }
        let body: [UInt8]
        do {
            body = try await Self.collect(response.body, limit: 32 * 1024 * 1024, progress: progress)
        } catch {
            throw FailureClassifier.classifyTransport(error, phase: progress.snapshot().phase, provider: provider)
        }
        guard let json = JSONValue.parse(bytes: body), json.object != nil || json.array != nil else {
            throw FailureClassifier.malformed(
                "undecodable response body", sample: String(decoding: body.prefix(200), as: UTF8.self), format: format.kind,
                provider: provider)
        }
        if FailureClassifier.isErrorPayload(json) || json.array?.first.map(FailureClassifier.isErrorPayload) == true {
            throw FailureClassifier.classifyStreamError(json.array?.first ?? json, format: format.kind, provider: provider)
        }
        let whole = try format.decodeWhole(json, provider: provider)
        if !whole.text.isEmpty {
            progress.append(whole.text)
            continuation.yield(.delta(whole.text))
        }
        for call in whole.toolCalls { continuation.yield(.toolCall(call)) }
        continuation.yield(
            .usage(
                whole.usage
                    ?? .estimate(promptCharacters: request.promptCharacters, outputCharacters: whole.text.count)))
        return whole.finishReason
    }

    private func readStream(
        _ body: HTTPClientResponse.Body, request: ModelRequest, progress: RequestProgress,
        continuation: AsyncThrowingStream<ModelStreamEvent, any Error>.Continuation
    ) async throws -> FinishReason {
        let provider = request.provider.id
        var decoder = SSEDecoder()
        var interpreter = format.makeInterpreter(provider: provider)
        func handle(_ events: [SSEEvent]) throws {
            for event in events where !interpreter.isComplete {
                let texts = try interpreter.consume(event)
                for text in texts {
                    progress.append(text)
                    continuation.yield(.delta(text))
                }
                progress.setUsage(interpreter.usage)
            }
        }
        do {
            for try await buffer in body {
                guard buffer.readableBytes > 0 else { continue }
                progress.markBytes()
                try handle(decoder.feed(buffer.readableBytesView))
                if interpreter.isComplete { break }
            }
        } catch let failure as ModelFailure {
            throw failure
        } catch {
            throw FailureClassifier.classifyTransport(error, phase: progress.snapshot().phase, provider: provider)
        }
        if !interpreter.isComplete { try handle(decoder.finish()) }
        let reason = try interpreter.end()
        for call in try interpreter.finishToolCalls() { continuation.yield(.toolCall(call)) }
        let text = progress.snapshot().text
        var usage =
            TokenUsage.billable(
                reported: interpreter.usage, promptCharacters: request.promptCharacters, outputCharacters: text.count)
            ?? .estimate(promptCharacters: request.promptCharacters, outputCharacters: 0)
        if !usage.estimated && usage.inputTokens == 0 {
            usage.inputTokens = TokenUsage.estimateTokens(characters: request.promptCharacters)
            usage.estimated = true
        }
        continuation.yield(.usage(usage))
        return reason
    }

    // MARK: Helpers

    static func httpRequest(_ p: PreparedRequest) -> HTTPClientRequest {
        var r = HTTPClientRequest(url: p.url)
        r.method = HTTPMethod(rawValue: p.method)
        for (name, value) in p.headers { r.headers.add(name: name, value: value) }
        if let body = p.body { r.body = .bytes(ByteBuffer(bytes: body)) }
        return r
    }

    static func collect(_ body: HTTPClientResponse.Body, limit: Int, progress: RequestProgress) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await buffer in body {
            if buffer.readableBytes > 0 { progress.markBytes() }
            out.append(contentsOf: buffer.readableBytesView.prefix(max(0, limit - out.count)))
            if out.count >= limit { break }
        }
        return out
    }

    static func nio(_ d: Duration) -> TimeAmount {
        let c = d.components
        return .nanoseconds(c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000)
    }

    /// Throws the right timeout failure when a limit passes; otherwise sleeps until the next one.
    static func watch(_ progress: RequestProgress, timeouts: ProviderTimeouts, provider: String) async throws {
        let clock = ContinuousClock()
        while true {
            let s = progress.snapshot()
            let totalDeadline = s.start + timeouts.total
            let phaseDeadline = s.lastByte.map { $0 + timeouts.idle } ?? (s.start + timeouts.firstByte)
            let deadline = min(totalDeadline, phaseDeadline)
            if clock.now >= deadline {
                if s.lastByte == nil {
                    throw FailureClassifier.timedOut(
                        phase: .beforeFirstByte, limit: min(timeouts.firstByte, timeouts.total), what: "first byte",
                        provider: provider)
                }
                if phaseDeadline <= totalDeadline {
                    throw FailureClassifier.timedOut(
                        phase: .streaming, limit: timeouts.idle, what: "no chunk", provider: provider)
                }
                throw FailureClassifier.totalTimeExceeded(limit: timeouts.total, provider: provider)
            }
            // Wake at least once per idle period: bytes may arrive meanwhile and move the deadline.
            try await clock.sleep(until: min(deadline, clock.now + timeouts.idle))
        }
    }
}

/// What a running request has done so far, shared between the reader and its watchdog.
final class RequestProgress: Sendable {
    struct State {
        var start: ContinuousClock.Instant
        var lastByte: ContinuousClock.Instant?
        var text = ""
        var usage: TokenUsage?
        var phase: TransportPhase { lastByte == nil ? .beforeFirstByte : .streaming }
    }

    private let clock: ContinuousClock
    private let state: Mutex<State>

    init(clock: ContinuousClock) {
        self.clock = clock
        self.state = Mutex(State(start: clock.now))
    }

    func markBytes() {
        let now = clock.now
        state.withLock { $0.lastByte = now }
    }

    func append(_ text: String) { state.withLock { $0.text += text } }
    func setUsage(_ usage: TokenUsage?) {
        guard let usage else { return }
        state.withLock { $0.usage = usage }
    }

    func snapshot() -> State { state.withLock { $0 } }
}
