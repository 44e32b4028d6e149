// SSE decoding throughput: YMERA's SSEDecoder (and the OpenAI chunk interpreter on top) over a
// 200-chunk OpenAI-format stream, fed in 1 400-byte pieces as the socket delivers it; and each wire
// format's chunk interpreter alone, one decoded chunk per iteration, so its wall clock and malloc
// count read per chunk (the regression guard of issue 17: <= 2 us and <= 3 allocations per chunk).
//   cd Benchmarks && swift package --disable-sandbox benchmark --target SSEDecoding
import Benchmark
import YmeraProviders

/// One recorded-shape stream: a role chunk, 200 content chunks, a finish chunk, usage, `[DONE]`.
enum Stream {
    static let bytes: [UInt8] = {
        func chunk(_ delta: String, finish: String?) -> String {
            "data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\",\"created\":1764460800,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":\(delta),\"logprobs\":null,\"finish_reason\":\(finish.map { "\"\($0)\"" } ?? "null")}]}\n\n"
        }
        var s = chunk("{\"role\":\"assistant\",\"content\":\"\"}", finish: nil)
        for i in 0..<200 { s += chunk("{\"content\":\" token\(i)\"}", finish: nil) }
        s += chunk("{}", finish: "stop")
        s += ": keep-alive\n\n"
        s += "data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\",\"created\":1764460800,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":200,\"total_tokens\":240}}\n\n"
        s += "data: [DONE]\n\n"
        return Array(s.utf8)
    }()
    /// The stream as reads of at most 1 400 bytes.
    static let pieces: [ArraySlice<UInt8>] = stride(from: 0, to: bytes.count, by: 1400).map {
        bytes[$0..<min($0 + 1400, bytes.count)]
    }
}

/// Decoded events of a text stream in each format, as the interpreters receive them.
enum Chunks {
    static func events(_ text: String) -> [SSEEvent] {
        var d = SSEDecoder()
        return d.feed(Array(text.utf8)) + d.finish()
    }
    static let openAI: [SSEEvent] = events(
        (0..<200).map {
            "data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\",\"created\":1764460800,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token\($0)\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
        }.joined())
    static let anthropic: [SSEEvent] = events(
        (0..<200).map {
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" token\($0)\"}}\n\n"
        }.joined())
    static let gemini: [SSEEvent] = events(
        (0..<200).map {
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" token\($0)\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":40,\"candidatesTokenCount\":\($0),\"totalTokenCount\":\(40 + $0)},\"modelVersion\":\"gemini-3-flash\",\"responseId\":\"r1\"}\n\n"
        }.joined())
}

/// One chunk per iteration through a format's interpreter (a fresh interpreter every 200 chunks).
func interpretPerChunk(_ benchmark: Benchmark, _ format: any WireFormat, _ events: [SSEEvent]) {
    var interpreter = format.makeInterpreter(provider: "bench")
    var k = 0
    var characters = 0
    for _ in benchmark.scaledIterations {
        if k == events.count {
            k = 0
            interpreter = format.makeInterpreter(provider: "bench")
        }
        for text in (try? interpreter.consume(events[k])) ?? [] { characters += text.utf8.count }
        k += 1
    }
    blackHole(characters)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 5,
        maxDuration: .seconds(3), maxIterations: 100_000)

    let kb = Stream.bytes.count / 1024
    Benchmark("SSEDecoder.feed: 200-chunk stream (\(kb) KiB, 204 events)") { benchmark in
        for _ in benchmark.scaledIterations {
            var decoder = SSEDecoder()
            var events = 0
            for piece in Stream.pieces { events += decoder.feed(piece).count }
            events += decoder.finish().count
            blackHole(events)
        }
    }

    Benchmark("SSE + OpenAI interpreter: 200-chunk stream (\(kb) KiB, text + usage)") { benchmark in
        for _ in benchmark.scaledIterations {
            var decoder = SSEDecoder()
            var interpreter = OpenAIChatFormat().makeInterpreter(provider: "bench")
            var characters = 0
            for piece in Stream.pieces {
                for event in decoder.feed(piece) where !interpreter.isComplete {
                    for text in (try? interpreter.consume(event)) ?? [] { characters += text.utf8.count }
                }
            }
            blackHole(characters)
            blackHole(interpreter.usage)
        }
    }

    for (name, format, events) in [
        ("OpenAI-compatible", OpenAIChatFormat() as any WireFormat, Chunks.openAI),
        ("Anthropic", AnthropicMessagesFormat(), Chunks.anthropic),
        ("Gemini", GeminiFormat(), Chunks.gemini),
    ] {
        Benchmark("\(name) interpreter: one text chunk", configuration: .init(metrics: [.wallClock, .mallocCountTotal])) {
            benchmark in interpretPerChunk(benchmark, format, events)
        }
        // What each chunk cost before the fast path: the whole chunk parsed into a JSONValue tree
        // (the interpreters' reference path still does this for errors, tool calls and usage objects).
        Benchmark("\(name) chunk as a JSONValue tree (the path before)", configuration: .init(metrics: [.wallClock, .mallocCountTotal])) {
            benchmark in
            var k = 0
            for _ in benchmark.scaledIterations {
                blackHole(JSONValue.parse(events[k].data))
                k = k + 1 == events.count ? 0 : k + 1
            }
        }
    }
}
