import Foundation
import Synchronization
import Testing
@testable import YmeraCore

/// A plan of one or more steps by hand (no planner), for exact engine tests.
func manualPlan(_ steps: [PlanStep], task: String = "Write a function that adds two numbers", budget: Budget = .unlimited, seed: UInt64 = 1) -> RunPlan {
    RunPlan(runID: "run-manual", task: task, intent: IntentAnalyzer().analyze(task), strategy: .multiModel, steps: steps, budget: budget, seed: seed, serving: .simulated)
}

func engine(_ client: any ModelClient, clock: VirtualClock, validator: any QualityValidator = FixedValidator(), config: EngineConfig = EngineConfig(), resilience: ResilienceRegistry? = nil) throws -> Engine {
    Engine(catalog: try testCatalog(), client: client, validator: validator, clock: clock, resilience: resilience, config: config)
}

@Suite("Engine: strategies, determinism, replay")
struct EngineStrategyTests {
    @Test(arguments: [Strategy.single, .multiModel, .parallel, .cascade])
    func eachStrategyRunsToSuccess(_ strategy: Strategy) async throws {
        let clock = VirtualClock()
        let p = try plan(strategy: strategy)
        let e = try engine(SimulatedProvider(clock: clock), clock: clock)
        let (events, final) = await e.collect(p)
        #expect(final.status == .succeeded)
        #expect(events.first?.typeName == "run_planned")
        #expect(events.last?.typeName == "run_finished")
        for step in p.steps { #expect(final.steps[step.id]?.status == .done, "\(step.id)") }
        #expect(!final.finalOutput.isEmpty)
        if strategy == .parallel {
            #expect(events.contains { $0.typeName == "candidate_chosen" })
            #expect(final.steps.values.filter { $0.parent == "generation" }.count == 3)
        }
    }

    @Test func sixPhaseRunDecomposesGeneration() async throws {
        let clock = VirtualClock()
        let e = try engine(SimulatedProvider(clock: clock), clock: clock)
        let (events, final) = await e.collect(try plan())
        #expect(final.summary.phases.map(\.name) == Phase.allCases.map(\.rawValue))
        let sub = events.compactMap { if case .subtasksPlanned(let p) = $0.kind { p } else { nil } }.first
        #expect((sub?.subtasks.count ?? 0) >= 3)
        #expect(sub?.source == "planning output")
    }

    @Test func sameSeedSameEventsDifferentSeedDifferentText() async throws {
        let p = try plan(seed: 7)
        func once(_ plan: RunPlan) async throws -> [RunEvent] {
            let clock = VirtualClock()
            return try await engine(SimulatedProvider(clock: clock, faults: .init(rate: 0.3)), clock: clock).collect(plan).0
        }
        let a = try await once(p)
        let b = try await once(p)
        #expect(a.count == b.count)
        if let i = a.indices.first(where: { $0 < b.count && a[$0] != b[$0] }) {
            Issue.record("event \(i) differs:\n\(a[i])\n\(b[i])")
        }
        var q = p
        q.seed = 8
        let c = try await once(q)
        let text = { (es: [RunEvent]) in es.compactMap { if case .textDelta(let d) = $0.kind { d.text } else { nil } }.joined() }
        #expect(text(a) != text(c))
    }

    @Test func eventsAloneRebuildTheFinalState() async throws {
        let clock = VirtualClock()
        let e = try engine(SimulatedProvider(clock: clock, faults: .init(rate: 0.3)), clock: clock)
        let (events, final) = await e.collect(try plan(seed: 11))
        let rebuilt = RunState.replay(events)
        #expect(rebuilt.summary == final.summary)
        #expect(rebuilt.finalOutput == final.finalOutput)
        // Through JSON too (what the journal and --json carry).
        let data = try events.map { try JSONEncoder().encode($0) }
        let decoded = try data.map { try JSONDecoder().decode(RunEvent.self, from: $0) }
        #expect(decoded == events)
        #expect(RunState.replay(decoded).summary == final.summary)
        #expect(rebuilt.anomalies == 0)
    }

    @Test func snakeCaseJSONOfEveryEventDecodesBack() async throws {
        // `ymera run --json` writes events with snake_case keys; `RunEvent.snakeCaseDecoder()` reads them
        // back into the same events (run_id → runID, t_ms, tool_call_id …), which `.convertFromSnakeCase` cannot.
        let clock = VirtualClock()
        let e = try engine(SimulatedProvider(clock: clock, faults: .init(rate: 0.3)), clock: clock)
        let (events, _) = await e.collect(try plan(seed: 11))
        let enc = JSONEncoder()
        enc.keyEncodingStrategy = .convertToSnakeCase
        let dec = RunEvent.snakeCaseDecoder()
        let decoded = try events.map { try dec.decode(RunEvent.self, from: try enc.encode($0)) }
        #expect(decoded == events)
        #expect(Set(events.map(\.typeName)).count >= 10)
    }
}

@Suite("Engine: retries, fallbacks, breakers")
struct EngineResilienceTests {
    func oneStep(_ model: ModelID, fallbacks: [ModelID]) -> RunPlan {
        manualPlan([PlanStep(id: "generation", phase: .generation, title: "do it", model: model, fallbacks: fallbacks)])
    }

