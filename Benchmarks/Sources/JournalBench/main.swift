// JournalBench — fills a journal with 100 000 runs and 1 000 000 events through the real write path
// (Journal.append: coalescing, RunState folding, browsing tables, FTS5 triggers), then prints the time
// to open the history list, a filtered query, a full-text query, and the database size.
//
//   cd Benchmarks && swift build -c release --product JournalBench && .build/release/JournalBench [DIR]
//
// Figures are printed, never asserted. JOURNAL_BENCH_RUNS sets the number of runs (default 100 000,
// whose fill takes ~3 min on 2 cores; 10 000 for a quick look). With DIR the database is kept there and
// reused by the next call with the same run count (the fill is skipped); without DIR it is temporary.
import Foundation
import YmeraCore
import YmeraStore

let env = ProcessInfo.processInfo.environment
let runCount = Int(env["JOURNAL_BENCH_RUNS"] ?? "") ?? 100_000
let eventsPerRun = 10
let dir = CommandLine.arguments.count > 1
    ? URL(fileURLWithPath: CommandLine.arguments[1])
    : FileManager.default.temporaryDirectory.appendingPathComponent("ymera-journal-bench-\(getpid())")
/// Marks a DIR whose database is complete for this run count, so the next call skips the fill.
let filledMarker = dir.appendingPathComponent("filled-\(runCount)-runs")
let cached = CommandLine.arguments.count > 1 && FileManager.default.fileExists(atPath: filledMarker.path)
if !cached { try? FileManager.default.removeItem(at: dir) }

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
nonisolated(unsafe) var rng = SplitMix(state: 2026)

// A vocabulary with a Zipf-like spread: a few common words, many rare ones.
let syllables = ["ka", "lo", "mi", "ren", "tas", "vo", "qui", "zel", "dor", "an", "pe", "sul", "bri", "tho", "gu", "nex"]
let vocabulary: [String] = {
    var v: [String] = []
    for a in syllables { for b in syllables { for c in ["", "n", "r", "s"] { v.append(a + b + c) } } }
    return v + ["function", "swift", "parser", "database", "error", "return", "index", "query", "model", "cache"]
}()
func word() -> String {
    let u = Double.random(in: 0..<1, using: &rng)
    let i = Int(Double(vocabulary.count) * u * u * u)  // skewed toward the front
    return vocabulary[min(i, vocabulary.count - 1)]
}
func words(_ n: Int) -> String { (0..<n).map { _ in word() }.joined(separator: " ") }

let models: [ModelID] = ["groq/llama-3.1-8b-instant", "groq/llama-3.3-70b", "anthropic/claude-haiku", "gemini/flash", "mistral/codestral"]
let now = Date()

func run(_ i: Int) -> [RunEvent] {
    let id = String(format: "bench-%06d-%04x", i, Int.random(in: 0..<65536, using: &rng))
    let type = TaskType.allCases[Int.random(in: 0..<TaskType.allCases.count, using: &rng)]
    let m1 = models[Int.random(in: 0..<models.count, using: &rng)]
    let m2 = models[Int.random(in: 0..<models.count, using: &rng)]
    let created = now.addingTimeInterval(-Double(runCount - i) * 315)  // ~1 year of runs, oldest first
    let plan = RunPlan(
        runID: id, task: words(Int.random(in: 6...12, using: &rng)),
        intent: Intent(taskType: type, complexity: Double.random(in: 0...1, using: &rng), urgency: 0.3, creativity: 0.4, capabilities: []),
        strategy: .multiModel,
        steps: [
            PlanStep(id: "planning", phase: .planning, title: "Planning", model: m1),
            PlanStep(id: "generation", phase: .generation, title: "Generation", model: m2, dependsOn: ["planning"]),
        ],
        budget: .unlimited, seed: UInt64(i), serving: .cloud, createdAt: created)
    var seq = 0
    var t = 0
    var out: [RunEvent] = []
    func emit(_ k: RunEvent.Kind) {
        seq += 1
        t += Int.random(in: 5...400, using: &rng)
        out.append(RunEvent(runID: id, seq: seq, elapsedMs: t, kind: k))
    }
    let roll = Int.random(in: 0..<100, using: &rng)
    emit(.runPlanned(plan))
    emit(.stepStarted(.init(step: "planning", model: m1, attempt: 1, purpose: .initial)))
    emit(.textDelta(.init(step: "planning", text: words(Int.random(in: 15...40, using: &rng)) + "\n")))
    emit(.stepDone(.init(step: "planning", model: m1, outputChars: 200)))
    emit(.stepStarted(.init(step: "generation", model: m2, attempt: 1, purpose: .initial)))
    emit(.textDelta(.init(step: "generation", text: words(Int.random(in: 20...60, using: &rng)) + " ")))
    emit(.textDelta(.init(step: "generation", text: words(Int.random(in: 20...60, using: &rng)))))
    emit(.usage(.init(step: "generation", model: m2, usage: TokenUsage(inputTokens: 400, outputTokens: 300),
                      cost: Cost(money: Money(nanodollars: Int64.random(in: 10_000...2_000_000, using: &rng))))))
    if roll < 2 {
        // Cut off: no terminal event.
        emit(.textDelta(.init(step: "generation", text: " " + words(10))))
        emit(.textDelta(.init(step: "generation", text: " " + words(10))))
    } else {
        emit(.stepDone(.init(step: "generation", model: m2, outputChars: 600)))
        emit(roll < 7 ? .runFailed(.init(reason: "validation failed")) : .runFinished(.init()))
    }
    precondition(out.count == eventsPerRun)
    return out
}

