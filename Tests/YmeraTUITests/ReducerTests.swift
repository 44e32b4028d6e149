import Foundation
import Testing
import YmeraCore
@testable import YmeraTUI

@Suite struct ReducerTests {
    func type(_ s: String, into a: inout AppState) {
        for c in s { _ = a.reduce(.key(.char(c))) }
    }

    @Test func newTaskSubmitPlansAndStartRuns() async {
        var a = Fixtures.app(width: 80, height: 24)
        _ = a.reduce(.key(.char("n")))
        #expect(a.screen == .editor)
        // In the editor, q and n are text, not commands.
        type("Write q", into: &a)
        _ = a.reduce(.key(.enter))
        type("n tests", into: &a)
        #expect(a.editor.text == "Write q\nn tests")
        let fx = a.reduce(.key(.ctrl("s")))
        #expect(fx.contains(.plan(PlanRequest(task: "Write q\nn tests"))))
        #expect(a.screen == .plan)
        let plan = ScriptedBackend.makePlan(PlanRequest(task: "Write q\nn tests"), runID: "r-1")
        _ = a.reduce(.planned(plan, request: PlanRequest(task: "Write q\nn tests")))
        // Strategy changes re-plan with the override.
        let fx2 = a.reduce(.key(.char("s")))
        guard case .plan(let req) = fx2.first else { Issue.record("expected a plan effect"); return }
        #expect(req.strategy != nil && req.strategy != plan.strategy)
        // A late reply to the first request is ignored: only the current request's plan shows.
        _ = a.reduce(.planned(ScriptedBackend.makePlan(req, runID: "r-1"), request: req))
        _ = a.reduce(.planned(plan, request: PlanRequest(task: "Write q\nn tests")))
        #expect(a.draft?.plan?.strategy == req.strategy)
        // Budget through the prompt.
        _ = a.reduce(.key(.char("$")))
        #expect(a.prompt?.kind == .budget)
        for _ in 0..<10 { _ = a.reduce(.key(.backspace)) }
        type("0.25", into: &a)
        let fx3 = a.reduce(.key(.enter))
        guard case .plan(let req2) = fx3.first else { Issue.record("expected a plan effect"); return }
        #expect(req2.budget?.maxCost == Money(dollars: 0.25))
        let final = ScriptedBackend.makePlan(req2, runID: "r-1")
        #expect(a.reduce(.key(.enter)).isEmpty)  // still planning: Enter does not start a stale plan
        _ = a.reduce(.planned(final, request: req2))
        #expect(a.reduce(.key(.enter)) == [.start(final)])
        _ = a.reduce(.started(final, runID: "r-1"))
        #expect(a.screen == .run("r-1"))
        #expect(a.activeRuns == ["r-1"])
    }

    @Test func changingAPhaseModelInThePlanGoesThroughThePicker() {
        var a = Fixtures.app(width: 100, height: 30)
        a.draft = Draft(request: PlanRequest(task: "build an api"), plan: ScriptedBackend.makePlan(PlanRequest(task: "build an api", strategy: .multiModel), runID: "r-1"))
        a.screen = .plan
        _ = a.reduce(.key(.char("j")))
        _ = a.reduce(.key(.char("j")))
        _ = a.reduce(.key(.char("m")))
        #expect(a.picker?.purpose == .draft(step: "generation"))
        type("deepseek", into: &a)
        #expect(a.pickerRows(a.picker!).map(\.id) == ["sim/deepseek-r1"])
        let fx = a.reduce(.key(.enter))
        #expect(fx == [.plan(PlanRequest(task: "build an api", models: ["generation": "sim/deepseek-r1"]))])
        #expect(a.picker == nil)
    }

    @Test func unavailableModelsCannotBeChosen() {
        var a = Fixtures.withRun([], width: 80, height: 24)
        a.picker = Picker(purpose: .swap(runID: "x", step: "planning"))
        type("groq", into: &a)
        #expect(a.reduce(.key(.enter)).isEmpty)
        #expect(a.messageIsError)
    }

