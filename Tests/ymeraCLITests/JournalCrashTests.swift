import Foundation
import Synchronization
import Testing
import YmeraCore
import YmeraStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The built `ymera` binary, next to the test bundle (`.build/debug/ymera`).
enum YmeraBinary {
    static let url: URL? = {
        var candidates: [URL] = []
        if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent().appendingPathComponent("ymera")) }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("ymera"))
        // #filePath = <root>/Tests/ymeraCLITests/JournalCrashTests.swift
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/ymera"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// The subcommands `ymera --help` lists (`ymera NAME --help` is no test: an unknown NAME still
    /// prints the root help and succeeds).
    static let subcommands: Set<String> = {
        guard url != nil, let r = try? run(["--help"], timeout: 30), r.status == 0 else { return [] }
        var names = Set<String>()
        var inList = false
        for line in (r.stdout + "\n" + r.stderr).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("SUBCOMMANDS:") {
                inList = true
                continue
            }
            guard inList else { continue }
            if line.isEmpty {
                if !names.isEmpty { inList = false }
                continue
            }
            // "  name   abstract"; wrapped abstracts are indented further.
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let first = line.split(separator: " ").first else { continue }
            names.insert(String(first))
        }
        return names
    }()

    /// Whether the binary has a subcommand.
    static func has(_ subcommand: String) -> Bool { subcommands.contains(subcommand) }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the binary to the end (killed after `timeout` seconds).
    static func run(_ args: [String], environment: [String: String]? = nil, timeout: Double = 120) throws -> Result {
        let child = try Child(args, environment: environment, killAfterLines: nil, timeout: timeout)
        return child.wait()
    }
}

/// A child `ymera` process whose standard output is read line by line; optionally SIGKILLed as soon
/// as a given number of lines has arrived (a moment chosen by the test, with no timed sleeping).
final class Child: Sendable {
    let process: Process
    private let lines = Mutex<[String]>([])
    private let stderrData = Mutex(Data())
    private let done = DispatchSemaphore(value: 0)
    private let errDone = DispatchSemaphore(value: 0)
    let killedByTest = Mutex(false)

    init(_ args: [String], environment: [String: String]?, killAfterLines: Int?, timeout: Double) throws {
        guard let url = YmeraBinary.url else { throw CocoaError(.fileNoSuchFile) }
        let p = Process()
        p.executableURL = url
        p.arguments = args
        if let environment { p.environment = environment }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        process = p
        try p.run()
        let pid = p.processIdentifier
        let outHandle = out.fileHandleForReading
        let errHandle = err.fileHandleForReading
        // Reader threads: bounded by the pipe's EOF, which the child's exit (or kill) brings.
        Thread.detachNewThread { [self] in
            var partial = Data()
            while true {
                let chunk = outHandle.availableData
                if chunk.isEmpty { break }
                partial.append(chunk)
                while let nl = partial.firstIndex(of: 0x0A) {
                    let line = String(decoding: partial[partial.startIndex..<nl], as: UTF8.self)
                    partial.removeSubrange(partial.startIndex...nl)
                    let count = lines.withLock { $0.append(line); return $0.count }
                    if let n = killAfterLines, count == n {
                        killedByTest.withLock { $0 = true }
                        kill(pid, SIGKILL)
                    }
                }
            }
            done.signal()
        }
        Thread.detachNewThread { [self] in
            let data = errHandle.readDataToEndOfFile()
            stderrData.withLock { $0 = data }
            errDone.signal()
        }
        // Watchdog: no child outlives its deadline.
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if p.isRunning { kill(pid, SIGKILL) } }
    }

    func wait() -> YmeraBinary.Result {
        process.waitUntilExit()
        done.wait()
        errDone.wait()
        return YmeraBinary.Result(
            status: process.terminationStatus, stdout: lines.withLock { $0.joined(separator: "\n") },
            stderr: String(decoding: stderrData.withLock { $0 }, as: UTF8.self))
    }

    var outputLines: [String] { lines.withLock { $0 } }
}

func jsonObject(_ line: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
}

func tempDir(_ tag: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-cli-\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// An environment with no provider keys and no user directories of the machine.
func isolatedEnvironment(home: URL, extra: [String: String] = [:]) -> [String: String] {
    var env: [String: String] = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": home.path,
                                 "XDG_CONFIG_HOME": home.appendingPathComponent(".config").path,
                                 "XDG_DATA_HOME": home.appendingPathComponent(".local/share").path,
                                 "XDG_STATE_HOME": home.appendingPathComponent(".local/state").path,
                                 "LANG": "C.UTF-8", "NO_COLOR": "1"]
    for (k, v) in extra { env[k] = v }
    return env
}