    @Test func retryHonoursRetryAfterOnTheVirtualClock() async throws {
        let clock = VirtualClock()
        let client = ScriptedClient(clock: clock) { _, n, _ in
            n == 1 ? .fail(ModelFailure(.rateLimit, "slow down", httpStatus: 429, retryAfterMs: 3_000)) : .ok("done")
        }
        let (events, final) = await (try engine(client, clock: clock)).collect(oneStep("sim/coder", fallbacks: ["sim/smart"]))
        #expect(final.status == .succeeded)
        let retry = events.compactMap { if case .retryScheduled(let r) = $0.kind { r } else { nil } }
        #expect(retry.map(\.delayMs) == [3_000])
        #expect(retry.first?.basis == "retry-after")
        let times = client.requests.map(\.2)
        #expect(times.count == 2)
        #expect(times[1] - times[0] >= 3_000, "the second attempt waited the server's retry-after")
        #expect(client.count("sim/smart") == 0, "a short retry-after is waited out, not fallen back from")
        #expect(clock.nowMs() >= 3_000, "the wait happened in simulated time (VirtualClock never sleeps for real)")
    }

    @Test(arguments: ErrorClass.allCases.filter { ![.cancelled, .lowQuality, .budgetExceeded, .circuitOpen].contains($0) })
    func everyErrorClassEndsOnTheFallback(_ cls: ErrorClass) async throws {
        let clock = VirtualClock()
        let client = ScriptedClient(clock: clock) { model, _, _ in
            model == "sim/coder" ? .fail(ModelFailure(cls, "boom", retryAfterMs: cls == .rateLimit ? 60_000 : nil)) : .ok("from smart")
        }
        let (events, final) = await (try engine(client, clock: clock)).collect(oneStep("sim/coder", fallbacks: ["sim/smart"]))
        #expect(final.status == .succeeded)
        #expect(final.steps["generation"]?.output == "from smart")
        #expect(final.steps["generation"]?.model == "sim/smart")
        let fb = events.compactMap { if case .fallbackTaken(let f) = $0.kind { f } else { nil } }
        #expect(fb.first?.reason == cls)
        let expectedCalls = (cls.isRetryable && cls != .rateLimit && cls != .timeout) ? RetryPolicy().maxAttemptsPerModel : 1
        #expect(client.count("sim/coder") == expectedCalls, "\(cls): \(client.count("sim/coder")) calls")
        let failures = events.compactMap { if case .attemptFailed(let f) = $0.kind { f.errorClass } else { nil } }
        #expect(Set(failures) == [cls])
    }

    @Test func authFailureOpensTheBreakerAtOnce() async throws {
        let clock = VirtualClock()
        let client = ScriptedClient(clock: clock) { model, _, _ in
            model == "sim/coder" ? .fail(ModelFailure(.auth, "bad key", httpStatus: 401)) : .ok("ok")
        }
        let (events, _) = await (try engine(client, clock: clock)).collect(oneStep("sim/coder", fallbacks: ["sim/smart"]))
        let b = events.compactMap { if case .breakerChanged(let c) = $0.kind { c } else { nil } }
        #expect(b.first?.model == "sim/coder" && b.first?.to == .open)
    }

