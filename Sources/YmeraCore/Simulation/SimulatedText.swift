/// Deterministic, phase-shaped text for the simulated provider.
enum SimulatedText {
    static func pick<T>(_ options: [T], _ rng: inout SplitMix64) -> T { options[Int(rng.next() % UInt64(options.count))] }

    static func generate(
        phase: Phase, taskType: TaskType, task: String, subtask: String, stepID: String, model: ModelInfo,
        continuation: Bool, refinement: Bool, previousFiles: [String] = [], rng: inout SplitMix64
    ) -> String {
        let reqs = IntentAnalyzer.requirements(in: task.isEmpty ? "the task" : String(task.prefix(2000)))
        let subject = reqs.first ?? "the task"
        if stepID == "intent" { return intentJSON(task: task, rng: &rng) }
        if stepID.contains("#judge") { return judgeJSON(prompt: task, rng: &rng) }
        switch phase {
        case .planning: return plan(reqs: reqs, taskType: taskType, rng: &rng)
        case .research:
            let notes = reqs.prefix(5).map { r in
                "- \(r): " + pick(["prefer the standard library and well-known packages", "state the inputs and outputs explicitly",
                                   "watch for edge cases such as empty input and large input", "keep secrets out of code and logs",
                                   "measure before optimising"], &rng)
            }
            return "## Research notes\n\n" + notes.joined(separator: "\n") + "\n\nConstraints: keep it simple, testable and secure.\n"
        case .generation, .refinement:
            let focus = subtask.isEmpty ? subject : subtask
            let refined = phase == .refinement || refinement
            // A refinement improves a file it was given (a new version of it), not a new file.
            let module = refined ? previousFiles.first { f in
                f.hasSuffix(".py") && !(f.split(separator: "/").last ?? "").hasPrefix("test_")
                    && f.dropLast(3).allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
            }.map { String($0.dropLast(3)) } : nil
            let body = taskType == .code ? code(focus: focus, reqs: reqs, refined: refined, module: module, rng: &rng)
                : prose(focus: focus, reqs: reqs, rng: &rng)
            return continuation ? body.split(separator: "\n").suffix(4).joined(separator: "\n") + "\n" : body
        case .review:
            let issues = [
                "Input validation is missing on one entry point", "Errors are swallowed instead of reported",
                "A secret is read from code instead of the environment", "No test covers the failure path",
                "Names could be clearer in the core module",
            ]
            var chosen: [String] = []
            for _ in 0..<3 { chosen.append(pick(issues, &rng)) }
            return "## Review\n\n" + Array(Set(chosen)).sorted().enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: "\n") + "\n\nOverall: sound structure; fix the issues above.\n"
        case .validation:
            let lines = (reqs.isEmpty ? ["the task"] : Array(reqs.prefix(8))).map { "- PASS: \($0) — covered in the result" }
            return "## Validation\n\n" + lines.joined(separator: "\n") + "\n\nVerdict: the result meets the stated requirements.\n"
        }
    }

    static func plan(reqs: [String], taskType: TaskType, rng: inout SplitMix64) -> String {
        var items: [(String, [Int])] = [("Design the structure and interfaces", [])]
        let work = reqs.dropFirst().prefix(4)
        for r in work { items.append(("Implement \(r)", [1])) }
        if work.isEmpty { items.append(("Implement \(reqs.first ?? "the core")", [1])) }
        let implemented = Array(2...items.count)
        if taskType == .code { items.append(("Write tests for the main paths", implemented)) }
        items.append(((taskType == .code ? "Document usage and deployment" : "Write the summary"), implemented))
        var out = "## Plan\n\n"
        for (i, item) in items.enumerated() {
            let deps = item.1.isEmpty ? "none" : item.1.map(String.init).joined(separator: ", ")
            out += "\(i + 1). \(item.0) (depends on: \(deps))\n"
        }
        out += "\nRequirements:\n" + reqs.prefix(6).map { "- \($0)" }.joined(separator: "\n") + "\n"
        _ = pick([0], &rng)
        return out
    }

    static func slug(_ s: String) -> String {
        let words = s.lowercased().split { !$0.isLetter && !$0.isNumber }.prefix(3)
        let joined = words.joined(separator: "_")
        return joined.isEmpty ? "task" : (joined.first!.isNumber ? "t_" + joined : joined)
    }

    static func code(focus: String, reqs: [String], refined: Bool, module: String? = nil, rng: inout SplitMix64) -> String {
        let name = module ?? slug(focus)
        let verb = pick(["handle", "process", "run"], &rng)
        var s = "Here is the implementation of \(focus).\n\n```python\n# file: \(name).py\n"
        s += "\"\"\"\(focus.replacingOccurrences(of: "\"", with: "'")).\"\"\"\n\nimport os\n\n\n"
        s += "def \(verb)_\(name)(payload: dict) -> dict:\n"
        s += "    \"\"\"Validate the payload and return the result.\"\"\"\n"
        s += "    if not isinstance(payload, dict):\n        raise TypeError(\"payload must be a dict\")\n"
        if refined { s += "    if not payload:\n        raise ValueError(\"payload must not be empty\")\n" }
        s += "    token = os.environ.get(\"APP_TOKEN\", \"\")\n"
        s += "    return {\"ok\": True, \"items\": sorted(payload), \"authenticated\": bool(token)}\n"
        s += "```\n\n```python\n# file: test_\(name).py\nfrom \(name) import \(verb)_\(name)\n\n\n"
        s += "def test_\(verb)_\(name)_returns_sorted_keys():\n    assert \(verb)_\(name)({\"b\": 1, \"a\": 2})[\"items\"] == [\"a\", \"b\"]\n```\n"
        if !reqs.isEmpty { s += "\nCovers: " + reqs.prefix(4).joined(separator: "; ") + ".\n" }
        return s
    }

    static func prose(focus: String, reqs: [String], rng: inout SplitMix64) -> String {
        let openers = ["In short,", "To begin,", "At its core,", "Put simply,"]
        var s = "## \(focus.prefix(1).uppercased() + focus.dropFirst())\n\n"
        s += "\(pick(openers, &rng)) \(focus) comes down to a few clear points.\n\n"
        for r in reqs.prefix(5) {
            s += "- \(r.prefix(1).uppercased() + r.dropFirst()): " + pick([
                "what it means, why it matters and how to do it well.",
                "the key facts, with an example.",
                "the trade-offs and the recommended choice.",
            ], &rng) + "\n"
        }
        s += "\nThe result addresses each point above in order and ends with a short conclusion.\n"
        return s
    }

    /// A judge's scores, from what can be read off the answer (task terms present, requirements
    /// mentioned, structure) with a little seeded noise — a simulated judge, honest about being one.
    static func judgeJSON(prompt: String, rng: inout SplitMix64) -> String {
        func between(_ a: String, _ b: String) -> String {
            guard let r1 = prompt.range(of: a) else { return "" }
            let rest = prompt[r1.upperBound...]
            let end = rest.range(of: b)?.lowerBound ?? rest.endIndex
            return String(rest[..<end])
        }
        let task = between("TASK:\n", "\n\n").lowercased()
        let answer = between("<<<\n", "\n>>>").lowercased()
        let reqs = between("REQUIREMENTS:\n", "\n\n").split(separator: "\n").map { $0.dropFirst(2).lowercased() }
        let terms = TextTerms.keyTerms(task)
        let relevance = terms.isEmpty ? 0.7 : Double(terms.filter { answer.contains($0) }.count) / Double(terms.count)
        let met = reqs.filter { r in TextTerms.keyTerms(String(r)).contains { answer.contains($0) } }.count
        let completeness = reqs.isEmpty ? 0.75 : Double(met) / Double(reqs.count)
        let clarity = min(1, 0.5 + Double(answer.split(separator: "\n").count) / 40)
        func noisy(_ x: Double) -> Double { (min(1, max(0, x + (rng.nextDouble() - 0.5) * 0.1)) * 100).rounded() / 100 }
        return "{\"relevance\": \(noisy(min(1, relevance * 1.2))), \"completeness\": \(noisy(completeness)), \"correctness\": \(noisy(0.75)), \"clarity\": \(noisy(clarity)), \"rationale\": \"simulated judge: scores read off the answer's terms, requirements and structure\"}"
    }

    static func intentJSON(task: String, rng: inout SplitMix64) -> String {
        let i = IntentAnalyzer().analyze(task)
        return "{\"task_type\":\"\(i.taskType.rawValue)\",\"complexity\":\(i.complexity),\"urgency\":\(i.urgency),\"creativity\":\(i.creativity)}"
    }

    /// Splits text into token-like pieces (a word with its leading space, or a punctuation run).
    /// File names given by `# file: NAME` lines (the convention the code prompts ask for), in order.
    static func fileNames(in text: String) -> [String] {
        var names: [String] = []
        for line in text.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("# file:") else { continue }
            let name = t.dropFirst(7).trimmingCharacters(in: .whitespaces)
            if !name.isEmpty && !name.contains(" ") && !names.contains(name) { names.append(name) }
        }
        return names
    }

    static func tokenize(_ text: String) -> [String] {
        var out: [String] = []
        var cur = ""
        for ch in text {
            if ch == " " || ch == "\n" {
                if !cur.isEmpty && cur != " " && cur != "\n" { out.append(cur); cur = "" }
                cur.append(ch)
                if ch == "\n" { out.append(cur); cur = "" }
            } else {
                cur.append(ch)
            }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }
}
