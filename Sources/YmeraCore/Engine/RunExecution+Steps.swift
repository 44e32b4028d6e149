import Foundation
import Synchronization

// Steps: a plain step, parallel candidates, and a step decomposed into subtasks.

extension RunExecution {
    func currentStep(_ id: String) -> PlanStep? { m.withLock { $0.plan.step(id) } }

    /// Runs one top-level step to done or failed. Returns success.
    func runStep(_ id: String) async -> Bool {
        guard let step = currentStep(id) else { return false }
        if !step.candidates.isEmpty { return await runCandidates(step) }
        if step.decompose { return await runDecomposed(step) }
        let base = messages(for: step, subtask: nil)
        switch await attemptLoop(stepID: id, step: step, baseMessages: base, purpose: .initial) {
        case .failure(let f):
            if isAbandoned(id) { return false }
            if f.errorClass != .cancelled || !isCancelled {
                emit(.stepFailed(.init(step: id, errorClass: f.errorClass, reason: f.message)))
            } else {
                emit(.stepFailed(.init(step: id, errorClass: .cancelled, reason: "cancelled")))
            }
            return false
        case .success(let (output, model)):
            let firstFinish = finishReason(of: id)
            let kept = await qualityGate(stepID: id, step: step, base: base, output: output, model: model)
            if isAbandoned(id) { return false }
            emit(.stepDone(.init(
                step: id, model: kept.model, outputChars: kept.output.count, keptEarlierOutput: kept.keptEarlier ? true : nil,
                finishReason: kept.keptEarlier ? firstFinish : finishReason(of: id))))
            return true
        }
    }

    /// Parallel strategy: every candidate on its own model at once; the best score is kept.
    func runCandidates(_ step: PlanStep) async -> Bool {
        let base = messages(for: step, subtask: nil)
        var results: [(String, String, ModelID, Double)] = []
        await withTaskGroup(of: (String, String, ModelID, Double)?.self) { group in
            for (i, model) in step.candidates.enumerated() {
                let cid = "\(step.id)#\(i + 1)"
                var cstep = step
                cstep.model = model
                cstep.fallbacks = step.fallbacks.filter { !step.candidates.contains($0) }
                clock.enter()
                group.addTask { [self] in
                    await ClockContext.$key.withValue(cid) { await clock.yieldTurn() }
                    return await ClockContext.$key.withValue(cid) { () async -> (String, String, ModelID, Double)? in
                    switch await attemptLoop(stepID: cid, step: cstep, baseMessages: base, purpose: .initial) {
                    case .failure(let f):
                        if !isAbandoned(cid) { emit(.stepFailed(.init(step: cid, errorClass: f.errorClass, reason: f.message))) }
                        return nil
                    case .success(let (out, used)):
                        let report = await score(stepID: cid, step: cstep, output: out, model: used)
                        emit(.stepDone(.init(step: cid, model: used, outputChars: out.count, finishReason: finishReason(of: cid))))
                        return (cid, out, used, report?.score ?? 0)
                    }
                    }
                }
            }
            while let r = await join(&group) {
                if let r { results.append(r) }
            }
        }
        if isAbandoned(step.id) { return false }
        guard !results.isEmpty else {
            emit(.stepFailed(.init(step: step.id, errorClass: .unknown, reason: "every candidate failed")))
            return false
        }
        results.sort { $0.3 == $1.3 ? $0.0 < $1.0 : $0.3 > $1.3 }
        let best = results[0]
        emit(.candidateChosen(.init(step: step.id, chosen: best.0, scores: Dictionary(uniqueKeysWithValues: results.map { ($0.0, $0.3.rounded(places: 3)) }))))
        _ = workspaceFiles(stepID: step.id, step: step, output: best.1, model: best.2)
        emit(.stepDone(.init(step: step.id, model: best.2, outputChars: best.1.count)))
        return true
    }

