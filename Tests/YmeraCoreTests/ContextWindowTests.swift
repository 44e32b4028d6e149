import Testing
@testable import YmeraCore

@Suite("Context windows in planning")
struct ContextWindowTests {
    /// A task of about `tokens` tokens.
    func task(tokens: Int) -> String {
        String(repeating: "Summarize this log line about a failing deploy. ", count: tokens * 4 / 49 + 1)
    }

    @Test("a long task goes to the model whose window fits, with fallbacks that fit too")
    func fits() throws {
        let text = task(tokens: 60_000)  // over the 32k windows, under the 200k one
        let p = try plan(text, strategy: .single)
        #expect(p.steps[0].model == "sim/smart")
        #expect(p.steps[0].fallbacks.isEmpty, "no other model can hold the prompt: \(p.steps[0].fallbacks)")
        let multi = try plan(text, strategy: .multiModel)
        #expect(multi.steps.allSatisfy { $0.model == "sim/smart" })
    }

    @Test("a task no window can hold is refused with the figures")
    func refused() throws {
        let text = task(tokens: 300_000)
        do {
            _ = try plan(text, strategy: .single)
            Issue.record("a 300k-token task was planned onto models with windows of 200k at most")
        } catch let e as PlanError {
            #expect(e.message.contains("does not fit any available model's context window"))
            #expect(e.message.contains("200000 tokens (sim/smart)"))
            #expect(e.message.contains("needs about"))
        }
    }

    @Test("a model pinned by the user whose window is too small is refused, saying so")
    func pinnedTooSmall() throws {
        #expect(throws: PlanError.self) { try plan(task(tokens: 60_000), strategy: .single, overrides: ["generation": "sim/fast"]) }
    }

    @Test("the simulated twin refuses a prompt over its window, before any token and at no cost")
    func simulatedRefuses() async throws {
        let catalog = try testCatalog()
        let fast = try catalog.model("sim/fast")
        let provider = try #require(catalog.provider(for: fast))
        let request = ModelRequest(
            model: fast, provider: provider, messages: [.user(task(tokens: 40_000))], maxTokens: 100,
            context: RequestContext(runID: "r", stepID: "s", phase: .generation, attempt: 1, taskType: .text, seed: 1))
        do {
            for try await _ in SimulatedProvider(clock: VirtualClock()).stream(request) {}
            Issue.record("the simulated model answered a prompt over its window")
        } catch let f as ModelFailure {
            #expect(f.errorClass == .contextTooLong)
            #expect(f.usage == nil)
            #expect(f.partialOutput.isEmpty)
        }
    }
}
