import Foundation
import YmeraCore
@testable import YmeraTUI

/// Canned runs for golden files and reducer tests (virtual time, no sleeping).
enum Fixtures {
    static let task = "Build a REST API for a todo app with authentication, tests and docs"

    static func plan(_ id: String = "r-golden", strategy: Strategy? = .multiModel) -> RunPlan {
        ScriptedBackend.makePlan(PlanRequest(task: task, strategy: strategy), runID: id)
    }

    static func events(_ id: String = "r-golden") async -> [RunEvent] {
        await ScriptedBackend.scriptedEvents(plan(id), config: .init(tokensPerSecond: 0, tokensPerStep: 24, injectFailure: true, virtualMsPerToken: 25))
    }

    /// Events up to a few deltas after the fallback continued the cut stream.
    static func midRunEvents(_ id: String = "r-golden") async -> [RunEvent] {
        let all = await events(id)
        let cut = all.firstIndex { if case .fallbackTaken = $0.kind { true } else { false } }!
        return Array(all.prefix(cut + 6))
    }

    static func app(width: Int, height: Int) -> AppState {
        var a = AppState(serving: .simulated)
        a.width = width
        a.height = height
        a.models = ScriptedBackend.sampleModels()
        return a
    }

    static func withRun(_ events: [RunEvent], width: Int, height: Int, select step: String? = nil) -> AppState {
        var a = app(width: width, height: height)
        let st = RunState.replay(events)
        var e = RunEntry(state: st)
        if let step, let i = e.stepIDs.firstIndex(of: step) { e.selectedStep = i }
        a.runs[st.runID] = e
        a.runOrder = [st.runID]
        a.screen = .run(st.runID)
        return a
    }

    static func history() async -> [HistoryEntry] {
        var out: [HistoryEntry] = []
        let tasks = ["Write a haiku about rust", "Build a CLI to rename photos by date", "Summarise RFC 9110 caching"]
        for (i, t) in tasks.enumerated() {
            let p = ScriptedBackend.makePlan(PlanRequest(task: t, strategy: i == 0 ? .single : .multiModel), runID: "r-h\(i + 1)")
            let evs = await ScriptedBackend.scriptedEvents(p, config: .init(tokensPerSecond: 0, tokensPerStep: 8 + i * 4, injectFailure: i == 1, virtualMsPerToken: 30))
            out.append(HistoryEntry(summary: RunState.replay(evs).summary, startedAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(i) * 3600)))
        }
        return out
    }
}
