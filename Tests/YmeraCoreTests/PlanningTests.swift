import Testing
@testable import YmeraCore

@Suite("Intent analysis and planning")
struct PlanningTests {
    @Test func restAPITaskIsComplexCode() {
        let i = IntentAnalyzer().analyze(restTask)
        #expect(i.taskType == .code)
        #expect(i.complexity >= 0.6)
        #expect(i.capabilities.contains(.code))
        #expect(i.requirements.contains { $0.lowercased().contains("authentication") })
        #expect(i.signals.contains { $0.contains("authentication") }, "the analysis says why")
    }

    @Test func trivialTaskIsSimple() {
        let i = IntentAnalyzer().analyze("Fix a typo: teh")
        #expect(i.complexity < 0.3)
    }

    @Test func creativeAndUrgentSignals() {
        let i = IntentAnalyzer().analyze("Write a playful poem about the sea, quickly")
        #expect(i.taskType == .creative)
        #expect(i.creativity >= 0.7)
        #expect(i.urgency >= 0.5)
    }

    @Test func wholeWordsOnly() {
        // "rest" inside "interesting" must not count as the REST keyword.
        let a = IntentAnalyzer().analyze("tell me something interesting")
        let b = IntentAnalyzer().analyze("tell me something about rest")
        #expect(b.complexity > a.complexity)
    }

    @Test func seedThresholdsPickTheShape() throws {
        // < 0.3 → one fast model.
        let simple = try plan("Fix a typo: teh")
        #expect(simple.strategy == .single)
        #expect(simple.steps.map(\.id) == ["generation"])
        #expect(simple.steps[0].model == "sim/fast")
        // 0.3 ..< 0.6 → planning, generation, validation on different models.
        let medium = try plan("Implement a function that parses dates and add tests")
        let c = medium.intent.complexity
        #expect(c >= 0.3 && c < 0.6, "complexity \(c)")
        #expect(medium.steps.map(\.phase) == [.planning, .generation, .validation])
        #expect(Set(medium.steps.map(\.model)).count == 3)
        // ≥ 0.6 → all six phases; code models for generation and refinement; refinement reuses generation's.
        let complex = try plan(restTask)
        #expect(complex.steps.map(\.phase) == Phase.allCases)
        let gen = complex.steps.first { $0.phase == .generation }!
        let ref = complex.steps.first { $0.phase == .refinement }!
        #expect(try testCatalog().model(gen.model).has(.code))
        #expect(ref.model == gen.model)
        #expect(gen.decompose)
    }

    @Test func parallelAndCascadeShapes() throws {
        let p = try plan(restTask, strategy: .parallel)
        let gen = p.steps.first { $0.phase == .generation }!
        #expect(gen.candidates.count == 3)
        #expect(Set(gen.candidates).count == 3, "candidates on different models")
        let c = try plan(restTask, strategy: .cascade)
        #expect(c.steps.map(\.id) == ["draft", "refine", "polish", "validate"])
        #expect(c.steps.map(\.dependsOn) == [[], ["draft"], ["refine"], ["polish"]])
    }

    @Test func fallbackChainsHaveTheCapability() throws {
        let p = try plan(restTask)
        for s in p.steps {
            #expect(!s.fallbacks.contains(s.model))
            #expect(!s.fallbacks.isEmpty)
        }
    }

    @Test func forecastIsPositiveAndSums() throws {
        let p = try plan(restTask)
        #expect(p.forecast.cost.money > .zero)
        #expect(p.forecast.cost.money == p.steps.reduce(Money.zero) { $0 + $1.forecast.cost.money })
        #expect(p.steps.allSatisfy { $0.forecast.durationMs > 0 })
    }

    @Test func overBudgetPlanIsDowngraded() throws {
        let full = try plan(restTask)
        let limit = Money(nanodollars: full.forecast.cost.money.nanodollars * 2 / 3)
        let p = try plan(restTask, budget: Budget(maxCost: limit))
        #expect(p.forecast.cost.money <= limit)
        #expect(p.notes.contains { $0.hasPrefix("downgraded") })
    }

    @Test func impossibleBudgetIsRefusedWithReason() throws {
        #expect {
            try plan(restTask, budget: Budget(maxCost: Money(nanodollars: 10)))
        } throws: { e in
            let text = String(describing: e)
            return text.contains("over budget") && text.contains("cheapest")
        }
    }

    @Test func tokenBudgetUnderTheForecastIsRefusedWithFigures() throws {
        let full = try plan(restTask)
        let total = full.forecast.inputTokens + full.forecast.outputTokens
        #expect(throws: Never.self) { try plan(restTask, budget: Budget(maxTokens: total)) }
        #expect {
            try plan(restTask, budget: Budget(maxTokens: total / 2))
        } throws: { e in
            let text = String(describing: e)
            return text.contains("over the token budget") && text.contains("\(total) tokens") && text.contains("--max-tokens")
        }
    }

    @Test func userOverrideWinsAndIsNoted() throws {
        let p = try plan(restTask, overrides: ["review": "sim/fast"])
        #expect(p.step("review")?.model == "sim/fast")
        #expect(p.notes.contains { $0.contains("review: sim/fast chosen by the user") })
    }

    @Test func unpricedModelsAreNeverZero() throws {
        let sim = ProviderConfig(id: "sim", kind: .simulated, baseURL: "sim://")
        let m = ModelInfo(id: "sim/free?", provider: "sim", apiName: "x", displayName: "x", contextWindow: 8000, pricing: nil, speedTier: 3, qualityTier: 3, capabilities: [.code, .reasoning, .review])
        let cat = try Catalog(providers: [sim], models: [m])
        let p = try plan(restTask, catalog: cat)
        #expect(!p.forecast.cost.isFullyPriced)
        #expect(p.forecast.cost.display == "unpriced")
    }

    @Test func subtaskParserReadsDependencies() {
        let r = SubtaskParser().parse("""
            ## Plan
            1. Design the schema (depends on: none)
            2) Implement auth — depends on 1
            3. **Endpoints** (depends on: 1, 2)
            4. Tests after 3
            5. Deploy (depends on: 9)
            """)
        #expect(r.subtasks.map(\.id) == ["1", "2", "3", "4", "5"])
        #expect(r.subtasks.map(\.dependsOn) == [[], ["1"], ["1", "2"], ["3"], []])
        #expect(r.subtasks[2].title == "Endpoints")
        #expect(r.dropped == ["5 → 9"])
    }

    @Test func recommenderUsesHistory() async throws {
        let h = InMemoryExecutionHistory()
        func rec(_ s: Strategy, _ score: Double, ok: Bool) -> ExecutionRecord {
            ExecutionRecord(runID: UUID().uuidString, taskType: .code, complexity: 0.7, strategy: s, modelsByStep: [:], score: score, durationMs: 1000, cost: Cost(money: Money(dollars: 0.01)), succeeded: ok, finishedAt: Date())
        }
        for _ in 0..<4 { try await h.record(rec(.cascade, 0.9, ok: true)) }
        for _ in 0..<4 { try await h.record(rec(.multiModel, 0.6, ok: true)) }
        try await h.record(rec(.single, 0.99, ok: true))  // one run is not evidence
        let r = await Recommender(history: h).recommend(for: IntentAnalyzer().analyze(restTask))
        #expect(r?.strategy == .cascade)
        #expect(r?.similarRuns == 4)
        #expect(r?.rationale.contains("4 similar code runs") == true)
    }
}

import Foundation
