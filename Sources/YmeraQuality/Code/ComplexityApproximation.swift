import Foundation

/// Cyclomatic complexity for languages without an installed analyzer: a documented approximation.
///
/// Functions are found by their declaration (`def`, `function`, `func`, `fn`, C-style
/// `type name(args) {`, shell `name() {`); the body runs to the matching brace (or, for Python, to the
/// next line indented no deeper than the `def`). Strings and comments are blanked first. The score
/// is 1 + the number of decision points in the body: the keywords `if`, `elif`, `for`, `while`,
/// `until`, `case`, `catch`/`except`, `guard`, the operators `&&`, `||` (and Python's `and`, `or`),
/// and the ternary ` ? `. `else if` counts once (its `if`); `default:` and `else` count nothing.
/// Nested functions are also counted in their parent, which a real analyzer would not do.
public enum ComplexityApproximation {
    public struct Function: Sendable, Hashable {
        public var name: String
        /// 1-based line within the block.
        public var line: Int
        public var complexity: Int
    }

    public static func functions(in code: String, language: CodeLanguage) -> [Function] {
        let clean = blankStringsAndComments(code, language: language)
        let lines = clean.components(separatedBy: "\n")
        var out: [Function] = []
        for (i, line) in lines.enumerated() {
            guard let name = declaredName(line, language: language) else { continue }
            let body: String
            if language == .python {
                body = pythonBody(lines, from: i)
            } else {
                guard let b = braceBody(lines, from: i) else { continue }
                body = b
            }
            out.append(Function(name: name, line: i + 1, complexity: 1 + decisions(in: body, language: language)))
        }
        return out
    }

    static let nonFunctions: Set<String> = ["if", "for", "while", "switch", "catch", "return", "sizeof", "else", "do", "elif", "until", "case", "guard", "defer", "with", "using", "new", "delete"]

