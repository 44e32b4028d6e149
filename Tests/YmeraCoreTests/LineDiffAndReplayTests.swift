import Foundation
import Testing
@testable import YmeraCore

@Suite("Line diff (Myers) and its unified form")
struct LineDiffTests {
    /// Edits of a script: removed + added lines.
    static func edits(_ s: [LineDiff.Line]) -> Int { s.filter { if case .same = $0 { false } else { true } }.count }

    /// The length of a longest common subsequence, by dynamic programming (the reference).
    static func lcs(_ a: [String], _ b: [String]) -> Int {
        var row = [Int](repeating: 0, count: b.count + 1)
        for x in a {
            var prev = 0
            for j in 1...max(1, b.count) where j <= b.count {
                let tmp = row[j]
                row[j] = x == b[j - 1] ? prev + 1 : max(row[j], row[j - 1])
                prev = tmp
            }
        }
        return row[b.count]
    }

    @Test func unifiedFormMatchesDiffU() {
        let u = LineDiff.unified("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n", labelA: "x", labelB: "y")
        #expect(u == "--- x\n+++ y\n@@ -1,4 +1,5 @@\n a\n-b\n+B\n c\n d\n+e\n")
        #expect(LineDiff.unified("same\n", "same\n", labelA: "x", labelB: "y") == "")
        #expect(LineDiff.unified("", "new\n", labelA: "x", labelB: "y") == "--- x\n+++ y\n@@ -0,0 +1 @@\n+new\n")
    }

    @Test func farApartChangesMakeTwoHunks() {
        let a = (1...30).map { "line \($0)" }
        var b = a
        b[1] = "changed 2"
        b[25] = "changed 26"
        let u = LineDiff.unified(a.joined(separator: "\n") + "\n", b.joined(separator: "\n") + "\n", labelA: "a", labelB: "b")
        #expect(u.split(separator: "\n").filter { $0.hasPrefix("@@") }.count == 2)
        #expect(u.contains("@@ -1,5 +1,5 @@"))
        #expect(u.contains("@@ -23,7 +23,7 @@"))
    }

    @Test func theScriptIsShortestAndRebuildsBothSides() {
        // Myers' own example: D = 5.
        let a = "ABCABBA".map(String.init), b = "CBABAC".map(String.init)
        #expect(Self.edits(LineDiff.diff(a, b)) == 5)
        var rng = SplitMix64(seed: 42)
        for _ in 0..<300 {
            let n = Int(rng.next() % 12), m = Int(rng.next() % 12)
            let x = (0..<n).map { _ in ["a", "b", "c"][Int(rng.next() % 3)] }
            let y = (0..<m).map { _ in ["a", "b", "c"][Int(rng.next() % 3)] }
            let s = LineDiff.diff(x, y)
            let left = s.compactMap { l -> String? in if case .added = l { nil } else if case .same(let t) = l { t } else if case .removed(let t) = l { t } else { nil } }
            let right = s.compactMap { l -> String? in if case .removed = l { nil } else if case .same(let t) = l { t } else if case .added(let t) = l { t } else { nil } }
            #expect(left == x && right == y)
            #expect(Self.edits(s) == n + m - 2 * Self.lcs(x, y), "\(x) → \(y)")
        }
    }

    @Test func boundedEditsStillGiveACorrectDiff() {
        let a = (0..<200).map { "a\($0)" }, b = (0..<200).map { "b\($0)" }
        let s = LineDiff.diff(a, b, maxEdits: 10)
        #expect(Self.edits(s) == 400)
    }
}

@Suite("Offline replay: a client that answers from the journal")
struct JournalClientTests {
    static func ev(_ seq: Int, _ kind: RunEvent.Kind) -> RunEvent { RunEvent(runID: "r", seq: seq, elapsedMs: seq, kind: kind) }

