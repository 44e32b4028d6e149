import Foundation
import MCP
import Testing
import YmeraConfig
import YmeraCore
import YmeraMCP

/// `ymera mcp` driven by an MCP client over stdio, the way an agent would use it, and the tool host's
/// process launcher against real child processes.
@Suite("ymera mcp over stdio (the real binary)", .serialized)
struct MCPServerTests {
    static func environment(home: URL) -> [String: String] {
        ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": home.path,
         "XDG_CONFIG_HOME": home.appendingPathComponent(".config").path,
         "XDG_DATA_HOME": home.appendingPathComponent(".local/share").path,
         "XDG_STATE_HOME": home.appendingPathComponent(".local/state").path,
         "LANG": "C.UTF-8", "NO_COLOR": "1"]
    }

    static func tempHome() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-mcp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func config(home: URL) throws -> MCPServerConfig {
        let exe = try #require(YmeraBinary.url)
        return MCPServerConfig(
            name: "ymera", command: exe.path,
            args: ["mcp", "--simulate", "--validator", "heuristic", "--data-dir", home.appendingPathComponent("data").path],
            callTimeoutMs: 60_000, startupTimeoutMs: 60_000)
    }

    /// The JSON object in a tool result's first text part.
    static func json(_ result: (content: [Tool.Content], isError: Bool?)) throws -> [String: Any] {
        guard case .text(let text, _, _)? = result.content.first else { throw CocoaError(.coderReadCorrupt) }
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test(
        "an MCP client lists ymera's tools, plans a task, starts a simulated run, follows it to the end and reads its summary",
        .enabled(if: YmeraBinary.has("mcp"), "needs `ymera mcp` in the binary"))
    func endToEnd() async throws {
        let home = try Self.tempHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let launcher = ProcessLauncher(environment: Self.environment(home: home))
        let launched = try await launcher.launch(try Self.config(home: home)) { _ in }
        let client = Client(name: "ymera-test", version: "1")
        try await client.connect(transport: launched.transport)

        let tools = try await client.listTools().tools.map(\.name)
        for name in ["analyse_task", "plan_task", "start_run", "run_state", "run_events", "list_runs", "search_runs", "pause_run", "resume_run", "cancel_run",
                     "approve_step", "reject_step", "rerun_step"] {
            #expect(tools.contains(name), "\(name) is listed")
        }

        let task = "Write a Python function that parses ISO dates, with tests"
        let plan = try Self.json(try await client.callTool(name: "plan_task", arguments: ["task": .string(task), "strategy": .string("multi")]))
        #expect(plan["strategy"] as? String == "multi")
        #expect(plan["serving"] as? String == "simulated")
        #expect(((plan["steps"] as? [[String: Any]]) ?? []).count >= 2)
        #expect((plan["forecast"] as? [String: Any])?["cost_usd"] is Double)

        let started = try Self.json(try await client.callTool(name: "start_run", arguments: ["task": .string(task), "seed": .int(11)]))
        let runID = try #require(started["run_id"] as? String)

        var state: [String: Any] = [:]
        for _ in 0..<600 {
            state = try Self.json(try await client.callTool(name: "run_state", arguments: ["run_id": .string(runID)]))
            if state["terminal"] as? Bool == true { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(state["terminal"] as? Bool == true, "the run ended")
        #expect(state["status"] as? String == "succeeded")
        let summary = try #require(state["summary"] as? [String: Any])
        #expect(summary["run_id"] as? String == runID)
        #expect(summary["status"] as? String == "succeeded")
        #expect(!((summary["phases"] as? [Any]) ?? []).isEmpty)

        let events = try Self.json(try await client.callTool(name: "run_events", arguments: ["run_id": .string(runID), "limit": .int(5)]))
        #expect((events["events"] as? [Any])?.count == 5)
        #expect(events["more"] as? Bool == true)

        let listed = try Self.json(try await client.callTool(name: "list_runs", arguments: [:]))
        #expect(((listed["runs"] as? [[String: Any]]) ?? []).contains { $0["run_id"] as? String == runID })
        let found = try Self.json(try await client.callTool(name: "search_runs", arguments: ["query": .string("ISO dates")]))
        #expect(((found["runs"] as? [[String: Any]]) ?? []).contains { $0["run_id"] as? String == runID })

        let resources = try await client.listResources().resources
        #expect(resources.contains { $0.uri == "ymera://runs/\(runID)" })
        let contents = try await client.readResource(uri: "ymera://runs/\(runID)")
        let text = try #require(contents.first?.text)
        let resource = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(resource["status"] as? String == "succeeded")

        // Bad input is a tool result with isError and a message naming what to change.
        func failure(_ name: String, _ args: [String: Value]) async throws -> String {
            let r = try await client.callTool(name: name, arguments: args)
            #expect(r.isError == true, "\(name) \(args) is an isError result")
            guard case .text(let text, _, _)? = r.content.first else { return "" }
            return text
        }
        #expect(try await failure("run_state", ["run_id": .string("no-such-run")]).contains("unknown run id"))
        #expect(try await failure("start_run", ["task": .string("x"), "budget_usd": .int(-5)]).contains("budget_usd"))
        #expect(try await failure("plan_task", ["task": .string(String(repeating: "a", count: 70_000))]).contains("limit"))
        #expect(try await failure("pause_run", ["run_id": .string(runID)]).contains("not running"))
        // An unknown tool is a protocol error.
        await #expect(throws: MCPError.self) { _ = try await client.callTool(name: "no_such_tool", arguments: [:]) }

        await client.disconnect()
        await launched.stop()
    }

    @Test(
        "the tool host starts `ymera mcp` as a configured server, offers its tools to a phase, calls one, and stops it with the run",
        .enabled(if: YmeraBinary.has("mcp"), "needs `ymera mcp` in the binary"))
    func toolHostOverProcess() async throws {
        let home = try Self.tempHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let host = MCPToolHost(servers: [try Self.config(home: home)], launcher: ProcessLauncher(environment: Self.environment(home: home)))
        let tools = try await host.tools(for: .research, runID: "r1")
        #expect(tools.contains { $0.name == "ymera__analyse_task" })
        let r = try await host.call(
            ToolCall(id: "c1", name: "ymera__analyse_task", argumentsJSON: #"{"task":"Write a Rust CLI that counts words"}"#),
            context: ToolContext(runID: "r1", stepID: "research", phase: .research), timeoutMs: 60_000)
        #expect(r.content.contains("\"task_type\""))
        #expect(r.isError == false)
        await host.endRun("r1")
        let after = await host.runIDs()
        #expect(after.isEmpty)
    }

    @Test("a server process that exits at once, or writes non-MCP text, is a classified start failure with its stderr")
    func brokenProcesses() async throws {
        let exits = MCPToolHost(servers: [MCPServerConfig(name: "dies", command: "/bin/sh", args: ["-c", "echo 'boom: no config' >&2; exit 3"], startupTimeoutMs: 20_000)])
        do {
            _ = try await exits.tools(for: .research, runID: "r1")
            Issue.record("a server that exits was started")
        } catch let f as ToolFailure {
            #expect(f.failureClass == .serverUnavailable)
            #expect(f.message.contains("dies"))
        }
        await exits.endRun("r1")

        let chatty = MCPToolHost(servers: [MCPServerConfig(name: "chatty", command: "/bin/sh", args: ["-c", "read line; echo 'Listening on port 3000'; sleep 30"], startupTimeoutMs: 20_000)])
        do {
            _ = try await chatty.tools(for: .research, runID: "r1")
            Issue.record("a server that writes garbage was started")
        } catch let f as ToolFailure {
            #expect(f.failureClass == .serverUnavailable)
            #expect(f.message.contains("not MCP JSON-RPC"))
        }
        await chatty.endRun("r1")

        let missing = MCPToolHost(servers: [MCPServerConfig(name: "nothere", command: "ymera-no-such-mcp-server")])
        do {
            _ = try await missing.tools(for: .generation, runID: "r1")
            Issue.record("a missing command was started")
        } catch let f as ToolFailure {
            #expect(f.failureClass == .serverUnavailable)
            #expect(f.message.contains("not found"))
        }
    }
}

/// A minimal MCP server as a real child process (python3): answers the handshake and `tools/list`,
/// echoes with `echo`, exits in the middle of a `crash` call, and never answers `hang`.
@Suite("MCP tool host against a real child process", .serialized)
struct MCPProcessFailureTests {
    static let python: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    static let script = #"""
        import json, os, signal, sys, time
        def on_term(*_):
            open(os.environ["YMERA_TEST_MARK"], "w").write("terminated")
            sys.exit(0)
        signal.signal(signal.SIGTERM, on_term)
        def send(obj):
            sys.stdout.write(json.dumps(obj) + "\n"); sys.stdout.flush()
        for line in sys.stdin:
            msg = json.loads(line)
            mid, method = msg.get("id"), msg.get("method")
            if method == "initialize":
                send({"jsonrpc": "2.0", "id": mid, "result": {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "py", "version": "1"}}})
            elif method == "tools/list":
                tools = [{"name": n, "description": n, "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}} for n in ("echo", "crash", "hang")]
                send({"jsonrpc": "2.0", "id": mid, "result": {"tools": tools}})
            elif method == "tools/call":
                name = msg["params"]["name"]
                if name == "crash":
                    sys.stderr.write("fatal: out of cheese\n"); sys.stderr.flush(); sys.exit(7)
                if name == "hang":
                    time.sleep(3600)
                send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "py echo: " + msg["params"].get("arguments", {}).get("text", "")}]}})
        """#

    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-mcp-py-\(UUID().uuidString)")
    var mark: URL { dir.appendingPathComponent("terminated") }

    func host(callTimeoutMs: Int64) throws -> MCPToolHost {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("server.py")
        try Self.script.write(to: file, atomically: true, encoding: .utf8)
        let config = MCPServerConfig(
            name: "py", command: try #require(Self.python), args: ["-u", file.path], env: ["YMERA_TEST_MARK": mark.path],
            // The handshake limit is a hang guard: under a loaded CI machine python3 (often a pyenv shim)
            // has taken over 30 s to start beside the suite's other real-binary tests.
            callTimeoutMs: callTimeoutMs, startupTimeoutMs: 180_000)
        return MCPToolHost(servers: [config])
    }

    let ctx = ToolContext(runID: "r1", stepID: "research", phase: .research)

    @Test("a server process that exits mid-call is server_crashed at once (not after the call's limit), with its stderr", .enabled(if: python != nil))
    func crashMidCall() async throws {
        let host = try host(callTimeoutMs: 600_000)
        let tools = try await host.tools(for: .research, runID: "r1")
        #expect(tools.map(\.name) == ["py__echo", "py__crash", "py__hang"])
        let ok = try await host.call(ToolCall(id: "c1", name: "py__echo", argumentsJSON: #"{"text":"hi"}"#), context: ctx, timeoutMs: 600_000)
        #expect(ok.content == "py echo: hi")
        do {
            _ = try await host.call(ToolCall(id: "c2", name: "py__crash", argumentsJSON: "{}"), context: ctx, timeoutMs: 600_000)
            Issue.record("the crash was not noticed")
        } catch let f as ToolFailure {
            #expect(f.failureClass == .serverCrashed)
            #expect(f.server == "py")
        }
        await host.endRun("r1")
    }

    @Test("a server process that never answers is a timeout; endRun then stops it with SIGTERM", .enabled(if: python != nil))
    func hangThenStop() async throws {
        let host = try host(callTimeoutMs: 300)
        _ = try await host.tools(for: .research, runID: "r1")
        do {
            _ = try await host.call(ToolCall(id: "c1", name: "py__hang", argumentsJSON: "{}"), context: ctx, timeoutMs: 600_000)
            Issue.record("the hang was not cut")
        } catch let f as ToolFailure {
            #expect(f.failureClass == .timeout)
        }
        await host.endRun("r1")
        #expect(await host.runIDs().isEmpty)
        // SIGTERM reached it (its handler ran): servers are spawned with an empty signal mask, not the
        // runtime thread's, which blocks SIGTERM and would leave only SIGKILL.
        #expect(FileManager.default.fileExists(atPath: mark.path))
        try? FileManager.default.removeItem(at: dir)
    }
}
