import Foundation

/// What an answer adds beyond the task: the lines that can earn relevance and completeness.
///
/// Left out (they earn nothing): headings; "Covers:"/"Requirements:"-style claim lines and the list
/// under such a label; sentences and list items that add fewer than two informative words of their
/// own (words not in the task or the requirements, and not generic praise such as "handles",
/// "ensures", "key facts"); code comments, docstrings and string literals. Kept: code lines (their
/// identifiers, split at `_` and camelCase) and sentences that add content.
public struct Substance: Sendable {
    public struct Unit: Sendable, Hashable {
        /// 1-based line in the answer.
        public var line: Int
        public var text: String
        public var termList: [String]
        public var terms: Set<String>
        public var isCode: Bool
    }

    public struct Ignored: Sendable, Hashable {
        public var line: Int
        public var text: String
        public enum Why: String, Sendable { case heading, claim, restatement }
        public var why: Why
    }

    public var units: [Unit] = []
    public var ignoredLines: [Ignored] = []
    let given: Set<String>

    /// Words that say nothing about any particular subject (stemmed at first use).
    static let generic: Set<String> = Set([
        "solution", "approach", "implement", "implements", "implementation", "implemented", "cover", "covers", "covered",
        "handle", "handles", "handled", "handling", "ensure", "ensures", "provide", "provides", "provided", "work", "works",
        "working", "well", "complete", "completes", "completed", "requirement", "requirements", "task", "tasks", "answer",
        "following", "follows", "below", "above", "point", "points", "step", "steps", "key", "important", "clear", "clearly",
        "simple", "good", "great", "best", "better", "thing", "things", "everything", "something", "include", "includes",
        "including", "included", "address", "addresses", "addressed", "describe", "describes", "described", "explain",
        "explains", "explained", "overall", "detail", "details", "detailed", "example", "examples", "fact", "facts", "mean",
        "means", "matter", "matters", "trade", "offs", "recommend", "recommended", "choice", "order", "short", "conclusion",
        "summary", "result", "results", "meet", "meets", "met", "state", "stated", "requested", "asked", "question",
        "help", "hope", "know", "here", "now", "really", "many", "much", "various", "several", "needed", "required",
        "necessary", "fully", "properly", "correctly", "robust", "efficient", "efficiently", "effective", "quality",
        "comes", "come", "down", "core", "begin", "put", "simply", "done", "code", "function", "functions", "module",
        "feature", "features", "support", "supports", "supported", "aspect", "aspects", "part", "parts", "area", "areas",
        "based", "given", "specified", "described", "mentioned", "listed", "outlined", "relevant", "appropriate",
        "accordingly", "thus", "therefore", "hence", "additionally", "furthermore", "moreover", "finally", "first",
        "second", "third", "next", "last", "today", "world", "topic", "subject", "regarding", "concerning", "related",
        "well-known", "standard", "way", "ways", "manner", "way", "make", "makes", "made", "sure", "want", "see", "look",
        "let", "say", "said", "sense", "idea", "ideas", "reader", "readers", "sections", "section", "questions", "please",
    ].map { TextScores.stem($0) })

    /// Words of code that carry no subject.
    static let codeWords: Set<String> = [
        "def", "return", "import", "from", "class", "self", "none", "true", "false", "elif", "else", "for", "while", "in",
        "not", "and", "or", "raise", "try", "except", "with", "as", "pass", "lambda", "yield", "assert", "const", "let",
        "var", "function", "null", "undefined", "int", "str", "dict", "list", "float", "bool", "print", "len", "range",
        "async", "await", "new", "this", "public", "private", "static", "void", "fn", "func", "end", "then", "fi", "do",
        "done", "echo", "export", "require", "module", "exports", "typeof", "instanceof", "isinstance",
    ]

