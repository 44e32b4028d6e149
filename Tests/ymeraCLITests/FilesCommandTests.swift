import Foundation
import Testing
import YmeraCore
import YmeraStore

/// `ymera run` writes the run's files through the engine; `ymera files RUN --to DIR` copies exactly
/// their final versions (the real binary, simulated models, a private data directory).
@Suite("ymera files (the real binary)", .serialized)
struct FilesCommandTests {
    static func tempDir(_ tag: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-files-\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func environment(home: URL) -> [String: String] {
        ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": home.path,
         "XDG_CONFIG_HOME": home.appendingPathComponent(".config").path,
         "XDG_DATA_HOME": home.appendingPathComponent(".local/share").path,
         "XDG_STATE_HOME": home.appendingPathComponent(".local/state").path, "LANG": "C.UTF-8", "NO_COLOR": "1"]
    }

    /// Relative paths of the regular files under `dir`.
    static func files(under dir: URL) -> [String] {
        var out: [String] = []
        let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey])
        while let f = e?.nextObject() as? URL {
            guard (try? f.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            out.append(String(f.resolvingSymlinksInPath().path.dropFirst(dir.resolvingSymlinksInPath().path.count + 1)))
        }
        return out.sorted()
    }

    @Test(.enabled(if: YmeraBinary.has("files"), "needs `ymera files`"))
    func filesToCopiesExactlyTheFinalVersions() throws {
        let root = try Self.tempDir("copy")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        let env = Self.environment(home: root)
        let run = try YmeraBinary.run(
            ["run", "Create a REST API with authentication and deploy it", "--simulate", "--validator", "heuristic",
             "--strategy", "multi", "--seed", "7", "--json", "--data-dir", data.path],
            environment: env)
        #expect(run.status == 0, "run failed: \(run.stderr.suffix(800))")
        let lines = run.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let summary = try #require(lines.last)
        let runID = try #require(summary["run_id"] as? String)
        // The --json stream carries the files events; the summary lists the final files.
        #expect(lines.contains { $0["type"] as? String == "files_written" })
        let listed = try #require(summary["files"] as? [[String: Any]])

        let ws = try #require(try Workspace.existing(dataDirectory: data, runID: runID), "no workspace for \(runID)")
        #expect(ws.finalFiles.count == listed.count)
        let revised = ws.finalFiles.filter { $0.versions.count >= 2 }
        #expect(!revised.isEmpty, "no file has a second version")

        let dest = root.appendingPathComponent("out")
        let copy = try YmeraBinary.run(["files", runID, "--to", dest.path, "--data-dir", data.path], environment: env)
        #expect(copy.status == 0, "files --to failed: \(copy.stderr.suffix(500))")
        // Exactly the files, each exactly its final version (not an earlier one).
        #expect(Self.files(under: dest) == ws.finalFiles.map(\.path).sorted())
        for f in ws.finalFiles {
            let copied = try Data(contentsOf: dest.appendingPathComponent(f.path))
            #expect(copied == (try ws.content(of: f.latest)), "\(f.path) is not its final version")
        }
        for f in revised {
            let copied = try Data(contentsOf: dest.appendingPathComponent(f.path))
            #expect(copied != (try ws.content(of: f.versions[0])) || f.versions[0].sha256 == f.latest.sha256)
        }
        // A second copy into the same directory does not overwrite without --force.
        let again = try YmeraBinary.run(["files", runID, "--to", dest.path, "--data-dir", data.path], environment: env)
        #expect(again.status != 0)
        #expect(again.stderr.contains("would overwrite"))
    }
}
