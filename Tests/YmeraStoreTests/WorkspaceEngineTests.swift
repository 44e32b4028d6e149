import Foundation
import Synchronization
import Testing
@testable import YmeraCore
@testable import YmeraStore

#if canImport(Glibc)
import Glibc
#endif

/// The engine writes generation and refinement files into the run's workspace (simulated provider,
/// virtual time, a temporary data directory), the journal records who wrote each version, and
/// hostile names are refused as run events without anything written outside.
@Suite("Workspace in the engine: files written, versioned, refused, resumed")
struct WorkspaceEngineTests {
    static func catalog() throws -> Catalog {
        let sim = ProviderConfig(id: "sim", kind: .simulated, baseURL: "sim://")
        func m(_ name: String, speed: Int, quality: Int, caps: Set<Capability>, ctx: Int = 32_000) -> ModelInfo {
            ModelInfo(
                id: ModelID("sim/\(name)"), provider: "sim", apiName: name, displayName: name, contextWindow: ctx,
                pricing: Pricing(inputPerMillion: 1, outputPerMillion: 2), speedTier: speed, qualityTier: quality, capabilities: caps)
        }
        return try Catalog(providers: [sim], models: [
            m("fast", speed: 5, quality: 2, caps: [.fast]),
            m("coder", speed: 4, quality: 4, caps: [.code, .reasoning]),
            m("smart", speed: 3, quality: 5, caps: [.code, .reasoning, .review, .accuracy, .longContext], ctx: 200_000),
        ])
    }

    static let task = "Create a REST API with authentication and deploy it"

    static func plan(_ catalog: Catalog, runID: String, strategy: Strategy? = nil, task: String = task) throws -> RunPlan {
        try Planner(catalog: catalog, available: catalog.models).plan(
            task: task, intent: IntentAnalyzer().analyze(task), options: PlanOptions(strategy: strategy, seed: 7, runID: runID))
    }

    /// Runs a plan on the engine with a workspace under `data`, journaling every event.
    static func run(
        _ plan: RunPlan, catalog: Catalog, data: URL, client: (any ModelClient)? = nil, validator: any QualityValidator = HeuristicValidator(),
        resume: ResumePoint? = nil, config: EngineConfig = EngineConfig()
    ) async throws -> (RunState, [RunEvent]) {
        let clock = VirtualClock()
        let engine = Engine(
            catalog: catalog, client: client ?? SimulatedProvider(clock: clock), validator: validator, clock: clock, config: config,
            workspace: StoreRunWorkspace(dataDirectory: data))
        let journal = try Journal.open(directory: data)
        let sink = JournalSink(journal: journal)
        let handle = engine.start(plan, resume: resume, observer: { e, _ in sink.record(e) })
        var events: [RunEvent] = []
        for await e in handle.events { events.append(e) }
        let final = await handle.finalState()
        try await sink.finish()
        try journal.close()
        return (final, events)
    }

    static func filesWritten(_ events: [RunEvent]) -> [RunEvent.FilesWritten] {
        events.compactMap { if case .filesWritten(let p) = $0.kind { p } else { nil } }
    }

