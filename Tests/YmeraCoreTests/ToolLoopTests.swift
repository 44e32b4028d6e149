import Foundation
import Synchronization
import Testing
@testable import YmeraCore

/// A tool host for tests: offers one `search` tool to generation and answers as told.
final class TestToolHost: ToolHost, Sendable {
    enum Mode: Sendable {
        case answer(String)
        case error(String)
        /// Throws a classified failure, as a host whose server exited does.
        case fail(ToolFailure)
        /// Never returns, and ignores cancellation: a broken host.
        case hang
    }
    static let search = ToolSpec(
        name: "search", description: "Searches the docs.",
        inputSchemaJSON: #"{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer"}},"required":["query"]}"#,
        server: "docs")

    let mode: Mode
    let phases: Set<Phase>
    let received = Mutex<[ToolCall]>([])
    let ended = Mutex<[String]>([])
    let asked = Mutex<[Phase]>([])
    /// Held so a hanging call's continuation is never released (it "awaits forever").
    let parked = Mutex<[CheckedContinuation<Void, Never>]>([])

    init(_ mode: Mode, phases: Set<Phase> = [.generation]) {
        self.mode = mode
        self.phases = phases
    }

    func tools(for phase: Phase, runID: String) async throws -> [ToolSpec] {
        asked.withLock { $0.append(phase) }
        return phases.contains(phase) ? [Self.search] : []
    }

    func call(_ call: ToolCall, context: ToolContext, timeoutMs: Int64) async throws -> ToolResult {
        received.withLock { $0.append(call) }
        switch mode {
        case .answer(let text): return ToolResult(callID: call.id, name: call.name, content: text)
        case .error(let text): return ToolResult(callID: call.id, name: call.name, content: text, isError: true)
        case .fail(let f): throw f
        case .hang:
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in parked.withLock { $0.append(c) } }
            return ToolResult(callID: call.id, name: call.name, content: "too late")
        }
    }

    func endRun(_ runID: String) async { ended.withLock { $0.append(runID) } }

    /// Lets parked calls go at the end of a test.
    func release() {
        for c in parked.withLock({ p -> [CheckedContinuation<Void, Never>] in defer { p = [] }; return p }) { c.resume() }
    }
}

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

/// A model that calls the first offered tool every time tools are offered, and answers otherwise.
final class ToolHungryClient: ModelClient, Sendable {
    let clock: any RunClock
    let count = Mutex(0)
    init(clock: any RunClock) { self.clock = clock }
    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let n = count.withLock { c -> Int in
            c += 1
            return c
        }
        let events: [ModelStreamEvent] = request.tools.isEmpty
            ? [.delta("final answer"), .usage(TokenUsage(inputTokens: 10, outputTokens: 2)), .finished(.stop)]
            : [.toolCall(ToolCall(id: "c\(n)", name: request.tools[0].name, argumentsJSON: #"{"query":"more"}"#)),
               .usage(TokenUsage(inputTokens: 10, outputTokens: 5)), .finished(.toolCalls)]
        let next = Mutex(0)
        let clock = self.clock
        return AsyncThrowingStream(unfolding: {
            let i = next.withLock { v -> Int in defer { v += 1 }; return v }
            try await clock.sleep(ms: 10)
            return i < events.count ? events[i] : nil
        })
    }
}

/// A client whose answer per request is a list of events, optionally ending in a failure.
final class EventScriptClient: ModelClient, Sendable {
    let clock: any RunClock
    let script: @Sendable (ModelID, ModelRequest) -> ([ModelStreamEvent], ModelFailure?)
    init(clock: any RunClock, script: @escaping @Sendable (ModelID, ModelRequest) -> ([ModelStreamEvent], ModelFailure?)) {
        self.clock = clock
        self.script = script
    }
    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let (events, failure) = script(request.model.id, request)
        let next = Mutex(0)
        let clock = self.clock
        return AsyncThrowingStream(unfolding: {
            let i = next.withLock { v -> Int in defer { v += 1 }; return v }
            try await clock.sleep(ms: 10)
            if i < events.count { return events[i] }
            if i == events.count, let failure { throw failure }
            return nil
        })
    }
}

@Suite("Engine: tool calling")
struct EngineToolTests {
    func generationPlan() -> RunPlan {
        manualPlan([PlanStep(id: "generation", phase: .generation, title: "add numbers", model: "sim/coder", fallbacks: ["sim/smart"])])
    }