    @Test func cutStreamIsContinuedByTheNextModelAndTheSpliceIsMarked() async throws {
        let clock = VirtualClock()
        let client = ScriptedClient(clock: clock) { model, _, req in
            if model == "sim/coder" { return .cut("Hello wor", ModelFailure(.overloaded, "529 overloaded", httpStatus: 529)) }
            // The next model is asked to continue from the partial answer.
            let asked = req.messages.contains { $0.role == .assistant && $0.content == "Hello wor" }
            return .ok(asked ? "ld!" : "WRONG")
        }
        let (events, final) = await (try engine(client, clock: clock)).collect(oneStep("sim/coder", fallbacks: ["sim/smart"]))
        #expect(final.steps["generation"]?.output == "Hello world!")
        let fb = events.compactMap { if case .fallbackTaken(let f) = $0.kind { f } else { nil } }.first
        #expect(fb?.mode == .continue && fb?.spliceAt == 9)
        #expect(final.steps["generation"]?.splices == [Splice(offset: 9, from: "sim/coder", to: "sim/smart")])
        #expect(final.usage.totalTokens > 0, "the cut attempt's tokens are billed too")
    }

    @Test func restartModeDiscardsThePartialOutput() async throws {
        let clock = VirtualClock()
        var config = EngineConfig()
        config.fallbackMode = .restart
        let client = ScriptedClient(clock: clock) { model, _, _ in
            model == "sim/coder" ? .cut("Hello wor", ModelFailure(.overloaded, "overloaded")) : .ok("Fresh answer")
        }
        let (_, final) = await (try engine(client, clock: clock, config: config)).collect(oneStep("sim/coder", fallbacks: ["sim/smart"]))
        #expect(final.steps["generation"]?.output == "Fresh answer")
    }

    @Test func streamWithoutTerminalEventIsNeverAShortAnswer() async throws {
        let clock = VirtualClock()
        // A client whose stream just ends: no `.finished`.
        struct Ends: ModelClient {
            func stream(_ r: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
                AsyncThrowingStream { c in
                    c.yield(.delta("partial"))
                    c.finish()
                }
            }
        }
        let (events, final) = await (try engine(Ends(), clock: clock)).collect(oneStep("sim/coder", fallbacks: []))
        #expect(final.status == .failed)
        #expect(events.contains { if case .attemptFailed(let f) = $0.kind { f.errorClass == .truncated } else { false } })
    }

    @Test func openBreakerSendsTheNextStepStraightToTheFallback() async throws {
        let clock = VirtualClock()
        let client = ScriptedClient(clock: clock) { model, _, _ in
            model == "sim/coder" ? .fail(ModelFailure(.serverError, "500", httpStatus: 500)) : .ok("fine")
        }
        let p = manualPlan([
            PlanStep(id: "generation", phase: .generation, title: "a", model: "sim/coder", fallbacks: ["sim/smart"]),
            PlanStep(id: "validation", phase: .validation, title: "b", model: "sim/coder", fallbacks: ["sim/smart"], dependsOn: ["generation"]),
        ])
        let (events, final) = await (try engine(client, clock: clock)).collect(p)
        #expect(final.status == .succeeded)
        #expect(client.count("sim/coder") == 3, "three failures open the breaker; the second step never calls the model")
        #expect(final.breakerTrips == 1)
        let reasons = events.compactMap { if case .fallbackTaken(let f) = $0.kind { f.reason } else { nil } }
        #expect(reasons == [.serverError, .circuitOpen])
    }

