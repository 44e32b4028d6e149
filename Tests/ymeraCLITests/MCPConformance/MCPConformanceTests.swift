import Foundation
import Testing

/// `ymera mcp --simulate` driven over stdio by a JSON-RPC client written from the MCP specification
/// (2025-11-25), not by the Swift SDK the server is built on: raw newline-delimited JSON-RPC, results
/// checked against the output schemas the server publishes with an independent JSON Schema checker.
@Suite("MCP conformance: ymera mcp over raw JSON-RPC", .serialized, .enabled(if: YmeraBinary.has("mcp"), "needs `ymera mcp` in the binary"))
struct MCPConformanceTests {
    static let toolNames = [
        "analyse_task", "plan_task", "start_run", "run_state", "run_events", "list_runs", "search_runs", "pause_run", "resume_run", "cancel_run",
        "approve_step", "reject_step", "rerun_step",
    ]

    /// A fresh home and data directory; removed by the caller.
    static func home() throws -> URL { try MCPServerTests.tempHome() }

    static func server(_ home: URL, _ extra: [String] = []) throws -> RPCPeer {
        try RPCPeer(
            executable: try #require(YmeraBinary.url),
            arguments: ["mcp", "--simulate", "--validator", "heuristic", "--data-dir", home.appendingPathComponent("data").path] + extra,
            environment: MCPServerTests.environment(home: home))
    }

    /// initialize + notifications/initialized; returns the initialize result.
    @discardableResult
    static func open(_ peer: RPCPeer, version: String = "2025-11-25") async throws -> JSON {
        let (_, r) = try await peer.request(
            "initialize", ["protocolVersion": .string(version), "capabilities": [:], "clientInfo": ["name": "conformance", "version": "1"]])
        let result = try #require(r["result"], "initialize answered with \(r)")
        try peer.notify("notifications/initialized")
        return result
    }

