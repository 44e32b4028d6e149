import Foundation

/// Reads subtasks and their dependencies out of a planning phase's text.
///
/// Understands numbered lines (`1. Design the schema`, `2) Implement auth (depends on: 1)`), and
/// dependency notes written as `depends on 1, 2`, `after 1`, `requires: 1 and 3`, `[deps: 1]`.
/// Dependencies on later or unknown items are dropped (they would make a cycle) and reported.
public struct SubtaskParser: Sendable {
    public var maxSubtasks: Int
    public init(maxSubtasks: Int = 8) { self.maxSubtasks = maxSubtasks }

    public struct Result: Sendable, Hashable {
        public var subtasks: [Subtask]
        public var dropped: [String]
    }

    public func parse(_ text: String) -> Result {
        var subtasks: [Subtask] = []
        var dropped: [String] = []
        var inFence = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true).prefix(400) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("```") { inFence.toggle(); continue }
            if inFence { continue }
            guard let (num, rest) = numbered(line) else { continue }
            let id = String(num)
            guard !subtasks.contains(where: { $0.id == id }) else { continue }
            var title = rest
            var deps: [String] = []
            if let (t, d) = splitDependencies(rest) {
                title = t
                deps = d
            }
            title = title.trimmingCharacters(in: CharacterSet(charactersIn: " -–—:*_`")).replacingOccurrences(of: "**", with: "")
            guard !title.isEmpty else { continue }
            let known = Set(subtasks.map(\.id))
            let valid = deps.filter { known.contains($0) }
            for d in deps where !known.contains(d) { dropped.append("\(id) → \(d)") }
            subtasks.append(Subtask(id: id, title: String(title.prefix(120)), dependsOn: valid))
            if subtasks.count >= maxSubtasks { break }
        }
        return Result(subtasks: subtasks, dropped: dropped)
    }

    func numbered(_ line: String) -> (Int, String)? {
        var s = Substring(line)
        if s.hasPrefix("#") { s = s.drop { $0 == "#" || $0 == " " } }
        if s.hasPrefix("- ") || s.hasPrefix("* ") { s = s.dropFirst(2) }
        if s.lowercased().hasPrefix("step ") { s = s.dropFirst(5) }
        let digits = s.prefix { $0.isNumber }
        guard !digits.isEmpty, digits.count <= 2, let n = Int(digits) else { return nil }
        let after = s.dropFirst(digits.count)
        guard let sep = after.first, sep == "." || sep == ")" || sep == ":" else { return nil }
        let rest = after.dropFirst().trimmingCharacters(in: .whitespaces)
        return rest.isEmpty ? nil : (n, rest)
    }

    func splitDependencies(_ text: String) -> (String, [String])? {
        let lower = text.lowercased()
        let markers = ["depends on:", "depends on", "dependencies:", "deps:", "requires:", "after:", "after step", "after"]
        for m in markers {
            guard let r = lower.range(of: m) else { continue }
            let startOffset = lower.distance(from: lower.startIndex, to: r.lowerBound)
            let endOffset = lower.distance(from: lower.startIndex, to: r.upperBound)
            let tail = String(text.dropFirst(endOffset))
            let nums = numbers(in: tail.prefix { $0 != ")" && $0 != "]" && $0 != "." || $0 == "," })
            guard !nums.isEmpty || tail.lowercased().contains("none") else { continue }
            var title = String(text.prefix(startOffset))
            title = title.trimmingCharacters(in: CharacterSet(charactersIn: " ([—-–,;"))
            return (title, nums)
        }
        return nil
    }

    func numbers<S: StringProtocol>(in s: S) -> [String] {
        var out: [String] = []
        var cur = ""
        for ch in s {
            if ch.isNumber { cur.append(ch) } else if !cur.isEmpty { out.append(cur); cur = "" }
        }
        if !cur.isEmpty { out.append(cur) }
        return out.map { String(Int($0) ?? 0) }
    }
}