    static func collect(_ client: JournalClient, step: String, model: ModelID) async -> (String, FinishReason?, ModelFailure?) {
        let m = ModelInfo(id: model, provider: "sim", apiName: model.name, displayName: model.name, contextWindow: 8000, pricing: nil, speedTier: 3, qualityTier: 3, capabilities: [])
        let req = ModelRequest(
            model: m, provider: ProviderConfig(id: "sim", kind: .simulated, baseURL: "sim://"), messages: [], maxTokens: 100,
            context: RequestContext(runID: "r", stepID: step, phase: .generation, attempt: 1, taskType: .code, seed: 1))
        var text = "", finish: FinishReason?
        do {
            for try await e in client.stream(req) {
                if case .delta(let d) = e { text += d }
                if case .finished(let f) = e { finish = f }
            }
        } catch let f as ModelFailure {
            return (text, finish, f)
        } catch {
            return (text, finish, nil)
        }
        return (text, finish, nil)
    }

    @Test func answersEachRequestWithTheNextRecordedAttempt() async throws {
        let m: ModelID = "sim/coder"
        let events: [RunEvent] = [
            Self.ev(1, .stepStarted(.init(step: "g", model: m, attempt: 1, purpose: .initial))),
            Self.ev(2, .textDelta(.init(step: "g", text: "par"))),
            Self.ev(3, .attemptFailed(.init(step: "g", model: m, attempt: 1, errorClass: .serverError, message: "boom", httpStatus: 500))),
            Self.ev(4, .stepStarted(.init(step: "g", model: m, attempt: 2, purpose: .retry))),
            Self.ev(5, .textDelta(.init(step: "g", text: "hello "))),
            Self.ev(6, .textDelta(.init(step: "g", text: "world"))),
            Self.ev(7, .stepStarted(.init(step: "g", model: m, attempt: 3, purpose: .continuation, continuesFrom: 11))),
            Self.ev(8, .textDelta(.init(step: "g", text: "!"))),
            Self.ev(9, .stepDone(.init(step: "g", model: m, outputChars: 12))),
        ]
        let client = JournalClient(events: events, clock: VirtualClock())
        let first = await Self.collect(client, step: "g", model: m)
        #expect(first.0 == "par" && first.2?.errorClass == .serverError && first.2?.httpStatus == 500)
        let second = await Self.collect(client, step: "g", model: m)
        #expect(second.0 == "hello world" && second.1 == .length, "an answer the run continued ended at the output limit")
        let third = await Self.collect(client, step: "g", model: m)
        #expect(third.0 == "!" && third.1 == .stop)
        let fourth = await Self.collect(client, step: "g", model: m)
        #expect(fourth.2?.errorClass == .badRequest)
        #expect(fourth.2?.message.contains("no recorded answer for g on sim/coder") == true)
        let other = await Self.collect(client, step: "g", model: "sim/smart")
        #expect(other.2 != nil)
        #expect(client.unanswered.map(\.step) == ["g", "g"])
        #expect(client.answeredCount == 3)
    }

    @Test func aReplayOfARecordedRunIsTheSameAndAChangedThresholdIsNot() async throws {
        let clock = VirtualClock()
        let e = try engine(SimulatedProvider(clock: clock), clock: clock, validator: HeuristicValidator())
        let p = try plan()
        let (recorded, final) = await e.collect(p)
        #expect(final.status == .succeeded || final.status == .completedBelowThreshold)

        func replay(_ plan: RunPlan) async throws -> (ReplayCheck, JournalClient) {
            let c = VirtualClock()
            let client = JournalClient(events: recorded, clock: c)
            let e2 = try engine(client, clock: c, validator: HeuristicValidator())
            let (events, _) = await e2.collect(plan)
            return (ReplayCheck(recorded: recorded, replayed: events, recordedFiles: [:], replayedFiles: [:], unanswered: client.unanswered, answered: client.answeredCount), client)
        }
        let (same, client) = try await replay(p)
        #expect(same.same, "\(same.differences)")
        #expect(client.unanswered.isEmpty)
        #expect(client.answeredCount == recorded.filter { $0.typeName == "step_started" }.count)

        var stricter = p
        stricter.qualityThreshold = 0.99
        let (changed, _) = try await replay(stricter)
        #expect(!changed.same)
        #expect(changed.differences.contains { $0.what == "events" || $0.what == "request" || $0.what == "status" }, "\(changed.differences)")
    }
}
