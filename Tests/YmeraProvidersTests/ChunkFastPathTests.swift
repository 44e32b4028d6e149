import Foundation
import Testing
import YmeraCore

@testable import YmeraProviders

/// The chunk interpreters read common chunks on a fast path (`JSONScanner`, no tree) and everything
/// else through the parser. These tests hold the fast path to the parser's results: for random and
/// damaged chunks of each format, consuming a chunk gives the same text, error, finish reason, usage
/// and tool calls either way; and the chunks real streams are made of do take the fast path.
@Suite("Chunk fast paths agree with the parser")
struct ChunkFastPathTests {
    /// The core's SplitMix64 (seedable, the same on every machine) with the picks these tests need.
    struct Random {
        var g: SplitMix64
        init(state: UInt64) { g = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { g.next() }
        mutating func int(_ n: Int) -> Int { Int(g.next() % UInt64(n)) }
        mutating func chance(_ p: Double) -> Bool { g.nextDouble() < p }
        mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
    }

    /// JSON string bodies (already escaped) a model's text may arrive as.
    static let texts = [
        "Hello", " world", "", "a", " token42", "line\\nbreak", "tab\\there", "quote \\\"x\\\"", "back\\\\slash",
        "\\u00e9t\\u00e9", "emoji \\ud83d\\ude00", "lone \\ud83d end", "low \\ude00 only", "caf\u{e9}", "\u{1F600}",
        "slash\\/ok", "\\b\\f\\r", "long text that is well over fifteen bytes so it needs storage",
        "\\u0000nul", "x\\ud83dy\\u0041",
    ]

