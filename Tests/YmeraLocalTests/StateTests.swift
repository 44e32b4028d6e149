import Foundation
import Testing
import YmeraCore
@testable import YmeraLocal

@Suite("Server state file and stale pids")
struct StateTests {
    @Test func stateRoundTripsAndNamesTheOpenAIBaseURL() throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let state = sampleState(pid: 4242, port: 39123)
        try JSONFile.write(state, to: dir.runtime.layout.stateFile)
        let read = try #require(try JSONFile.read(LocalServerState.self, from: dir.runtime.layout.stateFile))
        #expect(read == state)
        #expect(read.baseURL == "http://127.0.0.1:39123/v1")
    }

    @Test func noStateMeansStopped() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let s = await dir.runtime.status(probe: false)
        #expect(s.state == .stopped)
        #expect(!s.installed)
        #expect(s.missing.count == 3)
        #expect(s.pid == nil)
    }

    @Test func aPidThatNoLongerExistsIsReportedStoppedAndItsStateRemoved() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let runtime = dir.runtime
        let dead = try exitedPid()
        try JSONFile.write(sampleState(pid: dead), to: runtime.layout.stateFile)

        let s = await runtime.status(probe: false)
        #expect(s.state == .stopped)
        #expect(s.pid == nil)
        #expect(s.notes.contains { $0.contains("pid \(dead)") && $0.contains("no longer running") })
        #expect(!FileManager.default.fileExists(atPath: runtime.layout.stateFile))
        #expect(try runtime.catalogEntries() == nil)
    }

    @Test func aPidReusedByAnotherProgramIsNotOurServer() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let runtime = dir.runtime
        // This test process is alive, but it is not the launcher.
        try JSONFile.write(sampleState(pid: getpid()), to: runtime.layout.stateFile)
        #expect(try runtime.runningServer() == nil)
        #expect(!FileManager.default.fileExists(atPath: runtime.layout.stateFile))

        try JSONFile.write(sampleState(pid: getpid()), to: runtime.layout.stateFile)
        let result = try await runtime.stop(timeout: .milliseconds(100))
        #expect(!result.wasRunning)
        #expect(result.notes.contains { $0.contains("another program") })
        #expect(!FileManager.default.fileExists(atPath: runtime.layout.stateFile))
    }

    @Test func stopWithAStalePidCleansUpAndSaysSo() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let runtime = dir.runtime
        let dead = try exitedPid()
        try JSONFile.write(sampleState(pid: dead), to: runtime.layout.stateFile)
        let result = try await runtime.stop(timeout: .milliseconds(100))
        #expect(!result.wasRunning)
        #expect(!result.forced)
        #expect(result.notes.contains { $0.contains("already exited") })
        #expect(!FileManager.default.fileExists(atPath: runtime.layout.stateFile))
    }

    @Test(.enabled(if: systemPython() != nil, "needs python3"))
    func aServerWithNoStateRecordIsFoundAndStopped() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let runtime = dir.runtime
        try FileManager.default.createDirectory(atPath: runtime.layout.root, withIntermediateDirectories: true)
        // Stands in for a launcher whose start was interrupted: its command line names this data
        // directory's launcher copy, and no state file records it.
        let pid = try Subprocess.spawnDetached(
            try #require(systemPython()),
            ["-c", "import time; time.sleep(30)", runtime.layout.launcher, "--model", runtime.layout.modelFile(runtime.spec)],
            environment: [:], logPath: runtime.layout.logFile)
        defer { kill(pid, SIGKILL); var st: Int32 = 0; waitpid(pid, &st, WNOHANG) }
        // The child may still be between spawn and exec: give it a bounded moment (polls every 10 ms, ≤ 2 s).
        for _ in 0..<200 where runtime.orphanedServers() != [pid] { try await Task.sleep(for: .milliseconds(10)) }
        #expect(runtime.orphanedServers() == [pid])
        // The other local model's server shares the launcher: its runtime never takes this one as its own.
        let gemma = LocalRuntime(dataDirectory: runtime.layout.dataDirectory, spec: .gemma3_270m, environment: [:])
        #expect(gemma.orphanedServers().isEmpty)
        let status = await runtime.status(probe: false)
        #expect(status.state == .stopped)
        #expect(status.notes.contains { $0.contains("no state record") && $0.contains("\(pid)") })

        let result = try await runtime.stop(timeout: .seconds(5))
        #expect(result.wasRunning)
        #expect(result.pid == pid)
        #expect(ProcessInspector.liveness(pid: pid, marker: runtime.layout.launcher) == .gone)
        #expect(runtime.orphanedServers().isEmpty)
    }

    @Test func stopWhenNothingRunsIsNotAnError() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let result = try await dir.runtime.stop()
        #expect(!result.wasRunning)
        #expect(result.pid == nil)
    }

    @Test func aDamagedStateFileSaysHowToRecover() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let runtime = dir.runtime
        try FileManager.default.createDirectory(atPath: runtime.layout.root, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: runtime.layout.stateFile, contents: Data("{\"pid\": ".utf8)))
        let error = await #expect(throws: LocalRuntimeError.self) { try await runtime.stop() }
        #expect(error?.code == .stateUnreadable)
        #expect(error?.fix.contains("rm \(runtime.layout.stateFile)") == true)
        let s = await runtime.status(probe: false)
        #expect(s.state == .stopped)
        #expect(s.notes.contains { $0.contains("damaged") })
    }

    @Test func startWithoutInstallSaysToInstallAndSpawnsNothing() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let runtime = dir.runtime
        let error = await #expect(throws: LocalRuntimeError.self) { try await runtime.start() }
        #expect(error?.code == .notInstalled)
        #expect(error?.fix == "run `ymera local install`")
        #expect(!FileManager.default.fileExists(atPath: runtime.layout.stateFile))
        #expect(!FileManager.default.fileExists(atPath: runtime.layout.logFile))
    }

    @Test func installWithoutPythonSaysWhatToInstall() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let runtime = LocalRuntime(dataDirectory: dir.path, environment: ["PATH": dir.path + "/empty", "HOME": dir.path])
        let steps = LineBox()
        let error = await #expect(throws: LocalRuntimeError.self) {
            try await runtime.install { event in
                if case .stepStarted(_, _, let title) = event { steps.append(title) }
            }
        }
        #expect(error?.code == .pythonMissing)
        #expect(error?.fix.contains("python3-venv") == true)
        #expect(error?.fix.contains("YMERA_PYTHON") == true)
        #expect(steps.all == ["Check Python (3.10 or newer)"])
    }

    @Test func recordedRunThroughputShowsInStatus() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let runtime = dir.runtime
        try runtime.recordRun(
            LocalRunStats(
                model: "local/smollm2-135m-instruct", finishedAt: Date(), outputTokens: 350, generationSeconds: 5,
                source: "run", runID: "r1"))
        let s = await runtime.status(probe: false)
        #expect(s.lastRun?.runID == "r1")
        #expect(s.lastRunTokensPerSecond == 70)
    }

    @Test func statusJSONCarriesRunningAndState() throws {
        var s = LocalStatus(dataDirectory: "/d", model: "local/x", logFile: "/d/local/server.log")
        s.state = .running
        s.pid = 7
        let json = String(decoding: try JSONFile.encoder().encode(s), as: UTF8.self)
        #expect(json.contains("\"running\" : true"))
        #expect(json.contains("\"state\" : \"running\""))
        let back = try JSONFile.decoder().decode(LocalStatus.self, from: Data(json.utf8))
        #expect(back == s)
    }
}
