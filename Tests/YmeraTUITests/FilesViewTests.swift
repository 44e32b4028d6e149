import Foundation
import Testing
import YmeraCore
@testable import YmeraTUI

/// The files view: a run's workspace tree (versions, authors, refused names) and the selected
/// file's content, loaded through the backend, sanitized, bounded and scrolled.
@Suite struct FilesViewTests {
    /// Plays the shell: answers `loadFile` effects from the scripted backend's fixtures.
    static func serve(_ effects: [Effect], into a: inout AppState) async {
        var pending = effects
        var rounds = 0
        while let fx = pending.first, rounds < 20 {
            pending.removeFirst()
            rounds += 1
            guard case .loadFile(let id, let path, let version) = fx else { continue }
            let text = try? await ScriptedBackend().fileContent(runID: id, path: path, version: version)
            pending += a.reduce(.fileLoaded(runID: id, path: path, version: version, content: text, error: text == nil ? "missing" : nil))
        }
    }

    static func filesApp(width: Int, height: Int, select row: Int = 0) async -> AppState {
        let evs = await Fixtures.events()
        var a = Fixtures.withRun(evs, width: width, height: height, select: "generation")
        let fx = a.reduce(.key(.char("w")))
        await serve(fx, into: &a)
        for _ in 0..<row { await serve(a.reduce(.key(.down)), into: &a) }
        return a
    }

    @Test func theScriptedRunHasAFileTree() async {
        let st = RunState.replay(await Fixtures.events())
        #expect(st.files.keys.elements == ["app.py", "auth.py", "models.py", "tests/test_app.py"])
        #expect(st.files["app.py"]?.version == 2)
        #expect(st.files["app.py"]?.phase == .refinement)
        #expect(st.refusedFiles.map(\.name) == ["../../etc/cron.d/x"])
    }

    @Test func wOpensTheFilesViewAndLoadsTheSelectedFile() async {
        let evs = await Fixtures.events()
        var a = Fixtures.withRun(evs, width: 80, height: 24)
        let fx = a.reduce(.key(.char("w")))
        #expect(fx == [.loadFile(runID: "r-golden", path: "app.py", version: 2)])
        #expect(a.runs["r-golden"]?.showFiles == true)
        _ = a.reduce(.fileLoaded(runID: "r-golden", path: "app.py", version: 2, content: "a\u{1B}[2J\u{1B}]0;pwned\u{07}b\n\tc\n", error: nil))
        #expect(a.runs["r-golden"]?.openFile?.lines == ["ab", "    c"])
        // Moving loads the next file; an answer for a file no longer selected is ignored.
        let fx2 = a.reduce(.key(.down))
        #expect(fx2 == [.loadFile(runID: "r-golden", path: "auth.py", version: 1)])
        _ = a.reduce(.fileLoaded(runID: "r-golden", path: "app.py", version: 2, content: "late", error: nil))
        #expect(a.runs["r-golden"]?.openFile?.path == "app.py")
        #expect(a.runs["r-golden"]?.openFile?.lines == ["ab", "    c"])
        // The content never reaches the screen with its escapes.
        let text = Dashboard.render(a, theme: .standard()).plainText()
        #expect(!text.contains("\u{1B}"))
        // Esc closes the view, the run stays open; w toggles too.
        _ = a.reduce(.key(.escape))
        #expect(a.runs["r-golden"]?.showFiles == false)
        #expect(a.screen == .run("r-golden"))
        _ = a.reduce(.key(.char("w")))
        _ = a.reduce(.key(.char("w")))
        #expect(a.runs["r-golden"]?.showFiles == false)
    }

    @Test func aFileIsAskedForOnceAndAReplayShowsTheVersionAtItsCursor() async {
        let evs = await Fixtures.events()
        var a = Fixtures.app(width: 80, height: 24)
        _ = a.reduce(.runLoaded("r-golden", evs))
        #expect(a.reduce(.key(.char("w"))) == [.loadFile(runID: "r-golden", path: "app.py", version: 2)])
        // While that answer is on its way, other keys and event batches do not ask again.
        #expect(a.reduce(.key(.char("f"))).isEmpty)
        #expect(a.reduce(.tick(nowMs: 5)).isEmpty)
        _ = a.reduce(.fileLoaded(runID: "r-golden", path: "app.py", version: 2, content: "v2\n", error: nil))
        // Back in the replay, before the refinement: app.py is at version 1, which is loaded.
        let refinedAt = evs.firstIndex { if case .filesWritten(let p) = $0.kind { p.step == "refinement" } else { false } }!
        var fx: [Effect] = []
        for _ in 0..<(evs.count - refinedAt) { fx += a.reduce(.key(.char("["))) }
        #expect(a.runs["r-golden"]?.state.files["app.py"]?.version == 1)
        #expect(fx == [.loadFile(runID: "r-golden", path: "app.py", version: 1)])
        await FilesViewTests.serve(fx, into: &a)
        #expect(a.runs["r-golden"]?.openFile?.version == 1)
        #expect(a.runs["r-golden"]?.openFile?.lines.first == "from models import Todo")
    }

    @Test func longContentIsBoundedAndScrolls() async {
        var a = await Self.filesApp(width: 80, height: 24)
        let long = (1...20_000).map { "line \($0)" }.joined(separator: "\n")
        _ = a.reduce(.fileLoaded(runID: "r-golden", path: "app.py", version: 2, content: long, error: nil))
        let o = a.runs["r-golden"]!.openFile!
        #expect(o.lines.count == OpenFile.maxLines)
        #expect(o.truncated)
        _ = a.reduce(.key(.pageDown))
        _ = a.reduce(.key(.pageDown))
        #expect(a.runs["r-golden"]?.fileScroll == 20)
        let text = Dashboard.render(a, theme: .standard()).plainText()
        #expect(text.contains("line 21"))
        #expect(!text.contains("line 20\n") && !text.contains(" line 1 "))
        #expect(text.contains("truncated"))
        let huge = String(repeating: "x", count: OpenFile.maxBytes * 2)
        #expect(OpenFile(path: "big", version: 1, content: huge).lines.first?.count == OpenFile.maxBytes)
    }

    @Test func theHelpAndFooterNameTheKey() {
        let help = Keymap.helpSections().flatMap(\.1)
        #expect(help.contains { $0.0 == "w" && $0.1.contains("files") })
        #expect(Keymap.hints(for: [.run, .global]).contains { $0 == ("w", "files") })
    }
}
