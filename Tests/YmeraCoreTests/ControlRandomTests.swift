import Foundation
import Synchronization
import Testing
@testable import YmeraCore

/// Randomized end-to-end control: runs on the simulated provider with 30 % faults, each with 1–8
/// random commands (pause, resume, retry, swap, cancel, breaker reset/open) at random moments.
/// Every run must end (succeeded, failed or cancelled) within a bound; its events, through JSON as
/// the journal stores them, fold to the same state as the live run; every accepted swap is followed
/// by an attempt on the new model or by an event saying why not; every refused command says why.
/// A failing schedule prints its seed: `CONTROL_SEED=<seed>` replays it alone.
/// A value shared between tasks.
final class Shared<T: Sendable>: Sendable {
    let m: Mutex<T>
    init(_ v: T) { m = Mutex(v) }
    func withLock<R>(_ body: (inout T) -> R) -> R { m.withLock { body(&$0) } }
}

@Suite("Control: random commands at random moments")
struct ControlRandomTests {
    static let models: [ModelID] = ["sim/fast", "sim/coder", "sim/smart", "sim/judge"]

    /// Three phases, generation split into the subtasks the planning phase lists; short answers.
    static func plan(seed: UInt64) -> RunPlan {
        manualPlan([
            PlanStep(id: "planning", phase: .planning, title: "p", model: "sim/smart", fallbacks: ["sim/coder"], maxTokens: 400),
            PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/coder", fallbacks: ["sim/smart"], dependsOn: ["planning"], decompose: true, maxTokens: 30),
            PlanStep(id: "review", phase: .review, title: "r", model: "sim/judge", fallbacks: ["sim/smart"], dependsOn: ["generation"], maxTokens: 30),
        ], task: restTask, seed: seed)
    }

    static func randomCommand(_ rng: inout SplitMix64) -> RunCommand {
        let phases = ["planning", "generation", "review", "generation/1", "generation/2"]
        let model = models[Int(rng.next() % UInt64(models.count))]
        let phase = phases[Int(rng.next() % UInt64(phases.count))]
        switch rng.next() % 100 {
        case 0..<22: return .pause
        case 22..<40: return .resume
        case 40..<55: return .retry(step: phase, on: rng.next() % 2 == 0 ? model : nil)
        case 55..<82: return .swap(step: phase, to: model)
        case 82..<88: return .cancel(reason: "random cancel")
        case 88..<94: return .resetBreaker(model)
        default: return .forceOpenBreaker(model, forMs: Int64(500 + rng.next() % 3_000))
        }
    }

    /// What one run did, for the totals and the checks.
    struct Outcome {
        var seed: UInt64
        var status: RunStatus
        var commands = 0
        var accepted = 0
        var faults = 0
        var elapsedMs = 0
        var realMs = 0
        var problems: [String] = []
    }

    /// The fold of the live run and the fold of its events through JSON must agree on what a person sees.
    static func sameView(_ a: RunState, _ b: RunState) -> String? {
        if a.status != b.status { return "status \(a.status) vs \(b.status)" }
        if a.lastSeq != b.lastSeq { return "last seq \(a.lastSeq) vs \(b.lastSeq)" }
        if a.cost != b.cost || a.usage != b.usage { return "cost or usage differ" }
        if a.steps.keys != b.steps.keys { return "steps \(Array(a.steps.keys)) vs \(Array(b.steps.keys))" }
        for (id, s) in a.steps {
            let t = b.steps[id]!
            if s.status != t.status || s.model != t.model || s.attempts != t.attempts || s.output != t.output {
                return "\(id): \(s.status)/\(s.model)/\(s.attempts) vs \(t.status)/\(t.model)/\(t.attempts)"
            }
        }
        return nil
    }

