import Foundation
import Logging
import Synchronization

// The quality gate: scores, bounded refinement, and the workspace files a score refers to.

extension RunExecution {
    func score(stepID: String, step: PlanStep, output: String, model: ModelID) async -> QualityReport? {
        let files = workspaceFiles(stepID: stepID, step: step, output: output, model: model)
        guard engine.config.validateSteps else { return nil }
        let plan = m.withLock { $0.plan }
        let report = await engine.validator.evaluate(ValidationInput(
            task: plan.task, intent: plan.intent, stepID: stepID, phase: step.phase, output: output,
            requirements: requirements(for: stepID), threshold: plan.qualityThreshold, files: files))
        // A judge's calls cost money like any attempt: billed to the step it scored.
        for spend in report.spend ?? [] where spend.usage.totalTokens > 0 {
            let cost = (try? engine.catalog.model(spend.model))?.cost(of: spend.usage) ?? Cost(unpricedTokens: spend.usage.totalTokens)
            emit(.usage(.init(step: stepID, model: spend.model, usage: spend.usage, cost: cost)))
        }
        emit(.qualityScored(.init(step: stepID, model: model, report: report)))
        return report
    }

    /// Scores the output; under the threshold, asks the next model for a bounded refinement and keeps
    /// the better of the two.
    func qualityGate(stepID: String, step: PlanStep, base: [ChatMessage], output: String, model: ModelID) async -> (output: String, model: ModelID, keptEarlier: Bool) {
        guard var report = await score(stepID: stepID, step: step, output: output, model: model) else { return (output, model, false) }
        var best = (output: output, model: model, score: report.score)
        var refinements = 0
        while !report.passed && refinements < engine.config.maxRefinements && !isCancelled {
            refinements += 1
            let chain = [step.model] + step.fallbacks
            let next = chain.first { $0 != best.model && resilienceAllows($0) } ?? best.model
            var rstep = step
            rstep.model = next
            rstep.fallbacks = chain.filter { $0 != next }
            let msgs = Prompts.refinement(base, previous: best.output, report: report)
            guard case .success(let (refined, used)) = await attemptLoop(stepID: stepID, step: rstep, baseMessages: msgs, purpose: .refine) else { break }
            guard let r2 = await score(stepID: stepID, step: step, output: refined, model: used) else { break }
            report = r2
            if r2.score >= best.score { best = (refined, used, r2.score) }
        }
        let keptEarlier = refinements > 0 && best.output == output && best.model == model
        if keptEarlier {
            // The refinement's files were written to be scored; the kept output's files are final again.
            _ = workspaceFiles(stepID: stepID, step: step, output: output, model: model)
        }
        return (best.output, best.model, keptEarlier)
    }

    /// The workspace's files to score a step against. A top-level generation or refinement step's
    /// output is applied first (its named files become new versions, authored by the step, its phase
    /// and `model`; refused names are reported), so the score refers to the files as written; a
    /// validation step reads the files as they stand. A subtask's files are applied as it finishes
    /// (its own model is their author); candidates are not applied, the kept one is. Empty without a
    /// workspace, and for subtasks and candidates.
    func workspaceFiles(stepID: String, step: PlanStep, output: String, model: ModelID) -> [WorkspaceFile] {
        guard let workspace = engine.workspace else { return [] }
        let runID = m.withLock { $0.plan.runID }
        let topLevel = !stepID.contains("/") && !stepID.contains("#")
        // A decomposed step's files were applied subtask by subtask.
        let appliedBySubtasks = topLevel && step.decompose && step.candidates.isEmpty
        if !stepID.contains("#") && !appliedBySubtasks && (step.phase == .generation || step.phase == .refinement) {
            let author = FileAuthor(step: stepID, phase: step.phase, model: model)
            do {
                let change = try workspace.apply(output, runID: runID, author: author)
                if !change.isEmpty {
                    emit(.filesWritten(.init(step: stepID, phase: step.phase, model: model, files: change.written, refused: change.refused)))
                }
            } catch {
                emit(.filesWritten(.init(step: stepID, phase: step.phase, model: model, files: [], error: "\(error)")))
            }
            if !topLevel { return [] }
        } else if !(topLevel && (step.phase == .validation || appliedBySubtasks)) {
            return []
        }
        do { return try workspace.files(runID: runID) } catch {
            engine.logger.warning("could not read the workspace of \(runID): \(error)")
            return []
        }
    }

    func resilienceAllows(_ model: ModelID) -> Bool { engine.resilience.peek(model, nowMs: nowMs) == nil }

    func requirements(for stepID: String) -> [String] {
        let state = m.withLock { $0.state }
        // A subtask answers for its own title only.
        if stepID.contains("/"), let title = state.steps[stepID]?.title { return [title] }
        var reqs = state.plan?.intent.requirements ?? []
        if let gen = state.steps.values.first(where: { $0.phase == .generation && $0.parent == nil }) {
            reqs += gen.children.compactMap { state.steps[$0]?.title }.filter { $0 != "The whole task" && !$0.hasPrefix("candidate") }
        }
        return reqs
    }
}
