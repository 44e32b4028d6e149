import Foundation
import Testing
import YmeraCore
@testable import YmeraProviders

/// Every failure the issue names, replayed in each provider's own wire format over a real
/// loopback HTTP connection, through the real clients.
enum Fault: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case auth401, auth403, rateLimit429, quotaExhausted, overloaded503, overloaded529, serverError500, badRequest400
    case contextTooLong, connectionRefused, timeoutBeforeFirstByte, headThenSilence, stallMidStream
    case resetMidStream, closedMidStream, streamErrorEvent, truncatedStream, malformedChunk, malformedBody

    var testDescription: String { rawValue }

    var expected: ErrorClass {
        switch self {
        case .auth401, .auth403: .auth
        case .rateLimit429: .rateLimit
        case .quotaExhausted: .quotaExhausted
        case .overloaded503, .overloaded529: .overloaded
        case .serverError500: .serverError
        case .badRequest400: .badRequest
        case .contextTooLong: .contextTooLong
        case .connectionRefused: .connectionRefused
        case .timeoutBeforeFirstByte, .headThenSilence: .timeout
        case .stallMidStream: .stall
        case .resetMidStream, .closedMidStream: .connectionReset
        case .streamErrorEvent: .streamError
        case .truncatedStream: .truncated
        case .malformedChunk, .malformedBody: .malformed
        }
    }

    /// Text the server sends before failing (so partial output can be checked).
    var sendsPartialText: Bool {
        switch self {
        case .stallMidStream, .resetMidStream, .closedMidStream, .streamErrorEvent, .truncatedStream, .malformedChunk: true
        default: false
        }
    }

    var timeouts: ProviderTimeouts {
        switch self {
        case .timeoutBeforeFirstByte, .headThenSilence:
            ProviderTimeouts(connect: .seconds(2), firstByte: .milliseconds(150), idle: .seconds(5), total: .seconds(10))
        case .stallMidStream:
            ProviderTimeouts(connect: .seconds(2), firstByte: .seconds(5), idle: .milliseconds(150), total: .seconds(10))
        default:
            testTimeouts
        }
    }

    func script(_ wire: Wire) -> Script {
        // One write, so a busy machine cannot open a gap inside the text that looks like a stall.
        let partial = [wire.stream(["Hello", " partial"], finish: false).joined()]
        switch self {
        case .auth401: return .json(401, wire.errorBody(type: "authentication_error", message: "Incorrect API key provided: \(fakeKey)", code: 401))
        case .auth403: return .json(403, wire.errorBody(type: "PERMISSION_DENIED", message: "Permission denied", code: 403))
        case .rateLimit429:
            return .json(
                429, wire == .gemini ? geminiRateLimitBody : wire.errorBody(type: "rate_limit_error", message: "Rate limit reached", code: 429),
                headers: wire == .gemini ? [] : [("retry-after", "3")])
        case .quotaExhausted: return .json(wire.quotaBody.status, wire.quotaBody.body)
        case .overloaded503: return .json(503, wire.errorBody(type: "UNAVAILABLE", message: "The model is overloaded. Please try again later.", code: 503))
        case .overloaded529: return .json(529, wire.errorBody(type: "overloaded_error", message: "Overloaded", code: 529))
        case .serverError500: return .json(500, wire.errorBody(type: "api_error", message: "Internal server error", code: 500))
        case .badRequest400: return .json(400, wire.errorBody(type: "invalid_request_error", message: "max_tokens: must be positive", code: 400))
        case .contextTooLong: return .json(400, wire.contextTooLongBody)
        case .connectionRefused: return .silent  // never reached: the client is pointed at a closed port
        case .timeoutBeforeFirstByte: return .silent
        case .headThenSilence: return Script(status: 200, headers: [("content-type", "text/event-stream")], steps: [], ending: .hang)
        case .stallMidStream: return .sse(partial, ending: .hang)
        case .resetMidStream:
            var script = Script.sse(partial, ending: .reset)
            script.steps.append(.pause(milliseconds: 30))  // let the client read the text before the RST
            return script
        case .closedMidStream: return .sse(partial, ending: .close)
        case .streamErrorEvent: return .sse(partial + [wire.streamErrorEvent])
        case .truncatedStream: return .sse(partial)
        case .malformedChunk: return .sse(partial + ["data: {\"choices\": [{\"delta\": {\"content\": \"oops\"\n\n"])
        case .malformedBody: return .json(200, "{\"id\": \"cut-off")
        }
    }

    var streams: Bool { self != .malformedBody }
}

@Suite("Clients against a loopback server: every failure class, every format", .timeLimit(.minutes(2)))
struct ClientFaultTests {
    @Test(arguments: Wire.allCases, Fault.allCases)
    func fault(wire: Wire, fault: Fault) async throws {
        let server = try await LoopbackServer.start { _ in fault.script(wire) }
        let base = fault == .connectionRefused ? "http://127.0.0.1:\(try await closedPort())" : server.baseURL
        let provider = wire.provider(baseURL: base)
        let started = ContinuousClock.now
        let outcome = await collect(wire.client(timeouts: fault.timeouts), testRequest(provider, stream: fault.streams))
        await server.stop()

        let failure = try #require(outcome.failure, "expected a failure, got \(outcome.events) \(outcome.otherError ?? "")")
        #expect(failure.errorClass == fault.expected, "\(failure)")
        #expect(outcome.finishedCount == 0, "a failed request must never yield .finished")
        #expect(failure.provider == provider.id)
        #expect(!failure.message.contains(fakeKey), "the key leaked into: \(failure.message)")
        if fault == .resetMidStream {
            // A RST may discard bytes the kernel had not yet handed over: what arrived is a prefix.
            #expect("Hello partial".hasPrefix(failure.partialOutput))
            #expect(failure.partialOutput == outcome.text)
        } else if fault.sendsPartialText {
            #expect(failure.partialOutput == "Hello partial")
            #expect(outcome.text == "Hello partial")
            #expect(failure.usage != nil, "usage known or estimated for a cut stream")
        } else {
            #expect(failure.partialOutput.isEmpty)
        }
        if fault == .rateLimit429 {
            #expect(failure.retryAfterMs == (wire == .gemini ? 12_000 : 3000))
        }
        if fault == .timeoutBeforeFirstByte || fault == .stallMidStream {
            // Bounded: the watchdog fired, not some default minute-long timeout.
            #expect(started.duration(to: .now) < .milliseconds(4500))
        }
    }
}
