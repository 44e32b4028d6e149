import Testing
@testable import YmeraCore
@testable import YmeraTUI

/// Issue #14: a status message names its pending action and turns into the result when the event
/// that confirms it arrives; m on a done phase offers to run it again instead of relabelling it.
@Suite("Dashboard: control status and the rerun offer")
struct ControlStatusTests {
    static func event(_ a: AppState, _ kind: RunEvent.Kind) -> Action {
        let n = a.runs["r-golden"]!.state.lastSeq
        return .events([RunEvent(runID: "r-golden", seq: n + 1, elapsedMs: a.runs["r-golden"]!.state.elapsedMs, kind: kind)], nowMs: 1)
    }

    @Test func theFooterNamesAPendingControlUntilItsEventArrives() async {
        var a = Fixtures.withRun(await Fixtures.midRunEvents(), width: 80, height: 24, select: "generation/1")
        #expect(a.reduce(.key(.char("r"))) == [.control(runID: "r-golden", .retry(step: "generation"))])
        #expect(a.message == "retrying generation…")
        _ = a.reduce(.key(.char("j")))
        #expect(a.message == "retrying generation…", "another key does not hide a pending action")
        _ = a.reduce(Self.event(a, .textDelta(.init(step: "generation/1", text: "x"))))
        #expect(a.message == "retrying generation…", "an unrelated event does not end it")
        _ = a.reduce(Self.event(a, .stepReset(.init(step: "generation", reset: ["generation", "review"]))))
        #expect(a.message == "generation runs again (2 phases)")
        #expect(a.pending == nil)
        _ = a.reduce(.key(.char("j")))
        #expect(a.message == nil, "the result goes with the next key")
    }

    @Test func aRefusedControlShowsWhy() async {
        var a = Fixtures.withRun(await Fixtures.midRunEvents(), width: 80, height: 24, select: "generation/1")
        _ = a.reduce(.key(.char("p")))
        #expect(a.message == "pausing…")
        _ = a.reduce(Self.event(a, .commandRefused(.init(command: "pause", reason: "the run is already paused"))))
        #expect(a.message == "pause refused: the run is already paused")
        #expect(a.messageIsError)
        #expect(a.pending == nil)
    }

    @Test func swapOnADonePhaseOffersToRunItAgain() async {
        let evs = await Fixtures.midRunEvents()
        var a = Fixtures.withRun(evs, width: 80, height: 24, select: "planning")
        #expect(a.runs["r-golden"]?.state.steps["planning"]?.status == .done)
        let before = a.runs["r-golden"]!.state.steps["planning"]!.model
        _ = a.reduce(.key(.char("m")))
        #expect(a.picker?.purpose == .rerun(runID: "r-golden", step: "planning"))
        for ch in "70b" { _ = a.reduce(.key(.char(ch))) }
        #expect(a.reduce(.key(.enter)) == [.control(runID: "r-golden", .rerun(step: "planning", on: "sim/llama-3.3-70b"))])
        #expect(a.message == "running planning again on sim/llama-3.3-70b…")
        // The reset comes: the row keeps its old model until an attempt on the new one starts.
        _ = a.reduce(Self.event(a, .stepReset(.init(step: "planning", reset: ["planning"], model: "sim/llama-3.3-70b"))))
        #expect(a.message == "planning runs again on sim/llama-3.3-70b (1 phase)")
        #expect(a.runs["r-golden"]?.state.steps["planning"]?.model == before)
        _ = a.reduce(Self.event(a, .stepStarted(.init(step: "planning", model: "sim/llama-3.3-70b", attempt: 2, purpose: .rerun))))
        #expect(a.runs["r-golden"]?.state.steps["planning"]?.model == "sim/llama-3.3-70b")
        #expect(a.runs["r-golden"]?.state.steps["planning"]?.attempts == 2)
    }
}
