import Foundation
import Testing
import YmeraCore
import YmeraStore

/// Forks, side-by-side diffs and offline replays, on the real binary against a loopback stub that
/// counts requests per process (its API key) and per model.
@Suite("Forks, diff and offline replay (the real binary)", .serialized)
struct ForkDiffReplayTests {
    static let task = "Create a REST API with authentication and deploy it"

    /// A home whose catalog has the stub provider with two models, `stub/echo` and `stub/other`.
    static func home(_ stub: StubProvider, tag: String) throws -> (root: URL, data: URL) {
        let (root, data) = try RunHostTests.home(stub, tag: tag)
        let catalog = root.appendingPathComponent(".config/ymera/catalog.toml")
        let second = """

            [[models]]
            id = "stub/other"
            api_name = "other"
            name = "Stub other"
            context_window = 32768
            max_output_tokens = 1024
            price_input = 0.1
            price_output = 0.2
            speed = 4
            quality = 4
            capabilities = ["code", "reasoning", "review", "accuracy", "long-context", "fast"]

            """
        try (try String(contentsOf: catalog, encoding: .utf8) + second).write(to: catalog, atomically: true, encoding: .utf8)
        return (root, data)
    }

    /// A finished six-phase run on `stub/echo` (key `parent`); returns its id.
    static func parentRun(_ stub: StubProvider, root: URL, data: URL) throws -> String {
        let r = try YmeraBinary.run(
            ["run", task, "--model", "stub/echo", "--strategy", "multi", "--validator", "heuristic", "--threshold", "0", "--seed", "5",
             "--json", "--data-dir", data.path],
            environment: isolatedEnvironment(home: root, extra: ["STUB_KEY": "parent"]), timeout: 120)
        #expect(r.status == 0, "the parent run exited \(r.status): \(r.stderr.suffix(600))")
        let summary = try #require(r.stdout.split(separator: "\n").last.flatMap { jsonObject(String($0)) })
        let phases = (summary["phases"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(phases == ["planning", "research", "generation", "review", "refinement", "validation"])
        return try #require(summary["run_id"] as? String)
    }

    @Test(
        "fork --from review calls exactly review, refinement and validation; the earlier phases cost $0 and carry the parent's outputs",
        .enabled(if: YmeraBinary.has("fork"), "needs `ymera fork` in the binary"))
    func forkFromReview() throws {
        let stub = try StubProvider(chunks: 3)
        defer { stub.stop() }
        let (root, data) = try Self.home(stub, tag: "fork")
        defer { try? FileManager.default.removeItem(at: root) }
        let parent = try Self.parentRun(stub, root: root, data: data)
        #expect(stub.count("parent") >= 6)

        let env = isolatedEnvironment(home: root, extra: ["STUB_KEY": "fork"])
        let f = try YmeraBinary.run(
            ["fork", parent, "--from", "review", "--model", "review=stub/other", "--validator", "heuristic", "--json", "--data-dir", data.path],
            environment: env, timeout: 120)
        #expect(f.status == 0, "the fork exited \(f.status): \(f.stderr.suffix(600))")
        #expect(stub.count("fork") == 3, "the fork made \(stub.count("fork")) requests; review, refinement and validation make 3")
        #expect(stub.count("fork", model: "other") == 1, "review runs on the model --model named")
        #expect(stub.count("fork", model: "echo") == 2)
        let lines = f.stdout.split(separator: "\n").compactMap { jsonObject(String($0)) }
        let fork = try #require(lines.first { $0["type"] as? String == "run_planned" }.flatMap { ($0["plan"] as? [String: Any])?["run_id"] as? String })
        #expect(fork != parent)
        let reusedEvents = lines.filter { $0["type"] as? String == "step_reused" && !(($0["step"] as? String) ?? "/").contains("/") }
        #expect(reusedEvents.compactMap { $0["step"] as? String } == ["planning", "research", "generation"])
        #expect(reusedEvents.allSatisfy { $0["from_run"] as? String == parent })
        let started = Set(lines.filter { $0["type"] as? String == "step_started" }.compactMap { $0["step"] as? String })
        #expect(started == ["review", "refinement", "validation"], "steps started in the fork: \(started)")

        // The journal: byte-equal outputs, $0, marked reused, the parent recorded.
        let journal = try Journal.open(directory: data)
        let ps = try #require(try journal.state(parent))
        let fs = try #require(try journal.state(fork))
        #expect(fs.status == .succeeded)
        #expect(fs.plan?.forkOf?.run == parent && fs.plan?.forkOf?.from == "review")
        for id in ["planning", "research", "generation"] {
            #expect(fs.steps[id]?.output == ps.steps[id]?.output, "\(id): the fork carries the parent's output")
            #expect(fs.steps[id]?.output.isEmpty == false)
            #expect(fs.steps[id]?.cost == .zero)
            #expect(fs.steps[id]?.reusedFrom == parent)
        }
        #expect(fs.steps["review"]?.model == "stub/other")
        #expect(fs.steps["review"]?.reusedFrom == nil)
        let parentRecord = try #require(try journal.run(parent))
        let forkRecord = try #require(try journal.run(fork))
        #expect(forkRecord.forkOf == parent)
        #expect(parentRecord.forks == [fork])
        #expect(forkRecord.cost.money < parentRecord.cost.money, "the fork paid only for the phases it ran")
        try journal.close()

        // show and history name the parent, and the parent's forks.
        let show = try YmeraBinary.run(["show", fork, "--data-dir", data.path], environment: env, timeout: 60)
        #expect(show.status == 0)
        #expect(show.stdout.contains("fork of  \(parent) from review"), "\(show.stdout)")
        #expect(show.stdout.contains("reused from \(parent)"), "\(show.stdout)")
        let showParent = try YmeraBinary.run(["show", parent, "--data-dir", data.path], environment: env, timeout: 60)
        #expect(showParent.stdout.contains("forks    \(fork)"), "\(showParent.stdout)")
        let history = try YmeraBinary.run(["history", "--data-dir", data.path], environment: env, timeout: 60)
        #expect(history.stdout.contains("of \(parent.prefix(12))"), "\(history.stdout)")
        #expect(history.stdout.contains("1 fork"), "\(history.stdout)")

        // diff: both runs side by side, one row per phase.
        let diff = try YmeraBinary.run(["diff", parent, fork, "--json", "--data-dir", data.path], environment: env, timeout: 60)
        #expect(diff.status == 0, "\(diff.stderr)")
        let dj = try #require(jsonObject(diff.stdout))
        let comparison = try #require(dj["comparison"] as? [String: Any])
        #expect(comparison["run_a"] as? String == parent && comparison["run_b"] as? String == fork)
        let rows = comparison["phases"] as? [[String: Any]] ?? []
        #expect(rows.compactMap { $0["name"] as? String } == ["planning", "research", "generation", "review", "refinement", "validation"])
        for row in rows.prefix(3) {
            #expect(row["same_output"] as? Bool == true, "\(row)")
            #expect((row["b"] as? [String: Any])?["reused_from"] as? String == parent)
            #expect((row["b"] as? [String: Any])?["cost_usd"] as? Double == 0)
            let tokensA = (row["a"] as? [String: Any])?["tokens"] as? Int
            #expect((tokensA ?? 0) > 0)
        }
        let review = try #require(rows.first { $0["name"] as? String == "review" })
        #expect((review["a"] as? [String: Any])?["model"] as? String == "stub/echo")
        #expect((review["b"] as? [String: Any])?["model"] as? String == "stub/other")
        #expect(review["same_output"] as? Bool == false)
        #expect(((review["output_diff"] as? String) ?? "").contains("@@"))
        let text = try YmeraBinary.run(["diff", parent, fork, "--data-dir", data.path], environment: env, timeout: 60)
        #expect(text.status == 0)
        #expect(text.stdout.contains("MODEL A") && text.stdout.contains("stub/other") && text.stdout.contains("reused"), "\(text.stdout)")
        #expect(text.stdout.contains("── output: review ──"), "\(text.stdout)")

        // Unknown run or phase: a clear error naming it, exit 2, no request.
        let before = stub.count("bad")
        let badEnv = isolatedEnvironment(home: root, extra: ["STUB_KEY": "bad"])
        let noRun = try YmeraBinary.run(["fork", "rzzzz-nope", "--from", "review", "--data-dir", data.path], environment: badEnv, timeout: 60)
        #expect(noRun.status == 2)
        #expect(noRun.stderr.contains("rzzzz-nope"), "\(noRun.stderr)")
        let noPhase = try YmeraBinary.run(["fork", parent, "--from", "polishing", "--data-dir", data.path], environment: badEnv, timeout: 60)
        #expect(noPhase.status == 2)
        #expect(noPhase.stderr.contains("'polishing'"), "\(noPhase.stderr)")
        #expect(stub.count("bad") == before)
    }

    @Test(
        "replay --offline of a recorded run is the same with no request made; a changed quality threshold shows up as a difference (exit 1)",
        .enabled(if: YmeraBinary.has("fork"), "needs `replay --offline` in the binary"))
    func offlineReplay() throws {
        let stub = try StubProvider(chunks: 3)
        defer { stub.stop() }
        let (root, data) = try Self.home(stub, tag: "replay")
        defer { try? FileManager.default.removeItem(at: root) }
        let id = try Self.parentRun(stub, root: root, data: data)
        let made = stub.count("parent")
        let env = isolatedEnvironment(home: root, extra: ["STUB_KEY": "replay"])

        let same = try YmeraBinary.run(["replay", id, "--offline", "--json", "--data-dir", data.path], environment: env, timeout: 120)
        #expect(same.status == 0, "an unchanged replay exited \(same.status): \(same.stdout.suffix(800)) \(same.stderr.suffix(400))")
        let sj = try #require(same.stdout.split(separator: "\n").last.flatMap { jsonObject(String($0)) })
        let check = try #require(sj["check"] as? [String: Any])
        #expect(check["same"] as? Bool == true, "\(check)")
        #expect((check["differences"] as? [Any])?.isEmpty == true)
        #expect(check["requests_answered"] as? Int == made, "every recorded request answered from the journal")
        #expect(check["requests_unanswered"] as? Int == 0)

        let stricter = try YmeraBinary.run(["replay", id, "--offline", "--threshold", "0.99", "--data-dir", data.path], environment: env, timeout: 120)
        #expect(stricter.status == 1, "a changed threshold exited \(stricter.status): \(stricter.stdout.suffix(800)) \(stricter.stderr.suffix(400))")
        #expect(stricter.stdout.contains("DIFFERENT"), "\(stricter.stdout)")
        #expect(stricter.stdout.contains("≠ "), "\(stricter.stdout)")
        #expect(stricter.stdout.contains("quality threshold 0.0 → 0.99"), "\(stricter.stdout)")

        #expect(stub.count("replay") == 0, "an offline replay made \(stub.count("replay")) network requests")
        #expect(stub.count("parent") == made)
        #expect(try YmeraBinary.run(["replay", "rnope", "--offline", "--data-dir", data.path], environment: env, timeout: 60).status == 2)
    }
}
