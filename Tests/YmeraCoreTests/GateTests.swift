import Foundation
import Synchronization
import Testing
@testable import YmeraCore

/// A workspace that records what was applied to it (who wrote it, what text).
final class RecordingWorkspace: RunWorkspace {
    let applied = Mutex<[(FileAuthor, String)]>([])
    func apply(_ output: String, runID: String, author: FileAuthor) throws -> WorkspaceChange {
        let n = applied.withLock { a -> Int in
            a.append((author, output))
            return a.filter { $0.1.contains("# file:") }.count
        }
        guard output.contains("# file: add.py") else { return WorkspaceChange() }
        return WorkspaceChange(written: [WrittenFile(path: "add.py", version: n, bytes: output.utf8.count, sha256: "x")])
    }
    func files(runID: String) throws -> [WorkspaceFile] { [] }
}

/// Gates between phases: the run waits after a gated phase until a person approves (as it is or
/// edited), reruns it (with a note, or on another model) or rejects it; a time limit has a stated
/// outcome. All on the virtual clock with a scripted client, so each test sees exactly which
/// requests were made.
@Suite("Gates: a person decides between phases")
struct GateTests {
    static func threePhases(gates: GatePolicy?) -> RunPlan {
        var p = manualPlan([
            PlanStep(id: "planning", phase: .planning, title: "p", model: "sim/smart", fallbacks: ["sim/coder"]),
            PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/coder", fallbacks: ["sim/smart"], dependsOn: ["planning"]),
            PlanStep(id: "validation", phase: .validation, title: "v", model: "sim/judge", fallbacks: ["sim/smart"], dependsOn: ["generation"]),
        ])
        p.gates = gates
        return p
    }

    /// Every request: the model, the step and the user message (the prompt the step sent).
    final class Prompts: Sendable {
        let list = Mutex<[(model: ModelID, step: String, prompt: String)]>([])
        func add(_ m: ModelID, _ r: ModelRequest) {
            list.withLock { $0.append((m, r.context.stepID, r.messages.last { $0.role == .user }?.content ?? "")) }
        }
        var all: [(model: ModelID, step: String, prompt: String)] { list.withLock { $0 } }
        func of(_ step: String) -> [(model: ModelID, step: String, prompt: String)] { all.filter { $0.step == step } }
    }

    static func client(_ clock: VirtualClock, _ prompts: Prompts) -> ScriptedClient {
        ScriptedClient(clock: clock) { model, n, req in
            prompts.add(model, req)
            let step = req.context.stepID
            if step == "generation" { return .ok("```python\n# file: add.py\ndef add(a, b):\n    return a + b  # \(model) \(n)\n```\n") }
            return .ok("[\(step) by \(model)] fine")
        }
    }

    /// Starts a run and reads its events until the first `awaiting_approval` (bounded).
    static func untilGate(_ handle: RunHandle, _ it: inout AsyncStream<RunEvent>.Iterator, into events: inout [RunEvent]) async -> RunEvent.AwaitingApproval? {
        while let e = await it.next() {
            events.append(e)
            if case .awaitingApproval(let a) = e.kind { return a }
            if e.kind.isTerminal { return nil }
        }
        return nil
    }

    static func rest(_ it: inout AsyncStream<RunEvent>.Iterator, into events: inout [RunEvent]) async {
        while let e = await it.next() { events.append(e) }
    }

    @Test func theRunWaitsAtTheGateAndApprovalFinishesIt() async throws {
        let clock = VirtualClock()
        let prompts = Prompts()
        let e = try engine(Self.client(clock, prompts), clock: clock)
        let handle = e.start(Self.threePhases(gates: GatePolicy(phases: ["generation"])))
        var it = handle.events.makeAsyncIterator()
        var events: [RunEvent] = []
        let gate = try #require(await Self.untilGate(handle, &it, into: &events))
        #expect(gate.step == "generation" && gate.phase == .generation && gate.model == "sim/coder")
        #expect(gate.outputChars == handle.state.steps["generation"]?.output.count)
        #expect(gate.score == 0.9)
        // It waits: real time passes, nothing moves, validation is not asked.
        try await Task.sleep(for: .milliseconds(100))
        #expect(handle.state.status == .awaitingApproval)
        #expect(handle.state.gates.map(\.step) == ["generation"])
        #expect(handle.state.isActive)
        #expect(prompts.of("validation").isEmpty)
        #expect(handle.state.lastSeq == events.last?.seq)

        #expect(handle.send(.approve()) == .accepted)
        await Self.rest(&it, into: &events)
        let final = await handle.finalState()
        #expect(final.status == .succeeded)
        #expect(final.gates.isEmpty)
        #expect(prompts.all.map(\.step) == ["planning", "generation", "validation"])
        let approved = events.firstIndex { if case .gateApproved(let g) = $0.kind { g.step == "generation" && g.by == "you" && g.editedOutput == nil } else { false } }
        let validation = events.firstIndex { if case .stepStarted(let s) = $0.kind { s.step == "validation" } else { false } }
        #expect(approved != nil && validation != nil && approved! < validation!)
        // A second approve has nothing to decide.
        #expect(handle.send(.approve()) != .accepted)
    }

