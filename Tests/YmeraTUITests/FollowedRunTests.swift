import Foundation
import Testing
import YmeraCore
@testable import YmeraTUI

/// Runs of other processes, followed through the journal: listed, live, steerable, never cancelled by
/// this dashboard's quit.
@Suite struct FollowedRunTests {
    @Test func aFollowedRunIsListedLiveAndSteeredByTheSameKeys() async {
        let evs = await Fixtures.midRunEvents()
        var a = Fixtures.app(width: 100, height: 30)
        _ = a.reduce(.followed(runID: "r-golden", owner: "pid 4242 on host-a since 2026-12-05 09:00:00", events: Array(evs.prefix(5))))
        #expect(a.runOrder == ["r-golden"])
        #expect(a.runs["r-golden"]?.owner?.hasPrefix("pid 4242") == true)
        #expect(a.runs["r-golden"]?.readOnly == false)
        #expect(a.activeRuns == ["r-golden"])
        // Its next events fold like a local run's.
        _ = a.reduce(.events(Array(evs.dropFirst(5)), nowMs: 10))
        #expect(a.runs["r-golden"]?.state.lastSeq == evs.last?.seq)
        // The Runs list says who drives it.
        let screen = Dashboard.render(a, theme: Theme.standard(monochrome: true)).plainText()
        #expect(screen.contains("[pid 4242]"))
        // p pauses it (the backend sends the command to its owner).
        _ = a.reduce(.key(.enter))
        #expect(a.screen == .run("r-golden"))
        #expect(a.reduce(.key(.char("p"))) == [.control(runID: "r-golden", .pause)])
        #expect(Dashboard.render(a, theme: Theme.standard(monochrome: true)).plainText().contains("FOLLOWING pid 4242"))
    }

    @Test func quittingLeavesOtherProcessesRunsAlone() async {
        var a = Fixtures.app(width: 80, height: 24)
        _ = a.reduce(.followed(runID: "r-golden", owner: "pid 4242 on host-a since x", events: await Fixtures.midRunEvents()))
        #expect(a.reduce(.key(.char("q"))) == [.quit], "no question: the run is not this dashboard's to cancel")
    }

    @Test func aFollowedRunWhoseOwnerDiedIsInterrupted() async {
        var a = Fixtures.app(width: 80, height: 24)
        _ = a.reduce(.followed(runID: "r-golden", owner: "pid 4242 on host-a since x", events: await Fixtures.midRunEvents()))
        _ = a.reduce(.ownerGone(runID: "r-golden"))
        #expect(a.runs["r-golden"]?.state.status == .interrupted)
        #expect(a.activeRuns.isEmpty)
    }
}
