/// Runs a dependency graph of steps: which may start now, under a concurrency limit. A value type:
/// the engine asks `nextReady()` and reports `finish`; the scheduler never runs anything itself.
public struct StepScheduler: Sendable, Hashable {
    public enum NodeState: Sendable, Hashable { case pending, running, done, failed, skipped }

    public private(set) var order: [String]
    public private(set) var dependencies: [String: [String]]
    public private(set) var states: [String: NodeState]
    public var limit: Int

    /// - Parameter nodes: (id, dependencies) in priority order. Unknown dependencies are ignored.
    public init(nodes: [(id: String, dependsOn: [String])], limit: Int) throws {
        order = nodes.map(\.id)
        let ids = Set(order)
        dependencies = Dictionary(nodes.map { ($0.id, $0.dependsOn.filter { ids.contains($0) && $0 != "" }) }, uniquingKeysWith: { a, _ in a })
        states = Dictionary(order.map { ($0, NodeState.pending) }, uniquingKeysWith: { a, _ in a })
        self.limit = max(1, limit)
        if let cycle = Self.findCycle(order: order, deps: dependencies) {
            throw CatalogError("dependency cycle: \(cycle.joined(separator: " → "))")
        }
    }

    public var running: [String] { order.filter { states[$0] == .running } }
    public var isFinished: Bool { !states.values.contains { $0 == .pending || $0 == .running } }
    public var succeeded: Bool { states.values.allSatisfy { $0 == .done } }

    /// Steps that may start now (all dependencies done), marked running, up to the limit.
    public mutating func nextReady() -> [String] {
        var started: [String] = []
        var slots = limit - running.count
        for id in order where slots > 0 && states[id] == .pending {
            if dependencies[id, default: []].allSatisfy({ states[$0] == .done }) {
                states[id] = .running
                started.append(id)
                slots -= 1
            }
        }
        return started
    }

    /// Records the end of a step. A failed step skips everything that depends on it; returns those.
    @discardableResult
    public mutating func finish(_ id: String, succeeded: Bool) -> [String] {
        states[id] = succeeded ? .done : .failed
        guard !succeeded else { return [] }
        var skipped: [String] = []
        var changed = true
        while changed {
            changed = false
            for n in order where states[n] == .pending {
                if dependencies[n, default: []].contains(where: { states[$0] == .failed || states[$0] == .skipped }) {
                    states[n] = .skipped
                    skipped.append(n)
                    changed = true
                }
            }
        }
        return skipped
    }

    /// Puts a step (and everything downstream of it) back to pending: the user's "retry this phase".
    public mutating func reset(_ id: String) -> [String] {
        var reset: [String] = []
        var frontier: Set<String> = [id]
        for n in order {
            if frontier.contains(n) || dependencies[n, default: []].contains(where: frontier.contains) {
                frontier.insert(n)
                if states[n] != .running { states[n] = .pending }
                reset.append(n)
            }
        }
        return reset
    }

    /// Marks a step done without running it (resume: finished before the crash).
    public mutating func markDone(_ id: String) { states[id] = .done }

    /// Marks a step running without starting it (resume: a phase done and waiting at its gate).
    public mutating func markRunning(_ id: String) { states[id] = .running }

    /// Everything after `id` in order whose dependencies reach `id` (used for plans without explicit deps).
    static func findCycle(order: [String], deps: [String: [String]]) -> [String]? {
        var color: [String: Int] = [:]
        var stack: [String] = []
        func visit(_ n: String) -> [String]? {
            color[n] = 1
            stack.append(n)
            for d in deps[n, default: []] {
                if color[d] == 1 { return Array(stack[(stack.firstIndex(of: d) ?? 0)...]) + [d] }
                if color[d] == nil, let c = visit(d) { return c }
            }
            stack.removeLast()
            color[n] = 2
            return nil
        }
        for n in order where color[n] == nil {
            if let c = visit(n) { return c }
        }
        return nil
    }
}
