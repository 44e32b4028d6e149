import YmeraCore

extension OpenAIChatFormat.Interpreter {
    /// The chunks of a plain text stream — a `delta.content` string, a `finish_reason`, `[DONE]` —
    /// read without building a tree (no allocation but the returned text). Nil for anything else
    /// (errors, usage, tool calls, content parts, lenient number forms, escaped keys, invalid JSON):
    /// those go to `consumeParsed`, which gives the same result for every chunk this path reads.
    mutating func consumeFast(_ event: SSEEvent) -> [String]? {
        if event.event == "error" { return nil }
        var newFinish: FinishReason?
        var done = false
        let texts = event.data.withUTF8Bytes { buf -> [String]? in
            if ChunkBytes.isBlank(buf) { return [] }
            if ChunkBytes.equalsTrimmed(buf, "[DONE]") {
                done = true
                return []
            }
            var scan = JSONScanner(buf)
            guard let root = scan.validate(), !scan.keysHaveEscapes, scan.kind(root) == .object else { return nil }
            // What `FailureClassifier.isErrorPayload` and `usageIn` look at goes to the parser.
            if scan.member(root, "error") != nil || scan.member(root, "x_groq") != nil { return nil }
            func mayBeError(_ key: StaticString) -> Bool {
                guard let v = scan.member(root, key), scan.kind(v) == .string else { return false }
                return scan.plainStringEquals(v, "error") != false
            }
            if mayBeError("object") || mayBeError("type") { return nil }
            if let u = scan.member(root, "usage"), scan.kind(u) != .null { return nil }
            var out: [String] = []
            guard let choices = scan.member(root, "choices"), scan.kind(choices) == .array else { return out }
            var sure = true
            scan.forEachElement(choices) { choice in
                guard scan.kind(choice) == .object else { return true }
                if let index = scan.member(choice, "index") {
                    guard let n = scan.plainInt(index) else {
                        sure = false
                        return false
                    }
                    if n != 0 { return true }
                }
                if let delta = scan.member(choice, "delta"), scan.kind(delta) == .object {
                    if let calls = scan.member(delta, "tool_calls"), scan.kind(calls) != .null {
                        sure = false
                        return false
                    }
                    if let content = scan.member(delta, "content") {
                        switch scan.kind(content) {
                        case .string:
                            if let text = scan.string(content), !text.isEmpty { out.append(text) }
                        case .array:
                            sure = false
                            return false
                        default:
                            break
                        }
                    }
                }
                if let reason = scan.member(choice, "finish_reason"), let s = scan.string(reason) {
                    newFinish = FinishReasons.openAI(s)
                }
                return true
            }
            return sure ? out : nil
        }
        guard let texts else { return nil }
        if done { sawDone = true }
        if let newFinish { finish = newFinish }
        return texts
    }
}
