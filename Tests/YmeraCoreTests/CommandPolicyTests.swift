import Foundation
import Synchronization
import Testing
@testable import YmeraCore

/// Commands from other processes are one more input: every command in every state is decided here,
/// and the events the engine emits for an applied command confirm it.
@Suite("Commands from other processes: decisions and confirmations")
struct CommandPolicyTests {
    func threeSteps() -> RunPlan {
        manualPlan([
            PlanStep(id: "planning", phase: .planning, title: "p", model: "sim/smart", fallbacks: ["sim/coder"]),
            PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/coder", fallbacks: ["sim/smart"], dependsOn: ["planning"]),
            PlanStep(id: "validation", phase: .validation, title: "v", model: "sim/judge", fallbacks: ["sim/smart"], dependsOn: ["generation"]),
        ])
    }

    /// The run's states: after its start (running, planning done), paused, and ended.
    func states() async throws -> (running: RunState, paused: RunState, ended: RunState) {
        let clock = VirtualClock()
        let e = try engine(SimulatedProvider(clock: clock), clock: clock)
        let (events, final) = await e.collect(threeSteps())
        let firstDone = try #require(events.firstIndex { $0.typeName == "step_done" })
        let running = RunState.replay(events.prefix(firstDone + 1))
        var paused = running
        paused.apply(RunEvent(runID: running.runID, seq: running.lastSeq + 1, elapsedMs: running.elapsedMs, kind: .paused(.init(inFlight: [], note: ""))))
        return (running, paused, final)
    }

    @Test func everyCommandInEveryState() async throws {
        let (running, paused, ended) = try await states()
        #expect(running.status == .running)
        #expect(paused.status == .paused)
        let catalog = try testCatalog()
        func decide(_ c: ControlCommand, _ s: RunState) -> CommandPolicy.Decision {
            CommandPolicy.decide(c, state: s, knownModel: { (try? catalog.model($0)) != nil })
        }
        func refused(_ d: CommandPolicy.Decision, _ words: String) -> Bool {
            if case .refuse(let r) = d { return r.contains(words) }
            return false
        }
        #expect(decide(.pause, running) == .apply)
        #expect(refused(decide(.pause, paused), "already paused"))
        #expect(refused(decide(.resume, running), "not paused"))
        #expect(decide(.resume, paused) == .apply)
        #expect(decide(.cancel(reason: "x"), running) == .apply)
        #expect(decide(.cancel(reason: "x"), paused) == .apply)
        #expect(decide(.retry(step: "planning"), running) == .apply)
        #expect(refused(decide(.retry(step: "deploy"), running), "no phase 'deploy'"))
        #expect(refused(decide(.retry(step: "deploy"), running), "planning, generation, validation"))
        #expect(decide(.swap(step: "generation", model: "sim/smart"), running) == .apply)
        #expect(refused(decide(.swap(step: "generation", model: "sim/coder"), running), "already runs on"))
        #expect(refused(decide(.swap(step: "planning", model: "sim/coder"), running), "is done"))
        #expect(refused(decide(.swap(step: "generation", model: "nope/model"), running), "unknown model"))
        for c in [ControlCommand.pause, .resume, .cancel(reason: "x"), .retry(step: "planning"), .swap(step: "generation", model: "sim/smart")] {
            #expect(refused(decide(c, ended), "has ended (succeeded)"), "\(c)")
        }
        #expect(decide(.breaker(model: "sim/coder", forceOpen: true), ended) == .apply)
        #expect(refused(decide(.breaker(model: "nope/x", forceOpen: false), running), "unknown model"))
    }

    /// Applied through the engine's controls, each command is confirmed by an event the engine emits.
    @Test func theEngineConfirmsAppliedCommands() async throws {
        let clock = VirtualClock()
        let e = try engine(ScriptedClient(clock: clock) { model, _, req in .slow(["[\(req.context.stepID)@\(model)]", " a", " b"], 100) }, clock: clock)
        let sent = Mutex<[ControlCommand]>([])
        let handle = e.start(threeSteps(), observer: { event, control in
            let next: ControlCommand?
            switch event.kind {
            case .stepStarted(let s) where s.step == "generation" && s.attempt == 1: next = .swap(step: "generation", model: "sim/smart")
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
            case .retry(let step): control.retry(step: step)
            case .swap(let step, let model): control.swap(step: step, to: model)
            case .cancel(let reason): control.cancel(reason: reason)
            case .breaker: break
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
