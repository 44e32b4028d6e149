import Foundation

/// Turns task text into an `Intent`: type, complexity, urgency, creativity, capabilities and the
/// requirements stated in the text. Pure, instant, deterministic.
///
/// Complexity = keyword weights (the seed's baseline, below) + length and structure signals, capped
/// at 1. Every contribution is recorded in `Intent.signals` so the UI can show why.
public struct IntentAnalyzer: Sendable {
    /// The seed's keyword weights: words that make a task heavier.
    public static let complexityWeights: [(String, Double)] = [
        ("simple", -0.15), ("quick", -0.1), ("hello world", -0.2), ("one-liner", -0.2), ("typo", -0.15),
        ("create", 0.05), ("build", 0.08), ("implement", 0.1), ("design", 0.12), ("architecture", 0.2),
        ("api", 0.15), ("rest", 0.08), ("graphql", 0.12), ("authentication", 0.15), ("authorization", 0.12),
        ("oauth", 0.12), ("database", 0.12), ("migration", 0.1), ("deploy", 0.15), ("kubernetes", 0.15),
        ("docker", 0.08), ("microservice", 0.2), ("distributed", 0.2), ("scalable", 0.12), ("concurrent", 0.12),
        ("security", 0.12), ("encryption", 0.12), ("optimize", 0.1), ("performance", 0.08), ("refactor", 0.08),
        ("test", 0.05), ("tests", 0.05), ("integration", 0.08), ("pipeline", 0.1), ("machine learning", 0.15),
        ("analyze", 0.06), ("analysis", 0.06), ("compare", 0.05), ("comprehensive", 0.12), ("full", 0.05),
        ("complete", 0.05), ("production", 0.1), ("real-time", 0.1), ("system", 0.08), ("framework", 0.08),
    ]

    static let typeKeywords: [(TaskType, [String])] = [
        (.code, ["code", "function", "api", "implement", "script", "class", "bug", "compile", "python", "swift",
                 "javascript", "typescript", "rust", "golang", "java", "sql", "endpoint", "refactor", "unit test",
                 "deploy", "program", "library", "cli", "backend", "frontend", "server", "regex", "algorithm"]),
        (.data, ["csv", "dataset", "data", "table", "spreadsheet", "json", "etl", "statistics", "chart", "query"]),
        (.research, ["research", "find sources", "literature", "survey", "investigate", "state of the art", "papers"]),
        (.analysis, ["analyze", "analyse", "analysis", "compare", "evaluate", "assess", "pros and cons", "review"]),
        (.creative, ["story", "poem", "lyrics", "slogan", "fiction", "creative", "imagine", "brainstorm", "novel"]),
        (.question, ["what is", "why does", "how does", "explain", "who is", "when did", "?"]),
        (.text, ["write", "essay", "article", "summary", "summarize", "email", "letter", "blog", "document", "translate"]),
    ]

    static let urgencyWords = ["urgent", "asap", "immediately", "right now", "quickly", "quick", "fast", "deadline", "today", "now"]
    static let creativityWords = ["creative", "story", "poem", "imagine", "brainstorm", "novel", "original", "fun",
                                  "catchy", "playful", "invent", "fiction", "metaphor"]

    public init() {}

