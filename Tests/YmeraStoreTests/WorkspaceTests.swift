import Foundation
import Testing
@testable import YmeraCore
@testable import YmeraStore

#if canImport(Glibc)
import Glibc
#endif

/// A fresh temporary data directory, removed by `cleanup`.
private func tempDir(_ tag: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-ws-\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func read(_ url: URL) -> String? { try? String(contentsOf: url, encoding: .utf8) }

/// Output shaped like the simulated provider's generation answers.
private func generationOutput(_ name: String, body: String) -> String {
    "Here is the implementation of \(name).\n\n```python\n# file: \(name).py\n\(body)\n```\n\n```python\n# file: test_\(name).py\nfrom \(name) import run\n\ndef test_run():\n    assert run({}) == {}\n```\n\nCovers: the task.\n"
}

private let author1 = FileAuthor(step: "generation/1", phase: .generation, model: "sim/coder")
private let author2 = FileAuthor(step: "generation/2", phase: .generation, model: "sim/smart")
private let refiner = FileAuthor(step: "refinement", phase: .refinement, model: "sim/smart")

@Suite("Workspace: generated files, versions, refusals, copy")
struct WorkspaceTests {
    @Test func parserFindsNamedBlocksInEveryForm() {
        let out = """
            Intro text.

            ```python app.py
            print(1)
            ```

            **models.py**

            ```python
            class M: pass
            ```

            ```js title="web/index.js"
            console.log(1)
            ```

            ```
            // filename: lib/util.c
            int x;
            ```

            ```bash
            echo "no name: not a file"
            ```
            """
        let files = WorkspaceParser.files(in: out)
        #expect(files.map(\.name) == ["app.py", "models.py", "web/index.js", "lib/util.c"])
        #expect(files[0].content == "print(1)\n")
        #expect(files[3].content == "// filename: lib/util.c\nint x;\n")
    }

    @Test func severalFilesFromSeveralStepsAreWrittenWithManifest() throws {
        let data = try tempDir("several")
        defer { try? FileManager.default.removeItem(at: data) }
        let ws = try Workspace.open(dataDirectory: data, runID: "run-1")
        let r1 = ws.write(output: generationOutput("auth", body: "def run(p):\n    return p"), author: author1)
        let r2 = ws.write(output: generationOutput("models", body: "def run(p):\n    return {}"), author: author2)
        #expect(r1.refused.isEmpty && r2.refused.isEmpty)
        #expect(r1.written.map(\.path) == ["auth.py", "test_auth.py"])
        #expect(r2.written.map(\.path) == ["models.py", "test_models.py"])

        let files = data.appendingPathComponent("workspaces/run-1/files")
        #expect(read(files.appendingPathComponent("auth.py")) == "# file: auth.py\ndef run(p):\n    return p\n")
        #expect(read(files.appendingPathComponent("models.py"))?.contains("return {}") == true)

        // The manifest on disk lists every file with its author, hash and size.
        let reopened = try #require(try Workspace.existing(dataDirectory: data, runID: "run-1"))
        #expect(reopened.finalFiles.map(\.path) == ["auth.py", "models.py", "test_auth.py", "test_models.py"])
        let auth = try #require(reopened.finalFiles.first { $0.path == "auth.py" })
        #expect(auth.versions.count == 1)
        #expect(auth.latest.author == author1)
        #expect(auth.latest.size == Data("# file: auth.py\ndef run(p):\n    return p\n".utf8).count)
        #expect(auth.latest.sha256.count == 64)
        let json = try #require(read(data.appendingPathComponent("workspaces/run-1/manifest.json")))
        #expect(json.contains("\"sha256\"") && json.contains("\"generation/2\"") && json.contains("\"refused\""))
    }

    @Test func refinementMakesASecondVersionWithItsAuthor() throws {
        let data = try tempDir("refine")
        defer { try? FileManager.default.removeItem(at: data) }
        let ws = try Workspace.open(dataDirectory: data, runID: "run-r")
        ws.write(output: generationOutput("auth", body: "def run(p):\n    return p"), author: author1)
        let refined = ws.write(
            output: generationOutput("auth", body: "def run(p):\n    if not p:\n        raise ValueError\n    return p"), author: refiner)
        // auth.py changed (new version); test_auth.py is identical (no new version).
        #expect(refined.written == [WorkspaceWrite(path: "auth.py", version: 2)])
        #expect(refined.unchanged == ["test_auth.py"])
        let auth = try #require(ws.finalFiles.first { $0.path == "auth.py" })
        #expect(auth.versions.map(\.version) == [1, 2])
        #expect(auth.versions.map(\.author) == [author1, refiner])
        #expect(auth.latest.phase == "refinement" && auth.latest.model == "sim/smart")
        // files/ has the final version; the first version is still readable.
        let onDisk = try #require(read(ws.filesDirectory.appendingPathComponent("auth.py")))
        #expect(onDisk.contains("raise ValueError"))
        #expect(String(decoding: try ws.content(of: auth.versions[0]), as: UTF8.self).contains("raise") == false)
        #expect(try Workspace.existing(dataDirectory: data, runID: "run-r")?.finalFiles.first { $0.path == "auth.py" }?.versions.count == 2)
    }

    @Test(arguments: [
        ("../../etc/x", "'..'"), ("/tmp/ymera-ws-abs-x", "absolute"), ("a/../../x", "'..'"), ("", "empty"),
        ("ok\u{0}.py", "control"), ("bad\u{1b}[2J.py", "control"), ("..\\x.py", "backslash"), ("./", "empty"),
    ])
    func maliciousNamesAreRefusedAndNothingIsWrittenOutside(_ name: String, _ why: String) throws {
        let data = try tempDir("evil")
        defer { try? FileManager.default.removeItem(at: data) }
        let ws = try Workspace.open(dataDirectory: data, runID: "run-evil")
        let before = Set(try FileManager.default.subpathsOfDirectory(atPath: data.path))
        let result = ws.write(name: name, content: Data("pwned\n".utf8), author: author1)
        guard case .failure(let refusal) = result else {
            Issue.record("\(name.debugDescription) was accepted")
            return
        }
        #expect(refusal.reason.contains(why), "\(refusal.reason)")
        #expect(ws.manifest.refused.map(\.name) == [name])
        #expect(ws.finalFiles.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/ymera-ws-abs-x"))
        #expect(!FileManager.default.fileExists(atPath: data.deletingLastPathComponent().appendingPathComponent("etc/x").path))
        // Only the manifest changed inside the data directory.
        let after = Set(try FileManager.default.subpathsOfDirectory(atPath: data.path))
        #expect(after.subtracting(before) == ["workspaces/run-evil/manifest.json"])
    }

    @Test func maliciousNamesInsideModelOutputAreRefusedNextToGoodOnes() throws {
        let data = try tempDir("mixed")
        defer { try? FileManager.default.removeItem(at: data) }
        let ws = try Workspace.open(dataDirectory: data, runID: "run-mixed")
        let out = "```python\n# file: ../../etc/x\nevil = 1\n```\n\n```python\n# file: /tmp/ymera-ws-out-x\nevil = 2\n```\n\n```python\n# file: good.py\nok = 1\n```\n"
        let r = ws.write(output: out, author: author1)
        #expect(r.written.map(\.path) == ["good.py"])
        #expect(r.refused.map(\.name) == ["../../etc/x", "/tmp/ymera-ws-out-x"])
        #expect(!FileManager.default.fileExists(atPath: "/tmp/ymera-ws-out-x"))
        let manifest = try #require(read(ws.manifestURL))
        #expect(manifest.contains("../../etc/x") && manifest.contains("'..' in path"))
    }

    @Test func plantedSymlinksAreNotFollowed() throws {
        let data = try tempDir("link")
        let outside = try tempDir("outside")
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: outside)
        }
        let target = outside.appendingPathComponent("victim.txt")
        try Data("original\n".utf8).write(to: target)
        let ws = try Workspace.open(dataDirectory: data, runID: "run-link")
        // A directory symlink out of the workspace, and a file symlink to the victim.
        try FileManager.default.createSymbolicLink(at: ws.filesDirectory.appendingPathComponent("escape"), withDestinationURL: outside)
        try FileManager.default.createSymbolicLink(at: ws.filesDirectory.appendingPathComponent("app.py"), withDestinationURL: target)

        let throughDir = ws.write(name: "escape/victim.txt", content: Data("pwned\n".utf8), author: author1)
        let newInDir = ws.write(name: "escape/new.txt", content: Data("pwned\n".utf8), author: author1)
        let onLink = ws.write(name: "app.py", content: Data("pwned\n".utf8), author: author1)
        guard case .failure(let a) = throughDir, case .failure = newInDir, case .failure(let c) = onLink else {
            Issue.record("a symlink was followed: \(throughDir) \(newInDir) \(onLink)")
            return
        }
        #expect(a.reason.contains("symlink"))
        #expect(c.reason.contains("symlink"))
        #expect(read(target) == "original\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path) == ["victim.txt"])
        #expect(ws.manifest.refused.count == 3)
        #expect(ws.finalFiles.isEmpty)
    }

    @Test func countAndSizeAreBounded() throws {
        let data = try tempDir("bounds")
        defer { try? FileManager.default.removeItem(at: data) }
        let ws = try Workspace.open(dataDirectory: data, runID: "run-bounds")
        let big = ws.write(name: "big.bin", content: Data(count: Workspace.maxFileBytes + 1), author: author1)
        guard case .failure(let b) = big else { Issue.record("an oversized file was written"); return }
        #expect(b.reason.contains("over the limit"))
        #expect(!FileManager.default.fileExists(atPath: ws.filesDirectory.appendingPathComponent("big.bin").path))
        for i in 0..<Workspace.maxFiles {
            guard case .success = ws.write(name: "f\(i).txt", content: Data("\(i)\n".utf8), author: author1) else {
                Issue.record("file \(i) refused")
                return
            }
        }
        guard case .failure(let c) = ws.write(name: "one-too-many.txt", content: Data("x".utf8), author: author1) else {
            Issue.record("file \(Workspace.maxFiles + 1) was written")
            return
        }
        #expect(c.reason.contains("at most \(Workspace.maxFiles)"))
        // A new version of an existing file is still allowed at the limit.
        guard case .success(let v?) = ws.write(name: "f0.txt", content: Data("changed\n".utf8), author: refiner) else {
            Issue.record("a new version was refused at the limit")
            return
        }
        #expect(v.version == 2)
    }

    @Test func copyFinalCopiesExactlyTheFinalVersions() throws {
        let data = try tempDir("copy")
        defer { try? FileManager.default.removeItem(at: data) }
        let ws = try Workspace.open(dataDirectory: data, runID: "run-copy")
        ws.write(output: generationOutput("auth", body: "v = 1"), author: author1)
        ws.write(name: "pkg/readme.md", content: Data("# Readme\n".utf8), author: author2)
        ws.write(output: generationOutput("auth", body: "v = 2"), author: refiner)
        // Tampering with files/ does not change what is copied: the copy is of the recorded versions.
        try Data("tampered\n".utf8).write(to: ws.filesDirectory.appendingPathComponent("auth.py"))

        let dest = data.appendingPathComponent("out")
        let copied = try ws.copyFinal(to: dest)
        #expect(copied == ["auth.py", "pkg/readme.md", "test_auth.py"])
        #expect(read(dest.appendingPathComponent("auth.py")) == "# file: auth.py\nv = 2\n")
        #expect(read(dest.appendingPathComponent("pkg/readme.md")) == "# Readme\n")
        let all = try FileManager.default.subpathsOfDirectory(atPath: dest.path).filter { !$0.hasSuffix("pkg") }.sorted()
        #expect(all == ["auth.py", "pkg/readme.md", "test_auth.py"])

        // A second copy refuses to overwrite, changing nothing, unless forced.
        try Data("mine\n".utf8).write(to: dest.appendingPathComponent("auth.py"))
        #expect(throws: WorkspaceError.exists(["auth.py", "pkg/readme.md", "test_auth.py"])) { try ws.copyFinal(to: dest) }
        #expect(read(dest.appendingPathComponent("auth.py")) == "mine\n")
        try ws.copyFinal(to: dest, force: true)
        #expect(read(dest.appendingPathComponent("auth.py")) == "# file: auth.py\nv = 2\n")
    }

    @Test func compareListsAddedRemovedChanged() throws {
        let data = try tempDir("cmp")
        defer { try? FileManager.default.removeItem(at: data) }
        let a = try Workspace.open(dataDirectory: data, runID: "run-a")
        let b = try Workspace.open(dataDirectory: data, runID: "run-b")
        a.write(name: "same.py", content: Data("x\n".utf8), author: author1)
        b.write(name: "same.py", content: Data("x\n".utf8), author: author2)
        a.write(name: "changed.py", content: Data("1\n".utf8), author: author1)
        b.write(name: "changed.py", content: Data("2\n".utf8), author: author1)
        a.write(name: "gone.py", content: Data("g\n".utf8), author: author1)
        b.write(name: "new.py", content: Data("n\n".utf8), author: author1)
        let c = Workspace.compare(a, b)
        #expect(c.added == ["new.py"])
        #expect(c.removed == ["gone.py"])
        #expect(c.changed == ["changed.py"])
        #expect(c.unchanged == ["same.py"])
    }

    @Test func aSimulatedRunWritesItsGeneratedFiles() async throws {
        let data = try tempDir("engine")
        defer { try? FileManager.default.removeItem(at: data) }
        let sim = ProviderConfig(id: "sim", kind: .simulated, baseURL: "sim://")
        func m(_ name: String, speed: Int, quality: Int, caps: Set<Capability>, ctx: Int = 32_000) -> ModelInfo {
            ModelInfo(
                id: ModelID("sim/\(name)"), provider: "sim", apiName: name, displayName: name, contextWindow: ctx,
                pricing: Pricing(inputPerMillion: 1, outputPerMillion: 2), speedTier: speed, qualityTier: quality, capabilities: caps)
        }
        let catalog = try Catalog(providers: [sim], models: [
            m("fast", speed: 5, quality: 2, caps: [.fast]),
            m("coder", speed: 4, quality: 4, caps: [.code, .reasoning]),
            m("smart", speed: 3, quality: 5, caps: [.code, .reasoning, .review, .accuracy, .longContext], ctx: 200_000),
        ])
        let task = "Create a REST API with authentication and deploy it"
        let plan = try Planner(catalog: catalog, available: catalog.models).plan(
            task: task, intent: IntentAnalyzer().analyze(task), options: PlanOptions(seed: 7, runID: "run-engine"))
        let clock = VirtualClock()
        let engine = Engine(
            catalog: catalog, client: SimulatedProvider(clock: clock), validator: HeuristicValidator(), clock: clock,
            workspace: StoreRunWorkspace(dataDirectory: data))
        let final = await engine.run(plan)
        #expect(final.status == .succeeded)

        let ws = try #require(try Workspace.existing(dataDirectory: data, runID: "run-engine"))
        #expect(ws.finalFiles.count >= 4, "\(ws.finalFiles.map(\.path))")
        #expect(ws.manifest.refused.isEmpty)
        // Every file is on disk with its final content, authored by a generation or refinement step.
        for f in ws.finalFiles {
            let disk = try Data(contentsOf: ws.filesDirectory.appendingPathComponent(f.path))
            #expect(disk == (try ws.content(of: f.latest)))
            #expect(["generation", "refinement"].contains(f.latest.phase))
            #expect(final.steps[f.latest.step] != nil)
        }
        // Generation subtasks each wrote their own files.
        let authors = Set(ws.finalFiles.flatMap { $0.versions.map(\.step) })
        #expect(authors.contains { $0.hasPrefix("generation/") })
        #expect(ws.finalFiles.contains { $0.path.hasPrefix("test_") })
    }
}