    @Test func halfOpenProbeAfterCooldownClosesTheBreaker() async throws {
        let clock = VirtualClock()
        var cfg = CircuitBreaker.Config()
        cfg.cooldownMs = 5_000
        let registry = ResilienceRegistry(breakerConfig: cfg)
        // Three failures, then healthy again.
        let client = ScriptedClient(clock: clock) { _, n, _ in n <= 3 ? .fail(ModelFailure(.serverError, "500")) : .ok("back") }
        var config = EngineConfig()
        config.retry.maxAttemptsPerModel = 5
        let (events, final) = await (try engine(client, clock: clock, config: config, resilience: registry)).collect(oneStep("sim/coder", fallbacks: []))
        #expect(final.status == .succeeded)
        let changes = events.compactMap { if case .breakerChanged(let c) = $0.kind { "\(c.from.rawValue)→\(c.to.rawValue)" } else { nil } }
        #expect(changes == ["closed→open", "open→half_open", "half_open→closed"])
        #expect(events.contains { if case .throttled(let t) = $0.kind { t.reason.contains("half-open") } else { false } })
    }

    @Test func halfOpenProbeThatFailsReopensAndTheRunEndsWithAReason() async throws {
        let clock = VirtualClock()
        var cfg = CircuitBreaker.Config()
        cfg.cooldownMs = 5_000
        let client = ScriptedClient(clock: clock) { _, _, _ in .fail(ModelFailure(.serverError, "500")) }
        var config = EngineConfig()
        config.retry.maxAttemptsPerModel = 5
        let (events, final) = await (try engine(client, clock: clock, config: config, resilience: ResilienceRegistry(breakerConfig: cfg))).collect(oneStep("sim/coder", fallbacks: []))
        #expect(final.status == .failed)
        #expect(final.endReason?.contains("generation failed") == true)
        let changes = events.compactMap { if case .breakerChanged(let c) = $0.kind { "\(c.from.rawValue)→\(c.to.rawValue)" } else { nil } }
        #expect(changes.starts(with: ["closed→open", "open→half_open", "half_open→open"]))
    }

    @Test func contextTooLongFallsBackToALargerWindow() async throws {
        let clock = VirtualClock()
        let client = ScriptedClient(clock: clock) { model, _, _ in
            model == "sim/coder" ? .fail(ModelFailure(.contextTooLong, "too long", httpStatus: 400)) : .ok("fits in \(model)")
        }
        // judge (32k) comes first in the chain but is no larger than coder (32k); smart (200k) is.
        let (_, final) = await (try engine(client, clock: clock)).collect(oneStep("sim/coder", fallbacks: ["sim/judge", "sim/smart"]))
        #expect(final.steps["generation"]?.output == "fits in sim/smart")
        #expect(client.count("sim/judge") == 0)
    }
}

@Suite("Engine: controls in the middle of a run")
struct EngineControlTests {
    func threeSteps() -> RunPlan {
        manualPlan([
            PlanStep(id: "planning", phase: .planning, title: "p", model: "sim/smart", fallbacks: ["sim/coder"]),
            PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/coder", fallbacks: ["sim/smart"], dependsOn: ["planning"]),
            PlanStep(id: "validation", phase: .validation, title: "v", model: "sim/judge", fallbacks: ["sim/smart"], dependsOn: ["generation"]),
        ])
    }
    func slowClient(_ clock: VirtualClock) -> ScriptedClient {
        ScriptedClient(clock: clock) { model, _, req in .slow(["[\(req.context.stepID)@\(model)]", " a", " b", " c", " d"], 100) }
    }

    @Test func pauseStopsNewAttemptsUntilResume() async throws {
        let clock = VirtualClock()
        let e = try engine(slowClient(clock), clock: clock)
        let handle = e.start(threeSteps(), observer: { event, control in
            if case .stepStarted(let s) = event.kind, s.step == "generation" { control.pause() }
        })
        var events: [RunEvent] = []
        var resumed = false
        for await ev in handle.events {
            events.append(ev)
            if case .stepDone(let d) = ev.kind, d.step == "generation", !resumed {
                // In flight when paused: it finished. Nothing else may start until we resume.
                resumed = true
                handle.control.resume()
            }
        }
        let final = await handle.finalState()
        #expect(final.status == .succeeded)
        let names = types(events)
        let p = try #require(names.firstIndex(of: "paused"))
        let r = try #require(names.firstIndex(of: "resumed"))
        #expect(p < r)
        #expect(!names[p..<r].contains("step_started"), "no attempt started while paused")
        let paused = events[p]
        if case .paused(let info) = paused.kind {
            #expect(info.inFlight == ["generation"])
            #expect(info.note.contains("finish"))
        }
    }

