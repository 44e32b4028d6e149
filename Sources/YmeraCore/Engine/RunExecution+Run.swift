import Foundation
import Logging
import Synchronization

// The run loop: starts ready steps, takes their results and commands, and ends the run.

extension RunExecution {
    func run() async -> RunState {
        clock.enter()
        let plan = m.withLock { $0.plan }
        var keep: Set<String> = []
        if let fork = resume?.fork {
            // A fork: planned as a new run, then its reused steps are done before anything starts.
            emit(.runPlanned(plan))
            reuse(fork)
            keep = Set(fork.reused)
        } else if let resume {
            let prior = resume.prior
            keep = Set(plan.steps.map(\.id).filter { prior.steps[$0]?.status == .done && !resume.rerun.contains($0) })
            emit(.runResumed(.init(keptSteps: plan.steps.map(\.id).filter(keep.contains))))
        } else {
            emit(.runPlanned(plan))
        }
        var scheduler: StepScheduler
        do {
            scheduler = try StepScheduler(nodes: plan.steps.map { ($0.id, $0.dependsOn) }, limit: max(1, plan.steps.count))
        } catch {
            drive { machine, _ in ((), machine.invalidPlan()) }
            emit(.runFailed(.init(reason: "invalid plan: \(error)")))
            return await finish()
        }
        for id in keep { scheduler.markDone(id) }
        let rerun = resume?.rerun ?? []
        // Gates open when the run stopped open again: the run is back at them, no provider called.
        let waiting = (resume?.prior.gates ?? []).filter { keep.contains($0.step) }.map {
            RunEvent.AwaitingApproval(step: $0.step, phase: $0.phase, model: $0.model, outputChars: $0.outputChars, score: $0.score)
        }
        // Commands sent before this point were held; they apply now, after the first event.
        drive { machine, now in ((), machine.install(scheduler, rerun: rerun, waiting: waiting, nowMs: now)) }

        await withTaskGroup(of: Void.self) { group in
            var iterations = 0
            while iterations < 100_000 {
                iterations += 1
                // 1. Ask the machine: phases to start, or the run is over.
                let (over, actions) = drive { machine, _ -> (Bool, [RunMachine.Action]) in
                    let (actions, over) = machine.next()
                    return (over, actions)
                }
                for action in actions {
                    switch action {
                    case .cancelTasks:
                        group.cancelAll()
                    case .startStep(let id):
                        clock.enter()
                        group.addTask { [self] in
                            let ok = await ClockContext.$key.withValue(id) {
                                await clock.yieldTurn()
                                return await runStep(id)
                            }
                            mailbox.send(.finished(id, ok))
                            clock.leave()
                        }
                    default:
                        break
                    }
                }
                if over { break }

                // 2. Wait for a phase to end or a command.
                let msg = await mailbox.receive()
                switch msg {
                case .finished(let id, let ok):
                    let done = ok ? gateInfo(id) : nil
                    drive { machine, _ in ((), machine.stepEnded(id, succeeded: ok, done: done)) }
                case .gateTimeout(let step, let opening):
                    drive { machine, now in ((), machine.gateTimedOut(step: step, opening: opening, nowMs: now)) }
                case .poke:
                    // A command may come from a participant's observer: take turns again.
                    await ClockContext.$key.withValue("") { await clock.yieldTurn() }
                }
            }
            // Drain (cancelled runs): children end quickly once cancelled.
            if isCancelled { group.cancelAll() }
            while let _ = await group.next() {}
        }
        stopGateTimers()
        let (final, failure) = m.withLock { ($0.state, $0.machine.failure) }
        if let failure {
            emit(.runFailed(.init(reason: failure)))
        } else if let reason = cancelReason {
            emit(.runCancelled(.init(reason: reason)))
        } else {
            let failed = plan.steps.filter { final.steps[$0.id]?.status == .failed }
            if failed.isEmpty && plan.steps.allSatisfy({ final.steps[$0.id]?.status == .done }) {
                let verdict = QualityVerdict.of(final, order: plan.steps.map(\.id))
                emit(.runFinished(.init(reason: QualityVerdict.reason(final, verdict), quality: verdict)))
            } else {
                let f = failed.first.flatMap { final.steps[$0.id] }
                let why = f.map { "\($0.id) failed: \($0.lastError ?? "unknown")" } ?? "steps did not complete"
                emit(.runFailed(.init(reason: why)))
            }
        }
        return await finish()
    }

    /// What a phase that just finished produced, as its gate would show it.
    func gateInfo(_ id: String) -> RunEvent.AwaitingApproval? {
        m.withLock { s in
            guard let st = s.state.steps[id], st.status == .done else { return nil }
            return RunEvent.AwaitingApproval(step: id, phase: st.phase, model: st.model, outputChars: st.output.count, score: st.quality?.score)
        }
    }

    func finish() async -> RunState {
        let state = m.withLock { s -> RunState in
            s.finished = true
            return s.state
        }
        // The learning system remembers the run before anyone sees it end.
        if let history = engine.history, let plan = state.plan {
            let record = ExecutionRecord(
                runID: plan.runID, taskType: plan.intent.taskType, complexity: plan.intent.complexity, strategy: plan.strategy,
                modelsByStep: Dictionary(uniqueKeysWithValues: state.steps.values.filter { $0.parent == nil }.map { ($0.id, $0.model) }),
                score: state.score, durationMs: state.elapsedMs, cost: state.cost, succeeded: state.status == .succeeded, finishedAt: Date())
            do {
                try await history.record(record)
            } catch {
                engine.logger.warning("could not record the run for recommendations: \(error)")
            }
        }
        // Tool servers the run started stop with it (bounded: a broken host cannot hold the run open).
        if let host = engine.toolHost {
            let runID = state.runID
            _ = try? await ToolLoop.withWatchdog(ms: 5_000, onTimeout: { ToolFailure(.timeout, "endRun did not return") }) {
                await host.endRun(runID)
            }
        }
        await awaitDelivery()
        continuation.finish()
        clock.leave()
        return state
    }
}