    func toolEngine(_ client: any ModelClient, clock: VirtualClock, host: TestToolHost, limits: ToolLoopLimits = ToolLoopLimits()) throws -> Engine {
        var config = EngineConfig()
        config.toolLoop = limits
        return Engine(catalog: try testCatalog(), client: client, validator: FixedValidator(), clock: clock, config: config, tools: host)
    }

    func kinds<T>(_ events: [RunEvent], _ pick: (RunEvent.Kind) -> T?) -> [T] { events.compactMap { pick($0.kind) } }

    @Test func toolResultReachesTheNextRequestAndTheAnswerCitesIt() async throws {
        let clock = VirtualClock()
        let host = TestToolHost(.answer("Swift adds two Ints with the + operator; overflow traps."))
        let client = RecordingClient(SimulatedProvider(clock: clock))
        let (events, final) = await (try toolEngine(client, clock: clock, host: host)).collect(generationPlan())
        #expect(final.status == .succeeded)

        // The model got the tool, called it with arguments built from its schema, and got the result back.
        let requests = client.all
        #expect(requests.count == 2)
        #expect(requests[0].tools.map(\.name) == ["search"])
        #expect(!requests[0].messages.contains { $0.role == .tool })
        let calls = host.received.withLock { $0 }
        #expect(calls.count == 1)
        let args = try #require(try JSONSerialization.jsonObject(with: Data(calls[0].argumentsJSON.utf8)) as? [String: Any])
        #expect((args["query"] as? String)?.isEmpty == false)
        let second = requests[1].messages
        let assistant = try #require(second.last { $0.role == .assistant })
        #expect(assistant.toolCalls?.map(\.name) == ["search"])
        let result = try #require(second.last)
        #expect(result.role == .tool && result.toolCallID == calls[0].id && result.toolName == "search")
        #expect(result.content == "Swift adds two Ints with the + operator; overflow traps.")

        // The answer cites it; events and the fold show the call.
        let output = final.steps["generation"]?.output ?? ""
        #expect(output.contains("Tool search returned: Swift adds two Ints with the + operator"))
        let called = kinds(events) { if case .toolCalled(let p) = $0 { p } else { nil } }
        let returned = kinds(events) { if case .toolReturned(let p) = $0 { p } else { nil } }
        #expect(called.count == 1 && called[0].tool == "search" && called[0].server == "docs" && called[0].model == "sim/coder")
        #expect(returned.count == 1 && returned[0].callID == called[0].callID && !returned[0].isError)
        #expect(final.toolCalls == 1 && final.toolFailures == 0)
        let view = try #require(final.steps["generation"]?.toolCalls.first)
        #expect(view.status == .ok && view.resultChars == returned[0].content.count && view.tool == "search")
        #expect(final.log.contains { $0.text.contains("calls tool search") })
        // Both requests were billed.
        let usages = kinds(events) { if case .usage(let p) = $0, p.step == "generation" { p } else { nil } }
        #expect(usages.count == 2)
        #expect(host.ended.withLock { $0 } == ["run-manual"])
        #expect(RunState.replay(events).toolCalls == 1)
    }

    @Test func sixPhaseRunWithToolsIsDeterministic() async throws {
        let p = try plan(strategy: .multiModel, seed: 5)
        func once() async throws -> ([RunEvent], RunState) {
            let clock = VirtualClock()
            let host = TestToolHost(.answer("notes from the docs"), phases: [.research, .generation])
            let e = Engine(catalog: try testCatalog(), client: SimulatedProvider(clock: clock), validator: FixedValidator(), clock: clock, tools: host)
            return await e.collect(p)
        }
        let (a, finalA) = try await once()
        let (b, _) = try await once()
        #expect(finalA.status == .succeeded)
        #expect(a.count == b.count)
        let firstDifference = a.indices.first { $0 < b.count && a[$0] != b[$0] }
        #expect(firstDifference == nil, "same seed, same events — tool calls included; first difference at \(firstDifference.map { String(describing: a[$0].kind) } ?? "")")
        let toolSteps = Set(a.compactMap { if case .toolCalled(let p) = $0.kind { p.step } else { nil } })
        #expect(toolSteps.contains("research"))
        #expect(toolSteps.contains { $0.hasPrefix("generation") })
        #expect(!toolSteps.contains { $0.hasPrefix("planning") || $0.hasPrefix("review") || $0.hasPrefix("validation") })
        #expect(finalA.toolCalls == toolSteps.count && finalA.toolFailures == 0)
        #expect(finalA.steps["research"]?.output.contains("Tool search returned: notes from the docs") == true)
    }

