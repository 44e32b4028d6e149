import Foundation

/// Text measures that need no model: relevance to the task, completeness against the planned
/// requirements, coherence. Each returns a score and the reason for it.
public enum TextScores {
    /// Words that carry no topic.
    static let stopwords: Set<String> = [
        "a", "an", "the", "and", "or", "but", "if", "then", "else", "of", "to", "in", "on", "for", "with", "by", "at",
        "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those",
        "i", "you", "we", "they", "he", "she", "me", "my", "your", "our", "their", "them", "us", "do", "does", "did",
        "can", "could", "should", "would", "will", "shall", "may", "might", "must", "please", "write", "make",
        "create", "give", "show", "using", "use", "how", "what", "which", "who", "whom", "when", "where", "why",
        "about", "into", "some", "any", "all", "each", "so", "not", "no", "yes", "also", "just", "like", "than",
        "there", "here", "have", "has", "had", "get", "gets", "want", "need", "needs", "let", "able", "way", "one",
        "very", "more", "most", "such", "only", "own", "same", "other", "new", "via", "per", "etc",
    ]

    /// Lowercased word stems: letters/digits, stopwords dropped, common suffixes removed, cut to 7 characters.
    public static func terms(_ text: String) -> [String] {
        var out: [String] = []
        var word = ""
        func flush() {
            defer { word = "" }
            guard word.count >= 2, !stopwords.contains(word), !word.allSatisfy(\.isNumber) else { return }
            out.append(stem(word))
        }
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber { word.append(ch) } else { flush() }
        }
        flush()
        return out
    }

    static func stem(_ w: String) -> String {
        var s = w
        for suffix in ["ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "ly", "s"]
        where s.count > suffix.count + 3 && s.hasSuffix(suffix) {
            s = String(s.dropLast(suffix.count))
            break
        }
        // parse / parser / parsing, handle / handles / handling: one stem.
        if s.count > 4 && s.hasSuffix("e") { s = String(s.dropLast()) }
        return String(s.prefix(7))
    }

    public struct Measure: Sendable, Hashable {
        public var score: Double?
        public var detail: String
    }

    /// Relevance, BM25-style, over what the answer adds (see `Substance`): text copied from the task,
    /// requirement lists, "Covers:"/"Requirements:" lines and headings are left out first. Each distinct
    /// task term is weighted by its length (log2(1 + length)) and scored by BM25's saturating term
    /// frequency (k1 = 1.2, b = 0.75, average length 300 terms), capped at 1; the weighted share is
    /// divided by 0.6 and capped at 1 (60% of the task's term weight counts as fully on topic). That
    /// coverage is then scaled by focus: × (0.6 + 0.4 × share of the added sentences that touch the
    /// task), so filler around a good answer costs it.
    public static func relevance(task: String, output: String, requirements: [String] = [], codeKind: Bool = false) -> Measure {
        guard !task.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return Measure(score: nil, detail: "no task given; not measured")
        }
        let taskTerms = Array(Set(terms(task)))
        guard !taskTerms.isEmpty else { return Measure(score: nil, detail: "task has no content words; not measured") }
        guard !output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return Measure(score: 0, detail: "the answer is empty") }
        let sub = Substance(output: output, task: task, requirements: requirements, codeKind: codeKind)
        let outTerms = sub.units.flatMap(\.termList)
        guard !outTerms.isEmpty else {
            return Measure(score: 0, detail: "nothing beyond a restatement: \(sub.ignoredSummary); no content of its own")
        }
        var tf: [String: Int] = [:]
        for t in outTerms { tf[t, default: 0] += 1 }
        let k1 = 1.2, b = 0.75, avg = 300.0
        let norm = k1 * (1 - b + b * Double(outTerms.count) / avg)
        var got = 0.0, total = 0.0
        var missing: [String] = []
        for t in taskTerms.sorted() {
            let w = log2(1 + Double(t.count))
            total += w
            let f = Double(tf[t] ?? 0)
            if f == 0 { missing.append(t) }
            got += w * min(1, f * (k1 + 1) / (f + norm))
        }
        let raw = got / total
        let coverage = min(1, raw / 0.6)
        let focus = sub.focus(taskTerms: Set(taskTerms))
        let score = coverage * (0.6 + 0.4 * (focus ?? 1))
        let found = taskTerms.count - missing.count
        var detail = String(
            format: "evidence: %d of %d task terms in what the answer adds (%@), weighted %.0f%% (full marks from 60%%)",
            found, taskTerms.count, sub.evidenceSummary, raw * 100)
        if let focus { detail += String(format: "; focus %.0f%% of added sentences touch the task", focus * 100) }
        if !missing.isEmpty { detail += "; missing: " + missing.prefix(8).joined(separator: ", ") }
        return Measure(score: score, detail: detail)
    }

    /// One requirement checked against the answer.
    public struct RequirementCheck: Codable, Sendable, Hashable {
        public var requirement: String
        public var passed: Bool
        /// Share of the requirement's terms found.
        public var coverage: Double
        /// Where: the output line that matched best, with its number, or what is missing.
        public var evidence: String
        /// Who decided: `terms` (term overlap) or the judge model.
        public var source: String
    }

    /// Each requirement passes when at least 60% of its terms (all of them, for one or two terms) appear
    /// in content that addresses it: code (identifiers, tests, code lines — comments and strings do not
    /// count) or sentences that add something beyond the task's own words. A requirement mentioned only
    /// in a restatement, a list of requirements or a "Covers:" line is unmet. The evidence is the line
    /// holding most of its terms.
    public static func checkRequirements(_ requirements: [String], output: String, task: String = "", codeKind: Bool = false) -> [RequirementCheck] {
        let sub = Substance(output: output, task: task, requirements: requirements, codeKind: codeKind)
        let all = Set(sub.units.flatMap(\.termList))
        let restatedTerms = Set(sub.ignoredLines.flatMap { terms($0.text) })
        return requirements.compactMap { req in
            let rt = Set(terms(req))
            guard !rt.isEmpty else { return nil }
            let found = rt.intersection(all)
            let coverage = Double(found.count) / Double(rt.count)
            let needed = rt.count <= 2 ? 1.0 : 0.6
            let passed = coverage + 1e-9 >= needed
            var best: Substance.Unit?, bestCount = 0
            for u in sub.units {
                let c = u.terms.intersection(rt).count
                if c > bestCount { best = u; bestCount = c }
            }
            var evidence: String
            if let best {
                let text = best.text.trimmingCharacters(in: .whitespaces)
                let what = best.isCode ? "code" : "text"
                evidence = "line \(best.line) (\(what)): \"\(text.count > 90 ? String(text.prefix(87)) + "..." : text)\""
            } else if !rt.intersection(restatedTerms).isEmpty {
                evidence = "only restated (task words, a requirement list or a \"Covers:\" line), never addressed"
            } else {
                evidence = "no line addresses it"
            }
            let missing = rt.subtracting(found)
            if !missing.isEmpty { evidence += "; missing terms: " + missing.sorted().joined(separator: ", ") }
            return RequirementCheck(requirement: req, passed: passed, coverage: coverage, evidence: evidence, source: "terms")
        }
    }

    public static func completeness(_ checks: [RequirementCheck]) -> Measure {
        guard !checks.isEmpty else { return Measure(score: nil, detail: "no requirements from planning; not measured") }
        let passed = checks.filter(\.passed).count
        let failedNames = checks.filter { !$0.passed }.map(\.requirement).prefix(4)
        var d = "\(passed) of \(checks.count) requirements met (term evidence per requirement)"
        if !failedNames.isEmpty { d += "; unmet: " + failedNames.joined(separator: "; ") }
        return Measure(score: Double(passed) / Double(checks.count), detail: d)
    }

    /// A review's shape: findings listed as items (numbered or bulleted) and a verdict. 1 with both,
    /// 0.7 with items only, 0.5 with a verdict only or 40+ words of prose, 0 below that.
    public static func reviewStructure(_ output: String) -> Measure {
        let items = output.components(separatedBy: "\n").filter {
            $0.range(of: #"^\s*([-*+]|\d+[.)])\s+\S"#, options: .regularExpression) != nil
        }.count
        let verdict = output.range(
            of: #"(?im)^\s*(\*\*)?(overall|verdict|summary|conclusion|recommendation|lgtm|approved?|request changes)\b"#,
            options: .regularExpression) != nil
        let words = output.split(whereSeparator: \.isWhitespace).count
        switch (items > 0, verdict) {
        case (true, true): return Measure(score: 1, detail: "\(items) listed points and a verdict")
        case (true, false): return Measure(score: 0.7, detail: "\(items) listed points, no verdict line")
        case (false, true): return Measure(score: 0.5, detail: "a verdict but no listed points")
        default:
            return words >= 40
                ? Measure(score: 0.5, detail: "prose only (\(words) words): no listed points or verdict")
                : Measure(score: 0, detail: "too short to be a review (\(words) words)")
        }
    }

    /// Coherence: 1 − repetition − truncation − structure penalties.
    /// Repetition: share of repeated word 4-grams beyond 10% (×1.5) plus share of repeated long lines (×1.0).
    /// Truncation (−0.4): an unclosed code fence, or prose that stops mid-sentence.
    /// Structure (−0.1): over 250 words in a single paragraph with no headings or lists.
    public static func coherence(_ output: String) -> Measure {
        let trimmed = output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return Measure(score: 0, detail: "the answer is empty") }
        var reasons: [String] = []
        var score = 1.0

        let words = trimmed.lowercased().split(whereSeparator: { $0.isWhitespace }).map(String.init)
        if words.count >= 20 {
            var seen = Set<String>(), repeats = 0
            for i in 0..<(words.count - 3) {
                let g = words[i..<(i + 4)].joined(separator: " ")
                if !seen.insert(g).inserted { repeats += 1 }
            }
            let ratio = Double(repeats) / Double(words.count - 3)
            if ratio > 0.10 {
                score -= min(0.6, (ratio - 0.10) * 1.5)
                reasons.append(String(format: "%.0f%% of 4-word phrases repeat", ratio * 100))
            }
        }
        let longLines = trimmed.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.count >= 30 && !$0.hasPrefix("```") }
        if longLines.count >= 4 {
            let dup = longLines.count - Set(longLines).count
            let ratio = Double(dup) / Double(longLines.count)
            if ratio > 0.05 {
                score -= min(0.5, ratio)
                reasons.append("\(dup) of \(longLines.count) long lines are duplicates")
            }
        }
        let fences = trimmed.components(separatedBy: "\n").filter {
            let t = $0.trimmingCharacters(in: .whitespaces)
            return t.hasPrefix("```") || t.hasPrefix("~~~")
        }.count
        if fences % 2 == 1 {
            score -= 0.4
            reasons.append("a code fence is never closed (truncated?)")
        } else if let last = trimmed.components(separatedBy: "\n").last?.trimmingCharacters(in: .whitespaces),
            endsMidSentence(last)
        {
            score -= 0.4
            reasons.append("ends mid-sentence: \"…\(last.suffix(30))\"")
        }
        if words.count > 250 {
            let paragraphs = trimmed.components(separatedBy: "\n\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            let hasStructure = trimmed.range(of: #"(?m)^\s*(#{1,6} |[-*+] |\d+[.)] |```)"#, options: .regularExpression) != nil
            if paragraphs.count < 2 && !hasStructure {
                score -= 0.1
                reasons.append("over 250 words in one block with no paragraphs, headings or lists")
            }
        }
        let s = max(0, score)
        return Measure(score: s, detail: reasons.isEmpty ? "no repetition, complete ending, structured" : reasons.joined(separator: "; "))
    }

    /// Prose that ends without closing punctuation, where a sentence is plainly still going.
    static func endsMidSentence(_ last: String) -> Bool {
        guard !last.isEmpty else { return false }
        if last.hasPrefix("```") || last.hasPrefix("#") || last.hasPrefix("|") || last.hasPrefix("-") || last.hasPrefix("*") { return false }
        if let end = last.last, ".!?:;)]}\"'`>*_…".contains(end) { return false }
        let wordsInLast = last.split(separator: " ").count
        // A short label-like line ("Done", "Thanks", "See also") is not a cut sentence; three or
        // more words ending in a lowercase word with no closing punctuation are.
        if wordsInLast < 3 { return false }
        if wordsInLast < 6 {
            let lastWord = last.split(separator: " ").last.map(String.init) ?? ""
            return lastWord.first?.isLowercase == true && lastWord.allSatisfy(\.isLetter)
        }
        let lastWord = last.split(separator: " ").last.map { String($0).lowercased() } ?? ""
        let dangling: Set<String> = ["the", "a", "an", "and", "or", "to", "of", "with", "for", "in", "on", "by", "that", "which", "is", "are", "but", "because", "so", "as", "if", "when", "then"]
        return dangling.contains(lastWord) || last.last?.isLetter == true || last.last == ","
    }
}
