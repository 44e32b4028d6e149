import Foundation
import Synchronization
import Testing
@testable import YmeraCore

/// Waits for a run's end, at most `seconds` of real time; nil when it did not end (a hang).
func finished(_ handle: RunHandle, within seconds: Double) async -> RunState? {
    final class Box: Sendable { let state = Mutex<RunState?>(nil) }
    let box = Box()
    Task {
        let s = await handle.finalState()
        box.state.withLock { $0 = s }
    }
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if let s = box.state.withLock({ $0 }) { return s }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return box.state.withLock { $0 }
}

/// The step a pause is sent at, and the moment (its first attempt starts).
func pausesAt(_ event: RunEvent, _ step: String) -> Bool {
    if case .stepStarted(let s) = event.kind, s.step == step, s.attempt == 1 { return true }
    return false
}

@Suite("Control: pause and resume")
struct PauseResumeTests {
    /// Pause while `step` runs; once everything in flight has settled, resume with no other command.
    /// The run must reach its end (the hang of issue #14: resume woke the waiters before the state
    /// changed, so they went back to sleep and nothing woke them again).
    @Test(arguments: ["planning", "generation/1", "review"])
    func pauseThenResumeAloneFinishesTheRun(_ step: String) async throws {
        let clock = VirtualClock()
        let e = try engine(SimulatedProvider(clock: clock), clock: clock)
        let sent = Mutex(false)
        let handle = e.start(try plan(), observer: { event, control in
            if pausesAt(event, step), !sent.withLock({ s in defer { s = true }; return s }) { control.pause() }
        })
        let collector = Task { () -> [RunEvent] in
            var events: [RunEvent] = []
            for await ev in handle.events {
                events.append(ev)
                if case .paused = ev.kind {
                    // On the virtual clock, attempts in flight finish at once: let them settle, so the
                    // waiters sit at the pause gate when the resume comes.
                    Task {
                        try? await Task.sleep(for: .milliseconds(150))
                        handle.resume()
                    }
                }
            }
            return events
        }
        let final = await finished(handle, within: 20)
        #expect(final != nil, "paused at \(step), resumed: the run did not end within 20 s")
        guard let final else {
            handle.cancel()
            return
        }
        let events = await collector.value
        #expect(final.status == .succeeded, "\(final.status) \(final.endReason ?? "")")
        let names = types(events)
        let p = try #require(names.firstIndex(of: "paused"))
        let r = try #require(names.firstIndex(of: "resumed"))
        #expect(p < r)
        #expect(!names[p..<r].contains("step_started"), "no attempt starts while paused")
        #expect(RunState.replay(events).status == final.status)
    }

    @Test func pauseThenResumeOnTheSystemClockFinishesTheRun() async throws {
        let clock = SystemClock()
        let e = Engine(catalog: try testCatalog(), client: SimulatedProvider(clock: clock, timeScale: 0.02), validator: FixedValidator(), clock: clock)
        let sent = Mutex(false)
        let handle = e.start(try plan(), observer: { event, control in
            if pausesAt(event, "generation/1"), !sent.withLock({ s in defer { s = true }; return s }) {
                control.pause()
                Task {
                    try? await Task.sleep(for: .milliseconds(300))
                    control.resume()
                }
            }
        })
        Task { for await _ in handle.events {} }
        let final = await finished(handle, within: 30)
        #expect(final?.status == .succeeded)
        if final == nil { handle.cancel() }
    }

    @Test func cancelWhilePausedEndsTheRun() async throws {
        let clock = VirtualClock()
        let e = try engine(SimulatedProvider(clock: clock), clock: clock)
        let handle = e.start(try plan(), observer: { event, control in
            if pausesAt(event, "generation/1") { control.pause() }
            if case .paused = event.kind {
                Task {
                    try? await Task.sleep(for: .milliseconds(100))
                    control.cancel(reason: "stop")
                }
            }
        })
        Task { for await _ in handle.events {} }
        let final = await finished(handle, within: 20)
        #expect(final?.status == .cancelled)
        #expect(final?.endReason == "stop")
    }
}
