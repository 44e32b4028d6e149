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

    var isCancelled: Bool { m.withLock { $0.machine.cancelReason != nil } }
    var cancelReason: String? { m.withLock { $0.machine.cancelReason } }

    /// True when a step's work is thrown away: its phase (or the phase's input) was reset by a retry.
    func isAbandoned(_ stepID: String) -> Bool {
        m.withLock { $0.machine.isStopping(stepID) }
    }
}
