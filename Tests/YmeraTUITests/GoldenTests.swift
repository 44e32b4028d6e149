import Foundation
import Testing
import YmeraCore
@testable import YmeraTUI

/// Views rendered into a Canvas and compared as text (with a style map) at 80×24 and 160×48, in
/// colour and in monochrome.
@Suite struct GoldenTests {
    static let sizes = [(80, 24), (160, 48)]

    func check(_ name: String, _ make: (Int, Int) async -> AppState) async {
        for (w, h) in Self.sizes {
            let app = await make(w, h)
            for mono in [false, true] {
                let theme = Theme.standard(monochrome: mono)
                let canvas = Dashboard.render(app, theme: theme)
                Golden.check(Golden.render(canvas, theme: theme), "\(name)-\(w)x\(h)-\(mono ? "mono" : "color")")
            }
        }
    }

    @Test func runViewMidRunShowsTheSplice() async {
        let evs = await Fixtures.midRunEvents()
        await check("run-live") { w, h in
            var a = Fixtures.withRun(evs, width: w, height: h, select: "generation/1")
            a.runs["r-golden"]!.focus = .pipeline
            return a
        }
    }

    @Test func runViewFinished() async {
        let evs = await Fixtures.events()
        await check("run-done") { w, h in Fixtures.withRun(evs, width: w, height: h, select: "generation") }
    }

    @Test func pastRunInReplay() async {
        let evs = await Fixtures.events()
        await check("run-replay") { w, h in
            var a = Fixtures.app(width: w, height: h)
            _ = a.reduce(.runLoaded("r-golden", evs))
            for _ in 0..<4 { _ = a.reduce(.key(.char("{"))) }
            return a
        }
    }

    @Test func runsList() async {
        let evs = await Fixtures.events()
        let mid = await Fixtures.midRunEvents("r-second")
        await check("runs") { w, h in
            var a = Fixtures.app(width: w, height: h)
            _ = a.reduce(.events(evs, nowMs: 0))
            _ = a.reduce(.events(mid, nowMs: 0))
            a.runs["r-golden"]!.lastEventWallMs = nil
            a.runs["r-second"]!.lastEventWallMs = nil
            a.screen = .runs
            return a
        }
        await check("runs-empty") { w, h in Fixtures.app(width: w, height: h) }
    }

    @Test func taskEntryAndPlan() async {
        await check("editor") { w, h in
            var a = Fixtures.app(width: w, height: h)
            _ = a.reduce(.key(.char("n")))
            for c in "Build a REST API for a todo app\nwith authentication, tests and docs 日本" { _ = a.reduce(.key(c == "\n" ? .enter : .char(c))) }
            return a
        }
        await check("plan") { w, h in
            var a = Fixtures.app(width: w, height: h)
            a.screen = .plan
            var req = PlanRequest(task: Fixtures.task, strategy: .multiModel)
            req.models["review"] = "sim/llama-3.3-70b"
            a.draft = Draft(request: req, plan: ScriptedBackend.makePlan(req, runID: "r-plan"))
            return a
        }
    }

    @Test func modelPickerFilters() async {
        let evs = await Fixtures.midRunEvents()
        await check("picker") { w, h in
            var a = Fixtures.withRun(evs, width: w, height: h, select: "generation")
            _ = a.reduce(.key(.char("m")))
            for c in "llama" { _ = a.reduce(.key(.char(c))) }
            return a
        }
    }

    @Test func historyBrowser() async {
        let hist = await Fixtures.history()
        await check("history") { w, h in
            var a = Fixtures.app(width: w, height: h)
            _ = a.reduce(.key(.char("H")))
            _ = a.reduce(.historyLoaded(hist, search: nil))
            _ = a.reduce(.key(.char("s")))
            return a
        }
    }

    @Test func helpOverlayAndPrompts() async {
        await check("help") { w, h in
            var a = Fixtures.app(width: w, height: h)
            _ = a.reduce(.key(.char("?")))
            return a
        }
        let evs = await Fixtures.midRunEvents()
        await check("quit-confirm") { w, h in
            var a = Fixtures.withRun(evs, width: w, height: h)
            _ = a.reduce(.key(.char("q")))
            return a
        }
    }

    @Test func filesViewOfARun() async {
        await check("files") { w, h in await FilesViewTests.filesApp(width: w, height: h) }
        // The refused name, selected: marked and explained, never written.
        await check("files-refused") { w, h in await FilesViewTests.filesApp(width: w, height: h, select: 4) }
    }

    @Test func tooSmallTerminalShowsAMessage() {
        var a = Fixtures.app(width: 40, height: 10)
        a.screen = .runs
        let text = Dashboard.render(a, theme: .standard()).plainText()
        #expect(text.contains("Terminal too small"))
        #expect(text.contains("40×10"))
    }

    @Test func everyScreenFitsWithoutOverflowAtManySizes() async {
        let evs = await Fixtures.midRunEvents()
        for (w, h) in [(60, 16), (61, 17), (99, 31), (120, 40), (200, 60), (233, 71)] {
            let a = Fixtures.withRun(evs, width: w, height: h, select: "generation/1")
            let c = Dashboard.render(a, theme: .standard())
            let lines = c.plainText().split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == h)
            for l in lines { #expect(DisplayWidth.of(String(l)) <= w) }
            #expect(c.plainText().contains("r-golden"))
        }
    }
}
