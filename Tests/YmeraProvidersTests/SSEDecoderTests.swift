import Foundation
import PropertyBased
import Testing
@testable import YmeraProviders

/// Feeds `bytes` to a fresh decoder in pieces of the given sizes (cycled), then finishes.
func decode(_ bytes: [UInt8], cuts: [Int]) -> [SSEEvent] {
    var decoder = SSEDecoder()
    var events: [SSEEvent] = []
    var i = 0
    var k = 0
    while i < bytes.count {
        let size = cuts.isEmpty ? bytes.count : max(1, cuts[k % cuts.count])
        k += 1
        let end = min(bytes.count, i + size)
        events += decoder.feed(bytes[i..<end])
        i = end
    }
    return events + decoder.finish()
}

@Suite("SSE decoder")
struct SSEDecoderTests {
    @Test("data, event and id fields; comments and blank lines are not events")
    func fields() {
        let text = ": keep-alive\n\nevent: message_start\nid: 7\ndata: {\"a\":1}\n\n: OPENROUTER PROCESSING\n\ndata: x\n\n"
        let events = decode(Array(text.utf8), cuts: [])
        #expect(events == [
            SSEEvent(event: "message_start", data: #"{"a":1}"#, id: "7"),
            SSEEvent(event: nil, data: "x", id: "7"),
        ])
    }

    @Test("multi-line data joins with newlines; one space after the colon is dropped, others kept")
    func multiLine() {
        let events = decode(Array("data: one\ndata:two\ndata:  three\ndata\n\n".utf8), cuts: [])
        #expect(events == [SSEEvent(data: "one\ntwo\n three\n")])
    }

    @Test("CRLF, CR and LF all end lines, also when the pair is split across chunks")
    func lineEndings() {
        let text = "data: a\r\n\r\ndata: b\r\rdata: c\n\ndata: d\r\n\r\n"
        let expected = ["a", "b", "c", "d"].map { SSEEvent(data: $0) }
        for size in 1...text.utf8.count {
            #expect(decode(Array(text.utf8), cuts: [size]).map(\.data) == expected.map(\.data), "chunk size \(size)")
        }
    }

    @Test("a UTF-8 scalar split between chunks is decoded intact")
    func splitScalar() {
        let bytes = Array("data: héllo 🙂 中文\n\n".utf8)
        for size in 1...5 {
            #expect(decode(bytes, cuts: [size]) == [SSEEvent(data: "héllo 🙂 中文")])
        }
    }

    @Test("a leading byte-order mark is ignored")
    func bom() {
        #expect(decode([0xEF, 0xBB, 0xBF] + Array("data: x\n\n".utf8), cuts: [1]) == [SSEEvent(data: "x")])
    }

    @Test("an event without its closing blank line is still delivered at the end; a cut line is not")
    func endOfStream() {
        var d = SSEDecoder()
        #expect(d.feed(Array("data: [DONE]\n".utf8)).isEmpty)
        #expect(d.finish() == [SSEEvent(data: "[DONE]")])

        var cut = SSEDecoder()
        _ = cut.feed(Array("data: {\"choices\":[{\"del".utf8))
        #expect(cut.hasPartialLine)
        #expect(cut.finish().isEmpty)
    }

    @Test("retry and unknown fields do not disturb data")
    func retryAndUnknown() {
        let events = decode(Array("retry: 3000\nfoo: bar\ndata: z\n\n".utf8), cuts: [2])
        #expect(events == [SSEEvent(data: "z", retry: 3000)])
    }

    @Test("the captured fixtures decode to the same events whatever the chunking", arguments: [
        "llama-server_smol_stream.sse", "llama-server_qwen_stream_usage.sse", "llama-cpp-python_smol_stream.sse",
        "llama-cpp-python_interrupted.sse",
    ])
    func fixturesSplitAnywhere(name: String) async throws {
        let bytes = try fixture(name)
        let whole = decode(bytes, cuts: [])
        #expect(whole.count > 5)
        #expect(whole.last?.data == "[DONE]")
        #expect(whole.dropLast().allSatisfy { JSONValue.parse($0.data) != nil })
        await propertyCheck(count: 60, input: Gen.int(in: 1...700).array(of: 1...40)) { cuts in
            #expect(decode(bytes, cuts: cuts) == whole)
        }
    }

    /// Generated streams: random events, line endings, comments and text with multi-byte scalars,
    /// split at random points, decode to exactly the events they were built from.
    @Test("generated streams split at random points give the events they encode")
    func generatedStreams() async {
        let words = ["hello", "wörld", "🙂", "中文", "a:b", " lead", "{\"k\":1}", "", "data: inner", "ẞ"]
        let endings = ["\n", "\r\n", "\r"]
        await propertyCheck(
            count: 300, input: Gen.int(in: 0...1_000_000).array(of: 1...10), Gen.int(in: 1...23).array(of: 1...20)
        ) { recipe, cuts in
            var text = ""
            var expected: [SSEEvent] = []
            for (n, seed) in recipe.enumerated() {
                let ending = endings[seed % 3]
                if (seed / 3) % 2 == 0 { text += ": comment \(n)" + ending }
                let name: String? = (seed / 6) % 3 == 0 ? nil : ["message_start", "content_block_delta"][(seed / 18) % 2]
                if let name { text += "event: \(name)" + ending }
                let lineCount = (seed / 36) % 3 + 1
                var lines: [String] = []
                for j in 0..<lineCount { lines.append(words[(seed / 108 + j * 7) % words.count]) }
                for line in lines { text += "data: \(line)" + ending }
                text += ending
                expected.append(SSEEvent(event: name, data: lines.joined(separator: "\n")))
            }
            let events = decode(Array(text.utf8), cuts: cuts)
            #expect(events == expected)
        }
    }
}