    /// `codeKind`: the answer is scored as code, so an unfenced answer that looks like code is code.
    public init(output: String, task: String, requirements: [String], codeKind: Bool = false) {
        var g = Set(TextScores.terms(task))
        for r in requirements { g.formUnion(TextScores.terms(r)) }
        given = g
        let lines = output.components(separatedBy: "\n")
        let fenced = lines.contains { Self.isFence($0) }
        let wholeCode = codeKind && !fenced && CodeExtractor.looksLikeCode(output)
        var inFence = false
        var inDocstring: String?
        // A Python function whose body does nothing (pass, ..., raise NotImplementedError) names a
        // requirement without meeting it: its `def` line earns nothing.
        let stubLines = Self.pythonStubs(lines).lines
        var underClaimLabel = false
        for (i, raw) in lines.enumerated() {
            let n = i + 1
            let t = raw.trimmingCharacters(in: .whitespaces)
            if Self.isFence(raw) {
                inFence.toggle()
                inDocstring = nil
                continue
            }
            if inFence || wholeCode {
                // Code: docstrings, comments and strings are prose inside code; they earn nothing.
                if let q = inDocstring {
                    if t.contains(q) { inDocstring = nil }
                    continue
                }
                for q in ["\"\"\"", "'''"] where t.hasPrefix(q) || t.hasPrefix("r" + q) {
                    let rest = t.dropFirst(t.hasPrefix("r") ? 4 : 3)
                    if !rest.contains(q) { inDocstring = q }
                }
                if t.hasPrefix("\"\"\"") || t.hasPrefix("'''") || t.hasPrefix("r\"\"\"") { continue }
                if stubLines.contains(i) { continue }
                let code = Self.stripCode(t)
                let list = Self.codeTerms(code)
                if !list.isEmpty { units.append(Unit(line: n, text: t, termList: list, terms: Set(list), isCode: true)) }
                continue
            }
            if t.isEmpty {
                underClaimLabel = false
                continue
            }
            if t.range(of: #"^#{1,6}\s"#, options: .regularExpression) != nil || t.range(of: #"^(=+|-{3,})$"#, options: .regularExpression) != nil
                || t.range(of: #"^\*\*[^*]+\*\*:?$"#, options: .regularExpression) != nil
            {
                ignoredLines.append(Ignored(line: n, text: t, why: .heading))
                continue
            }
            let isItem = t.range(of: #"^([-*+]|\d+[.)])\s+"#, options: .regularExpression) != nil
            if let label = t.range(of: Self.claimLabel, options: [.regularExpression, .caseInsensitive]) {
                ignoredLines.append(Ignored(line: n, text: t, why: .claim))
                underClaimLabel = t[label.upperBound...].trimmingCharacters(in: .whitespaces).isEmpty
                continue
            }
            if underClaimLabel && isItem {
                ignoredLines.append(Ignored(line: n, text: t, why: .claim))
                continue
            }
            underClaimLabel = false
            for sentence in Self.sentences(t) {
                let list = TextScores.terms(sentence)
                guard !list.isEmpty else { continue }
                let novel = Set(list).subtracting(given).subtracting(Self.generic)
                if novel.count >= 2 {
                    units.append(Unit(line: n, text: sentence, termList: list, terms: Set(list), isCode: false))
                } else {
                    ignoredLines.append(Ignored(line: n, text: sentence, why: .restatement))
                }
            }
        }
    }

    /// Python functions whose bodies do nothing: their names and the (0-based) lines of their `def`s,
    /// with how many functions there are in all.
    public static func pythonStubs(_ lines: [String]) -> (names: [String], lines: Set<Int>, functions: Int) {
        var names: [String] = []
        var stubLines = Set<Int>()
        var functions = 0
        let defPattern = #"^(\s*)(async\s+)?def\s+(\w+)\s*\("#
        for (i, line) in lines.enumerated() {
            guard let r = line.range(of: defPattern, options: .regularExpression) else { continue }
            functions += 1
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            let name = String(line[r].split(separator: "def").last?.split(separator: "(").first ?? "").trimmingCharacters(in: .whitespaces)
            // The signature may span lines: the body starts after the line ending with ':'.
            var j = i
            while j < lines.count && !lines[j].trimmingCharacters(in: .whitespaces).hasSuffix(":") && j < i + 10 { j += 1 }
            var body: [String] = []
            var inDoc: String?
            var k = j + 1
            while k < lines.count {
                let l = lines[k]
                let t = l.trimmingCharacters(in: .whitespaces)
                if t.isEmpty { k += 1; continue }
                let ind = l.prefix { $0 == " " || $0 == "\t" }.count
                if ind <= indent || t.hasPrefix("```") { break }
                if let q = inDoc {
                    if t.contains(q) { inDoc = nil }
                } else if t.hasPrefix("\"\"\"") || t.hasPrefix("'''") {
                    let q = String(t.prefix(3))
                    if !t.dropFirst(3).contains(q) { inDoc = q }
                } else if !t.hasPrefix("#") {
                    body.append(t)
                }
                k += 1
            }
            let trivial = body.allSatisfy {
                $0 == "pass" || $0 == "..." || $0 == "return" || $0 == "return None" || $0.hasPrefix("raise NotImplementedError")
            }
            if trivial {
                names.append(name)
                stubLines.insert(i)
            }
        }
        return (names, stubLines, functions)
    }

    /// `Covers: …`, `Requirements:`, `Requirements met: …`, `Addresses: …` (optionally bulleted or bold).
    static let claimLabel =
        #"^([-*+]\s+)?(\*\*)?(covers|covered|requirements?( met| covered| addressed)?|addresses|implements|checklist|features|task|the task|summary of requirements)(\*\*)?\s*:(\*\*)?"#

    static func isFence(_ line: String) -> Bool {
        let t = line.trimmingCharacters(in: .whitespaces)
        return t.hasPrefix("```") || t.hasPrefix("~~~")
    }

    static func sentences(_ line: String) -> [String] {
        var out: [String] = []
        var cur = ""
        let chars = Array(line)
        for (i, ch) in chars.enumerated() {
            cur.append(ch)
            if ".!?;".contains(ch), i + 1 < chars.count, chars[i + 1] == " " {
                out.append(cur)
                cur = ""
            }
        }
        if !cur.trimmingCharacters(in: .whitespaces).isEmpty { out.append(cur) }
        return out.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// A code line without its comment and string literals.
    static func stripCode(_ line: String) -> String {
        var s = line
        if s.hasPrefix("#") || s.hasPrefix("//") || s.hasPrefix("--") || s.hasPrefix("/*") || s.hasPrefix("*") { return "" }
        s = s.replacingOccurrences(of: #""(\\.|[^"\\])*"|'(\\.|[^'\\])*'|`[^`]*`"#, with: " ", options: .regularExpression)
        if let r = s.range(of: #"\s(#|//)\s?.*$"#, options: .regularExpression) { s.removeSubrange(r) }
        return s
    }

    /// Terms of code: identifiers split at `_` and camelCase, keywords dropped.
    static func codeTerms(_ code: String) -> [String] {
        let spaced = code.replacingOccurrences(of: #"([a-z0-9])([A-Z])"#, with: "$1 $2", options: .regularExpression)
        return spaced.split { !$0.isLetter && !$0.isNumber }.map { $0.lowercased() }
            .filter { !codeWords.contains($0) }
            .flatMap { TextScores.terms($0) }
    }

    /// Share of the added prose sentences that touch the task (a task or requirement term, or a name
    /// from the answer's code); nil when the answer adds no prose.
    public func focus(taskTerms: Set<String>) -> Double? {
        let prose = units.filter { !$0.isCode }
        guard !prose.isEmpty else { return nil }
        let codeNames = Set(units.filter(\.isCode).flatMap(\.termList))
        let onTopic = given.union(taskTerms).union(codeNames)
        let touching = prose.filter { !$0.terms.isDisjoint(with: onTopic) }.count
        return Double(touching) / Double(prose.count)
    }

    var ignoredSummary: String {
        let h = ignoredLines.filter { $0.why == .heading }.count
        let c = ignoredLines.filter { $0.why == .claim }.count
        let r = ignoredLines.filter { $0.why == .restatement }.count
        var parts: [String] = []
        if r > 0 { parts.append("\(r) restating sentence\(r == 1 ? "" : "s")") }
        if c > 0 { parts.append("\(c) claim/requirement-list line\(c == 1 ? "" : "s")") }
        if h > 0 { parts.append("\(h) heading\(h == 1 ? "" : "s")") }
        return parts.isEmpty ? "nothing ignored" : parts.joined(separator: ", ") + " ignored"
    }

    var evidenceSummary: String {
        let code = units.filter(\.isCode).count
        let prose = units.count - code
        var parts: [String] = []
        if prose > 0 { parts.append("\(prose) added sentence\(prose == 1 ? "" : "s")") }
        if code > 0 { parts.append("\(code) code line\(code == 1 ? "" : "s")") }
        return parts.joined(separator: ", ") + "; " + ignoredSummary
    }
}
