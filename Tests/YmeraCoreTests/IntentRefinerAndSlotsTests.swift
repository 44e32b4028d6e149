import Testing
@testable import YmeraCore

@Suite("Intent refinement by a model")
struct IntentRefinerTests {
    func refine(_ answer: String) async throws -> Intent {
        let clock = VirtualClock()
        let c = try testCatalog()
        let model = try c.model("sim/fast")
        let client = ScriptedClient(clock: clock) { _, _, _ in .ok(answer) }
        let refiner = IntentRefiner(client: client, model: model, provider: c.provider(for: model)!, clock: clock)
        clock.enter()
        defer { clock.leave() }
        return await refiner.refine(IntentAnalyzer().analyze("Summarize this article about whales"), task: "Summarize this article about whales")
    }

    @Test func validJSONRefinesAndIsAveraged() async throws {
        let base = IntentAnalyzer().analyze("Summarize this article about whales")
        let i = try await refine(#"Sure! ```json {"task_type":"analysis","complexity":0.9,"urgency":0.1,"creativity":0.2} ```"#)
        #expect(i.taskType == .analysis)
        #expect(abs(i.complexity - (base.complexity + 0.9) / 2) < 0.001)
        #expect(i.source.contains("sim/fast"))
    }

    @Test(arguments: [
        "no json here", #"{"task_type":"poetry","complexity":0.5,"urgency":0.5,"creativity":0.5}"#,
        #"{"task_type":"code","complexity":7,"urgency":0.5,"creativity":0.5}"#, #"{"task_type":"code"}"#, "{broken",
    ])
    func garbageKeepsTheHeuristic(_ answer: String) async throws {
        let base = IntentAnalyzer().analyze("Summarize this article about whales")
        let i = try await refine(answer)
        #expect(i.taskType == base.taskType && i.complexity == base.complexity)
        #expect(i.source == "heuristic")
        #expect(i.signals.last?.contains("heuristic kept") == true)
    }
}

@Suite("Provider slots")
struct ProviderSlotTests {
    @Test func aOneSlotServerGetsOneRequestAtATime() async throws {
        let clock = VirtualClock()
        let solo = ProviderConfig(id: "solo", kind: .simulated, baseURL: "sim://", isLocal: true, maxConcurrent: 1)
        let model = ModelInfo(id: "solo/tiny", provider: "solo", apiName: "tiny", displayName: "tiny", contextWindow: 8192, pricing: Pricing(inputPerMillion: 0, outputPerMillion: 0), speedTier: 3, qualityTier: 1, capabilities: [.fast])
        let catalog = try Catalog(providers: [solo], models: [model])
        let planText = "1. A (depends on: none)\n2. B (depends on: none)\n3. C (depends on: none)\n4. D (depends on: 1, 2, 3)"
        let client = ScriptedClient(clock: clock) { _, _, req in
            req.context.phase == .planning ? .ok(planText) : .slow(["x", "y", "z"], 100)
        }
        let p = manualPlan([
            PlanStep(id: "planning", phase: .planning, title: "p", model: "solo/tiny"),
            PlanStep(id: "generation", phase: .generation, title: "g", model: "solo/tiny", dependsOn: ["planning"], decompose: true),
        ])
        let e = Engine(catalog: catalog, client: client, validator: FixedValidator(), clock: clock)
        let (_, final) = await e.collect(p)
        #expect(final.status == .succeeded)
        #expect(client.maxInFlight.withLock { $0 } == 1, "three independent subtasks, but the server has one slot")
        #expect(e.slots.inUse("solo") == 0)
    }
}
