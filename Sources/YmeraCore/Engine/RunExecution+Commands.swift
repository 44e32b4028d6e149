import Foundation
import Synchronization

// Commands: recorded under the lock, applied by the run loop at its next decision point.

extension RunExecution {
    func command(_ c: Command) {
        let wake: [CheckedContinuation<Void, Never>] = m.withLock { s in
            s.commands.append(c)
            switch c {
            case .resume:
                let g = s.gate
                s.gate = []
                return g
            case .cancel(let reason):
                s.cancelled = s.cancelled ?? reason
                for cancel in s.attempts.values { cancel() }
                let g = s.gate
                s.gate = []
                return g
            case .swap(let step, let model):
                if s.running.contains(step) || s.attempts[step] != nil {
                    s.swaps[step] = model
                    s.attempts[step]?()
                }
                return []
            case .retry(let step):
                if s.running.contains(step) || s.attempts[step] != nil {
                    s.restarts.insert(step)
                    s.attempts[step]?()
                }
                return []
            case .pause:
                return []
            }
        }
        for w in wake {
            clock.enter()
            w.resume()
        }
        mailbox.send(.poke)
    }

    /// Waits while paused. Attempts in flight are not stopped; this is checked before each new attempt.
    func waitIfPaused() async {
        while true {
            let paused = m.withLock { $0.paused && $0.cancelled == nil }
            guard paused else { return }
            clock.leave()
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = m.withLock { s -> Bool in
                    if !s.paused || s.cancelled != nil { return true }
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

    var isCancelled: Bool { m.withLock { $0.cancelled != nil } }

    func isAbandoned(_ stepID: String) -> Bool {
        m.withLock { $0.abandoned.contains(stepID) || $0.abandoned.contains(parentID(stepID)) }
    }

    func apply(_ c: Command, scheduler: inout StepScheduler) {
        switch c {
        case .pause:
            let inFlight = m.withLock { s -> [String]? in
                guard !s.paused else { return nil }
                s.paused = true
                s.pausedAtMs = nowMs
                return s.running.sorted()
            }
            if let inFlight {
                emit(.paused(.init(inFlight: inFlight, note: inFlight.isEmpty ? "nothing in flight" : "attempts in flight finish; no new attempt starts until resume")))
            }
        case .resume:
            let pausedFor = m.withLock { s -> Int64? in
                guard s.paused else { return nil }
                s.paused = false
                return nowMs - s.pausedAtMs
            }
            if let pausedFor { emit(.resumed(.init(pausedMs: Int(pausedFor)))) }
        case .retry(let step):
            guard m.withLock({ $0.plan.step(step) != nil }) else { return }
            if scheduler.states[step] == .running { return }  // restarts in place (see command)
            let reset = scheduler.reset(step)
            emit(.stepReset(.init(step: step, reset: reset)))
            // Steps downstream that are running read the old input: stop them; they run again.
            let running = reset.filter { scheduler.states[$0] == .running }
            m.withLock { s in
                for id in running {
                    s.abandoned.insert(id)
                    for (key, cancel) in s.attempts where key == id || key.hasPrefix(id + "/") || key.hasPrefix(id + "#") { cancel() }
                }
            }
        case .swap(let step, let model):
            let info = m.withLock { s -> (ModelID, Bool)? in
                guard let i = s.plan.steps.firstIndex(where: { $0.id == step }) else { return nil }
                let old = s.plan.steps[i].model
                guard old != model else { return nil }
                s.plan.steps[i].model = model
                s.plan.steps[i].fallbacks.removeAll { $0 == model }
                return (old, s.running.contains(step))
            }
            if let (old, running) = info, !running || scheduler.states[step] != .running {
                emit(.modelSwapped(.init(step: step, from: old, to: model, restarted: false)))
            }
        case .cancel:
            break
        }
    }
}
