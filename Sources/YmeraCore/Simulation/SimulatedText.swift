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
            // What the answer implements: every requirement of its focus, except that a first answer
            // sometimes leaves one out (a refinement then adds it). It claims only what it does.
            var covered = subtask.isEmpty ? Array(reqs.prefix(4)) : [focus]
            if !refined && covered.count >= 2 && rng.nextDouble() < 0.3 {
                covered.remove(at: Int(rng.next() % UInt64(covered.count)))
            }
            if covered.isEmpty { covered = [focus] }
            let body = taskType == .code ? code(focus: focus, reqs: covered, refined: refined, module: module, rng: &rng)
                : prose(focus: focus, reqs: covered, rng: &rng)
            return continuation ? body.split(separator: "\n").suffix(4).joined(separator: "\n") + "\n" : body
        case .review:
            let issues = [
                "Input validation is missing on one entry point", "Errors are swallowed instead of reported",
                "A secret is read from code instead of the environment", "No test covers the failure path",
                "Names could be clearer in the core module",
            ]
            var chosen: [String] = []
            for _ in 0..<3 { chosen.append(pick(issues, &rng)) }
            let about = reqs.first.map { " in the part that does \($0)" } ?? ""
            return "## Review\n\n" + Array(Set(chosen)).sorted().enumerated().map { "\($0.offset + 1). \($0.element)\(about)" }.joined(separator: "\n") + "\n\nOverall: sound structure; fix the issues above.\n"
        case .validation:
            // Each verdict names its evidence (the code's names for a code task, the section for text).
            let lines = (reqs.isEmpty ? ["the task"] : Array(reqs.prefix(8))).map { r in
                taskType == .code
                    ? "- PASS: \(r) — `\(funcName(r))` exists and `test_\(funcName(r))` exercises it with sample data and an empty input."
                    : "- PASS: \(r) — the paragraph on it gives a concrete case, names a caveat and cites numbers."
            }
            return "## Validation\n\n" + lines.joined(separator: "\n") + "\n\nVerdict: each verdict above was checked against the delivered result.\n"
        }
    }

    static func plan(reqs: [String], taskType: TaskType, rng: inout SplitMix64) -> String {
        var items: [(String, [Int])] = [("Design the structure and interfaces", [])]
        let how = taskType == .code
            ? ["as a small pure function with explicit inputs, outputs and error cases", "behind one entry point that validates its arguments first",
               "with the edge cases (empty, duplicate, malformed input) handled explicitly"]
            : ["with a concrete example and the numbers behind it", "with the main caveat and when it does not apply",
               "comparing the two usual options side by side"]
        // Each item's title is the requirement (subtasks are named by it); how follows the dependencies.
        var hows: [Int: String] = [:]
        let work = reqs.prefix(5)
        for (i, r) in work.enumerated() {
            items.append(("Implement \(r)", [1]))
            hows[items.count - 1] = how[i % how.count]
        }
        if work.isEmpty {
            items.append(("Implement the core", [1]))
            hows[items.count - 1] = how[0]
        }
        let implemented = Array(2...items.count)
        if taskType == .code { items.append(("Write tests for the main paths", implemented)) }
        items.append(((taskType == .code ? "Document usage and deployment" : "Write the summary"), implemented))
        var out = "## Plan\n\n"
        for (i, item) in items.enumerated() {
            let deps = item.1.isEmpty ? "none" : item.1.map(String.init).joined(separator: ", ")
            out += "\(i + 1). \(item.0) (depends on: \(deps))" + (hows[i].map { " — \($0)" } ?? "") + "\n"
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

    /// A Python identifier for a requirement: its first five words that carry meaning.
    static func funcName(_ r: String) -> String {
        let filler: Set<String> = ["a", "an", "the", "of", "to", "for", "and", "or", "with", "in", "on", "into", "by", "implement", "write", "create", "make", "build", "add"]
        let words = r.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init).filter { !filler.contains($0) }.prefix(5)
        let joined = words.joined(separator: "_")
        return joined.isEmpty ? "run_task" : (joined.first!.isNumber ? "t_" + joined : joined)
    }

    /// Code that does what it names: one small function per requirement it covers (validating its
    /// input, keeping the items that are present), each with a test that runs; no claims beyond that.
    static func code(focus: String, reqs: [String], refined: Bool, module: String? = nil, rng: inout SplitMix64) -> String {
        let name = module ?? slug(focus)
        var names: [String] = []
        for r in reqs where !names.contains(funcName(r)) { names.append(funcName(r)) }
        var s = "Here is the implementation of \(focus).\n\n```python\n# file: \(name).py\n"
        s += "\"\"\"\(focus.replacingOccurrences(of: "\"", with: "'")).\"\"\"\n"
        for fn in names {
            s += "\n\ndef \(fn)(items: list) -> list:\n"
            s += "    if not isinstance(items, list):\n        raise TypeError(\"items must be a list\")\n"
            if refined { s += "    if any(isinstance(item, bool) for item in items):\n        raise ValueError(\"flags are not items\")\n" }
            s += "    kept = [item for item in items if item is not None]\n"
            s += "    return sorted(set(kept), key=str)\n"
        }
        s += "```\n\n```python\n# file: test_\(name).py\nfrom \(name) import \(names.joined(separator: ", "))\n"
        for fn in names {
            s += "\n\ndef test_\(fn)():\n    assert \(fn)([3, None, 1, 3]) == [1, 3]\n    assert \(fn)([]) == []\n"
            s += "    try:\n        \(fn)(\"not a list\")\n    except TypeError:\n        pass\n    else:\n        raise AssertionError(\"a string was accepted\")\n"
        }
        s += "```\n\nEach function drops missing entries, removes duplicates and returns the rest in a stable order; "
        s += "the tests run it on sample data, an empty list and a wrong type.\n"
        _ = pick([0], &rng)
        return s
    }

    static func prose(focus: String, reqs: [String], rng: inout SplitMix64) -> String {
        let openers = ["In short,", "To begin,", "At its core,", "Put simply,"]
        var s = "## \(focus.prefix(1).uppercased() + focus.dropFirst())\n\n"
        s += "\(pick(openers, &rng)) \(focus) comes down to a few clear points.\n\n"
        for r in reqs.prefix(5) {
            s += "- \(r.prefix(1).uppercased() + r.dropFirst()): " + pick([
                "start from a measured baseline, change one variable at a time and record the effect before and after.",
                "a worked case makes this concrete: write down the inputs, the expected outcome and one failure seen in practice.",
                "weigh cost against speed; the cheaper option usually wins below a few hundred requests per second.",
            ], &rng) + "\n"
        }
        s += "\nA short conclusion: begin with the simplest version, measure it, and revisit the choice when the numbers change.\n"
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
        let rawAnswer = between("<<<\n", "\n>>>").lowercased()
        // Like a careful reader, it gives no credit for restating: headings, "covers:"-style lines and
        // lines made only of the task's own words are skipped.
        let taskWords = Set(TextTerms.keyTerms(task))
        let answer = rawAnswer.split(separator: "\n").filter { line in
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("#") || t.range(of: #"^[-*]?\s*(covers|requirements?|addresses|implements)\s*:"#, options: .regularExpression) != nil {
                return false
            }
            let words = TextTerms.keyTerms(String(t))
            return words.filter { !taskWords.contains($0) }.count >= 2
        }.joined(separator: "\n")
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