    /// A swap stops the attempt in flight; the new model continues from the partial output or starts
    /// again, per `fallbackMode` (as a fallback does).
    @Test(arguments: [RunEvent.FallbackTaken.Mode.continue, .restart])
    func swapOfARunningStepRestartsItOnTheNewModel(_ mode: RunEvent.FallbackTaken.Mode) async throws {
        let clock = VirtualClock()
        let swapped = Mutex(false)
        var config = EngineConfig()
        config.fallbackMode = mode
        let e = try engine(slowClient(clock), clock: clock, config: config)
        let (events, final) = await e.collect(threeSteps()) { event, control in
            if case .textDelta(let d) = event.kind, d.step == "generation", !swapped.withLock({ s in defer { s = true }; return s }) {
                control.swap(step: "generation", to: "sim/fast")
            }
        }
        #expect(final.status == .succeeded)
        let swap = events.compactMap { if case .modelSwapped(let s) = $0.kind { s } else { nil } }
        #expect(swap.count == 1 && swap[0].restarted && swap[0].from == "sim/coder" && swap[0].to == "sim/fast")
        #expect(final.steps["generation"]?.model == "sim/fast")
        let starts = events.compactMap { if case .stepStarted(let s) = $0.kind, s.step == "generation" { s } else { nil } }
        #expect(starts.last?.purpose == .swap)
        #expect(starts.last?.model == "sim/fast")
        let output = final.steps["generation"]?.output ?? ""
        if mode == .restart {
            #expect(output.hasPrefix("[generation@sim/fast]"), "the output is the new model's, from the start")
            #expect(starts.last?.continuesFrom == nil)
        } else {
            #expect(output.hasPrefix("[generation@sim/coder]"), "the new model continues the partial output")
            #expect(output.contains("[generation@sim/fast]"))
            #expect(starts.last?.continuesFrom == "[generation@sim/coder]".count)
            #expect(final.steps["generation"]?.splices.first?.to == "sim/fast")
        }
    }

    @Test func swapOfAPendingStepChangesItsModel() async throws {
        let clock = VirtualClock()
        let e = try engine(slowClient(clock), clock: clock)
        let (events, final) = await e.collect(threeSteps()) { event, control in
            if case .runPlanned = event.kind { control.swap(step: "validation", to: "sim/fast") }
        }
        #expect(final.steps["validation"]?.model == "sim/fast")
        let swap = events.compactMap { if case .modelSwapped(let s) = $0.kind { s } else { nil } }
        #expect(swap.first?.restarted == false)
    }

    @Test func retryOfAPhaseRunsItAndTheFollowingPhasesAgain() async throws {
        let clock = VirtualClock()
        let once = Mutex(false)
        let e = try engine(slowClient(clock), clock: clock)
        let (events, final) = await e.collect(threeSteps()) { event, control in
            if case .stepStarted(let s) = event.kind, s.step == "validation", !once.withLock({ o in defer { o = true }; return o }) {
                control.retry(step: "generation")
            }
        }
        #expect(final.status == .succeeded)
        let reset = events.compactMap { if case .stepReset(let r) = $0.kind { r } else { nil } }
        #expect(reset.first?.reset == ["generation", "validation"])
        let starts = events.compactMap { if case .stepStarted(let s) = $0.kind { s.step } else { nil } }
        #expect(starts.filter { $0 == "generation" }.count == 2)
        #expect(starts.filter { $0 == "validation" }.count == 2)
        #expect(starts.filter { $0 == "planning" }.count == 1, "earlier phases are kept")
    }