    @Test func phasesWithoutToolsSendNone() async throws {
        let clock = VirtualClock()
        let host = TestToolHost(.answer("x"), phases: [.research])
        let client = RecordingClient(SimulatedProvider(clock: clock))
        let (events, final) = await (try toolEngine(client, clock: clock, host: host)).collect(generationPlan())
        #expect(final.status == .succeeded)
        #expect(client.all.allSatisfy { $0.tools.isEmpty })
        #expect(!types(events).contains("tool_called"))
        #expect(host.asked.withLock { $0 } == [.generation])
    }

    @Test func crashedServerEndsTheToolLoopAndTheStepStillAnswers() async throws {
        let clock = VirtualClock()
        let host = TestToolHost(.fail(ToolFailure(.serverCrashed, "docs exited with status 1", server: "docs")))
        let client = RecordingClient(SimulatedProvider(clock: clock))
        let (events, final) = await (try toolEngine(client, clock: clock, host: host)).collect(generationPlan())
        #expect(final.status == .succeeded)
        let failed = kinds(events) { if case .toolFailed(let p) = $0 { p } else { nil } }
        #expect(failed.count == 1 && failed[0].failure == .serverCrashed && failed[0].tool == "search")
        #expect(final.toolFailures == 1)
        #expect(final.steps["generation"]?.toolCalls.first?.status == .failed)
        #expect(final.steps["generation"]?.toolCalls.first?.failure == .serverCrashed)
        // Asked once more, without tools and told why.
        let last = try #require(client.all.last)
        #expect(client.all.count == 2)
        #expect(last.tools.isEmpty)
        #expect(!last.messages.contains { $0.role == .tool || $0.toolCalls != nil })
        #expect(last.messages.last?.role == .user && last.messages.last?.content.contains("server_crashed") == true)
        #expect(final.steps["generation"]?.output.isEmpty == false)
    }

    @Test func hostThatNeverReturnsTimesOutAndTheRunFinishes() async throws {
        let clock = VirtualClock()
        let host = TestToolHost(.hang)
        defer { host.release() }
        var limits = ToolLoopLimits()
        limits.perCallTimeoutMs = 40
        let client = RecordingClient(SimulatedProvider(clock: clock))
        let (events, final) = await (try toolEngine(client, clock: clock, host: host, limits: limits)).collect(generationPlan())
        #expect(final.status == .succeeded)
        let failed = kinds(events) { if case .toolFailed(let p) = $0 { p } else { nil } }
        #expect(failed.map(\.failure) == [.timeout])
        #expect(client.all.last?.tools.isEmpty == true)
        #expect(host.ended.withLock { $0 } == ["run-manual"])
    }

    @Test func cancelDuringAToolCallEndsTheRun() async throws {
        let clock = VirtualClock()
        let host = TestToolHost(.hang)
        defer { host.release() }
        let e = try toolEngine(RecordingClient(SimulatedProvider(clock: clock)), clock: clock, host: host)
        let (events, final) = await e.collect(generationPlan()) { event, control in
            if case .toolCalled = event.kind { control.cancel(reason: "stop") }
        }
        #expect(final.status == .cancelled)
        #expect(types(events).last == "run_cancelled")
    }

    @Test func swapDuringAToolCallRestartsOnTheNewModel() async throws {
        let clock = VirtualClock()
        let host = TestToolHost(.answer("facts"))
        let swapped = Mutex(false)
        let client = RecordingClient(SimulatedProvider(clock: clock))
        let e = try toolEngine(client, clock: clock, host: host)
        let (events, final) = await e.collect(generationPlan()) { event, control in
            if case .toolCalled = event.kind, !swapped.withLock({ s in defer { s = true }; return s }) {
                control.swap(step: "generation", to: "sim/smart")
            }
        }
        #expect(final.status == .succeeded)
        let swap = kinds(events) { if case .modelSwapped(let s) = $0 { s } else { nil } }
        #expect(swap.count == 1 && swap[0].restarted && swap[0].to == "sim/smart")
        #expect(final.steps["generation"]?.model == "sim/smart")
        // The interrupted call never returned into the old attempt; the new one ran its own loop.
        let returned = kinds(events) { if case .toolReturned(let p) = $0 { p } else { nil } }
        #expect(returned.count == 1)
        #expect(client.all.last?.model.id == "sim/smart")
        #expect(final.steps["generation"]?.output.contains("Tool search returned: facts") == true)
    }

