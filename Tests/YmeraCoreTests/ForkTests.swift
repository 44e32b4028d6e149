import Foundation
import Synchronization
import Testing
@testable import YmeraCore

/// Counts the requests a client gets, per step.
final class StepCountingClient: ModelClient, Sendable {
    let inner: any ModelClient
    let steps = Mutex<[String]>([])
    init(_ inner: any ModelClient) { self.inner = inner }
    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        steps.withLock { $0.append(request.context.stepID) }
        return inner.stream(request)
    }
    var calledSteps: [String] { steps.withLock { $0 } }
}

@Suite("Forks: planning which phases are reused, and the engine reusing them")
struct ForkTests {
    /// A finished six-phase parent run on the simulated provider.
    static func parent() async throws -> RunState {
        let clock = VirtualClock()
        let e = try engine(SimulatedProvider(clock: clock), clock: clock)
        let (_, final) = await e.collect(try plan())
        #expect(final.status == .succeeded)
        return final
    }

    @Test func planningNamesTheReusedPhasesAndRefusesWhatCannotBe() async throws {
        let parent = try await Self.parent()
        let (p, resume) = try ForkPlanner.plan(parent: parent, newRunID: "run-fork", from: "review", models: ["refinement": "sim/smart"])
        #expect(p.runID == "run-fork")
        #expect(resume.fork?.reused == ["planning", "research", "generation"])
        #expect(p.forkOf == ForkOrigin(run: parent.runID, from: "review", reused: ["planning", "research", "generation"]))
        #expect(p.step("refinement")?.model == "sim/smart")
        #expect(p.step("review")?.model == parent.plan?.step("review")?.model, "a phase not named keeps the parent's model")

        #expect(try ForkPlanner.plan(parent: parent, newRunID: "f", from: "planning").resume.fork?.reused == [])
        #expect(throws: ForkError.self) { try ForkPlanner.plan(parent: parent, newRunID: "f", from: "nonsense") }
        do {
            _ = try ForkPlanner.plan(parent: parent, newRunID: "f", from: "nonsense")
        } catch {
            #expect(error.description.contains("'nonsense'") && error.description.contains("review"), "\(error)")
        }
        do {
            _ = try ForkPlanner.plan(parent: parent, newRunID: "f", from: "review", models: ["research": "sim/smart"])
            Issue.record("a reused phase took another model")
        } catch {
            #expect(error.description.contains("research is reused"), "\(error)")
        }
        // A parent whose phase did not finish: its output cannot be reused.
        var cut = parent
        cut.steps["generation"]?.status = .failed
        do {
            _ = try ForkPlanner.plan(parent: cut, newRunID: "f", from: "validation")
            Issue.record("a failed phase was reused")
        } catch {
            #expect(error.description.contains("generation") && error.description.contains("did not finish"), "\(error)")
        }
    }

    @Test func theForkCallsOnlyThePhasesFromTheForkPointAndCarriesTheParentsOutputs() async throws {
        let parent = try await Self.parent()
        let (p, resume) = try ForkPlanner.plan(parent: parent, newRunID: "run-fork", from: "review", models: ["review": "sim/judge"])
        let clock = VirtualClock()
        let client = StepCountingClient(SimulatedProvider(clock: clock))
        let e = try engine(client, clock: clock)
        let (events, final) = await e.collect(p, resume: resume)
        #expect(final.status == .succeeded)
        #expect(events.first?.typeName == "run_planned")
        #expect(Set(client.calledSteps) == ["review", "refinement", "validation"], "\(client.calledSteps)")
        #expect(client.calledSteps.count == 3)
        #expect(final.steps["review"]?.model == "sim/judge")
        for id in ["planning", "research", "generation"] {
            let s = try #require(final.steps[id])
            #expect(s.status == .done)
            #expect(s.output == parent.steps[id]?.output, "\(id) carries the parent's output byte for byte")
            #expect(s.cost == .zero && s.usage.totalTokens == 0 && s.attempts == 0)
            #expect(s.reusedFrom == parent.runID)
            #expect(final.summary.phases.first { $0.name == id }?.reusedFrom == parent.runID)
        }
        // Generation's subtasks come with it (validation's requirements name them, as in the parent).
        #expect(final.steps["generation"]?.children == parent.steps["generation"]?.children)
        let reused = events.compactMap { if case .stepReused(let r) = $0.kind { r.step } else { nil } }
        #expect(reused.filter { !$0.contains("/") } == ["planning", "research", "generation"])
        #expect(final.summary.forkOf?.run == parent.runID)
        // The journal's events alone rebuild the fork (a later resume starts from them).
        let replayed = RunState.replay(events)
        #expect(replayed.steps["generation"]?.reusedFrom == parent.runID)
        #expect(replayed.steps["generation"]?.output == parent.steps["generation"]?.output)
        // An event round-trips through JSON.
        let stepReused = try #require(events.first { $0.typeName == "step_reused" })
        #expect(try JSONDecoder().decode(RunEvent.self, from: JSONEncoder().encode(stepReused)) == stepReused)
    }
}
