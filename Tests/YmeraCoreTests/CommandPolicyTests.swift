import Foundation
import Synchronization
import Testing
@testable import YmeraCore

/// Commands from other processes are one more input to the engine's control machine; the events it
/// emits for an applied command are the ones a sender waits for.
@Suite("Commands from other processes: confirmations")
struct CommandPolicyTests {
    func threeSteps() -> RunPlan {
        manualPlan([
            PlanStep(id: "planning", phase: .planning, title: "p", model: "sim/smart", fallbacks: ["sim/coder"]),
            PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/coder", fallbacks: ["sim/smart"], dependsOn: ["planning"]),
            PlanStep(id: "validation", phase: .validation, title: "v", model: "sim/judge", fallbacks: ["sim/smart"], dependsOn: ["generation"]),
        ])
    }

    /// Applied through the engine's controls, each command is confirmed by an event the engine emits.
    @Test func theEngineConfirmsAppliedCommands() async throws {
        let clock = VirtualClock()
        let e = try engine(ScriptedClient(clock: clock) { model, _, req in .slow(["[\(req.context.stepID)@\(model)]", " a", " b"], 100) }, clock: clock)
        let sent = Mutex<[RunCommand]>([])
        let handle = e.start(threeSteps(), observer: { event, control in
            let next: RunCommand?
            switch event.kind {
            case .stepStarted(let s) where s.step == "generation" && s.attempt == 1: next = .swap(step: "generation", to: "sim/smart")
            case .modelSwapped: next = .pause
            case .paused: next = .resume
            case .resumed: next = .retry(step: "generation")
            case .stepStarted(let s) where s.step == "validation": next = .cancel(reason: "enough")
            default: next = nil
            }
            guard let c = next else { return }
            let first = sent.withLock { s -> Bool in
                if s.contains(c) { return false }
                s.append(c)
                return true
            }
            guard first else { return }
            switch c {
            case .pause: control.pause()
            case .resume: control.resume()
            case .retry(let step, nil): control.retry(step: step)
            case .swap(let step, let model): control.swap(step: step, to: model)
            case .cancel(let reason): control.cancel(reason: reason)
            default: break
            }
        })
        var events: [RunEvent] = []
        for await ev in handle.events { events.append(ev) }
        let commands = sent.withLock { $0 }
        #expect(commands.count == 5, "\(commands) — \(types(events))")
        for c in commands {
            #expect(events.contains { CommandPolicy.confirms($0, c) }, "no event confirms \(c): \(types(events))")
        }
        #expect(events.last.map(CommandPolicy.ends) == true)
    }
}
