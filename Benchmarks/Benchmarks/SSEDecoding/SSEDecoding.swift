// SSE decoding throughput: YMERA's SSEDecoder (and the OpenAI chunk interpreter on top) over a
// 200-chunk OpenAI-format stream, fed in 1 400-byte pieces as the socket delivers it.
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
}
