import Testing
import YmeraCore
@testable import YmeraTUI

/// The run view's output pane lists the selected step's tool calls above its text.
@Suite struct ToolCallPaneTests {
    /// The finished golden run with two tool calls of its generation step added (one failed).
    func eventsWithTools() async -> [RunEvent] {
        var evs = await Fixtures.events()
        var seq = evs.last!.seq
        let t = evs.last!.elapsedMs
        func add(_ kind: RunEvent.Kind) {
            seq += 1
            evs.append(RunEvent(runID: evs[0].runID, seq: seq, elapsedMs: t, kind: kind))
        }
        add(.toolCalled(.init(step: "generation", model: "sim/coder", callID: "c1", tool: "search", server: "docs", arguments: "{}")))
        add(.toolReturned(.init(step: "generation", callID: "c1", tool: "search", server: "docs", content: String(repeating: "r", count: 1234), originalChars: 1234, isError: false, durationMs: 420)))
        add(.toolCalled(.init(step: "generation", model: "sim/coder", callID: "c2", tool: "fetch", arguments: "{}")))
        add(.toolFailed(.init(step: "generation", callID: "c2", tool: "fetch", failure: .timeout, message: "no answer \u{1B}[2Jwithin 20000 ms", durationMs: 20_000)))
        return evs
    }

    @Test func outputPaneShowsToolCallsSanitized() async {
        let evs = await eventsWithTools()
        for (w, h) in [(80, 24), (160, 48)] {
            let app = Fixtures.withRun(evs, width: w, height: h, select: "generation")
            let text = Dashboard.render(app, theme: Theme.standard(monochrome: false)).plainText()
            #expect(!text.contains("\u{1B}"))
            #expect(text.contains("⚙ tool fetch · failed (timeout) · 20s"), "\(w)x\(h)")
            if h >= 48 {
                #expect(text.contains("⚙ tool fetch · failed (timeout) · 20s · no answer within 20000 ms"))
                #expect(text.contains("⚙ tool search (docs) · ok · 0.4s · 1234 chars"))
            }
        }
        let step = RunState.replay(evs).steps["generation"]!
        #expect(RunView.toolLines(step, limit: 5).count == 2)
        let one = RunView.toolLines(step, limit: 1)
        #expect(one == ["⚙ 2 tool calls; 2 earlier not shown"] || one.count == 1)
        let two = RunView.toolLines(step, limit: 2)
        #expect(two[0].hasPrefix("⚙ tool search") && two[1].contains("no answer within 20000 ms"))
    }
}
