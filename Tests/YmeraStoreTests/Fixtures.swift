import Foundation
import Synchronization
import YmeraCore

@testable import YmeraStore

/// A temporary data directory, removed when the test ends.
final class TempDir: Sendable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("ymera-store-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    var path: String { url.path }
}

/// A deterministic random source (SplitMix64).
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A clock a test moves by hand.
final class ManualClock: Sendable {
    private let value: Mutex<Date>
    init(_ start: Date) { value = Mutex(start) }
    var now: Date { value.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { value.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var function: @Sendable () -> Date { { [self] in self.now } }
}

/// Builds the event stream of a run the way the engine emits it.
struct RunScript {
    let runID: String
    var seq = 0
    var t = 0
    var events: [RunEvent] = []
    var rng: SeededRNG

    init(runID: String, seed: UInt64 = 1) {
        self.runID = runID
        self.rng = SeededRNG(seed: seed)
    }

    mutating func emit(_ kind: RunEvent.Kind, after dt: Int = 7) {
        seq += 1
        t += dt
        events.append(RunEvent(runID: runID, seq: seq, elapsedMs: t, kind: kind))
    }

    static func plan(
        runID: String, task: String, type: TaskType = .code, complexity: Double = 0.6,
        strategy: Strategy = .multiModel, createdAt: Date = Date(timeIntervalSince1970: 1_790_000_000),
        models: [Phase: ModelID] = [:], candidates: [ModelID] = []
    ) -> RunPlan {
        let phases: [Phase] = [.planning, .generation, .review, .validation]
        var steps: [PlanStep] = []
        var previous: String?
        for phase in phases {
            let model = models[phase] ?? ModelID("sim/\(phase.rawValue)-model")
            steps.append(
                PlanStep(
                    id: phase.rawValue, phase: phase, title: phase.rawValue.capitalized, model: model,
                    fallbacks: ["sim/fallback"], dependsOn: previous.map { [$0] } ?? [],
                    candidates: phase == .review ? candidates : []))
            previous = phase.rawValue
        }
        return RunPlan(
            runID: runID, task: task,
            intent: Intent(taskType: type, complexity: complexity, urgency: 0.2, creativity: 0.3, capabilities: [.code]),
            strategy: strategy, steps: steps, budget: .unlimited, seed: 42, serving: .simulated,
            createdAt: createdAt)
    }

    /// Streams `text` for `step` in random pieces, often cutting words in two.
    mutating func stream(_ step: String, _ text: String, maxPiece: Int = 7) {
        var rest = Substring(text)
        while !rest.isEmpty {
            let n = Int.random(in: 1...maxPiece, using: &rng)
            let piece = rest.prefix(n)
            rest = rest.dropFirst(piece.count)
            emit(.textDelta(.init(step: step, text: String(piece))), after: Int.random(in: 0...12, using: &rng))
        }
    }

    static func report(_ score: Double) -> QualityReport {
        QualityReport(
            score: score, threshold: 0.7,
            dimensions: [QualityDimension(name: "relevance", score: score, weight: 1, detail: "terms covered")],
            validator: "text")
    }

    /// One step run from start to done on `model`.
    mutating func phase(
        _ step: String, model: ModelID, text: String, score: Double? = 0.8, tokens: Int = 120,
        nanos: Int64 = 50_000
    ) {
        emit(.stepStarted(.init(step: step, model: model, attempt: 1, purpose: .initial)))
        stream(step, text)
        emit(.usage(.init(step: step, model: model, usage: TokenUsage(inputTokens: tokens / 2, outputTokens: tokens - tokens / 2),
                          cost: Cost(money: Money(nanodollars: nanos)))))
        if let score { emit(.qualityScored(.init(step: step, model: model, report: Self.report(score)))) }
        emit(.stepDone(.init(step: step, model: model, outputChars: text.count)))
    }

    /// A complete run with a failure and a continuing fallback, two parallel candidates and all phases.
    static func rich(runID: String, task: String = "Write a Swift function that parses ISO dates",
                     createdAt: Date = Date(timeIntervalSince1970: 1_790_000_000), seed: UInt64 = 7,
                     finish: Bool = true) -> RunScript {
        var s = RunScript(runID: runID, seed: seed)
        let plan = Self.plan(
            runID: runID, task: task, createdAt: createdAt,
            models: [.generation: "groq/llama-3.1-8b-instant"], candidates: ["sim/alpha", "sim/beta"])
        s.emit(.runPlanned(plan), after: 0)
        s.phase("planning", model: "sim/planning-model", text: "1. Read the input\n2. Parse the date components\n3. Validate ranges\n")
        // Generation: the first model's stream is cut; the fallback continues from the kept text.
        s.emit(.stepStarted(.init(step: "generation", model: "groq/llama-3.1-8b-instant", attempt: 1, purpose: .initial)))
        s.stream("generation", "func parseISODate(_ text: String) -> Date? {\n    let parts = text.split")
        s.emit(.attemptFailed(.init(step: "generation", model: "groq/llama-3.1-8b-instant", attempt: 1,
                                    errorClass: .connectionReset, message: "connection reset by peer", partialChars: 40)))
        s.emit(.fallbackTaken(.init(step: "generation", from: "groq/llama-3.1-8b-instant", to: "sim/fallback",
                                    reason: .connectionReset, mode: .continue, spliceAt: 40)))
        s.emit(.stepStarted(.init(step: "generation", model: "sim/fallback", attempt: 2, purpose: .fallback, continuesFrom: 40)))
        s.stream("generation", "e? {\n    // zanzibar checksum\n    return nil\n}\n")
        s.emit(.usage(.init(step: "generation", model: "sim/fallback", usage: TokenUsage(inputTokens: 300, outputTokens: 80),
                            cost: Cost(money: Money(nanodollars: 120_000)))))
        s.emit(.qualityScored(.init(step: "generation", model: "sim/fallback", report: Self.report(0.74))))
        s.emit(.stepDone(.init(step: "generation", model: "sim/fallback", outputChars: 80)))
        // Review: two candidates stream at once (interleaved), the better one is kept.
        s.emit(.stepStarted(.init(step: "review#1", model: "sim/alpha", attempt: 1, purpose: .initial)))
        s.emit(.stepStarted(.init(step: "review#2", model: "sim/beta", attempt: 1, purpose: .initial)))
        let a = Array("The function ignores time zones entirely.")
        let b = Array("Looks fine; add tests for leap years please.")
        var i = 0
        while i < max(a.count, b.count) {
            if i < a.count { s.emit(.textDelta(.init(step: "review#1", text: String(a[i..<min(a.count, i + 3)]))), after: 2) }
            if i < b.count { s.emit(.textDelta(.init(step: "review#2", text: String(b[i..<min(b.count, i + 3)]))), after: 2) }
            i += 3
        }
        s.emit(.usage(.init(step: "review#1", model: "sim/alpha", usage: TokenUsage(inputTokens: 90, outputTokens: 12),
                            cost: Cost(money: Money(nanodollars: 9_000)))))
        s.emit(.usage(.init(step: "review#2", model: "sim/beta", usage: TokenUsage(inputTokens: 90, outputTokens: 14),
                            cost: Cost(unpricedTokens: 104))))
        s.emit(.qualityScored(.init(step: "review#1", model: "sim/alpha", report: Self.report(0.9))))
        s.emit(.qualityScored(.init(step: "review#2", model: "sim/beta", report: Self.report(0.6))))
        s.emit(.stepDone(.init(step: "review#1", model: "sim/alpha", outputChars: a.count)))
        s.emit(.stepDone(.init(step: "review#2", model: "sim/beta", outputChars: b.count)))
        s.emit(.candidateChosen(.init(step: "review", chosen: "review#1", scores: ["review#1": 0.9, "review#2": 0.6])))
        s.emit(.stepDone(.init(step: "review", model: "sim/alpha", outputChars: a.count)))
        guard finish else { return s }
        s.emit(.breakerChanged(.init(model: "groq/llama-3.1-8b-instant", from: .closed, to: .open, reason: "3 failures", cooldownMs: 30_000)))
        s.phase("validation", model: "sim/validation-model", text: "All requirements checked: parse, validate.", score: 0.85)
        s.emit(.runFinished(.init(reason: nil)))
        return s
    }
}

extension RunState {
    /// Everything a user sees of a run, comparable.
    var comparable: ComparableState {
        ComparableState(
            status: status, steps: Array(steps.values), summary: summary, log: log.map { "\($0.seq) \($0.text)" },
            finalOutput: finalOutput, plan: plan)
    }
}

struct ComparableState: Equatable {
    var status: RunStatus
    var steps: [StepState]
    var summary: RunSummary
    var log: [String]
    var finalOutput: String
    var plan: RunPlan?
}

/// Two journals of a run hold the same run: the same non-text events in order, and the same text per
/// step in order (text rows may be coalesced differently).
func sameRun(_ a: [RunEvent], _ b: [RunEvent]) -> Bool {
    func nonText(_ e: [RunEvent]) -> [RunEvent] { e.filter { if case .textDelta = $0.kind { false } else { true } } }
    func texts(_ e: [RunEvent]) -> [String: String] {
        var out: [String: String] = [:]
        for ev in e { if case .textDelta(let p) = ev.kind { out[p.step, default: ""] += p.text } }
        return out
    }
    return nonText(a) == nonText(b) && texts(a) == texts(b)
}