    @Test func cancelEndsTheRunPromptly() async throws {
        let clock = VirtualClock()
        let e = try engine(slowClient(clock), clock: clock)
        let (events, final) = await e.collect(threeSteps()) { event, control in
            if case .textDelta(let d) = event.kind, d.step == "generation" { control.cancel(reason: "user pressed x") }
        }
        #expect(final.status == .cancelled)
        #expect(final.endReason == "user pressed x")
        #expect(events.last?.typeName == "run_cancelled")
        #expect(!events.contains { if case .stepStarted(let s) = $0.kind { s.step == "validation" } else { false } })
    }
}

@Suite("Engine: subtasks, quality gate, budget, resume")
struct EngineGraphTests {
    @Test func subtasksRunAsAGraphWithTheConcurrencyLimit() async throws {
        let clock = VirtualClock()
        let planText = """
            1. Schema (depends on: none)
            2. Auth (depends on: 1)
            3. Endpoints (depends on: 1)
            4. Docs (depends on: 1)
            5. Deploy (depends on: 2, 3, 4)
            """
        let client = ScriptedClient(clock: clock) { _, _, req in
            req.context.phase == .planning ? .ok(planText) : .slow(["<\(req.context.stepID)>", " x", " y"], 200)
        }
        var config = EngineConfig()
        config.subtaskConcurrency = 2
        let p = manualPlan([
            PlanStep(id: "planning", phase: .planning, title: "p", model: "sim/smart"),
            PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/coder", dependsOn: ["planning"], decompose: true),
        ])
        let (events, final) = await (try engine(client, clock: clock, config: config)).collect(p)
        #expect(final.status == .succeeded)
        #expect(client.maxInFlight.withLock { $0 } == 2, "independent subtasks run two at a time, never more")
        func index(_ type: String, _ step: String) -> Int {
            events.firstIndex { $0.typeName == type && $0.kind.stepID == step } ?? -1
        }
        #expect(index("step_done", "generation/1") < index("step_started", "generation/2"))
        for dep in ["generation/2", "generation/3", "generation/4"] {
            #expect(index("step_done", dep) < index("step_started", "generation/5"))
        }
        let out = final.steps["generation"]?.output ?? ""
        #expect(out.contains("### Schema") && out.contains("<generation/5>"))
    }