func time<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = ContinuousClock.now
    let v = try body()
    let d = ContinuousClock.now - start
    return (v, Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
}

func stats(_ label: String, repeats: Int = 7, _ body: () throws -> Int) rethrows {
    var times: [Double] = []
    var rows = 0
    for _ in 0..<repeats {
        let (n, ms) = try time(body)
        rows = n
        times.append(ms)
    }
    let first = times[0]
    times.sort()
    print(String(format: "%@ %8.2f ms first, %8.2f ms median, %8.2f ms min  (%d rows)",
                 label.padding(toLength: 44, withPad: " ", startingAt: 0), first, times[times.count / 2], times[0], rows))
}

print("JournalBench: \(runCount) runs × \(eventsPerRun) events = \(runCount * eventsPerRun) events → \(dir.path)")
if cached {
    print("fill: skipped, the database in \(dir.path) is complete (delete the folder to fill it again)")
} else {
    let journal = try Journal.open(directory: dir)
    let batchRuns = 100
    let (_, fillMs) = try time {
        var batch: [RunEvent] = []
        batch.reserveCapacity(batchRuns * eventsPerRun)
        for i in 0..<runCount {
            batch += run(i)
            if batch.count >= batchRuns * eventsPerRun {
                try journal.append(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        try journal.append(batch)
        try journal.sync()
    }
    print(String(format: "fill: %.1f s, %.0f events/s (one transaction per %d runs)", fillMs / 1000,
                 Double(runCount * eventsPerRun) / (fillMs / 1000), batchRuns))
    try journal.close()
    if CommandLine.arguments.count > 1 { _ = FileManager.default.createFile(atPath: filledMarker.path, contents: nil) }
}

// A fresh process view: open the journal again (migrations checked, interrupted runs swept).
let (journal, openMs) = try time { try Journal.open(directory: dir, owner: ProcessIdentity(pid: 0, startTicks: 0)) }
print(String(format: "open journal (migrate check + interrupted sweep): %.2f ms", openMs))
let (firstPage, firstMs) = try time { try journal.runs(RunFilter(limit: 50)) }
print(String(format: "history list, first open (50 newest): %.2f ms (%d rows)", firstMs, firstPage.count))
try stats("history list (50 newest)") { try journal.runs(RunFilter(limit: 50)).count }
let monthAgo = Date().addingTimeInterval(-30 * 86_400)
try stats("filtered: status=failed type=code since 30d") {
    try journal.runs(RunFilter(status: .failed, taskType: .code, since: monthAgo, limit: 50)).count
}
try stats("filtered: model=groq/llama-3.3-70b type=text") {
    try journal.runs(RunFilter(taskType: .text, model: "groq/llama-3.3-70b", limit: 50)).count
}
try stats("filtered: provider=anthropic, by cost") {
    try journal.runs(RunFilter(model: "anthropic", limit: 50, sort: .cost)).count
}
try stats("filtered: status=interrupted") { try journal.runs(RunFilter(status: .interrupted, limit: 50)).count }
try stats("full-text: rare word (\(vocabulary[900]))") { try journal.runs(RunFilter(search: vocabulary[900], limit: 50)).count }
try stats("full-text: two words (\(vocabulary[40]) \(vocabulary[300]))") {
    try journal.runs(RunFilter(search: "\(vocabulary[40]) \(vocabulary[300])", limit: 50)).count
}
try stats("full-text: common word (\(vocabulary[0]))", repeats: 3) { try journal.runs(RunFilter(search: vocabulary[0], limit: 50)).count }
try stats("full-text + filter: cache type=code", repeats: 3) { try journal.runs(RunFilter(taskType: .code, search: "cache", limit: 50)).count }
let someID = firstPage[firstPage.count / 2].id
try stats("show one run (rebuild state from journal)") { try journal.state(someID)?.steps.count ?? 0 }

try journal.close()
var bytes: Int64 = 0
for suffix in ["", "-wal", "-shm"] {
    let a = try? FileManager.default.attributesOfItem(atPath: journal.databaseURL.path + suffix)
    bytes += (a?[.size] as? NSNumber)?.int64Value ?? 0
}
print(String(format: "database size: %.1f MB (%.0f bytes per event)", Double(bytes) / 1_048_576, Double(bytes) / Double(runCount * eventsPerRun)))
if CommandLine.arguments.count <= 1 { try? FileManager.default.removeItem(at: dir) }