    public func analyze(_ task: String) -> Intent {
        let text = task.lowercased()
        var signals: [String] = []

        // Task type: the type with the most keyword hits; ties by declaration order.
        var best: (TaskType, Int) = (.text, 0)
        for (type, words) in Self.typeKeywords {
            let hits = words.filter { contains(text, $0) }.count
            if hits > best.1 { best = (type, hits) }
        }
        let type = best.0
        signals.append("type \(type.rawValue) (\(best.1) keyword hit\(best.1 == 1 ? "" : "s"))")

        // Complexity: keywords, then length and structure.
        var complexity = 0.1
        for (word, weight) in Self.complexityWeights where contains(text, word) {
            complexity += weight
            signals.append("\(weight >= 0 ? "+" : "")\(weight) '\(word)'")
        }
        let words = text.split { $0.isWhitespace || $0.isNewline }.count
        let lengthBonus = min(0.25, Double(words) / 400)
        if lengthBonus >= 0.01 {
            complexity += lengthBonus
            signals.append("+\(lengthBonus.rounded(places: 2)) length (\(words) words)")
        }
        let lines = task.split(separator: "\n")
        let listItems = lines.filter { l in
            let t = l.trimmingCharacters(in: .whitespaces)
            return t.hasPrefix("-") || t.hasPrefix("*") || (t.first?.isNumber == true && t.contains("."))
        }.count
        if listItems >= 2 {
            let b = min(0.2, Double(listItems) * 0.04)
            complexity += b
            signals.append("+\(b.rounded(places: 2)) structure (\(listItems) list items)")
        }
        let requirements = Self.requirements(in: task)
        if requirements.count >= 3 {
            let b = min(0.15, Double(requirements.count - 2) * 0.05)
            complexity += b
            signals.append("+\(b.rounded(places: 2)) \(requirements.count) stated requirements")
        }
        complexity = min(1, max(0, complexity))

        let urgencyHits = Self.urgencyWords.filter { contains(text, $0) }.count
        let urgency = min(1, 0.2 + 0.3 * Double(urgencyHits))
        let creativityHits = Self.creativityWords.filter { contains(text, $0) }.count
        var creativity = min(1, 0.1 + 0.25 * Double(creativityHits))
        if type == .creative { creativity = max(creativity, 0.7) }
        if type == .code || type == .data { creativity = min(creativity, 0.4) }

        var caps: Set<Capability> = []
        if type == .code { caps.insert(.code) }
        if complexity >= 0.6 || type == .analysis { caps.insert(.reasoning) }
        if task.count > 24_000 { caps.insert(.longContext) }
        if type == .data || type == .research || type == .question { caps.insert(.accuracy) }
        if type == .creative { caps.insert(.creative) }
        if urgency >= 0.5 { caps.insert(.fast) }

        return Intent(
            taskType: type, complexity: complexity.rounded(places: 3), urgency: urgency.rounded(places: 3),
            creativity: creativity.rounded(places: 3), capabilities: caps, requirements: requirements,
            signals: signals, source: "heuristic")
    }

    /// Phrases stated as requirements: the main clause, then parts joined by "with", "and", "including", commas.
    public static func requirements(in task: String) -> [String] {
        let firstLines = task.split(separator: "\n").prefix(40)
        var out: [String] = []
        for line in firstLines {
            var l = String(line).trimmingCharacters(in: .whitespaces)
            while let f = l.first, "-*•".contains(f) || f.isNumber || f == "." || f == ")" || f == " " {
                l.removeFirst()
            }
            guard !l.isEmpty else { continue }
            let separators = [" with ", " including ", " and then ", " and ", ", ", "; ", " that ", " which "]
            var parts = [l]
            for sep in separators {
                parts = parts.flatMap { $0.components(separatedBy: sep) }
            }
            for p in parts {
                let t = p.trimmingCharacters(in: CharacterSet(charactersIn: " .!?:")).trimmingCharacters(in: .whitespaces)
                if t.split(separator: " ").count >= 1 && t.count >= 3 && t.count <= 160 && !["it", "them", "a", "the"].contains(t.lowercased()) {
                    out.append(t)
                }
            }
            if out.count >= 12 { break }
        }
        var seen = Set<String>()
        return out.filter { seen.insert($0.lowercased()).inserted }
    }

    /// Whole-word (or phrase) containment, so "rest" does not match "interesting".
    func contains(_ text: String, _ word: String) -> Bool {
        if word == "?" { return text.contains("?") }
        var searchRange = text.startIndex..<text.endIndex
        while let r = text.range(of: word, range: searchRange) {
            let before = r.lowerBound == text.startIndex ? nil : text[text.index(before: r.lowerBound)]
            let after = r.upperBound == text.endIndex ? nil : text[r.upperBound]
            let okBefore = before.map { !$0.isLetter && !$0.isNumber } ?? true
            let okAfter = after.map { !$0.isLetter && !$0.isNumber || $0 == "s" } ?? true
            if okBefore && okAfter { return true }
            searchRange = r.upperBound..<text.endIndex
        }
        return false
    }
}