    @Test func aSimulatedRunWritesSeveralFilesAndARefinementWritesASecondVersion() async throws {
        let dir = try TempDir()
        let catalog = try Self.catalog()
        let plan = try Self.plan(catalog, runID: "run-files")
        #expect(plan.steps.contains { $0.phase == .refinement })
        let (final, events) = try await Self.run(plan, catalog: catalog, data: dir.url)
        #expect(final.status == .succeeded)

        // Events: subtasks of generation wrote files; the refinement step wrote a new version.
        let written = Self.filesWritten(events)
        #expect(written.contains { $0.step.hasPrefix("generation/") && !$0.files.isEmpty })
        let refinement = try #require(written.first { $0.step == "refinement" }, "no files_written from refinement")
        let refinedModel = try #require(final.steps["refinement"]?.model)
        #expect(refinement.phase == .refinement)
        #expect(refinement.model == refinedModel)
        let second = try #require(refinement.files.first { $0.version == 2 }, "refinement wrote no second version: \(refinement.files)")

        // The state's file tree: several files, each with its latest version and author.
        #expect(final.files.count >= 4, "\(final.files.keys)")
        #expect(final.refusedFiles.isEmpty)
        let entry = try #require(final.files[second.path])
        #expect(entry.version >= 2 && entry.phase == .refinement && entry.step == "refinement")
        #expect(final.files.values.contains { $0.path.hasPrefix("test_") })

        // On disk: every final file, byte for byte, under the data directory.
        let ws = try #require(try Workspace.existing(dataDirectory: dir.url, runID: "run-files"))
        #expect(ws.root.path.hasPrefix(dir.url.path))
        for f in final.files.values {
            let disk = try Data(contentsOf: ws.filesDirectory.appendingPathComponent(f.path))
            #expect(disk.count == f.bytes)
            #expect(SHA256.hex(of: disk) == f.sha256, "\(f.path) on disk is not its latest version")
        }
        // The manifest keeps both versions with their authors.
        let history = try #require(ws.finalFiles.first { $0.path == second.path })
        #expect(history.versions.count >= 2)
        #expect(history.versions[0].phase == "generation")
        #expect(history.versions[1].phase == "refinement" && history.versions[1].model == refinedModel.rawValue)
        #expect(history.versions[1].step == "refinement")
        #expect(try ws.content(of: history.versions[0]) != (try ws.content(of: history.versions[1])))

        // The journal has the same events: history rebuilt from it shows the same tree.
        let journal = try Journal.open(directory: dir.url)
        let stored = try journal.events("run-files")
        try journal.close()
        let fromJournal = Self.filesWritten(stored)
        #expect(fromJournal.first { $0.step == "refinement" } == refinement)
        let rebuilt = RunState.replay(stored)
        #expect(rebuilt.files == final.files)
        #expect(rebuilt.summary.files?.count == final.files.count)

        // --json shape: flat, snake_case like every other event.
        let e = try #require(events.first { if case .filesWritten = $0.kind { true } else { false } })
        let enc = JSONEncoder()
        enc.keyEncodingStrategy = .convertToSnakeCase
        let json = try #require(try JSONSerialization.jsonObject(with: enc.encode(e)) as? [String: Any])
        #expect(json["type"] as? String == "files_written")
        #expect(json["run"] as? String == "run-files")
        #expect(json["step"] is String && json["files"] is [Any] && json["refused"] is [Any])
        #expect(try JSONDecoder().decode(RunEvent.self, from: JSONEncoder().encode(e)) == e)
    }

    @Test func validationIsScoredOnTheWorkspaceFiles() async throws {
        let dir = try TempDir()
        let catalog = try Self.catalog()
        let plan = try Self.plan(catalog, runID: "run-validate")
        let recorder = RecordingValidator()
        let (final, _) = try await Self.run(plan, catalog: catalog, data: dir.url, validator: recorder)
        #expect(final.status == .succeeded)
        let inputs = recorder.inputs
        let validation = try #require(inputs.last { $0.phase == .validation })
        // The validation step sees the final version of every file, as written.
        #expect(Set(validation.files.map(\.path)) == Set(final.files.keys))
        let ws = try #require(try Workspace.existing(dataDirectory: dir.url, runID: "run-validate"))
        for f in validation.files {
            let disk = try String(contentsOf: ws.filesDirectory.appendingPathComponent(f.path), encoding: .utf8)
            #expect(disk == f.content)
        }
        // Refinement is scored after its files are applied: its new version is among the files scored.
        let refined = try #require(inputs.first { $0.stepID == "refinement" })
        let history = try #require(ws.finalFiles.first { $0.versions.count >= 2 && $0.versions[1].step == "refinement" })
        #expect(refined.files.contains { $0.path == history.path && SHA256.hex(of: Data($0.content.utf8)) == history.versions[1].sha256 })
        // Planning and review are not given files.
        #expect(inputs.filter { $0.phase == .planning || $0.phase == .review }.allSatisfy { $0.files.isEmpty })
    }

