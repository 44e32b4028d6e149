// SSE decoding and the three wire formats' stream interpreters (incl. tool-call fragments), plus the
// non-streaming decoders.

import Foundation
@testable import YmeraCore
@testable import YmeraProviders

/// Chunked decoding equals whole decoding: the first byte picks where the input is cut.
func fuzzSSE(_ raw: UnsafeRawBufferPointer) {
    var input = Input(raw)
    let step = Int(input.byte() % 17) + 1
    let bytes = input.rest
    var whole = SSEDecoder()
    var expected = whole.feed(bytes)
    expected += whole.finish()
    var chunked = SSEDecoder()
    var got: [SSEEvent] = []
    var i = 0
    while i < bytes.count {
        let end = min(bytes.count, i + step)
        got += chunked.feed(bytes[i..<end])
        i = end
    }
    got += chunked.finish()
    require(got == expected, "SSE: chunks of \(step) bytes decode differently from the whole stream")
    require(chunked.byteCount == bytes.count, "SSE: byteCount \(chunked.byteCount) != \(bytes.count)")
}

/// Feeds the input as an SSE stream through `format`'s interpreter, then ends it. Assembled tool
/// calls carry a JSON object as arguments; every failure's message is sanitized.
func interpret(_ raw: UnsafeRawBufferPointer, _ format: any WireFormat) {
    let bytes = Array(raw)
    var decoder = SSEDecoder()
    var interpreter = format.makeInterpreter(provider: "fuzz")
    var events = decoder.feed(bytes)
    events += decoder.finish()
    var failed = false
    for event in events.prefix(10_000) {
        do {
            _ = try interpreter.consume(event)
        } catch {
            checkFailure(error, "\(format.kind) stream")
            failed = true
            break
        }
        if interpreter.isComplete { break }
    }
    if !failed {
        do {
            let reason = try interpreter.end()
            let calls = try interpreter.finishToolCalls()
            for call in calls {
                let args = JSONValue.parse(call.argumentsJSON)
                require(args?.object != nil, "\(format.kind): accepted tool call \(call.name) with arguments that are not a JSON object: \(call.argumentsJSON.debugDescription)")
            }
            _ = reason
        } catch {
            checkFailure(error, "\(format.kind) end")
        }
    }
    // The same bytes as a non-streaming body.
    if let json = JSONValue.parse(bytes: bytes) {
        if FailureClassifier.isErrorPayload(json) {
            let f = FailureClassifier.classifyStreamError(json, format: format.kind, provider: "fuzz")
            checkFailure(f, "\(format.kind) error payload")
        } else {
            do {
                let whole = try format.decodeWhole(json, provider: "fuzz")
                for call in whole.toolCalls {
                    require(JSONValue.parse(call.argumentsJSON)?.object != nil, "\(format.kind) whole: tool call arguments not a JSON object: \(call.argumentsJSON.debugDescription)")
                }
            } catch {
                checkFailure(error, "\(format.kind) whole")
            }
        }
    }
}

func fuzzOpenAI(_ raw: UnsafeRawBufferPointer) { interpret(raw, OpenAIChatFormat()) }
func fuzzAnthropic(_ raw: UnsafeRawBufferPointer) { interpret(raw, AnthropicMessagesFormat()) }
func fuzzGemini(_ raw: UnsafeRawBufferPointer) { interpret(raw, GeminiFormat()) }
