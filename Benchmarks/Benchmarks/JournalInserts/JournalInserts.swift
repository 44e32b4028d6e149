// Journal inserts per second: YMERA's SQLite journal (GRDB, WAL) in a temporary directory, through
// the real write path (Journal.append: coalescing, RunState folding, browsing tables, FTS5 triggers).
//   cd Benchmarks && swift package --disable-sandbox benchmark --target JournalInserts
import Benchmark
import Foundation
import YmeraCore
import YmeraStore

final class Fixture: @unchecked Sendable {
    static let shared = Fixture()
    var journal: Journal?
    var directory: URL?
    var run = 0

    func open() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-journal-inserts-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        journal = try Journal.open(directory: dir)
        directory = dir
    }

    func close() throws {
        try journal?.close()
        journal = nil
        if let d = directory { try? FileManager.default.removeItem(at: d) }
    }

    /// A short finished run: plan, step start, six deltas, usage, step done, run finished (11 events).
    func nextRun() -> [RunEvent] {
        run += 1
        let id = String(format: "ins-%08d", run)
        let plan = RunPlan(
            runID: id, task: "Write a function that parses dates, run \(run)",
            intent: Intent(taskType: .code, complexity: 0.4, urgency: 0.3, creativity: 0.2, capabilities: [.code]),
            strategy: .single, steps: [PlanStep(id: "generation", phase: .generation, title: "Generation", model: "sim/a")],
            budget: .unlimited, seed: UInt64(run), serving: .simulated)
        var seq = 0
        func e(_ k: RunEvent.Kind) -> RunEvent {
            seq += 1
            return RunEvent(runID: id, seq: seq, elapsedMs: seq * 10, kind: k)
        }
        var out = [e(.runPlanned(plan)), e(.stepStarted(.init(step: "generation", model: "sim/a", attempt: 1, purpose: .initial)))]
        for i in 0..<6 { out.append(e(.textDelta(.init(step: "generation", text: "func parse\(i)(s: String) -> Date? { nil }\n")))) }
        out.append(e(.usage(.init(step: "generation", model: "sim/a", usage: TokenUsage(inputTokens: 50, outputTokens: 60), cost: .zero))))
        out.append(e(.stepDone(.init(step: "generation", model: "sim/a", outputChars: 240))))
        out.append(e(.runFinished(.init())))
        return out
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .cpuTotal], warmupIterations: 10,
        maxDuration: .seconds(4), maxIterations: 20_000)
    let open: Benchmark.BenchmarkSetupHook = { try Fixture.shared.open() }
    let close: Benchmark.BenchmarkTeardownHook = { try Fixture.shared.close() }

    Benchmark("Journal.append: a whole run, 11 events in one transaction", configuration: .init(setup: open, teardown: close)) { benchmark in
        for _ in benchmark.scaledIterations {
            let events = Fixture.shared.nextRun()
            benchmark.startMeasurement()
            try Fixture.shared.journal?.append(events)
            benchmark.stopMeasurement()
        }
    }

    Benchmark("Journal.append: one event per call (11 transactions a run)", configuration: .init(setup: open, teardown: close)) { benchmark in
        for _ in benchmark.scaledIterations {
            let events = Fixture.shared.nextRun()
            benchmark.startMeasurement()
            for event in events { try Fixture.shared.journal?.append(event) }
            benchmark.stopMeasurement()
        }
    }

    Benchmark("Journal.append: 100 runs (1 100 events) in one transaction", configuration: .init(
        maxDuration: .seconds(4), maxIterations: 200, setup: open, teardown: close)) { benchmark in
        for _ in benchmark.scaledIterations {
            let events = (0..<100).flatMap { _ in Fixture.shared.nextRun() }
            benchmark.startMeasurement()
            try Fixture.shared.journal?.append(events)
            benchmark.stopMeasurement()
        }
    }
}
