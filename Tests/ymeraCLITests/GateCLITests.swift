import Foundation
import Testing
import YmeraCore
import YmeraStore

#if canImport(Glibc)
    import Glibc
#endif

/// Gates across processes, on the real binary and a loopback stub that counts requests and keeps
/// their bodies: a gated run waits (also after `kill -9` and a takeover, with no provider call), and
/// `ymera approve | rerun | reject` from other processes decide it through the journal.
@Suite("Gates between phases (the real binary)", .serialized, .enabled(if: YmeraBinary.has("approve"), "needs `ymera approve` in the binary"))
struct GateCLITests {
    static let task = "Write a Python function that adds two numbers"
    static let generated = "```python\n# file: add.py\ndef add(a, b):\n    return a + b\n```\n"
    static let edited = "```python\n# file: add.py\ndef add(a: int, b: int) -> int:\n    return a + b  # EDITED-BY-PERSON\n```\n"

    /// Generation answers with a file; every other phase with the stub's numbered answer.
    static func stub() throws -> StubProvider {
        try StubProvider(chunks: 3, reply: { body in body.contains("You are the generation stage") ? generated : nil })
    }

    static func home(_ stub: StubProvider, tag: String) throws -> (root: URL, data: URL) {
        let (root, data) = try RunHostTests.home(stub, tag: tag)
        let other = """
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
        let catalog = root.appendingPathComponent(".config/ymera/catalog.toml")
        try (stub.catalogTOML + "\n" + other).write(to: catalog, atomically: true, encoding: .utf8)
        return (root, data)
    }

    static func runArgs(data: URL) -> [String] {
        ["run", task, "--model", "stub/echo", "--strategy", "multi", "--validator", "heuristic", "--threshold", "0", "--seed", "5",
         "--gate", "generation", "--json", "--data-dir", data.path]
    }

    static func phase(_ body: String) -> String? {
        Phase.allCases.first { body.contains("You are the \($0.rawValue) stage") }?.rawValue
    }

    static func model(_ body: String) -> String? { jsonObject(body)?["model"] as? String }

    static func run(_ args: [String], _ root: URL, key: String) throws -> YmeraBinary.Result {
        try YmeraBinary.run(args, environment: isolatedEnvironment(home: root, extra: ["STUB_KEY": key]), timeout: 60)
    }

    @Test("--gate generation: the run waits; kill -9 and a takeover bring it back to the gate with no request; approve --edit from another process finishes it with the edit")
    func waitsSurvivesAKillAndTakesAnEdit() throws {
        let stub = try Self.stub()
        defer { stub.stop() }
        let (root, data) = try Self.home(stub, tag: "gate")
        defer { try? FileManager.default.removeItem(at: root) }
        let a = try Child(Self.runArgs(data: data), environment: isolatedEnvironment(home: root, extra: ["STUB_KEY": "first"]),
                          killAfterLines: nil, timeout: 120)
        #expect(RunHostTests.waitFor(a, type: "awaiting_approval"), "the run never reached its gate: \(a.outputLines.suffix(3))")
        let id = try #require(RunHostTests.runID(a))
        let gate = try #require(a.outputLines.compactMap(jsonObject).first { $0["type"] as? String == "awaiting_approval" })
        #expect(gate["step"] as? String == "generation")
        #expect(gate["phase"] as? String == "generation")
        #expect((gate["output_chars"] as? Int) == Self.generated.count)
        #expect(gate["score"] is Double)
        let phases = stub.requests("first").compactMap(Self.phase)
        #expect(phases == ["planning", "generation"], "requests before the gate: \(phases)")

        // It waits: a second later nothing more was asked, and the Runs list says so.
        usleep(1_000_000)
        #expect(stub.count("first") == 2)
        #expect(a.process.isRunning)
        let listed = try Self.run(["history", "--json", "--data-dir", data.path], root, key: "none")
        #expect(listed.stdout.contains("awaiting_approval"), "history shows the gate: \(listed.stdout.prefix(400))")

        kill(a.process.processIdentifier, SIGKILL)
        _ = a.wait()
        do {
            let j = try Journal.open(directory: data)
            let st = try #require(try j.state(id))
            #expect(st.status == .interrupted)
            #expect(st.gates.map(\.step) == ["generation"], "the journal kept the open gate")
            try j.close()
        }

        // A takeover comes back to the gate without calling any provider.
        let b = try Child(["resume", id, "--json", "--validator", "heuristic", "--data-dir", data.path],
                          environment: isolatedEnvironment(home: root, extra: ["STUB_KEY": "second"]), killAfterLines: nil, timeout: 120)
        #expect(RunHostTests.waitFor(b, type: "awaiting_approval"), "the takeover did not come back to the gate: \(b.outputLines.suffix(3))")
        usleep(500_000)
        #expect(stub.count("second") == 0, "no request to come back to the gate")
        #expect(b.process.isRunning)

        // Approve with an edit, from a third process.
        let file = root.appendingPathComponent("edited.md")
        try Self.edited.write(to: file, atomically: true, encoding: .utf8)
        let empty = root.appendingPathComponent("empty.md")
        try "\n".write(to: empty, atomically: true, encoding: .utf8)
        let refused = try Self.run(["approve", id, "--edit", empty.path, "--data-dir", data.path], root, key: "third")
        #expect(refused.status == 2, "an empty edit is refused: \(refused.stderr.suffix(300))")
        let approve = try Self.run(["approve", id, "--edit", file.path, "--data-dir", data.path], root, key: "third")
        #expect(approve.status == 0, "approve exited \(approve.status): \(approve.stderr.suffix(400))")
        #expect(approve.stderr.contains("approved"), "\(approve.stderr)")
        #expect(stub.count("third") == 0)
        let end = b.wait()
        #expect(end.status == 0, "the run did not finish: \(end.stderr.suffix(400))")
        let after = stub.requests("second")
        #expect(after.compactMap(Self.phase) == ["validation"], "after the gate: \(after.compactMap(Self.phase))")
        #expect(after.first?.contains("EDITED-BY-PERSON") == true, "the next phase's prompt holds the edited text")

        let j = try Journal.open(directory: data)
        let st = try #require(try j.state(id))
        #expect(st.status == .succeeded)
        #expect(st.steps["generation"]?.output == Self.edited)
        #expect(st.steps["generation"]?.editedBy == "you")
        try j.close()
        let ws = try #require(try Workspace.existing(dataDirectory: data, runID: id))
        let history = try #require(ws.manifest.files.first { $0.path == "add.py" })
        #expect(history.versions.map(\.model) == ["stub/echo", "you"], "\(history.versions)")
        #expect(history.latest.version == 2)
        #expect(String(decoding: try ws.content(of: history.latest), as: UTF8.self).contains("EDITED-BY-PERSON"))

        let show = try Self.run(["show", id, "--data-dir", data.path], root, key: "none")
        #expect(show.stdout.contains("(edited by you)"), "\(show.stdout)")
        let export = try Self.run(["export", id, "--format", "markdown", "--data-dir", data.path], root, key: "none")
        #expect(export.stdout.contains("Output edited by you"), "\(export.stdout.prefix(600))")
    }

    @Test("rerun --model from another process makes exactly one more request, to that model, with the note; reject ends the run as cancelled with the reason")
    func rerunOnAnotherModelThenReject() throws {
        let stub = try Self.stub()
        defer { stub.stop() }
        let (root, data) = try Self.home(stub, tag: "gate-rerun")
        defer { try? FileManager.default.removeItem(at: root) }
        let a = try Child(Self.runArgs(data: data), environment: isolatedEnvironment(home: root, extra: ["STUB_KEY": "run"]),
                          killAfterLines: nil, timeout: 120)
        #expect(RunHostTests.waitFor(a, type: "awaiting_approval"))
        let id = try #require(RunHostTests.runID(a))
        let before = stub.count("run")

        let unknown = try Self.run(["rerun", id, "--model", "stub/nothere", "--data-dir", data.path], root, key: "cli")
        #expect(unknown.status == 2, "an unknown model is refused: \(unknown.stderr.suffix(300))")
        let rerun = try Self.run(["rerun", id, "--model", "stub/other", "--note", "keep it to one line", "--data-dir", data.path], root, key: "cli")
        #expect(rerun.status == 0, "rerun exited \(rerun.status): \(rerun.stderr.suffix(400))")
        #expect(RunHostTests.waitFor(a, type: "awaiting_approval", count: 2), "the phase did not stop at its gate again")
        usleep(300_000)
        let requests = stub.requests("run")
        #expect(requests.count == before + 1, "exactly one more request: \(requests.count - before)")
        #expect(requests.last.flatMap(Self.model) == "other")
        #expect(requests.last.flatMap(Self.phase) == "generation")
        #expect(requests.last?.contains("keep it to one line") == true)
        #expect(stub.count("cli") == 0)

        let reject = try Self.run(["reject", id, "--reason", "not what I asked", "--data-dir", data.path], root, key: "cli")
        #expect(reject.status == 0, "reject exited \(reject.status): \(reject.stderr.suffix(400))")
        let end = a.wait()
        #expect(end.status == 1)
        let j = try Journal.open(directory: data)
        let st = try #require(try j.state(id))
        #expect(st.status == .cancelled)
        #expect(st.endReason?.contains("not what I asked") == true)
        #expect(stub.count("run") == before + 1, "nothing ran after the rejection")
        try j.close()
    }
}