    @Test func anEditIsTheKeptOutputWrittenByYouAndTheNextPhaseReadsIt() async throws {
        let clock = VirtualClock()
        let prompts = Prompts()
        let workspace = RecordingWorkspace()
        let e = Engine(catalog: try testCatalog(), client: Self.client(clock, prompts), validator: FixedValidator(), clock: clock, workspace: workspace)
        let handle = e.start(Self.threePhases(gates: GatePolicy(phases: ["generation"])))
        var it = handle.events.makeAsyncIterator()
        var events: [RunEvent] = []
        _ = try #require(await Self.untilGate(handle, &it, into: &events))
        let edited = "```python\n# file: add.py\ndef add(a: int, b: int) -> int:\n    return a + b  # EDITED BY HAND\n```\n"
        #expect(handle.send(.approve(edited: "  \n")) != .accepted, "an empty edit is refused")
        #expect(handle.send(.approve(edited: edited)) == .accepted)
        await Self.rest(&it, into: &events)
        let final = await handle.finalState()
        #expect(final.status == .succeeded)
        #expect(final.steps["generation"]?.output == edited)
        #expect(final.steps["generation"]?.editedBy == "you")
        #expect(final.summary.phases.first { $0.name == "generation" }?.editedBy == "you")
        #expect(prompts.of("validation").first?.prompt.contains("EDITED BY HAND") == true)
        let authors = workspace.applied.withLock { $0.map { ($0.0.model, $0.1.contains("EDITED BY HAND")) } }
        #expect(authors.last?.0 == "you" && authors.last?.1 == true, "\(authors)")
        #expect(events.contains { if case .filesWritten(let f) = $0.kind { f.model == "you" && f.files.first?.path == "add.py" } else { false } })
        // The journal's record of the edit folds to the same output.
        #expect(RunState.replay(events).steps["generation"]?.output == edited)
    }

    @Test func anInstructionRunsThePhaseAgainWithTheNoteInItsPrompt() async throws {
        let clock = VirtualClock()
        let prompts = Prompts()
        let e = try engine(Self.client(clock, prompts), clock: clock)
        let handle = e.start(Self.threePhases(gates: GatePolicy(phases: ["generation"])))
        var it = handle.events.makeAsyncIterator()
        var events: [RunEvent] = []
        _ = try #require(await Self.untilGate(handle, &it, into: &events))
        #expect(handle.send(.rerun(note: "use type hints everywhere")) == .accepted)
        let again = try #require(await Self.untilGate(handle, &it, into: &events), "the phase stops at its gate again")
        #expect(again.step == "generation")
        let gens = prompts.of("generation")
        #expect(gens.count == 2)
        #expect(!gens[0].prompt.contains("use type hints everywhere"))
        #expect(gens[1].prompt.contains("use type hints everywhere"))
        #expect(handle.state.steps["generation"]?.notes == ["use type hints everywhere"])
        #expect(handle.send(.approve()) == .accepted)
        await Self.rest(&it, into: &events)
        #expect(await handle.finalState().status == .succeeded)
        #expect(prompts.all.map(\.step) == ["planning", "generation", "generation", "validation"])
    }

