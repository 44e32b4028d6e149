import Foundation
import MCP
import Testing
import YmeraConfig
import YmeraCore
@testable import YmeraMCP

@Suite("MCP tool host over the in-memory transport")
struct MCPToolHostTests {
    @Test("a phase's tools are listed with provider-safe, unique names and their schemas")
    func listing() async throws {
        let log = ServerLog()
        let host = MCPToolHost(servers: [server("files"), server("web.search", phases: [.generation])], launcher: testLauncher(log: log, extraTools: ["dots_and spaces"]))
        let research = try await host.tools(for: .research, runID: "r1")
        let names = research.map(\.name)
        #expect(names.contains("files__echo"))
        #expect(names.contains("files__dots_and_spaces"))
        #expect(names.contains("files__dots_and_spaces_2"), "the second tool that cleans to the same name gets a suffix")
        #expect(Set(names).count == names.count)
        #expect(log.startedNames == ["files"], "only the servers of the asking phase start")
        for spec in research {
            #expect(spec.name.range(of: "^[a-zA-Z0-9_-]{1,64}$", options: .regularExpression) != nil, "\(spec.name)")
            #expect(spec.server == "files")
            let schema = try JSONSerialization.jsonObject(with: Data(spec.inputSchemaJSON.utf8)) as? [String: Any]
            #expect(schema?["type"] as? String == "object")
        }
        let generation = try await host.tools(for: .generation, runID: "r1")
        #expect(generation.contains { $0.name == "web_search__echo" && $0.server == "web.search" })
        #expect(log.startedNames.sorted() == ["files", "web.search"], "each server starts once per run")
        #expect(try await host.tools(for: .review, runID: "r1").isEmpty)
        await host.endRun("r1")
    }

    @Test("long names stay within 64 characters and stay unique")
    func longNames() {
        var taken: [String: MCPToolHost.Route] = [:]
        let long = String(repeating: "x", count: 100)
        for _ in 0..<3 {
            let n = MCPToolHost.uniqueName(server: "srv", tool: long, taken: taken)
            #expect(n.count <= 64)
            #expect(taken[n] == nil)
            taken[n] = .init(server: "srv", tool: long)
        }
        #expect(taken.count == 3)
    }

