import Foundation

/// Languages the validator knows how to check.
public enum CodeLanguage: String, Codable, Sendable, CaseIterable {
    case python, javascript, typescript, swift, c, cpp, shell, go, rust, java, ruby, sql, json, unknown

    /// File extension used when writing a block to disk.
    public var fileExtension: String {
        switch self {
        case .python: "py"
        case .javascript: "js"
        case .typescript: "ts"
        case .swift: "swift"
        case .c: "c"
        case .cpp: "cpp"
        case .shell: "sh"
        case .go: "go"
        case .rust: "rs"
        case .java: "java"
        case .ruby: "rb"
        case .sql: "sql"
        case .json: "json"
        case .unknown: "txt"
        }
    }

    /// A fence tag or file extension → language.
    public static func from(tag raw: String) -> CodeLanguage? {
        let t = raw.lowercased().trimmingCharacters(in: .whitespaces)
        switch t {
        case "python", "py", "python3", "py3", "pytest": return .python
        case "javascript", "js", "node", "nodejs", "mjs", "cjs", "jsx": return .javascript
        case "typescript", "ts", "tsx": return .typescript
        case "swift": return .swift
        case "c", "h": return .c
        case "cpp", "c++", "cc", "cxx", "hpp", "hh": return .cpp
        case "bash", "sh", "shell", "zsh", "console-script", "shellscript": return .shell
        case "go", "golang": return .go
        case "rust", "rs": return .rust
        case "java": return .java
        case "ruby", "rb": return .ruby
        case "sql", "postgresql", "mysql", "sqlite": return .sql
        case "json": return .json
        default: return nil
        }
    }
}

/// One piece of code found in an output.
public struct CodeBlock: Codable, Sendable, Hashable {
    public var language: CodeLanguage
    /// File name given by the output (fence info or a heading line before it), if any.
    public var fileName: String?
    public var code: String
    /// 1-based line in the whole output where the code's first line sits.
    public var startLine: Int
    /// How the language was decided: `fence tag`, `file name`, `content`.
    public var languageEvidence: String

    public init(language: CodeLanguage, fileName: String?, code: String, startLine: Int, languageEvidence: String) {
        self.language = language
        self.fileName = fileName
        self.code = code
        self.startLine = startLine
        self.languageEvidence = languageEvidence
    }