    @Test func maliciousNamesAreRefusedAsRunEventsAndNothingIsWrittenOutside() async throws {
        let dir = try TempDir()
        let outside = try TempDir()
        let catalog = try Self.catalog()
        let runID = "run-evil"
        let plan = try Self.plan(catalog, runID: runID, strategy: .single, task: "Write a Python function that adds two numbers")
        #expect(plan.steps.map(\.phase) == [.generation])

        // Symlinks planted in the workspace before the run: a directory link and a file link, both out.
        let filesDir = Workspace.directory(dataDirectory: dir.url, runID: runID).appendingPathComponent("files")
        try FileManager.default.createDirectory(at: filesDir, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: filesDir.appendingPathComponent("link").path, withDestinationPath: outside.path)
        let target = outside.url.appendingPathComponent("target.py")
        try Data("original\n".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(atPath: filesDir.appendingPathComponent("evil.py").path, withDestinationPath: target.path)

        let absolute = "/tmp/ymera-evil-\(UUID().uuidString)"
        let etc = "/etc/ymera-evil-\(UUID().uuidString)"
        let answer = [("../../etc/x", "dotdot"), (absolute, "absolute"), ("../../../../../../.." + etc, "deep"), ("link/escape.py", "through link"),
                      ("evil.py", "onto link"), ("ok.py", "print('fine')")]
            .map { "```python\n# file: \($0.0)\n\($0.1)\n```" }.joined(separator: "\n\n")
        var once = EngineConfig()
        once.maxRefinements = 0  // one answer, one set of refusals
        let (final, events) = try await Self.run(plan, catalog: catalog, data: dir.url, client: FixedClient(text: answer), config: once)

        // The refusals are events of the run, with the names and the reasons.
        let written = Self.filesWritten(events)
        let refused = written.flatMap(\.refused)
        #expect(Set(refused.map(\.name)) == ["../../etc/x", absolute, "../../../../../../.." + etc, "link/escape.py", "evil.py"])
        #expect(refused.first { $0.name == "../../etc/x" }?.reason.contains("..") == true)
        #expect(refused.first { $0.name == absolute }?.reason.contains("absolute") == true)
        #expect(refused.first { $0.name == "link/escape.py" }?.reason.contains("symlink") == true)
        #expect(refused.first { $0.name == "evil.py" }?.reason.contains("symlink") == true)
        #expect(final.refusedFiles.count == 5)
        #expect(final.log.filter { $0.level == .error && $0.text.contains("refused file") }.count == 5)
        // The one good file is written.
        #expect(final.files.keys.elements == ["ok.py"])
        #expect(try String(contentsOf: filesDir.appendingPathComponent("ok.py"), encoding: .utf8) == "# file: ok.py\nprint('fine')\n")

        // Nothing outside: not above the workspace, not the absolute paths, not through the links.
        let fm = FileManager.default
        #expect(!fm.fileExists(atPath: dir.url.appendingPathComponent("workspaces/etc/x").path))
        #expect(!fm.fileExists(atPath: dir.url.appendingPathComponent("etc/x").path))
        #expect(!fm.fileExists(atPath: absolute))
        #expect(!fm.fileExists(atPath: etc))
        #expect(!fm.fileExists(atPath: outside.url.appendingPathComponent("escape.py").path))
        #expect(try String(contentsOf: target, encoding: .utf8) == "original\n")
        #expect(try fm.contentsOfDirectory(atPath: outside.path).sorted() == ["target.py"])
        // The links are still links (never replaced by a write through them).
        #expect(Workspace.fileType(filesDir.appendingPathComponent("evil.py").path) == S_IFLNK)
    }

    @Test func resumingDoesNotDuplicateVersions() async throws {
        let dir = try TempDir()
        let catalog = try Self.catalog()
        let plan = try Self.plan(catalog, runID: "run-resume")
        let (first, events) = try await Self.run(plan, catalog: catalog, data: dir.url)
        #expect(first.status == .succeeded)
        let before = try #require(try Workspace.existing(dataDirectory: dir.url, runID: "run-resume")).manifest

        // Cut the run right after the refinement wrote its files (before the step finished).
        let cut = try #require(events.firstIndex { if case .filesWritten(let p) = $0.kind { p.step == "refinement" } else { false } })
        let prior = RunState.replay(events.prefix(cut + 1))
        #expect(prior.steps["refinement"]?.status != .done)
        let (resumed, more) = try await Self.run(plan, catalog: catalog, data: dir.url, resume: ResumePoint(prior: prior))
        #expect(resumed.status == .succeeded)
        #expect(more.contains { if case .stepStarted(let p) = $0.kind { p.step == "refinement" } else { false } })

        let after = try #require(try Workspace.existing(dataDirectory: dir.url, runID: "run-resume")).manifest
        #expect(after.files.map(\.path) == before.files.map(\.path))
        #expect(after.files.map(\.versions.count) == before.files.map(\.versions.count), "the resumed run added versions")
        #expect(Self.filesWritten(more).allSatisfy { $0.files.isEmpty })
        #expect(resumed.files == first.files)
    }
}

@Suite("StoreRunWorkspace: the engine's workspace on disk")
struct StoreRunWorkspaceTests {
    @Test func aStructuredAnswerNamesFilesToo() throws {
        let dir = try TempDir()
        let ws = StoreRunWorkspace(dataDirectory: dir.url)
        let author = FileAuthor(step: "generation", phase: .generation, model: "sim/coder")
        let answer = "Here you go:\n\n```json\n{\"files\": [{\"path\": \"main.py\", \"content\": \"print(1)\\n\"}, {\"name\": \"../x\", \"content\": \"no\"}]}\n```\n"
        let change = try ws.apply(answer, runID: "run-json", author: author)
        #expect(change.written.map(\.path) == ["main.py"])
        #expect(change.refused.map(\.name) == ["../x"])
        #expect(try ws.files(runID: "run-json") == [WorkspaceFile(path: "main.py", content: "print(1)\n")])
        // The same answer again: no new version, nothing to report but the refusal.
        let again = try ws.apply(answer, runID: "run-json", author: author)
        #expect(again.written.isEmpty && again.unchanged == ["main.py"])
    }