    @Test func aRerouteRunsThePhaseOnThatModel() async throws {
        let clock = VirtualClock()
        let prompts = Prompts()
        let e = try engine(Self.client(clock, prompts), clock: clock)
        let handle = e.start(Self.threePhases(gates: GatePolicy(phases: ["generation"])))
        var it = handle.events.makeAsyncIterator()
        var events: [RunEvent] = []
        _ = try #require(await Self.untilGate(handle, &it, into: &events))
        #expect(handle.send(.rerun(model: "sim/nope")) != .accepted, "an unknown model is refused")
        #expect(handle.send(.rerun(model: "sim/smart")) == .accepted)
        let again = try #require(await Self.untilGate(handle, &it, into: &events))
        #expect(again.model == "sim/smart")
        #expect(prompts.of("generation").map(\.model) == ["sim/coder", "sim/smart"])
        #expect(handle.send(.approve()) == .accepted)
        await Self.rest(&it, into: &events)
        let final = await handle.finalState()
        #expect(final.status == .succeeded)
        #expect(final.steps["generation"]?.model == "sim/smart")
    }

    @Test func aRejectionCancelsTheRunWithTheReason() async throws {
        let clock = VirtualClock()
        let prompts = Prompts()
        let e = try engine(Self.client(clock, prompts), clock: clock)
        let handle = e.start(Self.threePhases(gates: GatePolicy(phases: ["generation"])))
        var it = handle.events.makeAsyncIterator()
        var events: [RunEvent] = []
        _ = try #require(await Self.untilGate(handle, &it, into: &events))
        #expect(handle.send(.reject(reason: "wrong approach")) == .accepted)
        await Self.rest(&it, into: &events)
        let final = await handle.finalState()
        #expect(final.status == .cancelled)
        #expect(final.endReason?.contains("wrong approach") == true)
        #expect(final.endReason?.contains("generation") == true)
        #expect(prompts.of("validation").isEmpty)
        #expect(final.steps["generation"]?.status == .done, "what it produced stays in the record")
    }

