// The reducer (RunState.apply) and a dashboard frame (views into the cell buffer, no terminal I/O).
//   cd Benchmarks && swift package --disable-sandbox benchmark --target ReducerRender
import Benchmark
import Foundation
import YmeraCore
import YmeraTUI

/// Built once in setup: a scripted multi-model run's events, and a dashboard with 50 runs.
final class Fixture: @unchecked Sendable {
    static let shared = Fixture()
    var events: [RunEvent] = []
    var app = AppState(serving: .simulated)
    let theme = Theme.standard()

    /// Builds the fixture before the benchmarks are registered, so their names can carry its size.
    /// Detached: the registration closure may run on the main thread, which the semaphore blocks.
    func buildBlocking() {
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await self.build()
            done.signal()
        }
        done.wait()
    }

    func build() async {
        guard events.isEmpty else { return }
        app.width = 200
        app.height = 60
        app.models = ScriptedBackend.sampleModels()
        for i in 0..<50 {
            let plan = ScriptedBackend.makePlan(
                PlanRequest(task: "Task number \(i): build a REST API with tests", strategy: .multiModel),
                runID: String(format: "r-%04d", i))
            let evs = await ScriptedBackend.scriptedEvents(
                plan, config: .init(tokensPerSecond: 0, tokensPerStep: 40, injectFailure: i % 3 == 0, virtualMsPerToken: 20))
            if i == 4 { events = evs }
            _ = app.reduce(.events(Array(evs.prefix(evs.count * (i % 10 + 1) / 10)), nowMs: 0))
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 3,
        maxDuration: .seconds(3), maxIterations: 100_000)
    let setup: Benchmark.BenchmarkSetupHook = { await Fixture.shared.build() }
    Fixture.shared.buildBlocking()
    let count = Fixture.shared.events.count

    Benchmark("RunState.replay: one run, \(count) events (an iteration = \(count) apply calls)", configuration: .init(setup: setup)) { benchmark in
        let events = Fixture.shared.events
        for _ in benchmark.scaledIterations { blackHole(RunState.replay(events)) }
    }

    Benchmark("Dashboard.render: runs list 200x60, 50 runs", configuration: .init(setup: setup)) { benchmark in
        var app = Fixture.shared.app
        app.screen = .runs
        for i in benchmark.scaledIterations {
            app.selectedRun = i % 50
            blackHole(Dashboard.render(app, theme: Fixture.shared.theme))
        }
    }

    Benchmark("Dashboard.render: run view 200x60", configuration: .init(setup: setup)) { benchmark in
        var app = Fixture.shared.app
        app.screen = .run("r-0004")
        for i in benchmark.scaledIterations {
            app.nowMs = Int64(i)
            blackHole(Dashboard.render(app, theme: Fixture.shared.theme))
        }
    }

    Benchmark("AppState.reduce one text delta + render the run view", configuration: .init(setup: setup)) { benchmark in
        var app = Fixture.shared.app
        app.screen = .run("r-0004")
        let last = Fixture.shared.events.last { if case .textDelta = $0.kind { true } else { false } }
        guard let template = last else { return }
        var seq = 100_000
        for _ in benchmark.scaledIterations {
            seq += 1
            var e = template
            e.seq = seq
            _ = app.reduce(.events([e], nowMs: Int64(seq)))
            blackHole(Dashboard.render(app, theme: Fixture.shared.theme))
        }
    }
}
