import Foundation
import Testing
@testable import YmeraCore
@testable import YmeraStore

/// A fork's workspace starts from its parent's files as they were after the phase before the fork
/// point, and the journal records the fork's parent.
@Suite("Forks: the workspace and the journal")
struct ForkWorkspaceTests {
    /// path → sha256 of the files written by the events before the first attempt of `phase`.
    static func files(_ events: [RunEvent], before phase: String) -> [String: String] {
        var out: [String: String] = [:]
        for e in events {
            if case .stepStarted(let p) = e.kind, p.step == phase || p.step.hasPrefix(phase + "/") { break }
            if case .filesWritten(let p) = e.kind { for f in p.files { out[f.path] = f.sha256 } }
        }
        return out
    }

    @Test func theForkStartsFromTheParentsFilesAfterThePhaseBefore() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-fork-ws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: data) }
        let catalog = try WorkspaceEngineTests.catalog()
        let (parent, parentEvents) = try await WorkspaceEngineTests.run(
            try WorkspaceEngineTests.plan(catalog, runID: "run-parent"), catalog: catalog, data: data)
        #expect(parent.status.isTerminal)
        let expected = Self.files(parentEvents, before: "review")
        #expect(!expected.isEmpty, "the parent's generation wrote files")

        let journal = try Journal.open(directory: data)
        let recorded = try #require(try journal.state("run-parent"))
        try journal.close()
        let (plan, resume) = try ForkPlanner.plan(parent: recorded, newRunID: "run-fork", from: "review")
        let (fork, forkEvents) = try await WorkspaceEngineTests.run(plan, catalog: catalog, data: data, resume: resume)
        #expect(fork.status.isTerminal)
        #expect(Self.files(forkEvents, before: "review") == expected, "the fork's files before review are the parent's after generation")
        // The written versions hold the same bytes.
        let ws = try #require(try Workspace.existing(dataDirectory: data, runID: "run-fork"))
        let pws = try #require(try Workspace.existing(dataDirectory: data, runID: "run-parent"))
        for (path, sha) in expected {
            let fv = try #require(ws.finalFiles.first { $0.path == path }?.versions.first { $0.sha256 == sha })
            let pv = try #require(pws.finalFiles.first { $0.path == path }?.versions.first { $0.sha256 == sha })
            #expect(try ws.content(of: fv) == pws.content(of: pv))
        }

        let j = try Journal.open(directory: data)
        defer { try? j.close() }
        #expect(try j.run("run-fork")?.forkOf == "run-parent")
        #expect(try j.run("run-parent")?.forks == ["run-fork"])
        #expect(try j.runs().first { $0.id == "run-fork" }?.forkOf == "run-parent")
        let replayed = try #require(try j.state("run-fork"))
        #expect(replayed.steps["generation"]?.reusedFrom == "run-parent")
        #expect(replayed.steps["generation"]?.output == recorded.steps["generation"]?.output)
        #expect(replayed.plan?.forkOf?.reused == ["planning", "research", "generation"])
    }
}