    @Test(arguments: [GatePolicy.TimeoutAction.approve, .fail])
    func aTimeLimitEndsInTheStatedOutcome(_ action: GatePolicy.TimeoutAction) async throws {
        let clock = VirtualClock()
        let prompts = Prompts()
        let e = try engine(Self.client(clock, prompts), clock: clock)
        let (events, final) = await e.collect(Self.threePhases(gates: GatePolicy(phases: ["generation"], timeoutMs: 1_800_000, onTimeout: action)))
        let opened = try #require(events.first { $0.typeName == "awaiting_approval" })
        if case .awaitingApproval(let a) = opened.kind {
            #expect(a.timeoutMs == 1_800_000 && a.onTimeout == action)
        }
        switch action {
        case .approve:
            #expect(final.status == .succeeded)
            let approved = try #require(events.first { $0.typeName == "gate_approved" })
            if case .gateApproved(let g) = approved.kind { #expect(g.by == "timeout") }
            #expect(approved.elapsedMs - opened.elapsedMs == 1_800_000, "on the run clock")
            #expect(prompts.of("validation").count == 1)
        case .fail:
            #expect(final.status == .failed)
            #expect(final.endReason == "no decision at the gate of generation within 30m")
            #expect(events.last!.elapsedMs - opened.elapsedMs == 1_800_000)
            #expect(prompts.of("validation").isEmpty)
        }
    }

    @Test func aDecisionBeforeTheTimeLimitStopsItsTimer() async throws {
        let clock = VirtualClock()
        let prompts = Prompts()
        let e = try engine(Self.client(clock, prompts), clock: clock)
        let (events, final) = await e.collect(Self.threePhases(gates: GatePolicy(phases: ["generation"], timeoutMs: 60_000, onTimeout: .fail))) { event, control in
            if case .awaitingApproval = event.kind { control.send(.approve()) }
        }
        #expect(final.status == .succeeded)
        #expect(!events.contains { if case .gateApproved(let g) = $0.kind { g.by == "timeout" } else { false } })
        #expect(final.elapsedMs < 60_000, "the timer did not hold the run: \(final.elapsedMs) ms")
    }

    @Test func aResumedRunComesBackToItsGateWithoutCallingAnyModel() async throws {
        let clock = VirtualClock()
        let prompts = Prompts()
        let gates = GatePolicy(phases: ["generation"])
        let e = try engine(Self.client(clock, prompts), clock: clock)
        let handle = e.start(Self.threePhases(gates: gates))
        var it = handle.events.makeAsyncIterator()
        var events: [RunEvent] = []
        _ = try #require(await Self.untilGate(handle, &it, into: &events))
        // The process dies here: only the journal (these events) is left.
        let journal = events
        handle.cancel(reason: "test teardown")
        await Self.rest(&it, into: &events)
        let before = prompts.all.count

        var prior = RunState.replay(journal)
        prior.markInterruptedIfOpen()
        #expect(prior.status == .interrupted)
        #expect(prior.gates.map(\.step) == ["generation"])
        let clock2 = VirtualClock()
        let e2 = try engine(Self.client(clock2, prompts), clock: clock2)
        let resumed = e2.start(prior.plan!, resume: ResumePoint(prior: prior))
        var it2 = resumed.events.makeAsyncIterator()
        var events2: [RunEvent] = []
        let gate = try #require(await Self.untilGate(resumed, &it2, into: &events2))
        #expect(gate.step == "generation")
        #expect(types(events2) == ["run_resumed", "awaiting_approval"])
        #expect(prompts.all.count == before, "no provider was called to come back to the gate")
        #expect(resumed.state.status == .awaitingApproval)
        #expect(resumed.send(.approve()) == .accepted)
        await Self.rest(&it2, into: &events2)
        #expect(await resumed.finalState().status == .succeeded)
        #expect(prompts.all.count == before + 1)
        #expect(prompts.all.last?.step == "validation")
    }

    @Test func commandsThatCannotApplyAtAGateSayWhy() async throws {
        let clock = VirtualClock()
        let prompts = Prompts()
        let e = try engine(Self.client(clock, prompts), clock: clock)
        let handle = e.start(Self.threePhases(gates: GatePolicy(phases: ["generation"])))
        var it = handle.events.makeAsyncIterator()
        var events: [RunEvent] = []
        _ = try #require(await Self.untilGate(handle, &it, into: &events))
        guard case .refused(let why) = handle.send(.retry(step: "generation")) else { Issue.record("retry at the gate applied"); return }
        #expect(why.contains("rerun"))
        guard case .refused = handle.send(.swap(step: "generation", to: "sim/smart")) else { Issue.record("swap at the gate applied"); return }
        // A pause at a gate composes with it: resume leaves the run at the gate.
        #expect(handle.send(.pause) == .accepted)
        #expect(handle.state.status == .paused)
        #expect(handle.send(.resume) == .accepted)
        #expect(handle.state.status == .awaitingApproval)
        // A retry of an earlier phase lifts the gate: planning and generation run again.
        #expect(handle.send(.retry(step: "planning")) == .accepted)
        let again = try #require(await Self.untilGate(handle, &it, into: &events))
        #expect(again.step == "generation")
        #expect(prompts.all.map(\.step) == ["planning", "generation", "planning", "generation"])
        #expect(handle.send(.approve()) == .accepted)
        await Self.rest(&it, into: &events)
        #expect(await handle.finalState().status == .succeeded)
        // With no gate waiting, gate commands are refused with a reason (in a `command_refused` event).
        let (more, _) = await e.collect(Self.threePhases(gates: nil)) { event, control in
            if case .stepStarted(let s) = event.kind, s.step == "planning" { control.send(.rerun(note: "n")) }
        }
        #expect(more.contains { if case .commandRefused(let r) = $0.kind { r.command == "rerun" && r.reason.contains("not waiting at a gate") } else { false } })
    }
}

/// Random gate decisions mixed with pause, resume and cancel at random moments, on every gated
/// phase of a planned run on the simulated provider: every run ends, and its events — through JSON
/// as the journal keeps them — fold to what the live run showed. `GATE_SEED=<seed>` replays one.
@Suite("Gates: random decisions at random moments")
struct GateRandomTests {
    struct Decider: Sendable {
        var rng: SplitMix64
        var reruns = 0
        var randomCommands = 0
    }

