// DashboardBench — prints figures (not a test):
//  1. frame build (views → Canvas) and draw (Canvas → curses → /dev/null) at 200×60 with 50 runs on screen;
//  2. CPU used over 10 s idle with the dashboard open;
//  3. CPU while 1 000 tokens per second stream in.
import Foundation
import Synchronization
import YmeraCore
import YmeraTUI

func nowNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

func stats(_ xs: [Double]) -> String {
    let s = xs.sorted()
    let mean = s.reduce(0, +) / Double(s.count)
    let p95 = s[min(s.count - 1, Int(Double(s.count) * 0.95))]
    return String(format: "mean %.3f ms, p95 %.3f ms, max %.3f ms (n=%d)", mean, p95, s.last ?? 0, s.count)
}

let seconds = Double(ProcessInfo.processInfo.environment["BENCH_SECONDS"] ?? "10") ?? 10
setenv("COLUMNS", "200", 1)
setenv("LINES", "60", 1)

// MARK: 1. frame build + draw with 50 runs
var app = AppState(serving: .simulated)
app.width = 200
app.height = 60
app.models = ScriptedBackend.sampleModels()
for i in 0..<50 {
    let plan = ScriptedBackend.makePlan(PlanRequest(task: "Task number \(i): build a REST API with tests", strategy: .multiModel), runID: String(format: "r-%04d", i))
    let evs = await ScriptedBackend.scriptedEvents(plan, config: .init(tokensPerSecond: 0, tokensPerStep: 40, injectFailure: i % 3 == 0, virtualMsPerToken: 20))
    let cut = evs.count * (i % 10 + 1) / 10
    _ = app.reduce(.events(Array(evs.prefix(cut)), nowMs: 0))
}
app.screen = .runs
let theme = Theme.standard()

let devnull = open("/dev/null", O_WRONLY)
var inPipe: [Int32] = [0, 0]
_ = pipe(&inPipe)
let term = try Terminal(term: "xterm-256color", outputFD: devnull, inputFD: inPipe[0], monochrome: false)

func measure(_ label: String, screen: Screen, app: inout AppState, term: Terminal, frames: Int = 300) {
    app.screen = screen
    var build: [Double] = []
    var draw: [Double] = []
    for f in 0..<frames {
        app.nowMs = Int64(f * 1000)
        app.selectedRun = f % 50
        let t0 = nowNs()
        let canvas = Dashboard.render(app, theme: theme)
        let t1 = nowNs()
        term.draw(canvas)
        let t2 = nowNs()
        build.append(Double(t1 - t0) / 1e6)
        draw.append(Double(t2 - t1) / 1e6)
    }
    print("\(label) 200×60, 50 runs:")
    print("  build \(stats(build))")
    print("  draw  \(stats(draw))  (curses diff + output to /dev/null, colour \(term.colorMode.rawValue))")
}
print("DashboardBench (\(Int(seconds)) s windows)")
measure("runs list", screen: .runs, app: &app, term: term)
measure("run view ", screen: .run("r-0004"), app: &app, term: term)
term.shutdown()

// MARK: 2 + 3. the real loop: idle, then 1 000 tokens/s

/// Counts text deltas on their way to the dashboard.
final class CountingBackend: DashboardBackend {
    let inner: ScriptedBackend
    let deltas = Atomic<Int>(0)
    init(_ inner: ScriptedBackend) { self.inner = inner }
    var serving: ServingKind { inner.serving }
    func models() async -> [ModelStatus] { await inner.models() }
    func plan(_ request: PlanRequest) async throws -> RunPlan { try await inner.plan(request) }
    func start(_ plan: RunPlan) async throws -> LiveRun {
        let h = try await inner.start(plan)
        let (s, c) = AsyncStream<RunEvent>.makeStream()
        let counter = self
        Task {
            for await e in h.events {
                if case .textDelta = e.kind { counter.deltas.add(1, ordering: .relaxed) }
                c.yield(e)
            }
            c.finish()
        }
        return LiveRun(runID: h.runID, events: s)
    }
    func control(runID: String, _ command: RunControlAction) async throws { try await inner.control(runID: runID, command) }
    func breaker(_ model: ModelID, _ command: BreakerCommand) async throws { try await inner.breaker(model, command) }
    func history(search: String?, limit: Int) async throws -> [HistoryEntry] { try await inner.history(search: search, limit: limit) }
    func events(ofRun runID: String) async throws -> [RunEvent] { try await inner.events(ofRun: runID) }
}

let backend = CountingBackend(ScriptedBackend(config: .init(tokensPerSecond: 1000, tokensPerStep: 5000, injectFailure: true)))
let devnull2 = open("/dev/null", O_WRONLY)
var in2: [Int32] = [0, 0]
_ = pipe(&in2)
let loop = UILoop(backend: backend, options: DashboardOptions(outputFD: devnull2, inputFD: in2[0], term: "xterm-256color"))
let done = Atomic<Bool>(false)
let thread = Thread {
    _ = try? loop.runBlocking()
    done.store(true, ordering: .sequentiallyConsistent)
}
thread.start()
try await Task.sleep(nanoseconds: 500_000_000)

let idle0 = cpuSeconds()
let w0 = loop.stats.wakeups
let tIdle0 = nowNs()
try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
let idleCPU = cpuSeconds() - idle0
let idleWall = Double(nowNs() - tIdle0) / 1e9
print(String(format: "idle: %.3f s CPU over %.1f s (%.2f%% of a core), %d wakeups", idleCPU, idleWall, idleCPU / idleWall * 100, loop.stats.wakeups - w0))

let plan = try await backend.plan(PlanRequest(task: "stream benchmark: build a REST API", strategy: .multiModel))
loop.startRun(plan)
try await Task.sleep(nanoseconds: 300_000_000)
let s0 = cpuSeconds()
let d0 = backend.deltas.load(ordering: .relaxed)
let f0 = loop.stats.frames
let tS0 = nowNs()
try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
let streamCPU = cpuSeconds() - s0
let streamWall = Double(nowNs() - tS0) / 1e9
let tokens = backend.deltas.load(ordering: .relaxed) - d0
let frames = loop.stats.frames - f0
print(String(format: "streaming: %.0f tokens/s for %.1f s: %.3f s CPU (%.1f%% of a core, producer included), %d frames (%.1f/s)",
    Double(tokens) / streamWall, streamWall, streamCPU, streamCPU / streamWall * 100, frames, Double(frames) / streamWall))
let st = loop.stats
if st.frames > 0 {
    print(String(format: "loop frames: mean build %.3f ms, mean draw %.3f ms", Double(st.buildNs) / Double(st.frames) / 1e6, Double(st.drawNs) / Double(st.frames) / 1e6))
}
try? await backend.control(runID: plan.runID, .cancel)
loop.stop()
for _ in 0..<100 where !done.load(ordering: .sequentiallyConsistent) { try await Task.sleep(nanoseconds: 20_000_000) }