    @Test func pauseDuringAToolLoopLetsTheAttemptFinish() async throws {
        let clock = VirtualClock()
        let host = TestToolHost(.answer("facts"))
        let e = try toolEngine(RecordingClient(SimulatedProvider(clock: clock)), clock: clock, host: host)
        let (events, final) = await e.collect(generationPlan()) { event, control in
            if case .toolCalled = event.kind { control.pause() }
        }
        #expect(final.status == .succeeded)
        // The attempt in flight is not stopped: its tool loop and answer complete under the pause.
        let names = types(events)
        let paused = try #require(names.firstIndex(of: "paused"))
        #expect(names.contains("tool_returned"))
        #expect(!names[paused...].contains("step_started"), "no new attempt starts while paused")
        #expect(final.steps["generation"]?.output.contains("Tool search returned: facts") == true)
    }

    @Test func maxCallsIsHonoured() async throws {
        let clock = VirtualClock()
        let host = TestToolHost(.answer("more results"))
        var limits = ToolLoopLimits()
        limits.maxCalls = 3
        let client = RecordingClient(ToolHungryClient(clock: clock))
        let (events, final) = await (try toolEngine(client, clock: clock, host: host, limits: limits)).collect(generationPlan())
        #expect(final.status == .succeeded)
        #expect(host.received.withLock { $0.count } == 3)
        let called = kinds(events) { if case .toolCalled(let p) = $0 { p } else { nil } }
        let failed = kinds(events) { if case .toolFailed(let p) = $0 { p } else { nil } }
        #expect(called.count == 3)
        #expect(failed.map(\.failure) == [.limitReached])
        #expect(client.all.count == 5)  // 4 turns that called tools, then one without
        #expect(client.all.last?.tools.isEmpty == true)
        #expect(final.steps["generation"]?.output == "final answer")
        let usages = kinds(events) { if case .usage(let p) = $0, p.step == "generation" { p } else { nil } }
        #expect(usages.count == 5, "every request of the loop is billed")
    }

    @Test func fallbackAfterACutContinuesAndRestartsTheToolLoop() async throws {
        let clock = VirtualClock()
        let host = TestToolHost(.answer("facts"))
        let client = RecordingClient(EventScriptClient(clock: clock) { model, req in
            let hasResult = req.messages.contains { $0.role == .tool }
            if !req.tools.isEmpty && !hasResult {
                return ([.toolCall(ToolCall(id: "c-\(model.rawValue)", name: "search", argumentsJSON: "{}")), .finished(.toolCalls)], nil)
            }
            if model == "sim/coder" {
                return ([.delta("Before the cut. ")], ModelFailure(.overloaded, "529 overloaded", httpStatus: 529))
            }
            let continued = req.messages.contains { $0.role == .assistant && $0.content == "Before the cut. " }
            return ([.delta(continued ? "after the splice" : "WRONG"), .finished(.stop)], nil)
        })
        let (events, final) = await (try toolEngine(client, clock: clock, host: host)).collect(generationPlan())
        #expect(final.status == .succeeded)
        #expect(final.steps["generation"]?.output == "Before the cut. after the splice")
        let fb = try #require(kinds(events) { if case .fallbackTaken(let f) = $0 { f } else { nil } }.first)
        #expect(fb.mode == .continue && fb.spliceAt == 16)
        // The new model ran its own tool loop, with the continuation prompt and the tool result.
        #expect(host.received.withLock { $0.map(\.id) } == ["c-sim/coder", "c-sim/smart"])
        let last = try #require(client.all.last)
        #expect(last.model.id == "sim/smart" && last.messages.contains { $0.role == .tool && $0.content == "facts" })
        #expect(last.messages.contains { $0.content.hasPrefix("Your previous answer was cut off") })
        #expect(final.steps["generation"]?.toolCalls.count == 2)
    }