    /// Whether this block looks like a test file (pytest/unittest, node:test/jest style).
    public var isTest: Bool {
        let name = (fileName as NSString?)?.lastPathComponent.lowercased() ?? ""
        switch language {
        case .python:
            if name.hasPrefix("test_") || name.hasSuffix("_test.py") || name == "tests.py" { return true }
            if name.isEmpty {
                return code.range(of: #"(?m)^\s*(def test_\w+\s*\(|class \w+\(unittest\.TestCase\))"#, options: .regularExpression) != nil
                    && code.range(of: #"(?m)^(import (pytest|unittest)|from (pytest|unittest) import)"#, options: .regularExpression) != nil
            }
            return false
        case .javascript:
            return name.contains(".test.") || name.contains(".spec.")
                || (name.isEmpty && code.contains("node:test"))
        default:
            return false
        }
    }
}

/// Pulls code out of a model's answer: fenced blocks (with language tags and file names) or, when
/// there is no fence, the whole output if it looks like code.
public enum CodeExtractor {
    public static func extract(_ output: String, fileName: String? = nil, hint: CodeLanguage? = nil) -> [CodeBlock] {
        let lines = output.components(separatedBy: "\n")
        var blocks: [CodeBlock] = []
        var i = 0
        var sawFence = false
        while i < lines.count {
            let line = lines[i]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard let fence = fenceOpening(trimmed) else {
                i += 1
                continue
            }
            sawFence = true
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
            let (tagLang, infoName) = parseInfo(info)
            let name = infoName ?? nameFromFirstLine(body.first) ?? nameFromPrecedingLine(lines, before: i)
            let code = body.joined(separator: "\n")
            var lang = tagLang
            var evidence = "fence tag"
            if lang == nil, let n = name, let ext = n.split(separator: ".").last, n.contains(".") {
                lang = CodeLanguage.from(tag: String(ext))
                evidence = "file name"
            }
            if lang == nil {
                lang = detect(code)
                evidence = "content"
            }
            if !code.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                blocks.append(
                    CodeBlock(
                        language: lang ?? .unknown, fileName: name, code: code, startLine: i + 2,
                        languageEvidence: evidence))
            }
            i = closed ? j + 1 : j
        }
        if sawFence { return blocks }

        // No fence: the whole output, when it is code (a file given to `ymera validate`, or a bare answer).
        let extLang = fileName.flatMap { n in n.contains(".") ? n.split(separator: ".").last.map(String.init) : nil }
            .flatMap(CodeLanguage.from(tag:))
        if let lang = hint ?? extLang {
            return [CodeBlock(language: lang, fileName: fileName, code: output, startLine: 1,
                              languageEvidence: hint != nil ? "given" : "file name")]
        }
        if let lang = detect(output), looksLikeCode(output) {
            return [CodeBlock(language: lang, fileName: fileName, code: output, startLine: 1, languageEvidence: "content")]
        }
        return []
    }

    static func fenceOpening(_ trimmed: String) -> String? {
        for f in ["````", "```", "~~~"] where trimmed.hasPrefix(f) {
            let rest = trimmed.dropFirst(f.count)
            if rest.contains("`") { return nil }  // inline code such as ```x```
            return f
        }
        return nil
    }

    /// Fence info: `python`, `python app.py`, `python:app.py`, `python title="app.py"`, `app.py`.
    static func parseInfo(_ info: String) -> (CodeLanguage?, String?) {
        guard !info.isEmpty else { return (nil, nil) }
        var lang: CodeLanguage?
        var name: String?
        let tokens = info.replacingOccurrences(of: ":", with: " ").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "{" || $0 == "}" })
        for (n, tok) in tokens.enumerated() {
            var t = String(tok)
            if let eq = t.firstIndex(of: "=") {
                let key = t[..<eq].lowercased()
                guard ["title", "file", "filename", "name", "path"].contains(key) else { continue }
                t = String(t[t.index(after: eq)...])
            }
            t = t.trimmingCharacters(in: CharacterSet(charactersIn: "\"'`"))
            if n == 0, let l = CodeLanguage.from(tag: t) {
                lang = l
            } else if isFileName(t) {
                name = t
            }
        }
        return (lang, name)
    }

    static func isFileName(_ s: String) -> Bool {
        s.range(of: #"^[\w./-]+\.[A-Za-z0-9]{1,6}$"#, options: .regularExpression) != nil
    }

    /// A first-line comment naming the file: `# file: app.py`, `// filename: app.js`, `-- file: q.sql`.
    static func nameFromFirstLine(_ line: String?) -> String? {
        guard let l = line?.trimmingCharacters(in: .whitespaces) else { return nil }
        let pattern = #"^(#|//|--|/\*)\s*(file(name)?|path)\s*:\s*([\w./-]+\.[A-Za-z0-9]{1,6})\b"#
        guard let re = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { return nil }
        let ns = l as NSString
        guard let m = re.firstMatch(in: l, range: NSRange(location: 0, length: ns.length)) else { return nil }
        return ns.substring(with: m.range(at: 4))
    }

    /// A heading or label just above a fence: `**app.py**`, `### tests/test_app.py`, `File: app.py`, `# app.py`.
    static func nameFromPrecedingLine(_ lines: [String], before index: Int) -> String? {
        var k = index - 1
        while k >= 0 && lines[k].trimmingCharacters(in: .whitespaces).isEmpty { k -= 1 }
        guard k >= 0, index - k <= 2 else { return nil }
        let line = lines[k].trimmingCharacters(in: .whitespaces)
        guard line.count <= 120 else { return nil }
        let pattern = #"([\w./-]+\.(py|js|mjs|ts|swift|c|h|cpp|cc|hpp|sh|bash|go|rs|java|rb|sql|json))\b"#
        guard let r = line.range(of: pattern, options: .regularExpression) else { return nil }
        return String(line[r])
    }

    /// Language from content alone (shebangs, then characteristic constructs).
    public static func detect(_ code: String) -> CodeLanguage? {
        let first = code.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        if first.hasPrefix("#!") {
            if first.contains("python") { return .python }
            if first.contains("node") { return .javascript }
            if first.contains("bash") || first.hasSuffix("/sh") || first.contains("env sh") || first.contains("zsh") { return .shell }
            if first.contains("swift") { return .swift }
        }
        func has(_ p: String) -> Bool { code.range(of: p, options: .regularExpression) != nil }
        let trimmed = code.trimmingCharacters(in: .whitespacesAndNewlines)
        if (trimmed.hasPrefix("{") && trimmed.hasSuffix("}")) || (trimmed.hasPrefix("[") && trimmed.hasSuffix("]")),
            (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) != nil
        {
            return .json
        }
        if has(#"(?m)^\s*#include\s*[<"]"#) {
            return has(#"(std::|#include\s*<(iostream|vector|string|map|memory)>|\bclass\s+\w+\s*\{|template\s*<)"#) ? .cpp : .c
        }
        if has(#"(?m)^package \w+"#) && has(#"(?m)^func "#) { return .go }
        if has(#"(?m)^\s*(pub\s+)?fn \w+"#) && has(#"(let mut|->|::|println!)"#) { return .rust }
        if has(#"(?m)^\s*import (Foundation|SwiftUI|UIKit)"#) || has(#"(?m)^\s*(func \w+\(.*\)\s*(->|\{)|guard let |let \w+\s*:\s*\w+\s*=)"#) && !has(#"(?m)^\s*def "#) {
            if has(#"\bfunc \w+"#) || has(#"import (Foundation|SwiftUI)"#) { return .swift }
        }
        if has(#"(?m)^\s*(public\s+)?class \w+"#) && has(#"public static void main"#) { return .java }
        if has(#"(?m)^\s*(def \w+\(.*\):|class \w+(\(.*\))?:|import \w+|from [\w.]+ import )"#) { return .python }
        if has(#"(?m)^\s*(const|let|var) \w+\s*=|function\s*\w*\s*\(|=>\s*\{|require\(|console\.log"#) {
            return has(#":\s*(string|number|boolean)\b|interface \w+\s*\{"#) ? .typescript : .javascript
        }
        if has(#"(?im)^\s*(select .+ from|insert into|create table|update \w+ set)"#) { return .sql }
        if has(#"(?m)^\s*(echo |if \[|for \w+ in |export \w+=|set -e)"#) { return .shell }
        return nil
    }

    /// Whether unfenced text is code rather than prose (share of lines with code punctuation).
    static func looksLikeCode(_ text: String) -> Bool {
        let lines = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !lines.isEmpty else { return false }
        let codey = lines.filter { l in
            l.range(of: #"[{}();=]|^\s{2,}|^\s*(def|class|import|from|return|if|for|while|#include|func|let|const|var)\b"#,
                    options: .regularExpression) != nil
        }.count
        return Double(codey) / Double(lines.count) >= 0.6
    }
}