    static func oneRun(seed: UInt64) async throws -> [String] {
        var rng = SplitMix64(seed: SplitMix64.derive(seed, "gates"))
        let phases = Phase.allCases.map(\.rawValue).filter { _ in rng.next() % 2 == 0 }
        let timeout: Int64? = rng.next() % 4 == 0 ? Int64(1_000 + rng.next() % 60_000) : nil
        let action: GatePolicy.TimeoutAction = rng.next() % 2 == 0 ? .approve : .fail
        var p = try plan(restTask, strategy: [Strategy.single, .multiModel, .cascade][Int(rng.next() % 3)], seed: seed)
        p.gates = GatePolicy(phases: phases.isEmpty ? ["generation"] : phases, timeoutMs: timeout, onTimeout: action)
        let clock = VirtualClock()
        let e = Engine(
            catalog: try testCatalog(), client: SimulatedProvider(clock: clock, faults: .init(rate: 0.15)), validator: FixedValidator(), clock: clock)
        let decider = Shared(Decider(rng: SplitMix64(seed: SplitMix64.derive(seed, "decide"))))
        let models: [ModelID] = ["sim/fast", "sim/coder", "sim/smart", "sim/judge"]
        let handle = e.start(p, observer: { event, control in
            // A gate is always decided (at once, or after a pause), and a pause is always lifted.
            let commands = decider.withLock { d -> [RunCommand] in
                var out: [RunCommand] = []
                let r = d.rng.next() % 100
                switch event.kind {
                case .awaitingApproval:
                    if r < 15 { out.append(.pause) }
                    let pick = d.rng.next() % 100
                    if pick < 45 || d.reruns >= 2 {
                        out.append(.approve(edited: pick % 3 == 0 ? "edited by a person (\(pick))" : nil))
                    } else if pick < 80 {
                        d.reruns += 1
                        out.append(.rerun(note: pick % 2 == 0 ? "note \(pick)" : nil, model: pick % 3 == 0 ? models[Int(pick) % models.count] : nil))
                    } else if pick < 90 {
                        out.append(.reject(reason: "random reject"))
                    } else {
                        out.append(.approve())
                    }
                    if r < 15 { out.append(.resume) }
                case .paused:
                    out.append(.resume)
                default:
                    guard d.randomCommands < 12, r < 8 else { break }
                    d.randomCommands += 1
                    let c = d.rng.next() % 100
                    out.append(c < 35 ? .pause : c < 60 ? .resume : c < 70 ? .cancel(reason: "random cancel") : c < 85 ? .approve() : .rerun(note: "x"))
                }
                return out
            }
            for c in commands { control.send(c) }
        })
        var events: [RunEvent] = []
        let collector = Task { () -> [RunEvent] in
            var out: [RunEvent] = []
            for await e in handle.events { out.append(e) }
            return out
        }
        guard let final = await finished(handle, within: 20) else {
            handle.cancel(reason: "test bound")
            return ["seed \(seed): the run did not end within 20 s (status \(handle.state.status), gates \(handle.state.gates.map(\.step)))"]
        }
        events = await collector.value
        var problems: [String] = []
        let terminals = events.filter { $0.kind.isTerminal }
        if terminals.count != 1 || events.last?.kind.isTerminal != true { problems.append("seed \(seed): \(terminals.count) terminal events; last \(events.last?.typeName ?? "none")") }
        if events.map(\.seq) != Array(1...max(1, events.count)) { problems.append("seed \(seed): seqs are not 1…\(events.count)") }
        if !final.gates.isEmpty { problems.append("seed \(seed): gates left open at the end: \(final.gates.map(\.step))") }
        // Through JSON, as the journal stores events.
        let data = try events.map { try JSONEncoder().encode($0) }
        let decoded = try data.map { try JSONDecoder().decode(RunEvent.self, from: $0) }
        let folded = RunState.replay(decoded)
        if let diff = ControlRandomTests.sameView(final, folded) { problems.append("seed \(seed): journal and live run differ: \(diff)") }
        for (id, s) in final.steps where s.parent == nil && s.editedBy != nil && folded.steps[id]?.output != s.output {
            problems.append("seed \(seed): \(id)'s edit is not what the journal keeps")
        }
        // A succeeded run passed every gate its phases opened: each last opening was approved.
        if final.status == .succeeded {
            for step in p.steps where p.gates!.gates(step) {
                guard let last = events.lastIndex(where: { if case .awaitingApproval(let a) = $0.kind { a.step == step.id } else { false } }) else {
                    problems.append("seed \(seed): \(step.id) is gated but never waited")
                    continue
                }
                let passed = events[last...].contains { if case .gateApproved(let g) = $0.kind { g.step == step.id } else { false } }
                if !passed { problems.append("seed \(seed): \(step.id)'s gate was never approved") }
            }
        }
        return problems
    }

    @Test func everyRunEndsAndItsJournalAgrees() async throws {
        let base: UInt64 = ProcessInfo.processInfo.environment["GATE_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...1_000_000)
        let count = ProcessInfo.processInfo.environment["GATE_SEED"] != nil ? 1 : 40
        print("gate random test: seeds \(base)…\(base + UInt64(count) - 1) (GATE_SEED=<seed> replays one)")
        var problems: [String] = []
        for i in 0..<UInt64(count) {
            problems += try await Self.oneRun(seed: base + i)
        }
        #expect(problems.isEmpty, "\(problems.prefix(10).joined(separator: "\n"))")
    }
}