    @Test("a call reaches the right server and its result comes back; isError and images are passed on")
    func callResult() async throws {
        let host = MCPToolHost(servers: [server("files")], launcher: testLauncher())
        _ = try await host.tools(for: .research, runID: "r1")
        let r = try await host.call(ToolCall(id: "c1", name: "files__echo", argumentsJSON: #"{"text":"hello"}"#), context: context("r1"), timeoutMs: 5_000)
        #expect(r.content == "echo: hello")
        #expect(r.callID == "c1")
        #expect(r.isError == false)
        let failed = try await host.call(ToolCall(id: "c2", name: "files__fail", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 5_000)
        #expect(failed.isError)
        #expect(failed.content == "no such file")
        let picture = try await host.call(ToolCall(id: "c3", name: "files__picture", argumentsJSON: ""), context: context("r1"), timeoutMs: 5_000)
        #expect(picture.content.hasPrefix("a chart:\n[image image/png, "))
        await host.endRun("r1")
    }

    @Test("a long result full of escape sequences is bounded and sanitized")
    func hostileResult() async throws {
        let host = MCPToolHost(servers: [server("files")], launcher: testLauncher(), maxResultChars: 2_000)
        _ = try await host.tools(for: .research, runID: "r1")
        let r = try await host.call(ToolCall(id: "c1", name: "files__long", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 5_000)
        #expect(r.content.count < 2_100)
        #expect(r.content.contains("more characters]"))
        #expect(!r.content.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x202E })
        #expect(r.content.hasPrefix("line red end\n") || r.content.hasPrefix("line red  evil end"))
        await host.endRun("r1")
    }

    @Test("a server that never answers ends the call with a timeout")
    func timeout() async throws {
        let host = MCPToolHost(servers: [server("files")], launcher: testLauncher())
        _ = try await host.tools(for: .research, runID: "r1")
        let f = await toolFailure {
            _ = try await host.call(ToolCall(id: "c1", name: "files__hang", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 300)
        }
        #expect(f?.failureClass == .timeout)
        #expect(f?.server == "files")
        // The server still answers other calls after a timeout.
        let r = try await host.call(ToolCall(id: "c2", name: "files__echo", argumentsJSON: #"{"text":"still here"}"#), context: context("r1"), timeoutMs: 5_000)
        #expect(r.content == "echo: still here")
        await host.endRun("r1")
    }

    @Test("the server's call_timeout_ms bounds a call even when the engine allows more")
    func configTimeout() async throws {
        let host = MCPToolHost(servers: [server("files", callTimeoutMs: 300)], launcher: testLauncher())
        _ = try await host.tools(for: .research, runID: "r1")
        let f = await toolFailure {
            _ = try await host.call(ToolCall(id: "c1", name: "files__hang", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 600_000)
        }
        #expect(f?.failureClass == .timeout)
        await host.endRun("r1")
    }

    @Test("a server that closes its transport mid-call is a crash, and later calls fail fast with it")
    func crash() async throws {
        let log = ServerLog()
        let host = MCPToolHost(servers: [server("files")], launcher: testLauncher(log: log))
        _ = try await host.tools(for: .research, runID: "r1")
        // A long limit: the crash, not the timeout, must end the call.
        let f = await toolFailure {
            _ = try await host.call(ToolCall(id: "c1", name: "files__crash", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 600_000)
        }
        #expect(f?.failureClass == .serverCrashed)
        #expect(f?.message.contains("files") == true)
        let again = await toolFailure {
            _ = try await host.call(ToolCall(id: "c2", name: "files__echo", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 600_000)
        }
        #expect(again?.failureClass == .serverCrashed)
        let tools = try await host.tools(for: .research, runID: "r1")
        #expect(tools.isEmpty, "a crashed server's tools are no longer offered (its failure was reported with the call)")
        #expect(log.startedNames == ["files"], "a crashed server is not restarted within the run")
        await host.endRun("r1")
    }

    @Test("an answer that is not JSON-RPC is a protocol error")
    func garbage() async throws {
        let host = MCPToolHost(servers: [server("odd")], launcher: scriptedLauncher(callReply: "Starting server on port 8080... done"))
        let tools = try await host.tools(for: .research, runID: "r1")
        #expect(tools.map(\.name) == ["odd__odd"])
        let f = await toolFailure {
            _ = try await host.call(ToolCall(id: "c1", name: "odd__odd", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 600_000)
        }
        #expect(f?.failureClass == .protocolError)
        #expect(f?.message.contains("Starting server") == true)
        await host.endRun("r1")
    }

    @Test("a JSON-RPC answer whose result is not a tool result is a protocol error")
    func malformedResult() async throws {
        let host = MCPToolHost(servers: [server("odd")], launcher: scriptedLauncher(callReply: #"{"jsonrpc":"2.0","id":$ID,"result":{"content":"not a list"}}"#))
        _ = try await host.tools(for: .research, runID: "r1")
        let f = await toolFailure {
            _ = try await host.call(ToolCall(id: "c1", name: "odd__odd", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 600_000)
        }
        #expect(f?.failureClass == .protocolError)
        await host.endRun("r1")
    }

    @Test("a JSON-RPC error answer is the tool's error, which the model sees")
    func errorAnswer() async throws {
        let host = MCPToolHost(servers: [server("odd")], launcher: scriptedLauncher(callReply: #"{"jsonrpc":"2.0","id":$ID,"error":{"code":-32602,"message":"path must be absolute"}}"#))
        _ = try await host.tools(for: .research, runID: "r1")
        let r = try await host.call(ToolCall(id: "c1", name: "odd__odd", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 600_000)
        #expect(r.isError)
        #expect(r.content.contains("path must be absolute"))
        await host.endRun("r1")
    }

    @Test("a server that never finishes its handshake is unavailable after its startup limit")
    func handshakeTimeout() async throws {
        let host = MCPToolHost(servers: [server("mute", startupTimeoutMs: 300)], launcher: scriptedLauncher(answerHandshake: false))
        let f = await toolFailure { _ = try await host.tools(for: .research, runID: "r1") }
        #expect(f?.failureClass == .serverUnavailable)
        #expect(f?.message.contains("handshake") == true)
        await host.endRun("r1")
    }

    @Test("a launcher that cannot start the server is unavailable, naming it")
    func launchFailure() async throws {
        let host = MCPToolHost(servers: [server("gone")], launcher: ClosureLauncher { _ in throw CocoaError(.fileNoSuchFile) })
        let f = await toolFailure { _ = try await host.tools(for: .generation, runID: "r1") }
        #expect(f?.failureClass == .serverUnavailable)
        #expect(f?.message.contains("gone") == true)
    }

    @Test("a server that cannot start is reported once; then the phase gets the other servers' tools")
    func oneBrokenServer() async throws {
        let good = testLauncher()
        let launcher = ClosureLauncher { config in
            if config.name == "broken" { throw ToolFailure(.serverUnavailable, "MCP server 'broken': command 'nope' was not found", server: "broken") }
            return try await good.launch(config) { _ in }
        }
        let host = MCPToolHost(servers: [server("files"), server("broken")], launcher: launcher)
        let first = await toolFailure { _ = try await host.tools(for: .research, runID: "r1") }
        #expect(first?.failureClass == .serverUnavailable)
        #expect(first?.server == "broken")
        let second = try await host.tools(for: .research, runID: "r1")
        #expect(second.contains { $0.name == "files__echo" })
        #expect(!second.contains { $0.server == "broken" })
        let r = try await host.call(ToolCall(id: "c1", name: "files__echo", argumentsJSON: #"{"text":"ok"}"#), context: context("r1"), timeoutMs: 5_000)
        #expect(r.content == "echo: ok")
        await host.endRun("r1")
    }

    @Test("unknown tools, bad arguments and spent call limits are classified")
    func misuse() async throws {
        let host = MCPToolHost(servers: [server("files", maxCalls: 2)], launcher: testLauncher())
        _ = try await host.tools(for: .research, runID: "r1")
        let unknown = await toolFailure {
            _ = try await host.call(ToolCall(id: "c1", name: "files__nope", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 1_000)
        }
        #expect(unknown?.failureClass == .unknownTool)
        #expect(unknown?.message.contains("files__echo") == true, "the message lists what was offered")
        let bad = await toolFailure {
            _ = try await host.call(ToolCall(id: "c2", name: "files__echo", argumentsJSON: "[1,2"), context: context("r1"), timeoutMs: 1_000)
        }
        #expect(bad?.failureClass == .badArguments)
        let notObject = await toolFailure {
            _ = try await host.call(ToolCall(id: "c3", name: "files__echo", argumentsJSON: "[1,2]"), context: context("r1"), timeoutMs: 1_000)
        }
        #expect(notObject?.failureClass == .badArguments)
        let otherPhase = await toolFailure {
            _ = try await host.call(ToolCall(id: "c4", name: "files__echo", argumentsJSON: "{}"), context: context("r1", step: "review", phase: .review), timeoutMs: 1_000)
        }
        #expect(otherPhase?.failureClass == .unknownTool)
        _ = try await host.call(ToolCall(id: "c5", name: "files__echo", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 1_000)
        _ = try await host.call(ToolCall(id: "c6", name: "files__echo", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 1_000)
        let limit = await toolFailure {
            _ = try await host.call(ToolCall(id: "c7", name: "files__echo", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 1_000)
        }
        #expect(limit?.failureClass == .limitReached)
        // Another step has its own count.
        let other = try await host.call(ToolCall(id: "c8", name: "files__echo", argumentsJSON: #"{"text":"x"}"#), context: context("r1", step: "generation", phase: .generation), timeoutMs: 1_000)
        #expect(other.content == "echo: x")
        await host.endRun("r1")
    }

    @Test("endRun stops the run's servers, ends a pending call, and does not restart them")
    func endRun() async throws {
        let log = ServerLog()
        let host = MCPToolHost(servers: [server("a"), server("b")], launcher: testLauncher(log: log))
        _ = try await host.tools(for: .research, runID: "r1")
        _ = try await host.tools(for: .research, runID: "r2")
        #expect(log.startedNames.count == 4)
        let pending = Task {
            await toolFailure {
                _ = try await host.call(ToolCall(id: "c1", name: "a__hang", argumentsJSON: "{}"), context: context("r1"), timeoutMs: 600_000)
            }
        }
        // Let the call reach the server (bounded wait on a real condition is not possible here; the end
        // of the run must end the call whenever it arrives).
        try await Task.sleep(for: .milliseconds(50))
        await host.endRun("r1")
        let f = await pending.value
        #expect(f != nil, "the pending call ended with a classified failure")
        #expect(log.stoppedNames.sorted() == ["a", "b"])
        #expect(try await host.tools(for: .research, runID: "r1").isEmpty, "an ended run gets no tools")
        #expect(log.startedNames.count == 4)
        let r = try await host.call(ToolCall(id: "c2", name: "a__echo", argumentsJSON: "{}"), context: context("r2"), timeoutMs: 5_000)
        #expect(r.content == "echo: ", "other runs keep their servers")
        await host.endRun("r2")
        #expect(log.stoppedNames.count == 4)
    }
}

@Suite("MCP server processes")
struct ProcessLauncherTests {
    @Test("a server inherits a minimal environment: provider keys stay out")
    func environment() {
        let env = ProcessLauncher.inherited(from: ["PATH": "/bin", "HOME": "/h", "GROQ_API_KEY": "gsk_secret", "OPENAI_API_KEY": "sk-x", "LANG": "C.UTF-8"])
        #expect(env == ["PATH": "/bin", "HOME": "/h", "LANG": "C.UTF-8"])
    }

    @Test("commands resolve through PATH or as paths; missing ones do not")
    func resolve() {
        #expect(ProcessLauncher.resolve("sh", path: "/nonexistent:/bin:/usr/bin") != nil)
        #expect(ProcessLauncher.resolve("/bin/sh", path: "") == "/bin/sh")
        #expect(ProcessLauncher.resolve("ymera-no-such-tool", path: "/bin:/usr/bin") == nil)
        #expect(ProcessLauncher.resolve("./nope/sh", path: "/bin") == nil)
    }
}