    /// Checks a finished run's events against the commands sent.
    static func check(_ events: [RunEvent], final: RunState, sent: [(afterSeq: Int, command: RunCommand, outcome: CommandOutcome)]) -> [String] {
        var problems: [String] = []
        guard let last = events.last, last.kind.isTerminal else { return ["the last event is not terminal"] }
        if !final.status.isTerminal { problems.append("ended \(final.status)") }
        for (i, e) in events.enumerated() where e.seq != i + 1 { problems.append("seq \(e.seq) at \(i)"); break }
        // Journal: every event through JSON, folded again.
        let encoder = JSONEncoder()
        let decoder = JSONDecoder()
        let journal = events.compactMap { e in (try? encoder.encode(e)).flatMap { try? decoder.decode(RunEvent.self, from: $0) } }
        if journal.count != events.count { problems.append("events do not survive JSON") }
        if let d = sameView(final, RunState.replay(journal)) { problems.append("journal fold differs from the live run: \(d)") }
        if final.anomalies > 0 { problems.append("\(final.anomalies) anomalies") }
        // No step both done and running: a done phase has nothing running under it at the end.
        for (id, s) in final.steps where s.status == .running || s.status == .retrying {
            problems.append("\(id) still \(s.status) after the end")
        }
        for (_, c, outcome) in sent {
            switch outcome {
            case .refused(let why):
                if why != "the run has ended" && !events.contains(where: {
                    if case .commandRefused(let r) = $0.kind { r.reason == why && r.command == c.name } else { false }
                }) {
                    problems.append("\(c) refused (\(why)) without a command_refused event")
                }
            case .accepted:
                guard case .swap(let step, let to) = c else { continue }
                // The swap's event, then an attempt on the new model or an event saying why not.
                guard let at = events.lastIndex(where: { if case .modelSwapped(let s) = $0.kind { s.step == step && s.to == to } else { false } }) else {
                    problems.append("swap \(step) → \(to) accepted without a model_swapped event")
                    continue
                }
                let after = events[(at + 1)...]
                let answered = after.contains { e in
                    switch e.kind {
                    case .stepStarted(let s): return RunMachine.phaseID(s.step) == step && s.model == to
                    // An attempt already on the new model (after a fallback) that finished.
                    case .stepDone(let d): return RunMachine.phaseID(d.step) == step && d.model == to
                    case .fallbackTaken(let f): return RunMachine.phaseID(f.step) == step && f.from == to
                    case .modelSwapped(let s): return s.step == step
                    case .stepReset(let r): return r.reset.contains(step)
                    case .stepFailed(let f): return f.step == step
                    case .stepSkipped(let f): return f.step == step
                    case .runCancelled, .runFailed: return true
                    default: return false
                    }
                }
                if !answered {
                    let tail = events[at...].prefix(40).map { e -> String in
                        if let st = e.kind.stepID { return "\(e.typeName)(\(st))" }
                        return e.typeName
                    }
                    problems.append("swap \(step) → \(to) accepted, then no attempt on \(to) and no event saying why: \(tail.joined(separator: " "))")
                }
            }
        }
        // A done phase never shows a model it did not run on.
        for (id, s) in final.steps where s.parent == nil && s.status == .done {
            let ran = events.contains { if case .stepStarted(let st) = $0.kind { RunMachine.phaseID(st.step) == id && st.model == s.model } else { false } }
            let kept = events.contains { if case .stepDone(let d) = $0.kind { d.step == id && d.model == s.model } else { false } }
            if !ran && !kept { problems.append("\(id) shows \(s.model), on which it never ran") }
        }
        return problems
    }