    @Test func unknownToolAndBadArgumentsAreClassified() async throws {
        for (name, args, expected) in [("nope", "{}", ToolFailureClass.unknownTool), ("search", "[1,2]", .badArguments), ("search", "{\"q\":", .badArguments)] {
            let clock = VirtualClock()
            let host = TestToolHost(.answer("x"))
            let client = EventScriptClient(clock: clock) { _, req in
                req.tools.isEmpty ? ([.delta("plain answer"), .finished(.stop)], nil)
                    : ([.toolCall(ToolCall(id: "c1", name: name, argumentsJSON: args)), .finished(.toolCalls)], nil)
            }
            let (events, final) = await (try toolEngine(client, clock: clock, host: host)).collect(generationPlan())
            #expect(final.status == .succeeded)
            let failed = kinds(events) { if case .toolFailed(let p) = $0 { p } else { nil } }
            #expect(failed.map(\.failure) == [expected], "\(name) \(args)")
            #expect(host.received.withLock { $0.isEmpty }, "the host is not called")
            #expect(final.steps["generation"]?.output == "plain answer")
        }
    }

    @Test func longResultIsCutAndEscapesAreStripped() async throws {
        let clock = VirtualClock()
        let raw = "\u{1B}[31mred\u{1B}[0m \u{1B}]0;title\u{07}" + String(repeating: "x", count: 5_000)
        let host = TestToolHost(.answer(raw))
        var limits = ToolLoopLimits()
        limits.maxResultChars = 100
        let client = RecordingClient(SimulatedProvider(clock: clock))
        let (events, final) = await (try toolEngine(client, clock: clock, host: host, limits: limits)).collect(generationPlan())
        #expect(final.status == .succeeded)
        let returned = try #require(kinds(events) { if case .toolReturned(let p) = $0 { p } else { nil } }.first)
        #expect(!returned.content.contains("\u{1B}") && !returned.content.contains("\u{07}"))
        #expect(returned.content.hasPrefix("red xxx"))
        #expect(returned.content.contains("result cut: 100 of \(raw.count) characters kept"))
        #expect(returned.originalChars == raw.count)
        #expect(returned.content.count < 200)
        let sent = try #require(client.all.last?.messages.last)
        #expect(sent.role == .tool && sent.content == returned.content)
        #expect(final.log.contains { $0.text.contains("cut from \(raw.count)") })
    }

    @Test func toolEventsRoundTripAsFlatSnakeCaseJSON() throws {
        let kinds: [RunEvent.Kind] = [
            .toolCalled(.init(step: "generation", model: "sim/coder", callID: "call_1", tool: "search", server: "docs", arguments: #"{"query":"x"}"#)),
            .toolReturned(.init(step: "generation", callID: "call_1", tool: "search", server: "docs", content: "ok", originalChars: 2, isError: false, durationMs: 12)),
            .toolFailed(.init(step: "generation", callID: nil, tool: "search", failure: .serverCrashed, message: "exited", durationMs: 3)),
        ]
        let snake = JSONEncoder()
        snake.keyEncodingStrategy = .convertToSnakeCase
        for (i, kind) in kinds.enumerated() {
            let event = RunEvent(runID: "r", seq: i + 1, elapsedMs: 5, kind: kind)
            let decoded = try JSONDecoder().decode(RunEvent.self, from: try JSONEncoder().encode(event))
            #expect(decoded == event)
            let object = try #require(try JSONSerialization.jsonObject(with: try snake.encode(event)) as? [String: Any])
            #expect(object["type"] as? String == event.typeName)
            #expect(object["step"] as? String == "generation")
            #expect(object["t_ms"] as? Int == 5)
            switch kind {
            case .toolCalled: #expect(object["call_id"] as? String == "call_1" && object["arguments"] as? String == #"{"query":"x"}"#)
            case .toolReturned: #expect(object["original_chars"] as? Int == 2 && object["is_error"] as? Bool == false && object["duration_ms"] as? Int == 12)
            case .toolFailed: #expect(object["failure"] as? String == "server_crashed")
            default: Issue.record("unexpected kind")
            }
        }
        #expect(kinds.map { RunEvent(runID: "r", seq: 1, elapsedMs: 0, kind: $0).typeName } == ["tool_called", "tool_returned", "tool_failed"])
    }
}