@Suite("Journal crash safety and secrets (the real binary)", .serialized)
struct JournalCrashTests {
    static let task = "Build a REST API in Go with authentication, rate limiting and tests, then document it"

    /// What one kill-and-resume cycle found.
    struct Outcome: Sendable {
        /// False when the kill came after the run had ended (nothing to resume).
        var interrupted = true
        var problems: [String] = []
    }

    /// One kill-and-resume cycle. Checks are collected, not recorded, because lanes run on other threads.
    static func killAndResume(iteration: Int, killAfter: Int) throws -> Outcome {
        var o = Outcome()
        func check(_ ok: Bool, _ message: @autoclosure () -> String) {
            if !ok { o.problems.append("iteration \(iteration) (kill after \(killAfter) lines): \(message())") }
        }
        let root = try tempDir("crash")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        let env = isolatedEnvironment(home: root)
        let child = try Child(
            ["run", task, "--simulate", "--realtime", "--validator", "heuristic", "--strategy", "multi", "--json", "--seed", String(100 + iteration),
             "--data-dir", data.path],
            environment: env, killAfterLines: killAfter, timeout: 120)
        let result = child.wait()
        let seen = child.outputLines.compactMap(jsonObject)
        if seen.contains(where: { ["run_finished", "run_failed", "run_cancelled", "summary"].contains($0["type"] as? String) }) {
            o.interrupted = false
            return o
        }
        check(child.killedByTest.withLock { $0 }, "child ended before the kill: \(result.stderr.suffix(500))")

        let journal = try Journal.open(directory: data)
        check(try journal.integrityCheck() == "ok", "integrity check after the kill: \((try? journal.integrityCheck()) ?? "?")")
        guard let planned = seen.first(where: { $0["type"] as? String == "run_planned" }),
            let runID = (planned["plan"] as? [String: Any])?["run_id"] as? String
        else {
            check(false, "no run_planned line before the kill")
            return o
        }
        guard let before = try journal.state(runID) else {
            check(false, "run \(runID) missing from the journal")
            return o
        }
        check(before.status == .interrupted, "status after the kill is \(before.status)")
        check(try journal.run(runID)?.status == .interrupted, "history row is not interrupted")
        // Every step reported done on standard output is done in the journal, with its output.
        for step in seen.filter({ $0["type"] as? String == "step_done" }).compactMap({ $0["step"] as? String }) {
            check(before.steps[step]?.status == .done, "step \(step) reported done but not journaled as done")
            check(before.steps[step]?.output.isEmpty == false, "step \(step) has no output in the journal")
        }
        let kept = before.steps.values.filter { $0.status == .done }
        try journal.close()

        // Resume completes the run without re-running or re-billing the finished phases.
        let resumed = try YmeraBinary.run(["resume", runID, "--json", "--validator", "heuristic", "--data-dir", data.path], environment: env, timeout: 120)
        check(resumed.status == 0, "resume exited \(resumed.status): \(resumed.stderr.suffix(800))")
        let reopened = try Journal.open(directory: data)
        guard let after = try reopened.state(runID) else {
            check(false, "run gone after resume")
            return o
        }
        check(after.status == .succeeded, "status after resume is \(after.status)")
        let events = try reopened.events(runID)
        // Finished phases and finished subtasks alike.
        for s in kept {
            check(after.steps[s.id]?.output == s.output, "kept step \(s.id) changed its output")
            check(after.steps[s.id]?.cost == s.cost, "kept step \(s.id) billed again")
            check(after.steps[s.id]?.attempts == s.attempts, "kept step \(s.id) ran again")
        }
        // And no usage after resuming is billed to a kept step.
        let keptIDs = Set(kept.map(\.id))
        let rebilled = events.drop(while: { $0.typeName != "run_resumed" }).compactMap { e -> String? in
            if case .usage(let p) = e.kind, keptIDs.contains(p.step) { return p.step }
            return nil
        }
        check(rebilled.isEmpty, "kept steps billed again: \(rebilled)")
        if let resumedAt = events.firstIndex(where: { $0.typeName == "run_resumed" }) {
            let restarted = events[resumedAt...].compactMap { e -> String? in
                if case .stepStarted(let p) = e.kind, keptIDs.contains(p.step) { return p.step }
                return nil
            }
            check(restarted.isEmpty, "finished steps started again: \(restarted)")
        } else {
            check(false, "no run_resumed event after resume")
        }
        check(try reopened.integrityCheck() == "ok", "integrity check after resume")
        return o
    }

