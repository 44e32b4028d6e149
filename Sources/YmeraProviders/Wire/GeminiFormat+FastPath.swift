import YmeraCore

extension GeminiFormat.Interpreter {
    /// The chunks of a plain text stream — text parts of the first candidate, its `finishReason`,
    /// `usageMetadata` in plain integers — read without building a tree (no allocation but the
    /// returned text). Nil for anything else (errors, function calls, thoughts, a blocked prompt,
    /// lenient number forms, escaped keys, invalid JSON): those go to `consumeParsed`, which gives
    /// the same result for every chunk this path reads.
    mutating func consumeFast(_ event: SSEEvent) -> [String]? {
        var newUsage: TokenUsage?
        var newFinish: FinishReason?
        let texts = event.data.withUTF8Bytes { buf -> [String]? in
            if ChunkBytes.isBlank(buf) { return [] }
            var scan = JSONScanner(buf)
            guard let root = scan.validate(), !scan.keysHaveEscapes, scan.kind(root) == .object else { return nil }
            // What `FailureClassifier.isErrorPayload` looks at goes to the parser.
            if scan.member(root, "error") != nil || scan.member(root, "object") != nil || scan.member(root, "type") != nil {
                return nil
            }
            if let u = scan.member(root, "usageMetadata") {
                guard scan.kind(u) == .object else { return nil }
                /// A count: 0 when absent, nil when not a plain integer (the parser reads the lenient forms).
                func count(_ key: StaticString) -> Int? {
                    guard let v = scan.member(u, key) else { return 0 }
                    return scan.plainInt(v)
                }
                guard let input = count("promptTokenCount"), let output = count("candidatesTokenCount"),
                    let reasoning = count("thoughtsTokenCount"), let cached = count("cachedContentTokenCount")
                else { return nil }
                newUsage = TokenUsage(
                    inputTokens: input, outputTokens: output, reasoningTokens: reasoning, cachedInputTokens: cached)
            }
            guard let candidates = scan.member(root, "candidates"), scan.kind(candidates) == .array else { return nil }
            var first: Int?
            scan.forEachElement(candidates) { c in
                first = c
                return false
            }
            guard let candidate = first, scan.kind(candidate) == .object else { return nil }
            var out: [String] = []
            if let content = scan.member(candidate, "content"), scan.kind(content) == .object,
                let parts = scan.member(content, "parts"), scan.kind(parts) == .array
            {
                var sure = true
                scan.forEachElement(parts) { part in
                    guard scan.kind(part) == .object else { return true }
                    if scan.member(part, "thought") != nil || scan.member(part, "functionCall") != nil {
                        sure = false
                        return false
                    }
                    if let t = scan.member(part, "text"), let text = scan.string(t), !text.isEmpty { out.append(text) }
                    return true
                }
                guard sure else { return nil }
            }
            if let reason = scan.member(candidate, "finishReason"), let s = scan.string(reason) {
                newFinish = FinishReasons.gemini(s)
            }
            return out
        }
        guard let texts else { return nil }
        if let newUsage { usage = newUsage }
        if let newFinish { finish = newFinish }
        return texts
    }
}
