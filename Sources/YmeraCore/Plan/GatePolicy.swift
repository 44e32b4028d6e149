import Foundation

/// Which phases of a run stop for a person's decision when they finish, and for how long.
///
/// When a gated phase finishes, the run waits (`awaiting_approval`) until someone approves it (as it
/// is or edited), runs it again (with a note, or on another model) or rejects it (the run ends as
/// cancelled). The policy is part of the journaled plan, so a resumed run keeps its gates.
public struct GatePolicy: Codable, Sendable, Hashable {
    /// What a gate does when its time limit passes with no decision.
    public enum TimeoutAction: String, Codable, Sendable, Hashable, CaseIterable {
        /// The output is approved as it is (journaled as approved by `timeout`).
        case approve
        /// The run fails, saying which gate timed out.
        case fail
    }

    /// Step ids or phase names (`generation`, `review`, …) that are gated.
    public var phases: [String]
    /// How long a gate waits for a decision; nil: as long as it takes.
    public var timeoutMs: Int64?
    public var onTimeout: TimeoutAction

    public init(phases: [String], timeoutMs: Int64? = nil, onTimeout: TimeoutAction = .fail) {
        self.phases = phases
        self.timeoutMs = timeoutMs
        self.onTimeout = onTimeout
    }

    /// Whether a top-level step stops at a gate when it finishes.
    public func gates(_ step: PlanStep) -> Bool {
        phases.contains(step.id) || phases.contains(step.phase.rawValue)
    }

    /// Checks the names against the phases there are: an unknown name is an error that names it.
    public static func validate(_ names: [String]) throws -> [String] {
        var out: [String] = []
        for raw in names {
            let name = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if name.isEmpty { continue }
            guard Phase(rawValue: name) != nil else {
                let known = Phase.allCases.map(\.rawValue).joined(separator: ", ")
                throw CatalogError("unknown phase '\(raw)' for a gate (phases: \(known))")
            }
            if !out.contains(name) { out.append(name) }
        }
        return out
    }

    /// A time limit as a person writes it: `30m`, `2h`, `90s`.
    public static func durationText(_ ms: Int64) -> String {
        if ms >= 3_600_000 && ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms >= 60_000 && ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms % 1_000 == 0 { return "\(ms / 1_000)s" }
        return "\(ms)ms"
    }

    /// A time limit as written by a person: `90s`, `30m`, `2h` or a number of seconds. Nil when invalid.
    public static func parseDuration(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let last = t.last else { return nil }
        let unit: Int64
        var digits = Substring(t)
        switch last {
        case "s": unit = 1_000; digits = t.dropLast()
        case "m": unit = 60_000; digits = t.dropLast()
        case "h": unit = 3_600_000; digits = t.dropLast()
        default: unit = 1_000
        }
        guard let n = Double(digits), n > 0, n * Double(unit) < 7 * 24 * 3_600_000 else { return nil }
        return Int64((n * Double(unit)).rounded())
    }
}
