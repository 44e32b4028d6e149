import Testing
@testable import YmeraCore
@testable import YmeraTUI

/// Issue #16: on a past run (History → open it), Y on a phase opens the model picker and forks the
/// run from that phase on the chosen model; on a live run it explains where it works.
@Suite("Dashboard: the fork key")
struct ForkKeyTests {
    @Test func forkOnAPastRunsPhaseOpensThePickerAndStartsTheFork() async {
        let evs = await Fixtures.events()
        var a = Fixtures.app(width: 100, height: 30)
        _ = a.reduce(.runLoaded("r-golden", evs))
        #expect(a.contexts.first == .replay)
        #expect(Keymap.command(for: .char("Y"), in: a.contexts) == .fork)
        // Select the fourth phase (the pipeline pane has focus).
        let target = a.runs["r-golden"]!.state.plan!.steps.count > 3 ? 3 : 1
        for _ in 0..<target { _ = a.reduce(.key(.char("j"))) }
        let step = a.runs["r-golden"]!.selectedStepID!
        let top = a.runs["r-golden"]!.state.steps[step]?.parent ?? step
        _ = a.reduce(.key(.char("Y")))
        #expect(a.picker?.purpose == .fork(runID: "r-golden", step: top))
        #expect(a.message?.contains("fork r-golden from \(top)") == true)
        for ch in "70b" { _ = a.reduce(.key(.char(ch))) }
        #expect(a.reduce(.key(.enter)) == [.fork(runID: "r-golden", step: top, model: "sim/llama-3.3-70b")])
        #expect(a.picker == nil)
        // The fork starts like any run: its screen opens live.
        var plan = a.runs["r-golden"]!.state.plan!
        plan.runID = "r-fork"
        _ = a.reduce(.started(plan, runID: "r-fork"))
        #expect(a.screen == .run("r-fork"))
    }

    @Test func forkOnALiveRunSaysWhereItWorks() async {
        var a = Fixtures.withRun(await Fixtures.midRunEvents(), width: 80, height: 24, select: "planning")
        #expect(a.reduce(.key(.char("Y"))).isEmpty)
        #expect(a.picker == nil)
        #expect(Keymap.command(for: .char("Y"), in: a.contexts) == nil || a.message?.contains("past run") == true)
    }

    @Test func theForkKeyIsInTheHelp() {
        let help = Keymap.helpSections().first { $0.0 == KeyContext.replay.title }?.1 ?? []
        #expect(help.contains { $0.0 == "Y" && $0.1.contains("fork") })
    }
}
