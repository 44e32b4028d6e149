import Foundation
import Synchronization

// Commands and the pause gate. A command goes into the run's machine under the lock; the events it
// decides are numbered in that same critical section (nothing can slip in between), and only then
// are waiters woken, attempts stopped and the run loop poked.

extension RunExecution {
    /// Feeds one input to the run's machine and performs the actions it returns.
    @discardableResult
    func drive<T>(_ input: (inout RunMachine, Int64) -> (T, [RunMachine.Action])) -> (T, [RunMachine.Action]) {
        let now = nowMs
        let (result, actions, wake, stops, drain) = m.withLock { s -> (T, [RunMachine.Action], [CheckedContinuation<Void, Never>], [@Sendable () -> Void], Bool) in
            let (result, actions) = input(&s.machine, now)
            var wake: [CheckedContinuation<Void, Never>] = []
            var stops: [@Sendable () -> Void] = []
            for a in actions {
                switch a {
                case .emit(let kind):
                    _ = record(kind, in: &s)
                case .wakeWaiters:
                    wake += s.gate
                    s.gate = []
                case .stopAttempt(let id):
                    if let stop = s.attempts[id] { stops.append(stop) }
                case .startGateTimer(let step, let opening, let ms):
                    // Started here, with the event that opens the gate: a decision the observer sends
                    // at that event finds the timer to stop.
                    if let old = s.gateTimers[step] { stops.append { old.cancel() } }
                    s.gateTimers[step] = gateTimer(step: step, opening: opening, ms: ms)
                case .stopGateTimer(let step):
                    if let timer = s.gateTimers.removeValue(forKey: step) { stops.append { timer.cancel() } }
                default:
                    break
                }
            }
            return (result, actions, wake, stops, claimDelivery(&s))
        }
        if drain { deliverOutbox() }
        for stop in stops { stop() }
        for w in wake {
            clock.enter()  // on the waiter's behalf, before we can stop counting
            w.resume()
        }
        for a in actions {
            switch a {
            case .resetBreaker(let model):
                let t = engine.resilience.reset(model, nowMs: nowMs)
                if let t {
                    emit(t, model: model)
                } else {
                    emit(.commandRefused(.init(command: "breaker_reset", model: model, reason: "the breaker of \(model) is already closed")))
                }
            case .forceOpenBreaker(let model, let ms):
                emit(engine.resilience.forceOpen(model, nowMs: nowMs, forMs: ms, reason: "forced open by user"), model: model)
            case .applyEdit(let step, let text):
                applyEdit(step: step, text: text)
            default:
                break
            }
        }
        return (result, actions)
    }

    /// A command from a person (dashboard, MCP, command line). Decided at once; the run loop is poked
    /// to start what it allows.
    @discardableResult
    func command(_ c: RunCommand) -> CommandOutcome {
        let (outcome, _) = drive { machine, now in machine.command(c, nowMs: now) }
        mailbox.send(.poke)
        return outcome
    }

    /// Waits while the run is paused. Attempts in flight are not stopped; this is checked before each
    /// new attempt. Returns at once when the run is cancelled or `stepID`'s phase is being reset.
    func waitIfPaused(_ stepID: String) async {
        func holds(_ s: Mutable) -> Bool {
            s.machine.isPaused && s.machine.cancelReason == nil && !s.machine.isStopping(stepID)
        }
        while m.withLock({ holds($0) }) {
            clock.leave()
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = m.withLock { s -> Bool in
                    if !holds(s) { return true }
                    s.gate.append(c)
                    return false
                }
                if now {
                    clock.enter()
                    c.resume()
                }
            }
            await clock.yieldTurn()
        }
    }

    /// A gate's time limit, on the run clock: when it passes, the run loop hears of it. Takes no lock.
    func gateTimer(step: String, opening: Int, ms: Int64) -> Task<Void, Never> {
        clock.enter()
        return Task { [self] in
            await ClockContext.$key.withValue("~gate " + step) {
                if (try? await clock.sleep(ms: ms)) != nil { mailbox.send(.gateTimeout(step, opening)) }
            }
            clock.leave()
        }
    }

    /// Stops every gate timer (the run ends).
    func stopGateTimers() {
        let timers = m.withLock { s -> [Task<Void, Never>] in
            defer { s.gateTimers = [:] }
            return Array(s.gateTimers.values)
        }
        for t in timers { t.cancel() }
    }

    /// A person's edit of a generation or refinement output: its files are new versions in the
    /// workspace, authored by `you` (the step and phase stay the gated phase's).
    func applyEdit(step stepID: String, text: String) {
        guard let step = currentStep(stepID), step.phase == .generation || step.phase == .refinement else { return }
        guard let workspace = engine.workspace else { return }
        let runID = m.withLock { $0.plan.runID }
        let you = ModelID("you")
        do {
            let change = try workspace.apply(text, runID: runID, author: FileAuthor(step: stepID, phase: step.phase, model: you))
            if !change.isEmpty {
                emit(.filesWritten(.init(step: stepID, phase: step.phase, model: you, files: change.written, refused: change.refused)))
            }
        } catch {
            emit(.filesWritten(.init(step: stepID, phase: step.phase, model: you, files: [], error: "\(error)")))
        }
    }

    var isCancelled: Bool { m.withLock { $0.machine.cancelReason != nil } }
    var cancelReason: String? { m.withLock { $0.machine.cancelReason } }

    /// True when a step's work is thrown away: its phase (or the phase's input) was reset by a retry.
    func isAbandoned(_ stepID: String) -> Bool {
        m.withLock { $0.machine.isStopping(stepID) }
    }
}
