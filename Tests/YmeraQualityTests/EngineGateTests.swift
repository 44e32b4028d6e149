import Foundation
import Testing
import YmeraCore

@testable import YmeraQuality

/// The real validator inside the engine: a dangerous first answer scores low, the quality gate asks
/// the next model for a refinement, and the refined answer (from the simulated provider) scores higher.
@Suite struct EngineGateTests {
    static let provider = ProviderConfig(id: "sim", kind: .simulated, baseURL: "sim://")

    static func catalog() throws -> Catalog {
        func m(_ name: String, quality: Int) -> ModelInfo {
            ModelInfo(
                id: ModelID("sim/\(name)"), provider: "sim", apiName: name, displayName: name, contextWindow: 32_000,
                pricing: Pricing(inputPerMillion: 1, outputPerMillion: 2), speedTier: 4, qualityTier: quality,
                capabilities: [.code, .reasoning])
        }
        return try Catalog(providers: [provider], models: [m("coder", quality: 4), m("smart", quality: 5)])
    }

    /// First generation on sim/coder: code that shells out with user input and hard-codes a key; its
    /// refinement on sim/smart: the same without a shell. Everything else: the simulated provider.
    struct DangerousFirstDraft: ModelClient {
        let inner: SimulatedProvider
        static let draft = """
            Here it is.

            ```python
            # file: runner.py
            import subprocess

            API_KEY = "sk-proj-0123456789abcdefghijklmnopqrstuv"


            def run(cmd):
                return subprocess.call(cmd, shell=True)
            ```
            """

        /// The refinement on sim/smart: the same task without a shell, with tests. The simulated
        /// provider's generic answers no longer earn marks on requirements they do not implement (#19),
        /// so the refinement that should score higher has to actually address the task.
        static let refined = """
            The Python function below runs a command for a user without a shell: the user's text is split
            into arguments, so shell syntax in it is never interpreted, and an empty command is refused.

            ```python
            # file: runner.py
            '''Run a command for a user without going through a shell.'''
            import shlex
            import subprocess


            def run_command(command: str, timeout: float = 10.0) -> int:
                '''Run the user's command and return its exit status.'''
                args = shlex.split(command)
                if not args:
                    raise ValueError("empty command")
                return subprocess.run(args, check=False, timeout=timeout).returncode
            ```

            ```python
            # file: test_runner.py
            import sys

            import pytest

            from runner import run_command


            def test_runs_a_command_for_a_user():
                assert run_command(f"{sys.executable} -c pass") == 0
                assert run_command(f"{sys.executable} -c 'raise SystemExit(3)'") == 3


            def test_an_empty_command_is_refused():
                with pytest.raises(ValueError):
                    run_command("   ")
            ```

            The tests run a real command through the function, check its exit status and that an empty
            command is refused.
            """

        func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
            let refining = request.messages.last?.content.hasPrefix("This answer scored") == true
            guard request.context.phase == .generation else { return inner.stream(request) }
            let answer: String
            switch (request.model.id, refining) {
            case ("sim/coder", false): answer = Self.draft
            case ("sim/smart", true): answer = Self.refined
            default: return inner.stream(request)
            }
            return AsyncThrowingStream { c in
                c.yield(.delta(answer))
                c.yield(.usage(TokenUsage(inputTokens: 50, outputTokens: 60)))
                c.yield(.finished(.stop))
                c.finish()
            }
        }
    }

    @Test func lowScoreFromTheRealValidatorTriggersARefinementOnTheNextModel() async throws {
        let clock = VirtualClock()
        let task = "Write a Python function that runs a command for a user"
        let plan = RunPlan(
            runID: "run-quality", task: task, intent: IntentAnalyzer().analyze(task), strategy: .multiModel,
            steps: [PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/coder", fallbacks: ["sim/smart"])],
            budget: .unlimited, seed: 3, serving: .simulated)
        let engine = Engine(
            catalog: try Self.catalog(), client: DangerousFirstDraft(inner: SimulatedProvider(clock: clock)),
            validator: RealValidator(options: .init(testTimeout: .seconds(90))), clock: clock)
        let handle = engine.start(plan)
        var events: [RunEvent] = []
        for await e in handle.events { events.append(e) }
        let final = await handle.finalState()

        let reports = events.compactMap { if case .qualityScored(let q) = $0.kind { q } else { nil } }
        let starts = events.compactMap { if case .stepStarted(let s) = $0.kind { s } else { nil } }
        #expect(reports.count == 2)
        guard let first = reports.first?.report, let second = reports.last?.report else { return }
        #expect(first.validator == "ymera-quality")
        #expect(!first.passed)
        // Line 11 of the answer holds shell=True (line 8 of the code block), line 7 the hard-coded key.
        #expect(first.findings.contains { ["shell-true", "B602"].contains($0.rule) && $0.line == 11 }, "\(first.findings)")
        #expect(first.findings.contains { $0.rule == "hardcoded-secret" || $0.rule == "B105" })
        #expect(starts.map(\.purpose) == [.initial, .refine])
        #expect(starts.last?.model == "sim/smart", "the refinement runs on the next model")
        #expect(reports.last?.model == "sim/smart")
        #expect(second.score > first.score, "first: \(first.dimensions)\nsecond: \(second.dimensions)")
        #expect(!second.findings.contains { $0.rule == "shell-true" || $0.rule == "B602" })
        #expect(final.refinements == 1)
        #expect(final.steps["generation"]?.output.contains("shell=True") == false)
    }

    @Test func aWholeSimulatedCodeRunPassesTheRealValidatorHonestly() async throws {
        // The simulated provider writes Python with a pytest file: the real validator parses it, runs
        // its test in the sandbox and scores every phase; nothing about the simulation is special-cased.
        let clock = VirtualClock()
        let task = "Write a Python function that parses a payload with validation"
        let catalog = try Self.catalog()
        let plan = try Planner(catalog: catalog, available: catalog.models).plan(
            task: task, intent: IntentAnalyzer().analyze(task),
            options: PlanOptions(strategy: .multiModel, seed: 5, runID: "run-sim"))
        let engine = Engine(
            catalog: catalog, client: SimulatedProvider(clock: clock),
            validator: RealValidator(options: .init(testTimeout: .seconds(90))), clock: clock)
        let handle = engine.start(plan)
        var events: [RunEvent] = []
        for await e in handle.events { events.append(e) }
        let final = await handle.finalState()
        let reports = events.compactMap { if case .qualityScored(let q) = $0.kind { q } else { nil } }
        #expect(final.status == .succeeded)
        #expect(!reports.isEmpty)
        #expect(reports.allSatisfy { $0.report.validator == "ymera-quality" })
        let generation = reports.first { $0.step.hasPrefix("generation") }?.report
        let syntax = generation?.dimensions.first { $0.name == "syntax" }
        let tests = generation?.dimensions.first { $0.name == "tests" }
        if Fixture.has("python3") {
            #expect(syntax?.score == 1, "\(syntax?.detail ?? "")")
            #expect(tests?.score == 1, "\(tests?.detail ?? "")")
        } else {
            #expect(syntax?.score == nil)
        }
    }
}