    @Test func liveRunControlsBecomeEffects() async {
        let evs = await Fixtures.midRunEvents()
        var a = Fixtures.withRun(evs, width: 80, height: 24, select: "generation/1")
        #expect(a.reduce(.key(.char("p"))) == [.control(runID: "r-golden", .pause)])
        // Retry on a subtask retries its phase.
        #expect(a.reduce(.key(.char("r"))) == [.control(runID: "r-golden", .retry(step: "generation"))])
        _ = a.reduce(.key(.char("m")))
        #expect(a.picker?.purpose == .swap(runID: "r-golden", step: "generation"))
        type("qwen", into: &a)
        #expect(a.reduce(.key(.enter)).isEmpty)  // the model it already uses: no swap
        #expect(a.message?.contains("already") == true)
        _ = a.reduce(.key(.char("m")))
        type("70b", into: &a)
        #expect(a.reduce(.key(.enter)) == [.control(runID: "r-golden", .swapModel(step: "generation", to: "sim/llama-3.3-70b"))])
        // Cancel asks first.
        #expect(a.reduce(.key(.char("x"))).isEmpty)
        #expect(a.reduce(.key(.char("y"))) == [.control(runID: "r-golden", .cancel)])
        // Breaker of the selected step's model.
        _ = a.reduce(.key(.char("b")))
        guard case .breaker(let m) = a.prompt?.kind else { Issue.record("expected breaker prompt"); return }
        #expect(a.reduce(.key(.char("r"))) == [.breaker(m, .reset)])
    }

    @Test func pausedRunResumesWithTheSameKey() async {
        var evs = await Fixtures.midRunEvents()
        evs.append(RunEvent(runID: "r-golden", seq: evs.count + 1, elapsedMs: evs.last!.elapsedMs, kind: .paused(.init(inFlight: [], note: ""))))
        var a = Fixtures.withRun(evs, width: 80, height: 24)
        #expect(a.reduce(.key(.char("p"))) == [.control(runID: "r-golden", .resume)])
    }

    @Test func quitAsksOnlyWhenRunsAreActive() async {
        var idle = Fixtures.app(width: 80, height: 24)
        #expect(idle.reduce(.key(.char("q"))) == [.quit])
        var busy = Fixtures.withRun(await Fixtures.midRunEvents(), width: 80, height: 24)
        #expect(busy.reduce(.key(.char("q"))).isEmpty)
        #expect(busy.prompt?.kind == .quitConfirm)
        #expect(busy.reduce(.key(.char("n"))).isEmpty)
        #expect(busy.prompt == nil)
        _ = busy.reduce(.key(.char("q")))
        #expect(busy.reduce(.key(.char("y"))) == [.control(runID: "r-golden", .cancel), .quit])
    }

    @Test func eventsFoldThroughRunStateAndAskForModelsOnBreakerChanges() async {
        let evs = await Fixtures.events()
        var a = Fixtures.app(width: 80, height: 24)
        let fx = a.reduce(.events(evs, nowMs: 5))
        #expect(fx == [.loadModels])
        let st = a.runs["r-golden"]!.state
        #expect(st.status == .succeeded)
        #expect(st.steps["generation/1"]!.splices.count == 1)
        #expect(st.fallbacks == 1 && st.breakerTrips == 1)
        #expect(a.isAnimating == false)
    }

    @Test func replayRefoldsAPrefixOfThePastRunsEvents() async {
        let evs = await Fixtures.events()
        var a = Fixtures.app(width: 80, height: 24)
        _ = a.reduce(.runLoaded("r-golden", evs))
        #expect(a.screen == .run("r-golden"))
        #expect(a.contexts.first == .replay)
        #expect(a.runs["r-golden"]!.state.status == .succeeded)
        _ = a.reduce(.key(.char("0")))
        #expect(a.runs["r-golden"]!.replay!.cursor == 0)
        #expect(a.runs["r-golden"]!.state.steps.isEmpty)
        _ = a.reduce(.key(.char("]")))
        #expect(a.runs["r-golden"]!.state.plan != nil)
        _ = a.reduce(.key(.char("}")))
        let c = a.runs["r-golden"]!.replay!.cursor
        #expect(c == 1 + evs.count / 10)
        let expected = RunState.replay(evs.prefix(c))
        #expect(a.runs["r-golden"]!.state.lastSeq == expected.lastSeq)
        #expect(a.runs["r-golden"]!.state.steps == expected.steps)
        _ = a.reduce(.key(.char("$")))
        #expect(a.runs["r-golden"]!.replay!.cursor == evs.count)
        // Read-only: controls do nothing but say so.
        #expect(a.reduce(.key(.char("p"))).isEmpty)
        #expect(a.message?.contains("read-only") == true)
    }