    @Test(
        "SIGKILL at random moments leaves a valid journal; finished phases survive; resume completes the run",
        .enabled(if: YmeraBinary.has("resume"), "needs `ymera resume` and a journaling `ymera run` in the binary"))
    func crashAndResume() throws {
        // Four lanes run children at once (they mostly wait on simulated pacing); each needs 5 real interruptions.
        let outcomes = Mutex<[Outcome]>([])
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { lane in
            var rng = SystemRandomNumberGenerator()
            var mine = 0
            var tries = 0
            while mine < 5 && tries < 10 {
                tries += 1
                let iteration = lane * 100 + tries
                // The full run prints ~530 lines; kill somewhere in it.
                let killAfter = Int.random(in: 1...500, using: &rng)
                do {
                    let o = try Self.killAndResume(iteration: iteration, killAfter: killAfter)
                    if o.interrupted { mine += 1 }
                    outcomes.withLock { $0.append(o) }
                } catch {
                    errors.withLock { $0.append("iteration \(iteration): \(error)") }
                }
            }
        }
        let all = outcomes.withLock { $0 }
        #expect(errors.withLock { $0 }.isEmpty, "\(errors.withLock { $0 })")
        #expect(all.filter(\.interrupted).count >= 20, "only \(all.filter(\.interrupted).count) interruptions in \(all.count) runs")
        let problems = all.flatMap(\.problems)
        #expect(problems.isEmpty, "\(problems.count) problems:\n\(problems.joined(separator: "\n"))")
    }

    @Test(
        "API keys in the environment reach neither the database, the logs, nor an export",
        .enabled(if: YmeraBinary.has("resume"), "needs a journaling `ymera run` (it lands with `ymera resume`)"))
    func keysNeverStored() throws {
        let root = try tempDir("secrets")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        let names = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GROQ_API_KEY", "MISTRAL_API_KEY",
                     "DEEPSEEK_API_KEY", "TOGETHER_API_KEY", "OPENROUTER_API_KEY", "AI21_API_KEY"]
        var fake: [String: String] = [:]
        for n in names { fake[n] = "ymfake-\(n.lowercased())-\(UUID().uuidString)" }
        let env = isolatedEnvironment(home: root, extra: fake)

        let run = try YmeraBinary.run(
            ["run", "Summarise the trade-offs of SQLite WAL mode", "--simulate", "--json", "--data-dir", data.path],
            environment: env)
        #expect(run.status == 0, "run failed: \(run.stderr.suffix(800))")
        var outputs = [run.stdout, run.stderr]
        let journal = try Journal.open(directory: data)
        let runID = try #require(try journal.runs().first?.id, "the run was not journaled")
        try journal.close()
        for args in [["export", runID, "--format", "json"], ["export", runID, "--format", "markdown"],
                     ["show", runID, "--json"], ["history", "--json"]] where YmeraBinary.has(args[0]) {
            let r = try YmeraBinary.run(args + ["--data-dir", data.path], environment: env)
            #expect(r.status == 0, "\(args[0]) failed: \(r.stderr.suffix(500))")
            outputs += [r.stdout, r.stderr]
        }
        if YmeraBinary.has("export") {
            let file = root.appendingPathComponent("export.md")
            let r = try YmeraBinary.run(["export", runID, "--format", "markdown", "--output", file.path, "--data-dir", data.path],
                                        environment: env)
            #expect(r.status == 0)
            #expect(FileManager.default.fileExists(atPath: file.path))
        }

        // Every file the process left anywhere under the temporary home (database, -wal, logs, exports).
        var scanned = 0
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let f = files?.nextObject() as? URL {
            guard (try? f.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                let bytes = FileManager.default.contents(atPath: f.path)
            else { continue }
            scanned += 1
            for (name, value) in fake {
                #expect(bytes.range(of: Data(value.utf8)) == nil, "\(name)'s value found in \(f.lastPathComponent)")
            }
        }
        #expect(scanned >= 1)
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("journal.sqlite").path))
        for (name, value) in fake {
            #expect(!outputs.contains { $0.contains(value) }, "\(name)'s value printed")
        }
    }
}
