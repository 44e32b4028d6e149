import Testing
@testable import YmeraCore
@testable import YmeraTUI

/// Issue #16 in the dashboard: `g` gates a phase in plan review; at a gate the run view shows the
/// gate's actions, and a, e, i, o, d decide it (each a control the engine confirms).
@Suite("Dashboard: gates")
struct GateKeysTests {
    /// A run that finished planning and generation and waits at generation's gate.
    static func atGate() async -> AppState {
        let all = await Fixtures.events()
        let done = all.firstIndex { if case .stepDone(let d) = $0.kind { d.step == "generation" } else { false } }!
        var events = Array(all.prefix(done + 1))
        let out = RunState.replay(events).steps["generation"]!
        events.append(RunEvent(runID: "r-golden", seq: events.last!.seq + 1, elapsedMs: events.last!.elapsedMs, kind: .awaitingApproval(.init(
            step: "generation", phase: .generation, model: out.model, outputChars: out.output.count, score: 0.81))))
        return Fixtures.withRun(events, width: 120, height: 40)
    }

    @Test func theRunViewShowsTheGateAndItsKeys() async {
        let a = await Self.atGate()
        #expect(a.runs["r-golden"]?.state.status == .awaitingApproval)
        let screen = Dashboard.render(a, theme: Theme.standard(monochrome: true)).plainText()
        #expect(screen.contains("generation waits for your decision"))
        #expect(screen.contains("a approve · e edit · i instruct · o re-route · d reject"))
    }

    @Test func eachKeyDecidesTheGate() async {
        var a = await Self.atGate()
        #expect(a.reduce(.key(.char("a"))) == [.control(runID: "r-golden", .approve(edited: nil))])
        #expect(a.message == "approving…")

        a = await Self.atGate()
        let fx = a.reduce(.key(.char("e")))
        guard case .editOutput(let id, let step, let text)? = fx.first else { Issue.record("e asks for the editor: \(fx)"); return }
        #expect(id == "r-golden" && step == "generation")
        #expect(text == a.runs["r-golden"]!.state.steps["generation"]!.output)
        #expect(a.reduce(.outputEdited(runID: "r-golden", text: "mine", error: nil)) == [.control(runID: "r-golden", .approve(edited: "mine"))])
        a = await Self.atGate()
        #expect(a.reduce(.outputEdited(runID: "r-golden", text: nil, error: nil)).isEmpty, "an unchanged file sends nothing")

        a = await Self.atGate()
        _ = a.reduce(.key(.char("i")))
        #expect(a.prompt?.kind == .instruct("r-golden"))
        for ch in "add tests" { _ = a.reduce(.key(.char(ch))) }
        #expect(a.reduce(.key(.enter)) == [.control(runID: "r-golden", .gateRerun(note: "add tests", model: nil))])

        a = await Self.atGate()
        _ = a.reduce(.key(.char("o")))
        #expect(a.picker?.purpose == .reroute(runID: "r-golden", step: "generation"))
        for ch in "70b" { _ = a.reduce(.key(.char(ch))) }
        #expect(a.reduce(.key(.enter)) == [.control(runID: "r-golden", .gateRerun(note: nil, model: "sim/llama-3.3-70b"))])

        a = await Self.atGate()
        _ = a.reduce(.key(.char("d")))
        #expect(a.prompt?.kind == .reject("r-golden"))
        for ch in "no" { _ = a.reduce(.key(.char(ch))) }
        #expect(a.reduce(.key(.enter)) == [.control(runID: "r-golden", .reject(reason: "no"))])
    }

    @Test func withoutAGateTheKeysSaySo() async {
        var a = Fixtures.withRun(await Fixtures.midRunEvents(), width: 80, height: 24)
        #expect(a.reduce(.key(.char("a"))).isEmpty)
        #expect(a.message == "the run is not waiting at a gate")
        #expect(a.messageIsError)
    }

    @Test func gInPlanReviewTogglesAPhasesGate() {
        var a = Fixtures.app(width: 120, height: 40)
        let plan = Fixtures.plan()
        a.draft = Draft(request: PlanRequest(task: Fixtures.task), plan: plan)
        a.screen = .plan
        let i = plan.steps.firstIndex { $0.id == "review" }!
        a.draft!.selectedStep = i
        _ = a.reduce(.key(.char("g")))
        #expect(a.draft?.plan?.gates?.phases == ["review"])
        #expect(Dashboard.render(a, theme: Theme.standard(monochrome: true)).plainText().contains("⏸ review"))
        // A new plan (another strategy) keeps the choice.
        _ = a.reduce(.planned(plan, request: a.draft!.request))
        #expect(a.draft?.plan?.gates?.phases == ["review"])
        _ = a.reduce(.key(.char("g")))
        #expect(a.draft?.plan?.gates == nil)
        #expect(Keymap.command(for: .char("g"), in: [.plan, .global]) == .toggleGate)
        #expect(Keymap.command(for: .char("g"), in: [.run, .global]) == .top, "g keeps its meaning elsewhere")
    }
}
