import YmeraCore

extension AnthropicMessagesFormat.Interpreter {
    /// The events of a plain text stream — `text_delta`, `ping`, `content_block_stop`,
    /// `message_stop` — read without building a tree (no allocation but the returned text). Nil for
    /// anything else (usage, tool blocks, errors, escaped keys, invalid JSON): those go to
    /// `consumeParsed`, which gives the same result for every event this path reads.
    mutating func consumeFast(_ event: SSEEvent) -> [String]? {
        if event.event == "error" { return nil }
        var stop = false
        let texts = event.data.withUTF8Bytes { buf -> [String]? in
            if ChunkBytes.isBlank(buf) { return [] }
            var scan = JSONScanner(buf)
            guard let root = scan.validate(), !scan.keysHaveEscapes, scan.kind(root) == .object else { return nil }
            if scan.member(root, "error") != nil { return nil }
            guard let type = scan.member(root, "type") else { return nil }
            if scan.plainStringEquals(type, "content_block_delta") == true {
                guard let delta = scan.member(root, "delta"), scan.kind(delta) == .object,
                    let deltaType = scan.member(delta, "type"), scan.plainStringEquals(deltaType, "text_delta") == true
                else { return nil }
                guard let t = scan.member(delta, "text"), let text = scan.string(t), !text.isEmpty else { return [] }
                return [text]
            }
            if scan.plainStringEquals(type, "message_stop") == true {
                stop = true
                return []
            }
            if scan.plainStringEquals(type, "ping") == true || scan.plainStringEquals(type, "content_block_stop") == true {
                return []
            }
            return nil
        }
        if stop { sawStop = true }
        return texts
    }
}