    /// One run on the virtual clock: commands go out from the observer at random event numbers; when
    /// the run sits paused with nothing moving, the next command (or a resume) goes out then.
    static func virtualRun(seed: UInt64) async throws -> Outcome {
        var rng = SplitMix64(seed: SplitMix64.derive(seed, "schedule"))
        let count = 1 + Int(rng.next() % 8)
        var schedule: [(Int, RunCommand)] = []
        for _ in 0..<count { schedule.append((2 + Int(rng.next() % 120), randomCommand(&rng))) }
        schedule.sort { $0.0 < $1.0 }
        let clock = VirtualClock()
        var config = EngineConfig()
        config.fallbackMode = rng.next() % 2 == 0 ? .continue : .restart
        let e = Engine(catalog: try testCatalog(), client: SimulatedProvider(clock: clock, faults: .init(rate: 0.3)), validator: FixedValidator(), clock: clock, config: config)
        let pending = Shared(schedule)
        let sent = Shared<[(afterSeq: Int, command: RunCommand, outcome: CommandOutcome)]>([])
        @Sendable func sendDue(_ control: RunControl, seq: Int, force: Bool) {
            let due = pending.withLock { p -> [RunCommand] in
                var out: [RunCommand] = []
                while let first = p.first, first.0 <= seq || (force && out.isEmpty) {
                    out.append(first.1)
                    p.removeFirst()
                }
                return out
            }
            for c in due {
                let outcome = control.send(c)
                sent.withLock { $0.append((seq, c, outcome)) }
            }
        }
        let started = ContinuousClock.now
        let handle = e.start(plan(seed: seed), observer: { event, control in sendDue(control, seq: event.seq, force: false) })
        let lastEvent = Shared(ContinuousClock.now)
        let collector = Task { () -> [RunEvent] in
            var events: [RunEvent] = []
            for await ev in handle.events {
                events.append(ev)
                lastEvent.withLock { $0 = ContinuousClock.now }
            }
            return events
        }
        // Paused and idle: the schedule goes on from here (or, when it is spent, a resume).
        let nudger = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(2))
                let idle = lastEvent.withLock { ContinuousClock.now - $0 } > .milliseconds(6)
                guard idle, handle.state.status == .paused else { continue }
                if pending.withLock({ $0.isEmpty }) {
                    let outcome = handle.send(.resume)
                    sent.withLock { $0.append((handle.state.lastSeq, .resume, outcome)) }
                } else {
                    sendDue(handle.control, seq: handle.state.lastSeq, force: true)
                }
                lastEvent.withLock { $0 = ContinuousClock.now }
            }
        }
        let final = await finished(handle, within: 20)
        nudger.cancel()
        var out = Outcome(seed: seed, status: final?.status ?? .running)
        out.realMs = Int((ContinuousClock.now - started).components.seconds * 1000 + (ContinuousClock.now - started).components.attoseconds / 1_000_000_000_000_000)
        guard let final else {
            let st = handle.state
            let tail = st.log.suffix(10).map(\.text).joined(separator: " | ")
            let cmds = sent.withLock { $0 }.map { "@\($0.afterSeq) \($0.command) → \($0.outcome)" }.joined(separator: ", ")
            handle.cancel(reason: "test bound")
            out.problems = ["did not end within 20 s (state \(st.status), \(st.lastSeq) events; sent: \(cmds); last: \(tail); steps: \(st.steps.values.map { "\($0.id)=\($0.status)" })"]
            return out
        }
        let events = await collector.value
        let commands = sent.withLock { $0 }
        out.commands = commands.count
        out.accepted = commands.filter { $0.outcome.isAccepted }.count
        out.faults = events.filter { $0.typeName == "attempt_failed" }.count
        out.elapsedMs = final.elapsedMs
        out.problems = check(events, final: final, sent: commands)
        if final.elapsedMs > 30 * 60_000 { out.problems.append("took \(final.elapsedMs) ms of run time") }
        return out
    }

    static func report(_ label: String, _ outcomes: [Outcome]) {
        let runs = outcomes.count
        let commands = outcomes.reduce(0) { $0 + $1.commands }
        let accepted = outcomes.reduce(0) { $0 + $1.accepted }
        let faults = outcomes.reduce(0) { $0 + $1.faults }
        let longest = outcomes.max { $0.elapsedMs < $1.elapsedMs }
        let longestReal = outcomes.map(\.realMs).max() ?? 0
        let by = Dictionary(grouping: outcomes, by: \.status).mapValues(\.count).sorted { $0.key.rawValue < $1.key.rawValue }
        print("control random (\(label)): \(runs) runs, \(commands) commands (\(accepted) applied, \(commands - accepted) refused), \(faults) faults, "
            + "longest run \(longest?.elapsedMs ?? 0) ms run time (seed \(longest?.seed ?? 0)), \(longestReal) ms real; "
            + by.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", "))
        for o in outcomes where !o.problems.isEmpty {
            Issue.record("seed \(o.seed): \(o.problems.joined(separator: "; ")) — replay with CONTROL_SEED=\(o.seed)")
        }
    }

    @Test func thousandRunsOnTheVirtualClock() async throws {
        let seeds: [UInt64] = ProcessInfo.processInfo.environment["CONTROL_SEED"].flatMap { UInt64($0) }.map { [$0] }
            ?? (1...UInt64(ProcessInfo.processInfo.environment["CONTROL_RUNS"].flatMap(Int.init) ?? 1000)).map { $0 }
        var outcomes: [Outcome] = []
        // A few runs at once: their clocks are separate, so each stays deterministic.
        for chunk in stride(from: 0, to: seeds.count, by: 8) {
            let part = Array(seeds[chunk..<min(seeds.count, chunk + 8)])
            try await withThrowingTaskGroup(of: Outcome.self) { group in
                for seed in part { group.addTask { try await Self.virtualRun(seed: seed) } }
                for try await o in group { outcomes.append(o) }
            }
        }
        Self.report("virtual clock", outcomes.sorted { $0.seed < $1.seed })
        #expect(outcomes.count == seeds.count)
        #expect(outcomes.allSatisfy { $0.commands >= 1 })
    }

    /// On real time: commands at random real moments, the simulated provider paced short.
    @Test func hundredRunsOnTheSystemClock() async throws {
        let total = ProcessInfo.processInfo.environment["CONTROL_SYSTEM_RUNS"].flatMap(Int.init) ?? 100
        var outcomes: [Outcome] = []
        for chunk in stride(from: 0, to: total, by: 10) {
            try await withThrowingTaskGroup(of: Outcome.self) { group in
                for i in chunk..<min(total, chunk + 10) {
                    group.addTask { try await Self.systemRun(seed: UInt64(10_000 + i)) }
                }
                for try await o in group { outcomes.append(o) }
            }
        }
        Self.report("system clock", outcomes.sorted { $0.seed < $1.seed })
        #expect(outcomes.count == total)
    }

    static func systemRun(seed: UInt64) async throws -> Outcome {
        var rng = SplitMix64(seed: SplitMix64.derive(seed, "schedule"))
        let count = 1 + Int(rng.next() % 8)
        var schedule: [(Int, RunCommand)] = []
        for _ in 0..<count { schedule.append((Int(rng.next() % 400), randomCommand(&rng))) }
        schedule.sort { $0.0 < $1.0 }
        let clock = SystemClock()
        var config = EngineConfig()
        config.maxBreakerWaitMs = 3_000
        config.retry.initialDelayMs = 5
        config.retry.maxDelayMs = 40
        let e = Engine(catalog: try testCatalog(), client: SimulatedProvider(clock: clock, faults: .init(rate: 0.3, retryAfterMs: 50), timeScale: 0.01),
                       validator: FixedValidator(), clock: clock, config: config)
        let started = ContinuousClock.now
        let handle = e.start(plan(seed: seed))
        let collector = Task { () -> [RunEvent] in
            var events: [RunEvent] = []
            for await ev in handle.events { events.append(ev) }
            return events
        }
        var sent: [(afterSeq: Int, command: RunCommand, outcome: CommandOutcome)] = []
        var waited = 0
        for (at, c) in schedule {
            if at > waited { try? await Task.sleep(for: .milliseconds(at - waited)) }
            waited = max(waited, at)
            sent.append((handle.state.lastSeq, c, handle.send(c)))
        }
        // A pause left at the end of the schedule is resumed, as a person would.
        for _ in 0..<200 where handle.state.isActive {
            if handle.state.status == .paused { sent.append((handle.state.lastSeq, .resume, handle.send(.resume))) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let final = await finished(handle, within: 30)
        var out = Outcome(seed: seed, status: final?.status ?? .running)
        let took = ContinuousClock.now - started
        out.realMs = Int(took.components.seconds * 1000 + took.components.attoseconds / 1_000_000_000_000_000)
        guard let final else {
            handle.cancel(reason: "test bound")
            out.problems = ["did not end within 30 s (state \(handle.state.status))"]
            return out
        }
        let events = await collector.value
        out.commands = sent.count
        out.accepted = sent.filter { $0.outcome.isAccepted }.count
        out.faults = events.filter { $0.typeName == "attempt_failed" }.count
        out.elapsedMs = final.elapsedMs
        out.problems = check(events, final: final, sent: sent)
        return out
    }
}
