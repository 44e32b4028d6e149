/// The prompts each step sends. System prompts are short and stable (a small local server caches the
/// prefix); the user message carries the task and the outputs the step depends on, trimmed to fit
/// the model's context window.
public enum Prompts {
    public static func system(for phase: Phase, taskType: TaskType) -> String {
        let role: String
        switch phase {
        case .planning:
            role = "You plan work. Answer with a numbered list of 3 to 8 subtasks, one per line, each ending with "
                + "'(depends on: N, M)' or '(depends on: none)'. Then list the requirements to check."
        case .research: role = "You gather the facts, constraints and pitfalls needed for the task. Be concise and concrete."
        case .generation:
            role = taskType == .code
                ? "You write complete, working code. Put each file in a fenced block whose first line is '# file: NAME'."
                : "You produce the requested result, complete and well structured."
        case .review: role = "You review the result for defects, security problems and unmet requirements. List each issue with its location."
        case .refinement: role = "You improve the result: fix every issue raised, keep what is right, and return the whole improved result."
        case .validation: role = "You check the result against each requirement. For each: PASS or FAIL with evidence. End with a verdict."
        }
        return "You are the \(phase.rawValue) stage of a multi-model workflow. \(role)"
    }

    /// - Parameters:
    ///   - inputs: outputs of the steps this one depends on, in plan order (id, phase, text).
    ///   - contextTokens: the model's window; the message is trimmed to fit with room for `maxTokens`.
    public static func messages(
        task: String, step: PlanStep, subtask: Subtask?, requirements: [String], inputs: [(String, Phase, String)],
        taskType: TaskType, contextTokens: Int, maxTokens: Int, notes: [String] = []
    ) -> [ChatMessage] {
        let system = Self.system(for: step.phase, taskType: taskType)
        // ~3 characters a token, conservative, minus the system prompt and the answer's room.
        let budget = max(2_000, (contextTokens - maxTokens - 100) * 3 - system.count)
        var sections: [(String, String)] = [("Task", task)]
        if !requirements.isEmpty && (step.phase == .validation || step.phase == .review) {
            sections.append(("Requirements", requirements.map { "- \($0)" }.joined(separator: "\n")))
        }
        for (id, phase, text) in inputs { sections.append(("Output of \(id) (\(phase.rawValue))", text)) }
        if !notes.isEmpty {
            // A person read this phase's earlier output at its gate and asked for this.
            sections.append(("Instructions from the reviewer", notes.map { "- \($0)" }.joined(separator: "\n")))
        }
        if let subtask {
            sections.append(("Your subtask", "\(subtask.id). \(subtask.title)\nDo only this subtask; others are done separately."))
        }
        let fitted = fit(sections, budget: budget)
        let user = fitted.map { "## \($0.0)\n\($0.1)" }.joined(separator: "\n\n")
        return [.system(system), .user(user)]
    }

    /// Asks the next model to continue a cut answer from exactly where it stopped.
    public static func continuation(_ messages: [ChatMessage], partial: String) -> [ChatMessage] {
        messages + [
            .assistant(partial),
            .user("Your previous answer was cut off. Continue exactly where it stopped, without repeating anything."),
        ]
    }

    /// Asks a model to improve an output that scored under the threshold, with the reasons.
    public static func refinement(_ messages: [ChatMessage], previous: String, report: QualityReport) -> [ChatMessage] {
        let weak = report.dimensions.filter { ($0.score ?? 1) < report.threshold }
            .map { "- \($0.name): \($0.score.map { String($0.rounded(places: 2)) } ?? "not checked") — \($0.detail)" }
        let findings = report.findings.prefix(10).map { "- [\($0.rule)] line \($0.line.map(String.init) ?? "?"): \($0.message)" }
        let feedback = (weak + findings).joined(separator: "\n")
        return messages + [
            .assistant(previous),
            .user("This answer scored \(report.score.rounded(places: 2)) (threshold \(report.threshold)). Improve it and return the whole improved answer.\n\(feedback)"),
        ]
    }

    /// Trims the longest sections (keeping head and tail) until everything fits `budget` characters.
    static func fit(_ sections: [(String, String)], budget: Int) -> [(String, String)] {
        var s = sections
        var total = s.reduce(0) { $0 + $1.0.count + $1.1.count + 6 }
        var guardCount = 0
        while total > budget && guardCount < 64 {
            guardCount += 1
            guard let i = s.indices.max(by: { s[$0].1.count < s[$1].1.count }), s[i].1.count > 400 else { break }
            let text = s[i].1
            let keep = max(200, text.count - (total - budget) - 60)
            let head = text.prefix(keep * 2 / 3)
            let tail = text.suffix(keep / 3)
            s[i].1 = head + "\n[… \(text.count - head.count - tail.count) characters omitted to fit the context window …]\n" + tail
            total = s.reduce(0) { $0 + $1.0.count + $1.1.count + 6 }
        }
        return s
    }
}