    /// Generation split into the planning phase's subtasks, run as a graph with a concurrency limit.
    func runDecomposed(_ step: PlanStep) async -> Bool {
        var parsed: SubtaskParser.Result
        var finishedBefore: [String] = []
        if let recorded = resumedSubtasks(of: step.id) {
            // Resuming: the subtasks were planned before the interruption; finished ones are kept.
            parsed = .init(subtasks: recorded.subtasks, dropped: [])
            finishedBefore = recorded.done
        } else {
            let planText = step.dependsOn.compactMap { id in m.withLock { $0.state.steps[id] } }.first { $0.phase == .planning }?.output ?? ""
            parsed = SubtaskParser().parse(planText)
            var source = "planning output"
            if parsed.subtasks.count < 2 {
                parsed = .init(subtasks: [Subtask(id: "1", title: "The whole task")], dropped: [])
                source = "no subtasks in the plan: whole task as one"
            } else if !parsed.dropped.isEmpty {
                source += "; dropped forward dependencies \(parsed.dropped.joined(separator: ", "))"
            }
            emit(.subtasksPlanned(.init(step: step.id, subtasks: parsed.subtasks, source: source)))
        }
        var sched: StepScheduler
        do {
            sched = try StepScheduler(nodes: parsed.subtasks.map { ($0.id, $0.dependsOn) }, limit: engine.config.subtaskConcurrency)
        } catch {
            emit(.stepFailed(.init(step: step.id, errorClass: .badRequest, reason: "subtasks: \(error)")))
            return false
        }
        for id in finishedBefore { sched.markDone(id) }
        let unfinished = parsed.subtasks.map(\.id).filter { !finishedBefore.contains($0) }.map { "\(step.id)/\($0)" }
        m.withLock { $0.machine.subtasksPlanned(step.id, unfinished) }
        let byID = Dictionary(uniqueKeysWithValues: parsed.subtasks.map { ($0.id, $0) })
        await withTaskGroup(of: (String, Bool).self) { group in
            var bound = 0
            while bound < 10_000 {
                bound += 1
                // While paused, subtasks still start: each waits at its own attempt gate, so no attempt
                // starts, a swap reaches it, and this task never waits anywhere but on its children
                // (a finished child hands its clock participation to the join).
                if !isCancelled {
                    for sid in sched.nextReady() {
                        guard let sub = byID[sid] else { continue }
                        let childID = "\(step.id)/\(sid)"
                        let current = currentStep(step.id) ?? step
                        let base = messages(for: current, subtask: sub)
                        clock.enter()
                        group.addTask { [self] in
                            await ClockContext.$key.withValue(childID) { await clock.yieldTurn() }
                            return await ClockContext.$key.withValue(childID) { () async -> (String, Bool) in
                            switch await attemptLoop(stepID: childID, step: current, baseMessages: base, purpose: .initial) {
                            case .failure(let f):
                                // Work thrown away by a retry is not a failure of the subtask.
                                if !isAbandoned(childID) {
                                    emit(.stepFailed(.init(step: childID, errorClass: f.errorClass, reason: f.message)))
                                }
                                return (sid, false)
                            case .success(let (out, model)):
                                _ = workspaceFiles(stepID: childID, step: current, output: out, model: model)
                                emit(.stepDone(.init(step: childID, model: model, outputChars: out.count, finishReason: finishReason(of: childID))))
                                return (sid, true)
                            }
                            }
                        }
                    }
                }
                if sched.running.isEmpty { break }
                guard let r = await join(&group) else { break }
                let skipped = sched.finish(r.0, succeeded: r.1)
                for s in skipped { emit(.stepSkipped(.init(step: "\(step.id)/\(s)", reason: "subtask \(r.0) failed"))) }
            }
        }
        guard sched.succeeded else {
            if isAbandoned(step.id) { return false }
            let st = m.withLock { $0.state }
            let failed = parsed.subtasks.compactMap { st.steps["\(step.id)/\($0.id)"] }.first { $0.status == .failed }
            let reason = isCancelled ? "cancelled"
                : failed.map { "subtask \($0.id) (\($0.title)) failed: \($0.lastError ?? "unknown")" } ?? "a subtask failed"
            emit(.stepFailed(.init(step: step.id, errorClass: failed?.lastErrorClass ?? .unknown, reason: reason)))
            return false
        }
        if isAbandoned(step.id) { return false }
        let state = m.withLock { $0.state }
        let combined = parsed.subtasks.map { sub in "### \(sub.title)\n\n\(state.steps["\(step.id)/\(sub.id)"]?.output ?? "")" }.joined(separator: "\n\n")
        let model = state.steps["\(step.id)/\(parsed.subtasks.last!.id)"]?.model ?? step.model
        let report = await score(stepID: step.id, step: step, output: combined, model: model)
        _ = report
        emit(.stepDone(.init(step: step.id, model: model, outputChars: combined.count)))
        return true
    }

    /// On a resumed run, the subtasks a step had planned before the interruption and those that
    /// finished; nil when the step has none recorded (or is being run again on purpose).
    func resumedSubtasks(of stepID: String) -> (subtasks: [Subtask], done: [String])? {
        guard let resume, !resume.rerun.contains(stepID) else { return nil }
        let prior = resume.prior
        guard let parent = prior.steps[stepID] else { return nil }
        let children = parent.children.filter { $0.hasPrefix(stepID + "/") }.compactMap { prior.steps[$0] }
        guard !children.isEmpty else { return nil }
        let prefix = stepID + "/"
        let subtasks = children.map { c in
            Subtask(id: String(c.id.dropFirst(prefix.count)), title: c.title, dependsOn: c.dependsOn.map { String($0.dropFirst(prefix.count)) })
        }
        let done = children.filter { $0.status == .done }.map { String($0.id.dropFirst(prefix.count)) }
        return (subtasks, done)
    }

    /// Waits for one child of a group, handing clock participation over from the child.
    func join<T: Sendable>(_ group: inout TaskGroup<T>) async -> T? {
        clock.leave()
        let r = await group.next()
        if r == nil { clock.enter() }
        return r
    }

    // MARK: prompts

    func messages(for step: PlanStep, subtask: Subtask?) -> [ChatMessage] {
        let (plan, state) = m.withLock { ($0.plan, $0.state) }
        let inputs: [(String, Phase, String)] = step.dependsOn.compactMap { id in
            guard let s = state.steps[id], s.status == .done else { return nil }
            return (id, s.phase, s.output)
        }
        let model = try? engine.catalog.model(step.model)
        return Prompts.messages(
            task: plan.task, step: step, subtask: subtask, requirements: plan.intent.requirements, inputs: inputs,
            taskType: plan.intent.taskType, contextTokens: model?.contextWindow ?? 8192, maxTokens: step.maxTokens,
            notes: state.steps[step.id]?.notes ?? [])
    }
}
