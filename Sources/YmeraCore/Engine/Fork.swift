import Foundation

/// A fork of a past run: a new run whose steps before `from` take their kept outputs from the parent
/// (no provider call, cost $0, marked `reused from PARENT`) and whose steps from `from` on run anew.
/// It starts like a resumed run (the engine's `ResumePoint`), so everything after the reused steps —
/// scheduling, controls, a later `ymera resume` — is the resume path's.
public struct ForkSource: Sendable {
    /// The parent run as its journal rebuilds it.
    public var parent: RunState
    /// Top-level steps reused from the parent, in plan order.
    public var reused: [String]
    public init(parent: RunState, reused: [String]) {
        self.parent = parent
        self.reused = reused
    }
}

/// Why a fork cannot be planned, for a person.
public struct ForkError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Plans a fork: which steps are reused, which run anew, and on which models.
public enum ForkPlanner {
    /// The fork's plan and its resume point.
    ///
    /// - `parent`: the parent run's state (from its journal); it must have a plan.
    /// - `from`: a step id or a phase name; the first plan step that matches is the first one run anew.
    /// - `models`: step id or phase name → model, for steps from `from` on (a reused step cannot take
    ///   another model: its output is the parent's).
    /// - `base`: the plan to fork into (default: the parent's plan); a re-planned one (another
    ///   strategy) reuses the parent's outputs of the steps before `from` that it shares with it.
    public static func plan(
        parent: RunState, newRunID: String, from: String, models: [String: ModelID] = [:], base: RunPlan? = nil
    ) throws(ForkError) -> (plan: RunPlan, resume: ResumePoint) {
        guard let parentPlan = parent.plan else { throw ForkError("run \(parent.runID) has no plan in the journal; it cannot be forked") }
        var plan = base ?? parentPlan
        plan.runID = newRunID
        plan.createdAt = Date()
        guard let start = plan.steps.firstIndex(where: { $0.id == from || $0.phase.rawValue == from }) else {
            throw ForkError(
                "run \(parent.runID) has no phase '\(from)'; its phases: \(plan.steps.map(\.id).joined(separator: ", "))")
        }
        let reused = plan.steps[..<start].map(\.id)
        for id in reused {
            guard let s = parent.steps[id], s.parent == nil else {
                throw ForkError("phase \(id) is not in run \(parent.runID); fork from it or an earlier phase")
            }
            guard s.status == .done else {
                throw ForkError(
                    "phase \(id) of run \(parent.runID) did not finish (\(s.status.rawValue)): its output cannot be reused; fork from \(id) or an earlier phase")
            }
        }
        for (name, model) in models {
            let matching = plan.steps.indices.filter { plan.steps[$0].id == name || plan.steps[$0].phase.rawValue == name }
            guard !matching.isEmpty else {
                throw ForkError("--model \(name)=\(model): the fork has no phase '\(name)'; its phases: \(plan.steps.map(\.id).joined(separator: ", "))")
            }
            for i in matching {
                guard i >= start else {
                    throw ForkError(
                        "--model \(name)=\(model): \(plan.steps[i].id) is reused from \(parent.runID) (before \(plan.steps[start].id)); only phases from \(plan.steps[start].id) on run anew")
                }
                plan.steps[i].model = model
                plan.steps[i].fallbacks.removeAll { $0 == model }
                if !plan.steps[i].candidates.isEmpty { plan.steps[i].candidates[0] = model }
            }
        }
        plan.forkOf = ForkOrigin(run: parent.runID, from: plan.steps[start].id, reused: reused)
        plan.notes.append("fork of \(parent.runID) from \(plan.steps[start].id): \(reused.isEmpty ? "nothing" : reused.joined(separator: ", ")) reused")
        let resume = ResumePoint(prior: RunState(runID: newRunID), fork: ForkSource(parent: parent, reused: reused))
        return (plan, resume)
    }
}

extension RunExecution {
    /// A fork's first events: the reused steps, each with its parent's kept output (and subtasks,
    /// candidates and files as the parent had them), marked as reused; nothing is called or billed.
    func reuse(_ fork: ForkSource) {
        let parent = fork.parent
        let plan = m.withLock { $0.plan }
        for id in fork.reused {
            guard let step = plan.step(id), let s = parent.steps[id] else { continue }
            let children = s.children.compactMap { parent.steps[$0] }
            let subtasks = children.filter { $0.id.hasPrefix(id + "/") }
            if !subtasks.isEmpty {
                let prefix = id + "/"
                emit(.subtasksPlanned(.init(
                    step: id,
                    subtasks: subtasks.map {
                        Subtask(id: String($0.id.dropFirst(prefix.count)), title: $0.title, dependsOn: $0.dependsOn.map { String($0.dropFirst(prefix.count)) })
                    },
                    source: "reused from \(parent.runID)")))
            }
            for c in children where c.status == .done {
                emit(.stepReused(.init(
                    step: c.id, phase: c.phase, model: c.model, fromRun: parent.runID, output: c.output, quality: c.quality,
                    finishReason: c.finishReason)))
                if c.id.contains("/") { _ = workspaceFiles(stepID: c.id, step: step, output: c.output, model: c.model) }
            }
            emit(.stepReused(.init(
                step: id, phase: s.phase, model: s.model, fromRun: parent.runID, output: s.output, quality: s.quality,
                finishReason: s.finishReason)))
            // The workspace as the parent had it after this step: its files written again, by the same authors.
            _ = workspaceFiles(stepID: id, step: step, output: s.output, model: s.model)
        }
    }
}
