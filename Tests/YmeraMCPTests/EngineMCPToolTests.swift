import Foundation
import Synchronization
import Testing
import YmeraConfig
import YmeraCore
@testable import YmeraMCP

/// Forwards to another client and keeps every request it was given.
final class RecordingClient: ModelClient, Sendable {
    let inner: any ModelClient
    let requests = Mutex<[ModelRequest]>([])
    init(_ inner: any ModelClient) { self.inner = inner }
    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        requests.withLock { $0.append(request) }
        return inner.stream(request)
    }
    var all: [ModelRequest] { requests.withLock { $0 } }
}

/// The "Must show": a phase of a real engine run calls a tool of a test MCP server (in-process,
/// over the in-memory transport) and the result reaches the next prompt; a server that crashes or never
/// answers ends the tool loop with a classified failure within its time limit, and the run still ends.
@Suite("Engine with MCP tools (in-memory MCP servers)")
struct EngineMCPToolTests {
    static let task = "Write a Swift function that adds two numbers"

    func catalog() throws -> Catalog {
        let sim = ProviderConfig(id: "sim", kind: .simulated, baseURL: "sim://")
        func m(_ name: String, quality: Int, caps: Set<Capability>) -> ModelInfo {
            ModelInfo(
                id: ModelID("sim/\(name)"), provider: "sim", apiName: name, displayName: name, contextWindow: 32_000,
                pricing: Pricing(inputPerMillion: 0.2, outputPerMillion: 0.6), speedTier: 4, qualityTier: quality, capabilities: caps)
        }
        return try Catalog(providers: [sim], models: [m("coder", quality: 4, caps: [.code, .reasoning, .fast]), m("smart", quality: 5, caps: [.code, .review, .accuracy])])
    }

    func run(first tool: String, callTimeoutMs: Int64 = 600_000, log: ServerLog) async throws -> (events: [RunEvent], final: RunState, requests: [ModelRequest]) {
        let catalog = try catalog()
        let plan = try Planner(catalog: catalog, available: catalog.models).plan(
            task: Self.task, intent: IntentAnalyzer().analyze(Self.task),
            options: PlanOptions(strategy: .single, seed: 7, runID: "run-mcp"))
        #expect(plan.steps.contains { $0.phase == .generation })
        let clock = VirtualClock()
        let host = MCPToolHost(
            servers: [server("files", phases: [.generation], callTimeoutMs: callTimeoutMs)],
            launcher: testLauncher(log: log, first: tool))
        let client = RecordingClient(SimulatedProvider(clock: clock))
        let engine = Engine(catalog: catalog, client: client, validator: HeuristicValidator(), clock: clock, tools: host)
        let handle = engine.start(plan)
        var events: [RunEvent] = []
        for await e in handle.events { events.append(e) }
        return (events, await handle.finalState(), client.all)
    }

    @Test("a phase calls a tool of a test MCP server and its result reaches the next prompt")
    func resultReachesNextPrompt() async throws {
        let log = ServerLog()
        let (events, final, requests) = try await run(first: "echo", log: log)
        #expect(final.status == .succeeded)
        let offered = try #require(requests.first { !$0.tools.isEmpty })
        #expect(offered.tools.first?.name == "files__echo")
        #expect(offered.tools.allSatisfy { $0.server == "files" })
        // The request after the call carries the tool's result as a tool message.
        let next = try #require(requests.first { $0.messages.contains { $0.role == .tool } })
        let result = try #require(next.messages.last { $0.role == .tool })
        #expect(result.toolName == "files__echo")
        #expect(result.content.hasPrefix("echo: "), "the echo server's answer: \(result.content)")
        #expect(result.content.count > "echo: ".count, "the model's arguments reached the server")
        let called = events.compactMap { if case .toolCalled(let p) = $0.kind { p } else { nil } }
        let returned = events.compactMap { if case .toolReturned(let p) = $0.kind { p } else { nil } }
        #expect(called.count == 1 && called[0].tool == "files__echo" && called[0].server == "files")
        #expect(returned.count == 1 && returned[0].content == result.content && !returned[0].isError)
        #expect(final.toolCalls == 1 && final.toolFailures == 0)
        #expect(log.startedNames == ["files"])
        #expect(log.stoppedNames == ["files"], "the run's end stops its server")
    }

    @Test("a server that crashes mid-call ends the tool loop with server_crashed, and the run still ends")
    func crashEndsLoop() async throws {
        let log = ServerLog()
        let (events, final, _) = try await run(first: "crash", log: log)
        let failed = events.compactMap { if case .toolFailed(let p) = $0.kind { p } else { nil } }
        // The call fails as a crash, reported once; later attempts of the step (a refinement) get no
        // tools from it, and it is not restarted within the run.
        #expect(failed.count == 1)
        let call = try #require(failed.first)
        #expect(call.failure == .serverCrashed && call.callID != nil && call.tool == "files__crash" && call.server == "files")
        #expect(log.startedNames == ["files"])
        #expect(!final.isActive, "the run ended")
        #expect(final.status == .succeeded, "the phase answered without the tool")
        #expect(final.toolFailures == failed.count)
        #expect(log.stoppedNames == ["files"])
    }

    @Test("a server that never answers ends the tool loop with a timeout within its limit, and the run still ends")
    func hangTimesOut() async throws {
        let log = ServerLog()
        let (events, final, _) = try await run(first: "hang", callTimeoutMs: 300, log: log)
        let failed = events.compactMap { if case .toolFailed(let p) = $0.kind { p } else { nil } }
        // Each attempt that calls it times out (a refinement may try once more); nothing hangs.
        #expect(!failed.isEmpty)
        #expect(failed.allSatisfy { $0.failure == .timeout && $0.callID != nil })
        #expect(!final.isActive)
        #expect(final.status == .succeeded)
        #expect(log.stoppedNames == ["files"])
    }
}
