import Foundation
import Testing
@testable import YmeraLocal

/// Where an installed runtime is: `$YMERA_LOCAL_TEST_DATA_DIR`, else YMERA's data directory.
enum InstalledRuntime {
    static let dataDirectory: String? = {
        let env = ProcessInfo.processInfo.environment
        let candidates = [env["YMERA_LOCAL_TEST_DATA_DIR"], Optional(YmeraDataDirectory.resolve(environment: env))]
        for case let dir? in candidates where !dir.isEmpty {
            if LocalRuntime(dataDirectory: dir).missingParts().isEmpty { return dir }
        }
        return nil
    }()

    /// A fresh data directory that borrows the installed venv and model (symlinks), so the test
    /// never touches a server the user is running from the real one.
    static func isolatedCopy(of source: String) throws -> TempDataDir {
        let dir = try TempDataDir()
        let from = LocalLayout(dataDirectory: source)
        let to = LocalLayout(dataDirectory: dir.path)
        let fm = FileManager.default
        try fm.createDirectory(atPath: to.root, withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: to.venv, withDestinationPath: from.venv)
        try fm.createSymbolicLink(atPath: to.modelsDirectory, withDestinationPath: from.modelsDirectory)
        try fm.copyItem(atPath: from.runtimeMarker, toPath: to.runtimeMarker)
        return dir
    }
}

@Suite("Real local server (llama.cpp + SmolLM2-135M)", .serialized)
struct RealServerTests {
    @Test(
        .enabled(
            if: InstalledRuntime.dataDirectory != nil,
            "the local runtime is not installed (run `ymera local install`, or set YMERA_LOCAL_TEST_DATA_DIR)"),
        .timeLimit(.minutes(3)))
    func startsAnswersAndStopsLeavingNoProcess() async throws {
        let dir = try InstalledRuntime.isolatedCopy(of: try #require(InstalledRuntime.dataDirectory))
        defer { dir.cleanup() }
        let runtime = dir.runtime

        let started = try await runtime.start(options: LocalServerOptions(threads: 1, contextSize: 1024))
        let pid = started.state.pid
        var stopped = false
        defer {
            if !stopped {  // never leave a server behind, even when an expectation above failed
                kill(pid, SIGKILL)
                var st: Int32 = 0
                waitpid(pid, &st, 0)
            }
        }
        #expect(!started.alreadyRunning)
        #expect(started.state.host == "127.0.0.1")
        #expect(started.state.port > 0)

        // /health answers ok on the recorded address.
        #expect(await runtime.health(started.state.address) == .ok)

        // A second start finds the running server instead of starting another.
        let again = try await runtime.start()
        #expect(again.alreadyRunning)
        #expect(again.state.pid == pid)

        // Status sees it, with real memory; the catalog entries point at it.
        let status = await runtime.status()
        #expect(status.state == .running)
        #expect(status.pid == pid)
        #expect((status.residentBytes ?? 0) > 50_000_000)
        let entries = try #require(try runtime.catalogEntries())
        #expect(entries.provider.baseURL == started.state.baseURL)
        #expect(entries.model.contextWindow == 1024)

        // One real generation.
        let bench = try await runtime.bench(maxTokens: 24)
        #expect(bench.outputTokens > 0)
        #expect(!bench.text.isEmpty)
        #expect(runtime.lastRun()?.outputTokens == bench.outputTokens)

        let result = try await runtime.stop()
        stopped = true
        #expect(result.wasRunning)
        #expect(result.pid == pid)
        #expect(!result.forced, "SIGTERM should be enough")
        #expect(ProcessInspector.liveness(pid: pid, marker: LauncherResource.fileName) == .gone)
        #expect(kill(pid, 0) != 0)
        #expect(await runtime.status(probe: false).state == .stopped)
        #expect(!FileManager.default.fileExists(atPath: runtime.layout.stateFile))
        #expect(!FileManager.default.fileExists(atPath: runtime.layout.readyFile))
    }
}
