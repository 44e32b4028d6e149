import Foundation
import Synchronization
import Testing
import YmeraCore
import YmeraStore

#if canImport(Glibc)
    import Glibc
#endif

/// One journal, many processes: a run has one owner; another process is refused while it lives and
/// takes over once it is gone; of processes racing to take over, exactly one wins and no provider
/// call is made twice (a loopback stub counts them per process).
@Suite("Run ownership across processes (the real binary)", .serialized)
struct RunHostTests {
    static let task = "Summarise the trade-offs of SQLite WAL mode for a small team"

    /// A home with the stub provider in its catalog, and a data directory.
    static func home(_ stub: StubProvider, tag: String) throws -> (root: URL, data: URL) {
        let root = try tempDir(tag)
        let config = root.appendingPathComponent(".config/ymera")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        try stub.catalogTOML.write(to: config.appendingPathComponent("catalog.toml"), atomically: true, encoding: .utf8)
        return (root, root.appendingPathComponent("data"))
    }

    static func runArgs(data: URL) -> [String] {
        ["run", task, "--model", "stub/echo", "--strategy", "multi", "--validator", "heuristic", "--threshold", "0", "--seed", "5",
         "--json", "--data-dir", data.path]
    }

    /// Waits (bounded) until `child` has printed `n` lines of type `type`.
    static func waitFor(_ child: Child, type: String, count n: Int = 1, seconds: Double = 90) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if child.outputLines.compactMap(jsonObject).filter({ $0["type"] as? String == type }).count >= n { return true }
            if !child.process.isRunning { break }
            usleep(20_000)
        }
        return child.outputLines.compactMap(jsonObject).filter({ $0["type"] as? String == type }).count >= n
    }

    static func runID(_ child: Child) -> String? {
        child.outputLines.compactMap(jsonObject).first { $0["type"] as? String == "run_planned" }
            .flatMap { ($0["plan"] as? [String: Any])?["run_id"] as? String }
    }

    static func started(after marker: String, in events: [RunEvent]) -> [String] {
        events.drop { $0.typeName != marker }.compactMap { e in
            if case .stepStarted(let p) = e.kind { return p.step }
            return nil
        }
    }

    @Test(
        "resume is refused while the owner lives, naming it; after kill -9 it takes over and finished phases are not called again",
        .enabled(if: YmeraBinary.has("pause"), "needs the run host in the binary"))
    func refusedWhileAliveThenTakenOver() throws {
        let stub = try StubProvider(chunks: 10, chunkDelayMs: 50)
        defer { stub.stop() }
        let (root, data) = try Self.home(stub, tag: "host")
        defer { try? FileManager.default.removeItem(at: root) }
        let a = try Child(Self.runArgs(data: data), environment: isolatedEnvironment(home: root, extra: ["STUB_KEY": "first"]),
                          killAfterLines: nil, timeout: 120)
        #expect(Self.waitFor(a, type: "step_done"), "the first phase never finished: \(a.outputLines.suffix(3))")
        let id = try #require(Self.runID(a))
        let pid = a.process.processIdentifier

        let refused = try YmeraBinary.run(["resume", id, "--validator", "heuristic", "--data-dir", data.path],
                                          environment: isolatedEnvironment(home: root, extra: ["STUB_KEY": "second"]), timeout: 60)
        #expect(refused.status == 2, "resume of a live run exited \(refused.status): \(refused.stderr.suffix(400))")
        #expect(refused.stderr.contains("pid \(pid) on "), "the refusal names the owner: \(refused.stderr.suffix(400))")
        #expect(refused.stderr.contains(" since "))
        #expect(stub.count("second") == 0, "the refused process called the provider")

        #expect(Self.waitFor(a, type: "step_done", count: 2))
        kill(pid, SIGKILL)
        _ = a.wait()
        let doneBefore = Set(a.outputLines.compactMap(jsonObject).filter { $0["type"] as? String == "step_done" }.compactMap { $0["step"] as? String })
        #expect(doneBefore.count >= 2)

        let taken = try YmeraBinary.run(["resume", id, "--json", "--validator", "heuristic", "--data-dir", data.path],
                                        environment: isolatedEnvironment(home: root, extra: ["STUB_KEY": "third"]), timeout: 120)
        #expect(taken.status == 0, "takeover exited \(taken.status): \(taken.stderr.suffix(600))")
        #expect(!taken.stderr.contains("UNIQUE constraint"))
        let journal = try Journal.open(directory: data)
        #expect(try journal.state(id)?.status == .succeeded)
        let events = try journal.events(id)
        let restarted = Self.started(after: "run_resumed", in: events)
        #expect(restarted.allSatisfy { !doneBefore.contains($0) }, "finished phases started again: \(restarted)")
        #expect(stub.count("third") == restarted.count, "provider calls after the takeover \(stub.count("third")) ≠ attempts \(restarted.count)")
        #expect(stub.count("third") >= 1)
        #expect(try journal.liveRuns().isEmpty, "the owner released the run at its end")
    }

    @Test(
        "100 trials of two processes racing to take over one interrupted run: one winner, no duplicate seq, no call made twice",
        .enabled(if: YmeraBinary.has("pause"), "needs the run host in the binary"))
    func racingTakeovers() throws {
        let victim = Mutex<Int32>(0)
        let stub = try StubProvider(chunks: 2, holdFrom: ["template": 3]) { _, _ in
            // The third request is held: kill its process there (a moment chosen by the test).
            let pid = victim.withLock { $0 }
            if pid > 0 { kill(pid, SIGKILL) }
        }
        defer { stub.stop() }
        let (root, data) = try Self.home(stub, tag: "race")
        defer { try? FileManager.default.removeItem(at: root) }
        let template = try Child(Self.runArgs(data: data), environment: isolatedEnvironment(home: root, extra: ["STUB_KEY": "template"]),
                                 killAfterLines: nil, timeout: 120)
        victim.withLock { $0 = template.process.processIdentifier }
        _ = template.wait()
        let id = try #require(Self.runID(template))
        let kept: Set<String>
        do {
            let j = try Journal.open(directory: data)
            let st = try #require(try j.state(id))
            #expect(st.status == .interrupted)
            kept = Set(st.steps.values.filter { $0.status == .done }.map(\.id))
            #expect(kept.count == 2, "two phases finished before the kill: \(kept)")
            try j.close()
        }

        let trials = 100
        let problems = Mutex<[String]>([])
        // How the losers lost: to a live owner (they raced) or to a run already ended (they came late).
        let losses = Mutex<(owned: Int, ended: Int)>((0, 0))
        DispatchQueue.concurrentPerform(iterations: 4) { lane in
            for trial in stride(from: lane, to: trials, by: 4) {
                func problem(_ s: String) { problems.withLock { $0.append("trial \(trial): \(s)") } }
                do {
                    let dir = root.appendingPathComponent("trial-\(trial)")
                    try FileManager.default.copyItem(at: data, to: dir)
                    let key = "t\(trial)"
                    let env = isolatedEnvironment(home: root, extra: ["STUB_KEY": key])
                    let args = ["resume", id, "--json", "--validator", "heuristic", "--data-dir", dir.path]
                    let children = try [Child(args, environment: env, killAfterLines: nil, timeout: 60),
                                        Child(args, environment: env, killAfterLines: nil, timeout: 60)]
                    let results = children.map { $0.wait() }
                    let statuses = results.map(\.status).sorted()
                    if statuses != [0, 2] { problem("exit statuses \(statuses): \(results.map { $0.stderr.suffix(300) })") }
                    if let loser = results.first(where: { $0.status == 2 }) {
                        if loser.stderr.contains("owned by a live process") {
                            losses.withLock { $0.owned += 1 }
                        } else if loser.stderr.contains("already ended") {
                            losses.withLock { $0.ended += 1 }
                        } else {
                            problem("the loser's message: \(loser.stderr.suffix(300))")
                        }
                    }
                    let j = try Journal.open(directory: dir)
                    let events = try j.events(id)
                    let seqs = events.map(\.seq)
                    if Set(seqs).count != seqs.count || seqs != seqs.sorted() { problem("duplicate or unordered seq") }
                    if events.filter({ $0.typeName == "run_resumed" }).count != 1 { problem("taken over more than once") }
                    if try j.state(id)?.status != .succeeded { problem("status \(String(describing: try j.state(id)?.status))") }
                    let restarted = Self.started(after: "run_resumed", in: events)
                    if restarted.contains(where: kept.contains) { problem("finished phases started again: \(restarted)") }
                    if stub.count(key) != restarted.count { problem("\(stub.count(key)) provider calls for \(restarted.count) attempts") }
                    try j.close()
                    try? FileManager.default.removeItem(at: dir)
                } catch {
                    problem("\(error)")
                }
            }
        }
        let all = problems.withLock { $0 }
        #expect(all.isEmpty, "\(all.count) problems:\n\(all.prefix(20).joined(separator: "\n"))")
        let (owned, ended) = losses.withLock { ($0.owned, $0.ended) }
        print("racing takeovers: \(owned) losers refused by a live owner, \(ended) found the run ended")
        #expect(owned >= 10, "the two processes hardly ever raced (\(owned) of \(trials) losers met a live owner)")
    }
}
