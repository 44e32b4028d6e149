/// The plain default validator of the core: cheap text checks with no tools. The real validator
/// (toolchains, analyzers, a model judge) is `YmeraQuality`'s.
///
/// Dimensions: non-empty, relevance (task terms found in the output), completeness (stated
/// requirements mentioned), coherence (no heavy repetition, not cut off, fences closed).
public struct HeuristicValidator: QualityValidator {
    public init() {}

    public func evaluate(_ input: ValidationInput) async -> QualityReport {
        let out = input.output
        let lower = out.lowercased()
        var dims: [QualityDimension] = []

        let words = lower.split { !$0.isLetter && !$0.isNumber }
        dims.append(QualityDimension(
            name: "substance", score: min(1, Double(words.count) / 40), weight: 1,
            detail: "\(words.count) words (40 or more scores 1)"))

        switch input.phase {
        case .planning, .review, .validation:
            // These answer in lists: a plan's steps, a review's issues, a validation's verdicts.
            let items = out.split(separator: "\n").filter { line in
                let t = line.trimmingCharacters(in: .whitespaces)
                return t.hasPrefix("-") || t.hasPrefix("*") || (t.first?.isNumber == true && t.dropFirst().prefix(2).contains { $0 == "." || $0 == ")" })
            }.count
            dims.append(QualityDimension(
                name: "structure", score: min(1, Double(items) / 3), weight: 2,
                detail: "\(items) list items (3 or more score 1) for a \(input.phase.rawValue) answer"))
        default:
            break
        }
        let terms = Set(TextTerms.keyTerms(input.task))
        let found = terms.filter { lower.contains($0) }
        let relevance = terms.isEmpty ? nil : Double(found.count) / Double(terms.count)
        // A review or validation talks about the result, not the task: relevance weighs less there.
        let relevanceWeight = (input.phase == .review || input.phase == .validation) ? 0.5 : 2
        dims.append(QualityDimension(
            name: "relevance", score: relevance.map { min(1, $0 * 1.25) }, weight: relevanceWeight,
            detail: terms.isEmpty ? "no key terms in the task" : "\(found.count) of \(terms.count) task terms present"))

        if !input.requirements.isEmpty && input.phase != .review {
            let met = input.requirements.filter { req in
                let t = TextTerms.keyTerms(req)
                return t.isEmpty || t.contains { lower.contains($0) }
            }
            dims.append(QualityDimension(
                name: "completeness", score: Double(met.count) / Double(input.requirements.count), weight: 2,
                detail: "\(met.count) of \(input.requirements.count) requirements mentioned"))
        }

        let lines = out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.count > 8 }
        let unique = Set(lines).count
        let repetition = lines.isEmpty ? 0 : 1 - Double(unique) / Double(lines.count)
        let fences = out.components(separatedBy: "```").count - 1
        let trimmed = out.trimmingCharacters(in: .whitespacesAndNewlines)
        let cut = !trimmed.isEmpty && fences % 2 == 1
        var coherence = 1 - min(1, repetition * 2)
        if cut { coherence -= 0.5 }
        dims.append(QualityDimension(
            name: "coherence", score: max(0, coherence), weight: 1,
            detail: "\(Int((repetition * 100).rounded()))% repeated lines" + (cut ? "; unclosed code fence" : "")))

        return QualityReport(
            score: QualityReport.combine(dims).rounded(places: 3), threshold: input.threshold, dimensions: dims,
            validator: "heuristic")
    }
}

/// Key terms of a text: lowercased words of 4+ letters that are not stop words.
public enum TextTerms {
    static let stop: Set<String> = [
        "this", "that", "with", "from", "into", "have", "will", "would", "should", "could", "about", "there", "their",
        "they", "them", "then", "than", "what", "when", "which", "while", "where", "your", "make", "create", "write",
        "please", "some", "each", "every", "also", "using", "based", "like", "just", "more", "most", "only", "over",
        "very", "been", "being", "were", "does", "done", "need", "needs", "want", "give", "build",
    ]
    public static func keyTerms(_ text: String) -> [String] {
        var seen = Set<String>()
        return text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
            .filter { $0.count >= 4 && !stop.contains($0) }
            .filter { seen.insert($0).inserted }
            .prefix(40).map { $0 }
    }
}