    static func declaredName(_ line: String, language: CodeLanguage) -> String? {
        let patterns: [String]
        switch language {
        case .python: patterns = [#"^\s*(?:async\s+)?def\s+(\w+)\s*\("#]
        case .javascript, .typescript:
            patterns = [
                #"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*(\w+)\s*[(<]"#,
                #"^\s*(?:export\s+)?(?:const|let|var)\s+(\w+)\s*=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*(?::\s*[\w<>\[\]| ]+)?\s*=>|\w+\s*=>)"#,
                #"^\s*(?:module\.)?exports\.(\w+)\s*=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*=>|\w+\s*=>)"#,
                #"^\s*(\w+)\s*:\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*=>)"#,
                #"^\s*(?:public\s+|private\s+|protected\s+|static\s+|async\s+|get\s+|set\s+)*(\w+)\s*\([^)]*\)\s*(?::\s*[\w<>\[\]| ]+)?\s*\{"#,
            ]
        case .swift: patterns = [#"\bfunc\s+(\w+)\s*[(<]"#, #"^\s*(?:public\s+|private\s+|convenience\s+|required\s+)*(init)\s*[?!]?\s*\("#]
        case .go: patterns = [#"^\s*func\s+(?:\([^)]*\)\s*)?(\w+)\s*[(\[]"#]
        case .rust: patterns = [#"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)"#]
        case .shell: patterns = [#"^\s*(?:function\s+)?([\w-]+)\s*\(\s*\)\s*\{?"#, #"^\s*function\s+([\w-]+)"#]
        case .c, .cpp, .java:
            patterns = [#"^\s*(?:[\w:*&<>,\[\]]+\s+)+[*&]*((?:\w+::)*~?\w+)\s*\([^;]*\)\s*(?:const\s*)?(?:noexcept\s*)?(?:throws\s+[\w, ]+)?\s*\{?\s*$"#]
        case .ruby, .sql, .json, .unknown: return nil
        }
        for p in patterns {
            guard let re = try? NSRegularExpression(pattern: p) else { continue }
            let ns = line as NSString
            if let m = re.firstMatch(in: line, range: NSRange(location: 0, length: ns.length)) {
                let name = ns.substring(with: m.range(at: 1))
                if nonFunctions.contains(name) { return nil }
                return name
            }
        }
        return nil
    }

    static func braceBody(_ lines: [String], from start: Int) -> String? {
        var depth = 0
        var opened = false
        var body = ""
        // An expression-bodied arrow on one line (`const f = (a) => a + 1;`) is its own body.
        let first = lines[start].trimmingCharacters(in: .whitespaces)
        if !first.contains("{") && first.contains("=>") && first.hasSuffix(";") { return first + "\n" }
        for k in start..<min(lines.count, start + 2000) {
            let line = lines[k]
            if !opened && k > start + 2 { return nil }  // declaration without a body (prototype)
            if !opened && k > start && line.contains(";") && !line.contains("{") { return nil }
            for ch in line {
                if ch == "{" {
                    depth += 1
                    opened = true
                } else if ch == "}" {
                    depth -= 1
                }
            }
            if opened { body += line + "\n" }
            if opened && depth <= 0 { return body }
        }
        return opened ? body : nil
    }

    static func pythonBody(_ lines: [String], from start: Int) -> String {
        let indent = lines[start].prefix { $0 == " " || $0 == "\t" }.count
        var body = ""
        for k in (start + 1)..<lines.count {
            let l = lines[k]
            if l.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            if l.prefix(while: { $0 == " " || $0 == "\t" }).count <= indent { break }
            body += l + "\n"
        }
        return body
    }

    static func decisions(in body: String, language: CodeLanguage) -> Int {
        var keywords = ["if", "for", "while", "case", "catch"]
        switch language {
        case .python: keywords = ["if", "elif", "for", "while", "except", "and", "or", "assert"]
        case .swift: keywords += ["guard", "repeat"]
        case .shell: keywords = ["if", "elif", "for", "while", "until"]
        case .go: keywords = ["if", "for", "case", "select"]
        case .rust: keywords = ["if", "for", "while", "loop", "match"]
        default: break
        }
        var n = 0
        let kw = try? NSRegularExpression(pattern: "\\b(" + keywords.joined(separator: "|") + ")\\b")
        let ns = body as NSString
        n += kw?.numberOfMatches(in: body, range: NSRange(location: 0, length: ns.length)) ?? 0
        if language != .python {
            n += body.components(separatedBy: "&&").count - 1
            n += body.components(separatedBy: "||").count - 1
            if language != .shell { n += body.components(separatedBy: " ? ").count - 1 }
        }
        if language == .shell {
            // each arm of a `case` ends with `;;`
            n += body.components(separatedBy: ";;").count - 1
        }
        if language == .rust {
            n += body.components(separatedBy: "=>").count - 1
        }
        return n
    }

    /// Replaces the contents of string literals and comments with spaces, keeping line structure.
    public static func blankStringsAndComments(_ code: String, language: CodeLanguage) -> String {
        let hashComments: Bool = [.python, .shell, .ruby].contains(language)
        let slashComments: Bool = ![.python, .shell, .ruby].contains(language)
        var out = ""
        out.reserveCapacity(code.count)
        let chars = Array(code)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
            if hashComments && c == "#" && !(language == .shell && i > 0 && (chars[i - 1] == "$" || chars[i - 1] == "{")) {
                while i < chars.count && chars[i] != "\n" { out.append(" "); i += 1 }
                continue
            }
            if slashComments && c == "/" && next == "/" {
                while i < chars.count && chars[i] != "\n" { out.append(" "); i += 1 }
                continue
            }
            if slashComments && c == "/" && next == "*" {
                out.append("  "); i += 2
                while i < chars.count && !(chars[i] == "*" && i + 1 < chars.count && chars[i + 1] == "/") {
                    out.append(chars[i] == "\n" ? "\n" : " "); i += 1
                }
                out.append("  "); i += 2
                continue
            }
            if c == "\"" || c == "'" || (c == "`" && language != .python) {
                if language == .rust && c == "'" { out.append(c); i += 1; continue }  // lifetimes
                let triple = language == .python && i + 2 < chars.count && chars[i + 1] == c && chars[i + 2] == c
                out.append(c)
                i += triple ? 3 : 1
                while i < chars.count {
                    if chars[i] == "\\" && language != .shell || (chars[i] == "\\" && c == "\"") {
                        out.append(" "); i += 1
                        if i < chars.count { out.append(chars[i] == "\n" ? "\n" : " "); i += 1 }
                        continue
                    }
                    if chars[i] == c && (!triple || (i + 2 < chars.count && chars[i + 1] == c && chars[i + 2] == c)) {
                        i += triple ? 3 : 1
                        break
                    }
                    if chars[i] == "\n" && !triple && c != "`" && language != .shell { break }
                    out.append(chars[i] == "\n" ? "\n" : " ")
                    i += 1
                }
                out.append(c)
                continue
            }
            out.append(c)
            i += 1
        }
        return out
    }
}