    @Test func historySortsFiltersAndOpens() async {
        var a = Fixtures.app(width: 120, height: 30)
        let fx = a.reduce(.key(.char("H")))
        #expect(fx == [.loadHistory(search: nil)])
        _ = a.reduce(.historyLoaded(await Fixtures.history(), search: nil))
        #expect(a.history.rows.map(\.summary.runID) == ["r-h3", "r-h2", "r-h1"])
        _ = a.reduce(.key(.char("S")))
        #expect(a.history.rows.map(\.summary.runID) == ["r-h1", "r-h2", "r-h3"])
        _ = a.reduce(.key(.char("/")))
        type("photos", into: &a)
        #expect(a.history.rows.map(\.summary.runID) == ["r-h2"])
        _ = a.reduce(.key(.enter))
        #expect(a.prompt == nil && a.history.filter == "photos")
        #expect(a.reduce(.key(.enter)) == [.loadRun("r-h2")])
        _ = a.reduce(.key(.char("F")))
        type("rfc", into: &a)
        #expect(a.reduce(.key(.enter)) == [.loadHistory(search: "rfc")])
        _ = a.reduce(.key(.char("s")))
        #expect(a.history.sort == .status)
    }

    @Test func escBacksOutAndCommandLineWorks() {
        var a = Fixtures.app(width: 80, height: 24)
        _ = a.reduce(.key(.char("H")))
        _ = a.reduce(.key(.escape))
        #expect(a.screen == .runs)
        _ = a.reduce(.key(.char(":")))
        type("theme light", into: &a)
        #expect(a.reduce(.key(.enter)) == [.setTheme("light")])
        _ = a.reduce(.key(.char(":")))
        type("bogus", into: &a)
        _ = a.reduce(.key(.enter))
        #expect(a.messageIsError)
        a.draft = Draft(request: PlanRequest(task: "t"))
        a.screen = .plan
        _ = a.reduce(.key(.char(":")))
        type("strategy cascade", into: &a)
        #expect(a.reduce(.key(.enter)) == [.plan(PlanRequest(task: "t", strategy: .cascade))])
        _ = a.reduce(.key(.char("?")))
        #expect(a.showHelp)
        _ = a.reduce(.key(.escape))
        #expect(!a.showHelp)
    }

    @Test func clicksSelectRowsThroughTheLastFramesHitMap() async {
        let evs = await Fixtures.midRunEvents()
        var a = Fixtures.withRun(evs, width: 80, height: 24)
        let canvas = Dashboard.render(a, theme: .standard())
        // Find the row of "research" in the pipeline and click it.
        var target: HitTarget?
        for y in 0..<canvas.height { if case .step("research")? = canvas.target(atX: 5, y: y) { target = .step("research") } }
        #expect(target != nil)
        _ = a.reduce(.click(target, wheel: 0))
        #expect(a.runs["r-golden"]!.selectedStepID == "research")
    }

    @Test func elapsedClockTicksOnlyForRunningLiveRuns() async {
        let evs = await Fixtures.midRunEvents()
        var a = Fixtures.withRun(evs, width: 80, height: 24)
        a.runs["r-golden"]!.lastEventWallMs = 1000
        _ = a.reduce(.tick(nowMs: 4000))
        #expect(a.displayElapsedMs(a.runs["r-golden"]!) == evs.last!.elapsedMs + 3000)
        #expect(a.isAnimating)
    }

    @Test func editorHandlesMultilineEditing() {
        var b = TextBuffer()
        for c in "ab" { _ = b.handle(.char(c)) }
        _ = b.handle(.enter)
        for c in "cd" { _ = b.handle(.char(c)) }
        _ = b.handle(.up)
        _ = b.handle(.end)
        _ = b.handle(.delete)  // joins the lines
        #expect(b.text == "abcd")
        _ = b.handle(.backspace)
        #expect(b.text == "acd")
        b.insert("\u{1B}")  // pasted escape is dropped
        #expect(b.text == "acd")
    }
}