    @Test func anAnswerNamingTooManyFilesIsBoundedWithOneRefusal() throws {
        let dir = try TempDir()
        let ws = StoreRunWorkspace(dataDirectory: dir.url)
        let n = Workspace.maxFiles + 300
        let answer = (0..<n).map { "```python\n# file: f\($0).py\nx = \($0)\n```" }.joined(separator: "\n")
        let change = try ws.apply(answer, runID: "run-many", author: FileAuthor(step: "generation", phase: .generation, model: "sim/coder"))
        #expect(change.written.count == Workspace.maxFiles)
        #expect(change.refused.count == 1)
        #expect(change.refused.first?.reason.contains("at most \(Workspace.maxFiles)") == true)
        #expect(try ws.files(runID: "run-many").count == Workspace.maxFiles)
    }

    @Test func aRunWithoutNamedFilesHasNoWorkspace() throws {
        let dir = try TempDir()
        let ws = StoreRunWorkspace(dataDirectory: dir.url)
        let change = try ws.apply("Just prose, and a block without a name:\n\n```python\nprint(1)\n```\n\nThe end. See main.", runID: "run-none",
                                  author: FileAuthor(step: "generation", phase: .generation, model: "sim/coder"))
        #expect(change.isEmpty)
        #expect(try ws.files(runID: "run-none").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: Workspace.directory(dataDirectory: dir.url, runID: "run-none").path))
        #expect(ws.summaryLine(RunState(runID: "run-none")) == nil)
        // Prose after a fence is not a file name ("name." has no extension).
        #expect(WorkspaceParser.files(in: "Inline ```python\nprint(1)\n``` without a name.").isEmpty)
    }
}

/// Answers every request with the same text (the generation step's answer in a single-step plan).
struct FixedClient: ModelClient {
    var text: String
    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let text = self.text
        return AsyncThrowingStream { c in
            c.yield(.delta(text))
            c.yield(.usage(TokenUsage(inputTokens: 10, outputTokens: 10)))
            c.yield(.finished(.stop))
            c.finish()
        }
    }
}

/// A heuristic validator that remembers what it was asked to score.
final class RecordingValidator: QualityValidator {
    private let seen = Mutex<[ValidationInput]>([])
    var inputs: [ValidationInput] { seen.withLock { $0 } }
    func evaluate(_ input: ValidationInput) async -> QualityReport {
        seen.withLock { $0.append(input) }
        return await HeuristicValidator().evaluate(input)
    }
}