    static func openAIChunk(_ r: inout Random) -> String {
        var members: [String] = []
        if r.chance(0.8) { members.append("\"id\":\"chatcmpl-\(r.int(999))\"") }
        if r.chance(0.8) { members.append("\"object\":\"\(r.chance(0.97) ? "chat.completion.chunk" : "error")\"") }
        if r.chance(0.5) { members.append("\"created\":\(r.int(2_000_000_000))") }
        if r.chance(0.1) { members.append("\"usage\":\(r.pick(["null", "{\"prompt_tokens\":3,\"completion_tokens\":4}", "5"]))") }
        if r.chance(0.05) { members.append("\"error\":\(r.pick(["null", "{\"message\":\"bad\"}"]))") }
        if r.chance(0.05) { members.append("\"type\":\"\(r.pick(["error", "chunk", "\\u0065rror"]))\"") }
        var choices: [String] = []
        for _ in 0..<r.pick([0, 1, 1, 1, 1, 2]) {
            var c: [String] = []
            if r.chance(0.9) { c.append("\"index\":\(r.pick(["0", "0", "0", "1", "0.0", "\"0\"", "-0", "1e0"]))") }
            var delta: [String] = []
            if r.chance(0.3) { delta.append("\"role\":\"assistant\"") }
            if r.chance(0.85) {
                delta.append("\"content\":\(r.pick(["\"\(r.pick(texts))\"", "\"\(r.pick(texts))\"", "null", "[{\"type\":\"text\",\"text\":\"p\"}]", "7"]))")
            }
            if r.chance(0.05) { delta.append("\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]") }
            if r.chance(0.9) { c.append("\"delta\":\(r.chance(0.95) ? "{\(delta.joined(separator: ","))}" : "null")") }
            if r.chance(0.7) { c.append("\"finish_reason\":\(r.pick(["null", "null", "\"stop\"", "\"length\"", "\"tool_calls\"", "\"st\\u006fp\""]))") }
            if r.chance(0.1) { c.append("\"finish_reason\":\"content_filter\"") }  // a repeated key: the last one counts
            choices.append(r.chance(0.97) ? "{\(c.joined(separator: ","))}" : "\"odd\"")
        }
        if r.chance(0.95) { members.append("\"choices\":[\(choices.joined(separator: ","))]") }
        return "{\(shuffled(members, &r).joined(separator: r.pick([",", ", ", " ,\n"])))}"
    }

    static func anthropicEvent(_ r: inout Random) -> String {
        switch r.int(9) {
        case 0: return "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":\(r.int(99)),\"output_tokens\":1}}}"
        case 1: return "{\"type\":\"ping\"}"
        case 2: return "{\"type\":\"content_block_stop\",\"index\":0}"
        case 3: return "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"\(r.pick(["end_turn", "max_tokens"]))\"},\"usage\":{\"output_tokens\":\(r.int(99))}}"
        case 4: return "{\"type\":\"message_stop\"}"
        case 5: return "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}"
        case 6: return "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}"
        default:
            let deltaType = r.pick(["text_delta", "text_delta", "text_delta", "input_json_delta", "thinking_delta", "te\\u0078t_delta"])
            let text = r.chance(0.9) ? "\"text\":\"\(r.pick(texts))\"" : "\"text\":\(r.pick(["null", "3"]))"
            let members = ["\"type\":\"content_block_delta\"", "\"index\":\(r.int(2))", "\"delta\":{\"type\":\"\(deltaType)\",\(text),\"partial_json\":\"{\\\"a\"}"]
            return "{\(shuffled(members, &r).joined(separator: ","))}"
        }
    }

    static func geminiChunk(_ r: inout Random) -> String {
        var members: [String] = []
        var parts: [String] = []
        for _ in 0..<r.pick([0, 1, 1, 2]) {
            switch r.int(12) {
            case 0: parts.append("{\"text\":\"thinking\",\"thought\":true}")
            case 1: parts.append("{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}}}")
            case 2: parts.append("\"odd\"")
            default: parts.append("{\"text\":\"\(r.pick(texts))\"}")
            }
        }
        var candidate = ["\"content\":{\"parts\":[\(parts.joined(separator: ","))],\"role\":\"model\"}", "\"index\":0"]
        if r.chance(0.3) { candidate.append("\"finishReason\":\"\(r.pick(["STOP", "MAX_TOKENS", "SAFETY", "OTHER"]))\"") }
        if r.chance(0.95) { members.append("\"candidates\":[\(r.chance(0.95) ? "{\(shuffled(candidate, &r).joined(separator: ","))}" : "")]") }
        if r.chance(0.8) {
            let total = r.pick(["\(r.int(500))", "\(r.int(500))", "1.0", "\"12\"", "null", "1e2"])
            members.append("\"usageMetadata\":{\"promptTokenCount\":\(r.int(99)),\"candidatesTokenCount\":\(total),\"totalTokenCount\":\(r.int(999))}")
        }
        if r.chance(0.05) { members.append("\"promptFeedback\":{\"blockReason\":\"SAFETY\"}") }
        if r.chance(0.03) { members.append("\"error\":{\"code\":429,\"message\":\"quota\",\"status\":\"RESOURCE_EXHAUSTED\"}") }
        if r.chance(0.5) { members.append("\"modelVersion\":\"gemini-3-flash\"") }
        return "{\(shuffled(members, &r).joined(separator: ","))}"
    }

    static func shuffled(_ xs: [String], _ r: inout Random) -> [String] {
        var a = xs
        guard a.count > 1 else { return a }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, r.int(i + 1)) }
        return a
    }

    /// Damages a text the way a cut or a bad server would: a byte flipped, dropped or repeated, a
    /// cut, a key escaped, spaces around.
    static func damage(_ s: String, _ r: inout Random) -> String {
        var b = Array(s.utf8)
        switch r.int(8) {
        case 0 where !b.isEmpty: b[r.int(b.count)] = UInt8(truncatingIfNeeded: r.next())
        case 1 where !b.isEmpty: b.remove(at: r.int(b.count))
        case 2 where !b.isEmpty: b = Array(b[..<r.int(b.count)])
        case 3 where !b.isEmpty:
            let i = r.int(b.count)
            b.insert(b[i], at: i)
        case 4: return s.replacingOccurrences(of: "\"content\"", with: "\"con\\u0074ent\"")
        case 5: return r.pick([" ", "\t", "\u{A0}", "\n"]) + s + r.pick([" ", "\t", "\u{2003}", ""])
        case 6: return r.pick(["[DONE]", " [DONE] ", "", "   ", "\t", "[1]", "\"x\"", "null", String(repeating: "[", count: 300)])
        default: b.insert(UInt8(ascii: r.pick(["{", "}", "[", "]", ",", ":", "\"", "\\"])), at: r.int(b.count + 1))
        }
        return String(decoding: b, as: UTF8.self)
    }

    /// What a user of the interpreter can observe after a chunk.
    static func observe(_ i: any StreamInterpreter, _ out: Result<[String], ModelFailure>) -> String {
        let end: String
        do { end = "\(try i.end())" } catch { end = "end failed: \(error)" }
        let calls: String
        do { calls = "\(try i.finishToolCalls())" } catch { calls = "calls failed: \(error)" }
        return "\(out) | complete \(i.isComplete) | usage \(String(describing: i.usage)) | \(end) | \(calls)"
    }

    /// Feeds `chunks` to two copies of an interpreter, one reading every chunk through the parser,
    /// and checks that after each chunk both are the same to an observer. Returns how many chunks
    /// the fast path read.
    static func agree<I: StreamInterpreter>(
        _ start: I, _ chunks: [String], event: String? = nil, seed: UInt64,
        fast: (inout I, SSEEvent) -> [String]?, parsed: (inout I, SSEEvent) throws -> [String]
    ) -> Int {
        var a = start
        var b = start
        var taken = 0
        for (n, chunk) in chunks.enumerated() {
            let e = SSEEvent(event: event, data: chunk)
            let outA: Result<[String], ModelFailure>
            if let t = fast(&a, e) {
                taken += 1
                outA = .success(t)
            } else {
                outA = Result { try parsed(&a, e) }.mapError { $0 as? ModelFailure ?? ModelFailure(.unknown, "\($0)") }
            }
            let outB = Result { try parsed(&b, e) }.mapError { $0 as? ModelFailure ?? ModelFailure(.unknown, "\($0)") }
            let oa = observe(a, outA)
            let ob = observe(b, outB)
            #expect(oa == ob, "seed \(seed), chunk \(n): \(chunk)")
            if oa != ob { return taken }
        }
        return taken
    }

    /// 500 streams per format in the suite (seconds in a debug build); `YMERA_TEST_STREAMS` and
    /// `YMERA_TEST_SEED` run more or others (`YMERA_TEST_STREAMS=100000` is the long run).
    @Test("random and damaged chunks: the fast path and the parser agree")
    func randomChunksAgree() {
        let env = ProcessInfo.processInfo.environment
        let base = UInt64(env["YMERA_TEST_SEED"] ?? "") ?? 20_261_205
        let streams = Int(env["YMERA_TEST_STREAMS"] ?? "") ?? 500
        var takenTotal = (openAI: 0, anthropic: 0, gemini: 0, chunks: 0)
        for s in 0..<streams {
            let seed = base &+ UInt64(s)
            var r = Random(state: seed)
            func stream(_ make: (inout Random) -> String) -> [String] {
                (0..<r.pick([1, 3, 8])).map { _ in
                    let c = make(&r)
                    return r.chance(0.25) ? Self.damage(c, &r) : c
                }
            }
            let o = stream(Self.openAIChunk)
            takenTotal.openAI += Self.agree(
                OpenAIChatFormat.Interpreter(provider: "p"), o, event: r.chance(0.03) ? "error" : nil, seed: seed,
                fast: { $0.consumeFast($1) }, parsed: { try $0.consumeParsed($1) })
            let a = stream(Self.anthropicEvent)
            takenTotal.anthropic += Self.agree(
                AnthropicMessagesFormat.Interpreter(provider: "p"), a, event: r.chance(0.03) ? "error" : nil, seed: seed,
                fast: { $0.consumeFast($1) }, parsed: { try $0.consumeParsed($1) })
            let g = stream(Self.geminiChunk)
            takenTotal.gemini += Self.agree(
                GeminiFormat.Interpreter(provider: "p"), g, seed: seed,
                fast: { $0.consumeFast($1) }, parsed: { try $0.consumeParsed($1) })
            takenTotal.chunks += o.count + a.count + g.count
        }
        // Not an assertion on speed: a sign the generators reach both paths.
        print("seed \(base), \(streams) streams per format: fast path read \(takenTotal.openAI + takenTotal.anthropic + takenTotal.gemini) of \(takenTotal.chunks) random chunks")
        #expect(takenTotal.openAI > streams / 2 && takenTotal.anthropic > streams / 2 && takenTotal.gemini > streams / 2)
    }

    @Test("the chunks real text streams are made of take the fast path")
    func commonChunksAreFast() throws {
        var o = OpenAIChatFormat.Interpreter(provider: "p")
        for chunk in [
            #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
            #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" token\n\"x\" \u00e9"},"finish_reason":null}],"usage":null}"#,
            #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            "[DONE]",
        ] {
            #expect(o.consumeFast(SSEEvent(data: chunk)) != nil, "\(chunk)")
        }
        #expect(o.isComplete)
        #expect(try o.end() == .stop)

        var a = AnthropicMessagesFormat.Interpreter(provider: "p")
        for chunk in [
            #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello \"there\"\n"}}"#,
            #"{"type": "ping"}"#, #"{"type":"content_block_stop","index":0}"#, #"{"type":"message_stop"}"#,
        ] {
            #expect(a.consumeFast(SSEEvent(event: "x", data: chunk)) != nil, "\(chunk)")
        }
        #expect(a.isComplete)

        var g = GeminiFormat.Interpreter(provider: "p")
        for chunk in [
            #"{"candidates":[{"content":{"parts":[{"text":"Hi\n"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":5,"totalTokenCount":5},"modelVersion":"gemini-3-flash","responseId":"r"}"#,
            #"{"candidates":[{"content":{"parts":[{"text":" there"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2,"totalTokenCount":7}}"#,
        ] {
            #expect(g.consumeFast(SSEEvent(data: chunk)) != nil, "\(chunk)")
        }
        #expect(g.isComplete)
        #expect(g.usage?.outputTokens == 2)
    }

    @Test("the scanner accepts exactly what the parser accepts")
    func scannerAcceptance() {
        var r = Random(state: 7)
        let seeds = [
            #"{"a":[1,2.5,-0,1e3,true,false,null,"x\u00e9"],"b":{}}"#, "[]", "{}", "0", "-1.5E+2", "\"s\"", "[[[]]]",
            #"{"k":"v","k":"w"}"#, "  {\"a\" : 1 }  ",
        ]
        for n in 0..<5_000 {
            let text = n < seeds.count ? seeds[n] : Self.damage(r.pick(seeds), &r)
            let bytes = Array(text.utf8)
            let scanned = bytes.withUnsafeBufferPointer { buf -> Bool in
                var s = JSONScanner(buf)
                return s.validate() != nil
            }
            #expect(scanned == (JSONParser.parse(bytes) != nil), "\(text)")
        }
        let deep = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
        let tooDeep = String(repeating: "[", count: 257) + String(repeating: "]", count: 257)
        for t in [deep, tooDeep] {
            let bytes = Array(t.utf8)
            let scanned = bytes.withUnsafeBufferPointer { buf -> Bool in
                var s = JSONScanner(buf)
                return s.validate() != nil
            }
            #expect(scanned == (JSONParser.parse(bytes) != nil))
        }
    }
}