    /// The published tools, by name.
    static func tools(_ peer: RPCPeer) async throws -> [String: JSON] {
        let (_, r) = try await peer.request("tools/list", [:])
        let list = try #require(r["result"]?["tools"]?.array)
        return Dictionary(list.map { ($0["name"]?.string ?? "", $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Calls a tool that must succeed; checks the result against the specification and the tool's
    /// outputSchema and returns its structuredContent.
    static func call(_ peer: RPCPeer, _ tools: [String: JSON], _ name: String, _ args: JSON, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSON {
        let (raw, r) = try await peer.request("tools/call", ["name": .string(name), "arguments": args])
        let result = try #require(r["result"], "\(name) answered \(raw.prefix(400))", sourceLocation: sourceLocation)
        #expect(result["isError"] != .bool(true), "\(name) \(args): \(result["content"]?.array?.first?["text"]?.string ?? "")", sourceLocation: sourceLocation)
        let structured = try #require(result["structuredContent"], "\(name) has structuredContent", sourceLocation: sourceLocation)
        let schema = try #require(tools[name]?["outputSchema"], sourceLocation: sourceLocation)
        let problems = SchemaCheck.errors(structured, schema)
        #expect(problems.isEmpty, "\(name) output against its outputSchema: \(problems.prefix(5))", sourceLocation: sourceLocation)
        // The text block holds the same JSON.
        let text = try #require(result["content"]?.array?.first, sourceLocation: sourceLocation)
        #expect(text["type"] == "text", sourceLocation: sourceLocation)
        #expect(try JSON.parse(text["text"]?.string ?? "") == structured, "\(name): text and structuredContent agree", sourceLocation: sourceLocation)
        return structured
    }

    /// Calls a tool that must fail as a tool result (isError), not a protocol error; returns its message.
    static func failing(_ peer: RPCPeer, _ name: String, _ args: JSON, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let (raw, r) = try await peer.request("tools/call", ["name": .string(name), "arguments": args])
        #expect(r["error"] == nil, "\(name) \(args): a tool error must be a result, got \(raw.prefix(300))", sourceLocation: sourceLocation)
        #expect(r["result"]?["isError"] == .bool(true), "\(name) \(args) is isError: \(raw.prefix(300))", sourceLocation: sourceLocation)
        return r["result"]?["content"]?.array?.first?["text"]?.string ?? ""
    }

    /// A JSON-RPC error code for a request.
    static func errorCode(_ peer: RPCPeer, _ method: String, _ params: JSON?) async throws -> Int? {
        let (_, r) = try await peer.request(method, params)
        return r["error"]?["code"]?.int
    }

    static func waitTerminal(_ peer: RPCPeer, _ tools: [String: JSON], _ run: String, seconds: Int = 90) async throws -> JSON {
        var state: JSON = [:]
        for _ in 0..<(seconds * 10) {
            state = try await call(peer, tools, "run_state", ["run_id": .string(run)])
            if state["terminal"] == true { return state }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("run \(run) did not end within \(seconds) s: \(state["status"] ?? nil)")
        return state
    }

    static let task = "Write a Python function that parses ISO dates, with tests"

    // MARK: tests

    @Test("initialize negotiates the protocol version; tools/list publishes thirteen tools with input and output schemas")
    func handshake() async throws {
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(at: home) }
        for (asked, expected) in [("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"), ("2024-11-05", "2024-11-05"), ("2099-01-01", "2025-11-25")] {
            let peer = try Self.server(home)
            let result = try await Self.open(peer, version: asked)
            #expect(result["protocolVersion"]?.string == expected, "asked \(asked)")
            #expect(result["serverInfo"]?["name"] == "ymera")
            #expect(result["capabilities"]?["tools"] != nil)
            #expect(result["capabilities"]?["resources"] != nil)
            if asked == "2025-11-25" {
                let tools = try await Self.tools(peer)
                #expect(tools.keys.sorted() == Self.toolNames.sorted())
                for (name, tool) in tools {
                    for key in ["inputSchema", "outputSchema"] {
                        let schema = try #require(tool[key], "\(name) has \(key)")
                        #expect(schema["type"] == "object", "\(name).\(key) is an object schema")
                        #expect(SchemaCheck.unknownKeywords(schema).isEmpty, "\(name).\(key) uses only checked keywords: \(SchemaCheck.unknownKeywords(schema))")
                    }
                    #expect(tool["description"]?.string?.isEmpty == false)
                }
                // An unknown method is method-not-found.
                #expect(try await Self.errorCode(peer, "tools/frobnicate", [:]) == -32601)
            }
            await peer.close()
            #expect(peer.strayLines.isEmpty, "stdout carries only JSON-RPC: \(peer.strayLines.prefix(3))")
        }
    }

    @Test("every tool with valid input: results match their outputSchema; a run is followed, paged through and steered")
    func validInputs() async throws {
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(at: home) }
        let peer = try Self.server(home)
        try await Self.open(peer)
        let tools = try await Self.tools(peer)

        let intent = try await Self.call(peer, tools, "analyse_task", ["task": .string(Self.task)])
        let caps = intent["capabilities"]?.array?.compactMap(\.string) ?? []
        #expect(!caps.isEmpty && caps == caps.sorted(), "capabilities sorted: \(caps)")

        let plan = try await Self.call(peer, tools, "plan_task", ["task": .string(Self.task), "strategy": "multi", "seed": 7])
        let planID = try #require(plan["plan_id"]?.string)
        #expect(plan["run_id"] == nil, "plan_task returns a plan, not a run")
        #expect((plan["steps"]?.array?.count ?? 0) >= 2)
        #expect(plan["seed"] == 7)

        // start_run takes the plan: its steps are the plan's.
        let started = try await Self.call(peer, tools, "start_run", ["plan_id": .string(planID)])
        let runID = try #require(started["run_id"]?.string)
        #expect(started["plan_id"]?.string == planID)
        #expect(started["steps"] == plan["steps"])
        #expect(started["pacing"] == "instant")
        let state = try await Self.waitTerminal(peer, tools, runID)
        #expect(state["status"] == "succeeded")
        #expect(state["summary"]?["run_id"]?.string == runID)

        // The same plan started again is a new run.
        let again = try await Self.call(peer, tools, "start_run", ["plan_id": .string(planID)])
        #expect(again["run_id"]?.string != runID)
        _ = try await Self.waitTerminal(peer, tools, try #require(again["run_id"]?.string))

        // run_events: page through the whole run and prove it complete with seq/seq_end.
        var since = 0
        var covered = 0
        var rows = 0
        var last = 0
        var lastSeq = 0
        var coalesced = 0
        for _ in 0..<1000 {
            let page = try await Self.call(peer, tools, "run_events", ["run_id": .string(runID), "since": .int(since), "limit": 7])
            let events = page["events"]?.array ?? []
            #expect(events.count <= 7)
            for e in events {
                let seq = try #require(e["seq"]?.int)
                let end = try #require(e["seq_end"]?.int)
                #expect(seq > last, "seq increases: \(seq) after \(last)")
                #expect(end >= seq)
                #expect(seq <= covered + 1, "no number skipped before seq \(seq) (covered to \(covered))")
                if end > seq { coalesced += 1; #expect(e["type"] == "text_delta", "only text rows coalesce") }
                covered = max(covered, end)
                last = seq
                rows += 1
            }
            #expect(page["next_since"]?.int == (events.last?["seq"]?.int ?? since))
            #expect(page["terminal"] == true)
            lastSeq = page["last_seq"]?.int ?? -1
            since = page["next_since"]?.int ?? since
            if page["more"] != true { break }
        }
        #expect(covered == lastSeq && lastSeq > 0, "rows cover 1…last_seq: covered \(covered), last_seq \(lastSeq)")
        #expect(coalesced > 0 && rows < lastSeq, "text rows were coalesced (\(rows) rows for \(lastSeq) events)")

        let listed = try await Self.call(peer, tools, "list_runs", ["limit": 5, "status": "succeeded"])
        #expect(listed["runs"]?.array?.contains { $0["run_id"]?.string == runID } == true)
        let found = try await Self.call(peer, tools, "search_runs", ["query": "ISO dates", "limit": 3])
        #expect(found["runs"]?.array?.contains { $0["run_id"]?.string == runID } == true)

        // Steering a run paced in real time: pause, resume, cancel.
        let slow = try await Self.call(peer, tools, "start_run", ["task": "Write a long essay on the history of SQLite", "pacing": "realtime", "strategy": "cascade"])
        let slowID = try #require(slow["run_id"]?.string)
        #expect(slow["pacing"] == "realtime")
        let paused = try await Self.call(peer, tools, "pause_run", ["run_id": .string(slowID)])
        #expect(paused["requested"] == "pause")
        #expect(paused["status_before"] == "running")
        var status: JSON? = nil
        for _ in 0..<300 {
            status = try await Self.call(peer, tools, "run_state", ["run_id": .string(slowID)])["status"]
            if status == "paused" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(status == "paused")
        let resumed = try await Self.call(peer, tools, "resume_run", ["run_id": .string(slowID)])
        #expect(resumed["status_before"] == "paused")
        let cancelled = try await Self.call(peer, tools, "cancel_run", ["run_id": .string(slowID), "reason": "conformance test"])
        #expect(cancelled["requested"] == "cancel")
        let end = try await Self.waitTerminal(peer, tools, slowID, seconds: 30)
        #expect(end["status"] == "cancelled")

        // A gate: the run waits after generation; rerun_step with a note runs it again, approve_step lets it finish.
        let gated = try await Self.call(peer, tools, "start_run", ["task": "Write a Python function that adds two numbers", "strategy": "multi", "gates": ["generation"]])
        let gatedID = try #require(gated["run_id"]?.string)
        #expect(gated["gates"]?.array?.first?.string == "generation")
        func waitGate(_ n: Int) async throws -> Bool {
            for _ in 0..<600 {
                let page = try await Self.call(peer, tools, "run_events", ["run_id": .string(gatedID), "limit": 200])
                let gates = (page["events"]?.array ?? []).filter { $0["type"] == "awaiting_approval" }.count
                if gates >= n { return try await Self.call(peer, tools, "run_state", ["run_id": .string(gatedID)])["status"] == "awaiting_approval" }
                if page["terminal"] == true { return false }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
        #expect(try await waitGate(1), "the run waits at its gate")
        let rerun = try await Self.call(peer, tools, "rerun_step", ["run_id": .string(gatedID), "note": "name it add_numbers"])
        #expect(rerun["requested"] == "rerun")
        #expect(rerun["status_before"] == "awaiting_approval")
        #expect(try await waitGate(2), "the phase ran again and waits again")
        let approved = try await Self.call(peer, tools, "approve_step", ["run_id": .string(gatedID)])
        #expect(approved["requested"] == "approve")
        let gatedEnd = try await Self.waitTerminal(peer, tools, gatedID, seconds: 60)
        #expect(gatedEnd["status"] == "succeeded" || gatedEnd["status"] == "completed_below_threshold")
        let approveAgain = try await Self.failing(peer, "approve_step", ["run_id": .string(gatedID)])
        #expect(approveAgain.contains("not running"), "\(approveAgain)")

        // Resources: the run's summary and the files it wrote.
        let (_, read) = try await peer.request("resources/read", ["uri": .string("ymera://runs/\(runID)")])
        let contents = try #require(read["result"]?["contents"]?.array?.first)
        let summary = try JSON.parse(contents["text"]?.string ?? "")
        #expect(summary["status"] == "succeeded")
        if let file = summary["file_uris"]?.array?.first?.string {
            let (_, f) = try await peer.request("resources/read", ["uri": .string(file)])
            #expect(f["result"]?["contents"]?.array?.first?["uri"]?.string == file)
        }
        await peer.close()
        #expect(peer.strayLines.isEmpty)
    }

    @Test("invalid input: wrong types, ranges, enums, unknown ids are isError results; unknown tools and malformed calls are -32602")
    func invalidInputs() async throws {
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(at: home) }
        let peer = try Self.server(home)
        try await Self.open(peer)
        let tools = try await Self.tools(peer)
        let run = try #require(try await Self.call(peer, tools, "start_run", ["task": "Write a haiku about SQLite", "strategy": "single"])["run_id"]?.string)
        _ = try await Self.waitTerminal(peer, tools, run)
        let plan = try #require(try await Self.call(peer, tools, "plan_task", ["task": "Write a haiku"])["plan_id"]?.string)

        let cases: [(String, JSON, String)] = [
            ("run_events", ["run_id": .string(run), "limit": "ten"], "limit"),
            ("run_events", ["run_id": .string(run), "since": "x"], "since"),
            ("run_events", ["run_id": .string(run), "since": -1], "since"),
            ("run_events", ["run_id": .string(run), "limit": 201], "limit"),
            ("list_runs", ["limit": 2.5], "limit"),
            ("list_runs", ["limit": 0], "limit"),
            ("list_runs", ["status": "done"], "status"),
            ("list_runs", ["limt": 3], "limt"),
            ("plan_task", [:], "task"),
            ("plan_task", ["task": 42], "task"),
            ("plan_task", ["task": "   "], "task"),
            ("plan_task", ["task": "x", "strategy": "fast"], "strategy"),
            ("plan_task", ["task": "x", "budget_usd": -5], "budget_usd"),
            ("plan_task", ["task": "x", "seed": "7"], "seed"),
            ("plan_task", ["task": "x", "models": "a"], "models"),
            ("plan_task", ["task": "x", "models": ["generation=no-such-model"]], "models"),
            ("plan_task", ["task": "Write a long report on databases", "max_tokens": 1], "refused"),
            ("plan_task", ["task": .string(String(repeating: "a", count: 70_000))], "64 KiB"),
            ("analyse_task", ["task": true], "task"),
            ("run_state", ["run_id": "no-such-run"], "unknown run id"),
            ("run_state", ["run_id": 5], "run_id"),
            ("run_state", [:], "run_id"),
            ("start_run", [:], "plan_id"),
            ("start_run", ["plan_id": "plan-nothere"], "plan_id"),
            ("start_run", ["plan_id": .string(plan), "task": "x"], "drop task"),
            ("start_run", ["task": "x", "pacing": "fast"], "pacing"),
            ("search_runs", ["query": ""], "query"),
            ("pause_run", ["run_id": .string(run)], "not running"),
            ("cancel_run", ["run_id": "no-such-run"], "unknown run id"),
            ("approve_step", ["run_id": "no-such-run"], "unknown run id"),
            ("approve_step", ["run_id": .string(run), "edited_output": ""], "edited_output"),
            ("reject_step", ["run_id": .string(run)], "not running"),
            ("rerun_step", ["run_id": .string(run), "note": 5], "note"),
            ("plan_task", ["task": "x", "gates": ["deploy"]], "gates"),
        ]
        for (tool, args, mention) in cases {
            let message = try await Self.failing(peer, tool, args)
            #expect(message.contains(mention), "\(tool) \(args): the message names \(mention): \(message)")
        }

        // Protocol errors: an unknown tool, a malformed call, an invalid cursor.
        #expect(try await Self.errorCode(peer, "tools/call", ["name": "no_such_tool", "arguments": [:]]) == -32602)
        #expect(try await Self.errorCode(peer, "tools/call", ["arguments": [:]]) == -32602)
        #expect(try await Self.errorCode(peer, "tools/call", ["name": "list_runs", "arguments": [1]]) == -32602)
        #expect(try await Self.errorCode(peer, "tools/call", nil) == -32602)
        #expect(try await Self.errorCode(peer, "resources/list", ["cursor": "garbage"]) == -32602)
        #expect(try await Self.errorCode(peer, "resources/read", ["uri": "ymera://runs/no-such-run"]) == -32002)
        #expect(try await Self.errorCode(peer, "resources/read", ["uri": .string("ymera://runs/\(run)/files/../../etc/passwd")]) == -32002)
        // The server still answers after all that.
        _ = try await Self.call(peer, tools, "list_runs", [:])
        await peer.close()
        #expect(peer.strayLines.isEmpty)
    }

    @Test("ymera mcp --realtime paces simulated runs in real time unless start_run asks for instant")
    func realtimeServer() async throws {
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(at: home) }
        let peer = try Self.server(home, ["--realtime"])
        try await Self.open(peer)
        let tools = try await Self.tools(peer)
        let slow = try await Self.call(peer, tools, "start_run", ["task": "Write a long essay on the history of SQLite", "strategy": "parallel"])
        #expect(slow["pacing"] == "realtime")
        let slowID = try #require(slow["run_id"]?.string)
        // Simulated models in real time take seconds: it is still going.
        let state = try await Self.call(peer, tools, "run_state", ["run_id": .string(slowID)])
        #expect(state["terminal"] == false && state["running_here"] == true)

        // Paging while it runs (parallel candidates interleave their text) misses no sequence number.
        var since = 0, covered = 0, lastSeq = 0, pages = 0
        var cancelled = false
        for _ in 0..<600 {
            let page = try await Self.call(peer, tools, "run_events", ["run_id": .string(slowID), "since": .int(since), "limit": 20])
            for e in page["events"]?.array ?? [] {
                let seq = e["seq"]?.int ?? 0
                #expect(seq <= covered + 1, "live paging: seq \(seq) after coverage \(covered)")
                covered = max(covered, e["seq_end"]?.int ?? seq)
            }
            since = page["next_since"]?.int ?? since
            lastSeq = page["last_seq"]?.int ?? 0
            pages += 1
            if page["terminal"] == true && page["more"] == false { break }
            if pages == 15 && !cancelled {
                _ = try await Self.call(peer, tools, "cancel_run", ["run_id": .string(slowID)])
                cancelled = true
            }
            if page["more"] != true { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(covered == lastSeq && lastSeq > 0, "live pages cover 1…\(lastSeq): covered \(covered)")
        let end = try await Self.waitTerminal(peer, tools, slowID, seconds: 30)
        #expect(end["status"] == (cancelled ? "cancelled" : "succeeded"))
        let quick = try await Self.call(peer, tools, "start_run", ["task": "Write a haiku", "pacing": "instant"])
        #expect(quick["pacing"] == "instant")
        _ = try await Self.waitTerminal(peer, tools, try #require(quick["run_id"]?.string))
        await peer.close()
    }

    @Test("resource templates, and resources/list pages through every run with nextCursor")
    func resources() async throws {
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(at: home) }
        let peer = try Self.server(home)
        try await Self.open(peer)
        let tools = try await Self.tools(peer)

        let (_, t) = try await peer.request("resources/templates/list", [:])
        let templates = t["result"]?["resourceTemplates"]?.array?.compactMap { $0["uriTemplate"]?.string } ?? []
        #expect(templates.contains("ymera://runs/{id}"))
        #expect(templates.contains { $0.hasPrefix("ymera://runs/{id}/files/") })

        // More runs than one page (50).
        var ids: [String] = []
        for i in 0..<53 {
            let s = try await Self.call(peer, tools, "start_run", ["task": .string("Write haiku number \(i) about SQLite"), "strategy": "single"])
            let id = try #require(s["run_id"]?.string)
            ids.append(id)
            _ = try await Self.waitTerminal(peer, tools, id)
        }
        var seen: [String] = []
        var cursor: String? = nil
        var pages = 0
        repeat {
            let (raw, r) = try await peer.request("resources/list", cursor.map { ["cursor": .string($0)] } ?? [:])
            let result = try #require(r["result"], "resources/list: \(raw.prefix(300))")
            let uris = result["resources"]?.array?.compactMap { $0["uri"]?.string } ?? []
            #expect(uris.count <= 50)
            seen += uris
            cursor = result["nextCursor"]?.string
            pages += 1
        } while cursor != nil && pages < 10
        #expect(pages == 2)
        #expect(Set(seen).count == seen.count, "no run listed twice")
        #expect(Set(seen) == Set(ids.map { "ymera://runs/\($0)" }), "every run listed once")
        await peer.close()
    }

    @Test("the same request on the same journal gives the same bytes, in one server and across servers")
    func determinism() async throws {
        let home = try Self.home()
        defer { try? FileManager.default.removeItem(at: home) }
        var runID = ""
        do {
            let peer = try Self.server(home)
            try await Self.open(peer)
            let tools = try await Self.tools(peer)
            runID = try #require(try await Self.call(peer, tools, "start_run", ["task": .string(Self.task), "seed": 5])["run_id"]?.string)
            _ = try await Self.waitTerminal(peer, tools, runID)
            await peer.close()
        }
        let requests: [(String, JSON)] = [
            ("plan_task", ["task": .string(Self.task), "seed": 42, "strategy": "parallel"]),
            ("plan_task", ["task": "Analyse the trade-offs of SQLite versus PostgreSQL for a small web app"]),
            ("analyse_task", ["task": "Write a Rust CLI with tests that reasons about dates"]),
            ("run_events", ["run_id": .string(runID), "limit": 50]),
            ("run_state", ["run_id": .string(runID)]),
            ("list_runs", [:]),
        ]
        func session() async throws -> [String] {
            let peer = try Self.server(home)
            try await Self.open(peer)
            var lines: [String] = []
            for (i, (name, args)) in requests.enumerated() {
                lines.append(try await peer.request("tools/call", ["name": .string(name), "arguments": args], id: 100 + i).raw)
            }
            // The same requests again in the same session (new ids: compare what follows the id).
            for (i, (name, args)) in requests.enumerated() {
                let again = try await peer.request("tools/call", ["name": .string(name), "arguments": args], id: 200 + i).raw
                #expect(again.replacingOccurrences(of: "\"id\":\(200 + i),", with: "\"id\":\(100 + i),") == lines[i], "\(name) twice in one session")
            }
            await peer.close()
            return lines
        }
        let first = try await session()
        let second = try await session()
        for (i, (name, _)) in requests.enumerated() {
            #expect(first[i] == second[i], "\(name): the same bytes across servers")
            #expect(!first[i].contains("\"isError\":true"), "\(name) succeeded: \(first[i].prefix(300))")
        }
    }
}