    @Test func lowScoreTriggersARefinementOnTheNextModel() async throws {
        let clock = VirtualClock()
        let client = ScriptedClient(clock: clock) { model, _, req in
            let refining = req.messages.last?.content.hasPrefix("This answer scored") == true
            return .ok(refining ? "better by \(model)" : "weak by \(model)")
        }
        let validator = FixedValidator(scores: ["generation": [0.3, 0.95]])
        let p = manualPlan([PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/coder", fallbacks: ["sim/smart"])])
        let (events, final) = await (try engine(client, clock: clock, validator: validator)).collect(p)
        let starts = events.compactMap { if case .stepStarted(let s) = $0.kind { s } else { nil } }
        #expect(starts.map(\.purpose) == [.initial, .refine])
        #expect(starts.last?.model == "sim/smart", "the refinement runs on the next model")
        #expect(final.steps["generation"]?.output == "better by sim/smart")
        #expect(final.refinements == 1)
    }

    @Test func aWorseRefinementKeepsTheEarlierOutput() async throws {
        let clock = VirtualClock()
        let client = ScriptedClient(clock: clock) { model, _, _ in .ok("answer by \(model)") }
        let validator = FixedValidator(scores: ["generation": [0.5, 0.2]])
        let p = manualPlan([PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/coder", fallbacks: ["sim/smart"])])
        let (events, final) = await (try engine(client, clock: clock, validator: validator)).collect(p)
        #expect(final.steps["generation"]?.output == "answer by sim/coder")
        #expect(RunState.replay(events).steps["generation"]?.output == "answer by sim/coder")
    }

    @Test func spentBudgetStopsFurtherAttempts() async throws {
        let clock = VirtualClock()
        let client = ScriptedClient(clock: clock) { _, _, _ in .ok("x") }
        let p = manualPlan([
            PlanStep(id: "planning", phase: .planning, title: "p", model: "sim/smart"),
            PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/smart", dependsOn: ["planning"]),
        ], budget: Budget(maxCost: Money(nanodollars: 1)))
        let (events, final) = await (try engine(client, clock: clock)).collect(p)
        #expect(final.status == .failed)
        #expect(events.contains { if case .stepFailed(let f) = $0.kind { f.errorClass == .budgetExceeded } else { false } })
        #expect(client.count("sim/smart") == 1)
    }

    @Test func aJudgesTokensAreBilledToTheStepItScored() async throws {
        struct JudgingValidator: QualityValidator {
            func evaluate(_ input: ValidationInput) async -> QualityReport {
                var r = QualityReport(score: 0.9, threshold: input.threshold, dimensions: [], validator: "judging")
                r.spend = [QualitySpend(model: "sim/judge", usage: TokenUsage(inputTokens: 1_000_000, outputTokens: 0))]
                return r
            }
        }
        let clock = VirtualClock()
        let client = ScriptedClient(clock: clock) { _, _, _ in .ok("x") }
        let p = manualPlan([PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/fast")])
        let (events, final) = await (try engine(client, clock: clock, validator: JudgingValidator())).collect(p)
        #expect(final.status == .succeeded)
        let judged = events.compactMap { if case .usage(let u) = $0.kind, u.model == "sim/judge" { u } else { nil } }
        #expect(judged.count == 1)
        // sim/judge costs $0.50 per million input tokens.
        #expect(judged.first?.cost.money == Money(dollars: 0.5))
        #expect(final.steps["generation"]!.cost.money >= Money(dollars: 0.5))
        #expect(final.cost.money >= Money(dollars: 0.5))
        // Billed before the score is announced, so a budget check after scoring sees it.
        let usageAt = events.firstIndex { if case .usage(let u) = $0.kind { u.model == "sim/judge" } else { false } }!
        let scoredAt = events.firstIndex { if case .qualityScored = $0.kind { true } else { false } }!
        #expect(usageAt < scoredAt)
    }

    @Test func spentTokenBudgetStopsFurtherAttempts() async throws {
        let clock = VirtualClock()
        let client = ScriptedClient(clock: clock) { _, _, _ in .ok("x") }
        let p = manualPlan([
            PlanStep(id: "planning", phase: .planning, title: "p", model: "sim/fast"),
            PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/fast", dependsOn: ["planning"]),
        ], budget: Budget(maxTokens: 1))
        let (events, final) = await (try engine(client, clock: clock)).collect(p)
        #expect(final.status == .failed)
        let failure = events.compactMap { if case .stepFailed(let f) = $0.kind { f } else { nil } }.first
        #expect(failure?.errorClass == .budgetExceeded)
        #expect(failure?.reason.contains("token budget of 1") == true)
        #expect(client.count("sim/fast") == 1, "the first attempt used the budget; none starts after it")
    }

    @Test func resumeKeepsFinishedPhasesAndDoesNotRebillThem() async throws {
        let clock = VirtualClock()
        let p = try plan(seed: 3)
        let e = try engine(SimulatedProvider(clock: clock), clock: clock)
        let (events, full) = await e.collect(p)
        // Cut the journal right after research finished, as a crash would.
        let cut = try #require(events.firstIndex { $0.typeName == "step_done" && $0.kind.stepID == "research" })
        var prior = RunState.replay(events[...cut])
        prior.markInterruptedIfOpen()
        #expect(prior.status == .interrupted)
        let billedBefore = prior.cost
        let clock2 = VirtualClock()
        let client = ScriptedClient(clock: clock2) { _, _, req in
            req.context.phase == .planning || req.context.phase == .research ? .fail(ModelFailure(.badRequest, "must not be called")) : .ok("resumed \(req.context.stepID)")
        }
        let e2 = try engine(client, clock: clock2)
        let (more, final) = await e2.collect(p, resume: ResumePoint(prior: prior))
        #expect(final.status == .succeeded)
        if case .runResumed(let r) = more.first?.kind { #expect(r.keptSteps == ["planning", "research"]) } else { Issue.record("first event should be run_resumed") }
        #expect(more.first?.seq == events[cut].seq + 1, "sequence numbers continue the journal")
        #expect(!more.contains { if case .stepStarted(let s) = $0.kind { s.step == "planning" || s.step == "research" } else { false } })
        #expect(final.steps["planning"]?.output == full.steps["planning"]?.output)
        #expect(final.cost.money > billedBefore.money)
        // The whole journal (prefix + resumed part) folds to the same final state.
        #expect(RunState.replay(Array(events[...cut]) + more).summary == final.summary)
    }
}

extension EngineGraphTests {
    @Test func resumeInTheMiddleOfGenerationKeepsFinishedSubtasks() async throws {
        let clock = VirtualClock()
        let p = try plan(seed: 5)
        let (events, _) = await (try engine(SimulatedProvider(clock: clock), clock: clock)).collect(p)
        // Crash right after the first subtask of generation finished.
        let cut = try #require(events.firstIndex { $0.typeName == "step_done" && $0.kind.stepID == "generation/1" })
        var prior = RunState.replay(events[...cut])
        prior.markInterruptedIfOpen()
        let clock2 = VirtualClock()
        let client = ScriptedClient(clock: clock2) { _, _, req in
            req.context.stepID == "generation/1" || req.context.phase == .planning || req.context.phase == .research
                ? .fail(ModelFailure(.badRequest, "finished before the crash: must not run again")) : .ok("after resume: \(req.context.stepID)")
        }
        let (more, final) = await (try engine(client, clock: clock2)).collect(p, resume: ResumePoint(prior: prior))
        #expect(final.status == .succeeded)
        #expect(!more.contains { $0.typeName == "subtasks_planned" }, "the recorded subtasks are reused")
        #expect(final.steps["generation/1"]?.output == prior.steps["generation/1"]?.output)
        #expect(final.steps["generation/2"]?.output == "after resume: generation/2")
    }
}

@Suite("Engine under simulated faults")
struct EngineFaultTests {
    @Test func thirtyPercentFaultsAreHealed() async throws {
        var retries = 0, fallbacks = 0, succeeded = 0
        for seed in UInt64(1)...12 {
            let clock = VirtualClock()
            let e = try engine(SimulatedProvider(clock: clock, faults: .init(rate: 0.3)), clock: clock)
            let (_, final) = await e.collect(try plan(seed: seed))
            #expect(final.status.isTerminal)
            if final.status == .succeeded { succeeded += 1 } else { #expect(final.endReason != nil) }
            retries += final.retries
            fallbacks += final.fallbacks
        }
        #expect(retries > 0 && fallbacks > 0)
        #expect(succeeded >= 10, "\(succeeded) of 12 succeeded")
    }

    @Test func eightyPercentFaultsTripBreakersAndEndWithAReason() async throws {
        var trips = 0
        for seed in UInt64(1)...6 {
            let clock = VirtualClock()
            let e = try engine(SimulatedProvider(clock: clock, faults: .init(rate: 0.8)), clock: clock)
            let (events, final) = await e.collect(try plan(seed: seed))
            #expect(final.status == .succeeded || (final.status == .failed && final.endReason?.isEmpty == false))
            #expect(events.last?.kind.isTerminal == true)
            trips += final.breakerTrips
        }
        #expect(trips > 0)
    }
}

@Suite("Engine: learning")
struct EngineLearningTests {
    @Test func everyRunIsRecordedAndFeedsTheRecommender() async throws {
        let history = InMemoryExecutionHistory()
        for seed in UInt64(1)...3 {
            let clock = VirtualClock()
            let e = Engine(catalog: try testCatalog(), client: SimulatedProvider(clock: clock), validator: FixedValidator(), clock: clock, history: history)
            _ = await e.collect(try plan(strategy: .cascade, seed: seed))
        }
        let records = await history.records
        #expect(records.count == 3)
        #expect(records.allSatisfy { $0.succeeded && $0.strategy == .cascade && $0.taskType == .code })
        #expect(records[0].modelsByStep.keys.sorted() == ["draft", "polish", "refine", "validate"])
        let rec = await Recommender(history: history).recommend(for: IntentAnalyzer().analyze(restTask))
        #expect(rec?.strategy == .cascade && rec?.similarRuns == 3)
    }
}
