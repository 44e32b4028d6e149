import Foundation

/// A file named in a model's answer: a fenced code block with a file name.
public struct ParsedFile: Sendable, Hashable {
    /// The name exactly as the model wrote it (untrusted: `Workspace` checks it before writing).
    public var name: String
    public var content: String
    public init(name: String, content: String) {
        self.name = name
        self.content = content
    }
}

/// Pulls named files out of a model's answer. A block is a file when its name is given by the fence
/// info (`python app.py`, `python:app.py`, `title="app.py"`), by a first-line comment (`# file: app.py`,
/// `// filename: app.js`), or by a label on the line just above (`**app.py**`, `### app.py`,
/// `File: app.py`). Blocks without a name are not files. Names are not checked here: a hostile
/// name such as `../../etc/x` is returned as written, so the workspace can refuse it and say so.
///
/// (YmeraQuality's `CodeExtractor` does the same for validation, but YmeraStore may not depend on
/// YmeraQuality, and the extractor only accepts names it considers well-formed, which would hide
/// hostile names instead of reporting them.)
///
/// A structured answer is read too: the whole answer, or a fenced `json` block, holding
/// `{"files": [{"path": "app.py", "content": "…"}, …]}` (`name` is accepted for `path`).
public enum WorkspaceParser {
    public static func files(in output: String) -> [ParsedFile] {
        if let structured = structuredFiles(output) { return structured }
        let lines = output.components(separatedBy: "\n")
        var files: [ParsedFile] = []
        var i = 0
        while i < lines.count {
            let trimmed = lines[i].trimmingCharacters(in: .whitespaces)
            guard let fence = fenceOpening(trimmed) else {
                i += 1
                continue
            }
            let info = String(trimmed.dropFirst(fence.count)).trimmingCharacters(in: .whitespaces)
            var body: [String] = []
            var j = i + 1
            var closed = false
            while j < lines.count {
                let t = lines[j].trimmingCharacters(in: .whitespaces)
                if t.hasPrefix(fence) && t.allSatisfy({ $0 == fence.first }) {
                    closed = true
                    break
                }
                body.append(lines[j])
                j += 1
            }
            if let name = nameFromInfo(info) ?? nameFromFirstLine(body.first) ?? nameFromPrecedingLine(lines, before: i) {
                var content = body.joined(separator: "\n")
                if !content.isEmpty { content += "\n" }
                files.append(ParsedFile(name: name, content: content))
            }
            i = closed ? j + 1 : j
        }
        return files
    }

    /// `{"files": [{"path", "content"}]}` as the whole answer or in a fenced json block; nil when
    /// the answer is not one.
    static func structuredFiles(_ output: String) -> [ParsedFile]? {
        func parse(_ text: String) -> [ParsedFile]? {
            let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard t.hasPrefix("{"), t.contains("\"files\""),
                let obj = try? JSONSerialization.jsonObject(with: Data(t.utf8)) as? [String: Any],
                let list = obj["files"] as? [Any]
            else { return nil }
            let files = list.compactMap { item -> ParsedFile? in
                guard let f = item as? [String: Any], let name = (f["path"] ?? f["name"]) as? String,
                    let content = f["content"] as? String
                else { return nil }
                return ParsedFile(name: name, content: content)
            }
            return files.isEmpty ? nil : files
        }
        if let whole = parse(output) { return whole }
        guard let open = output.range(of: "```json\n") else { return nil }
        let rest = output[open.upperBound...]
        guard let close = rest.range(of: "\n```") else { return nil }
        return parse(String(rest[..<close.lowerBound]))
    }

    static func fenceOpening(_ trimmed: String) -> String? {
        for f in ["````", "```", "~~~"] where trimmed.hasPrefix(f) {
            if trimmed.dropFirst(f.count).contains("`") { return nil }
            return f
        }
        return nil
    }

    /// `python app.py`, `python:app.py`, `python title="app.py"`, `app.py`. The first token is a
    /// language tag unless it looks like a path (has a dot or a slash).
    static func nameFromInfo(_ info: String) -> String? {
        guard !info.isEmpty else { return nil }
        let tokens = info.replacingOccurrences(of: ":", with: " ")
            .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "{" || $0 == "}" })
        for (n, tok) in tokens.enumerated() {
            var t = String(tok)
            if let eq = t.firstIndex(of: "=") {
                let key = t[..<eq].lowercased()
                guard ["title", "file", "filename", "name", "path"].contains(key) else { continue }
                t = String(t[t.index(after: eq)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\"'`"))
                if !t.isEmpty { return t }
                continue
            }
            t = t.trimmingCharacters(in: CharacterSet(charactersIn: "\"'`"))
            // A path has a slash or ends in an extension (prose such as "name." after a fence is not one).
            let looksLikePath = t.contains("/") || t.range(of: #"\.[A-Za-z0-9_+-]{1,10}$"#, options: .regularExpression) != nil
            if n == 0 && !looksLikePath { continue }  // a language tag
            if looksLikePath { return t }
        }
        return nil
    }

    /// `# file: app.py`, `// filename: app.js`, `-- path: q.sql`, `/* file: a.c */`, `<!-- file: a.html -->`.
    static func nameFromFirstLine(_ line: String?) -> String? {
        guard let l = line?.trimmingCharacters(in: .whitespaces) else { return nil }
        let pattern = #"^(#|//|--|/\*|<!--)\s*(file(name)?|path)\s*:\s*(\S+)"#
        guard let re = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { return nil }
        let ns = l as NSString
        guard let m = re.firstMatch(in: l, range: NSRange(location: 0, length: ns.length)) else { return nil }
        var name = ns.substring(with: m.range(at: 4))
        for end in ["*/", "-->"] where name.hasSuffix(end) { name.removeLast(end.count) }
        return name.isEmpty ? nil : name
    }

    /// A label just above the fence (at most one blank line between): `**app.py**`, `### src/app.py`, `File: app.py`.
    static func nameFromPrecedingLine(_ lines: [String], before index: Int) -> String? {
        var k = index - 1
        while k >= 0 && lines[k].trimmingCharacters(in: .whitespaces).isEmpty { k -= 1 }
        guard k >= 0, index - k <= 2 else { return nil }
        var line = lines[k].trimmingCharacters(in: .whitespaces)
        guard line.count <= 120 else { return nil }
        if line.lowercased().hasPrefix("file:") { line = String(line.dropFirst(5)) }
        line = line.trimmingCharacters(in: CharacterSet(charactersIn: "#*`: \t"))
        // Only a bare path: one token with an extension.
        guard !line.contains(" "), line.range(of: #"^[^\s]+\.[A-Za-z0-9]{1,8}$"#, options: .regularExpression) != nil
        else { return nil }
        return line
    }
}
