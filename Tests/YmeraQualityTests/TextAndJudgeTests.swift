import Foundation
import Testing
import YmeraCore

@testable import YmeraQuality

@Suite struct TextScoreTests {
    let task = "Explain how PostgreSQL connection pooling with PgBouncer reduces latency"

    @Test func onTopicAnswerIsMoreRelevantThanOffTopic() {
        let on = """
            PgBouncer keeps a pool of open PostgreSQL connections. Because a client reuses a pooled connection \
            instead of opening a new one, the TCP and authentication handshake is skipped, which reduces latency.
            """
        let off = "Bananas are rich in potassium and grow in tropical climates; they are picked green and ripen later."
        let a = TextScores.relevance(task: task, output: on)
        let b = TextScores.relevance(task: task, output: off)
        #expect((a.score ?? 0) > 0.8)
        #expect((b.score ?? 1) < 0.2)
        #expect(b.detail.contains("missing"))
    }

    @Test func requirementsAreCheckedOneByOneWithEvidence() {
        let out = "# API\n\nThe API uses JWT authentication for every route.\nRate limiting is applied per user.\n"
        let checks = TextScores.checkRequirements(["JWT authentication", "rate limiting", "Docker deployment"], output: out)
        #expect(checks.map(\.passed) == [true, true, false])
        #expect(checks[0].evidence.hasPrefix("line 3 (text):"))
        #expect(checks[2].evidence.contains("missing terms"))
        let c = TextScores.completeness(checks)
        #expect(abs((c.score ?? 0) - 2.0 / 3.0) < 1e-9)
        #expect(TextScores.completeness([]).score == nil)
    }

    @Test func truncationAndRepetitionLowerCoherence() {
        let good = "Pooling reuses connections.\n\nIt avoids handshakes, so requests start faster."
        let cut = "Pooling reuses connections and it avoids the handshakes which makes every request start faster because the"
        let fence = "Here is code:\n\n```python\ndef f():\n    return 1\n"
        let loop = String(repeating: "The pool reuses connections to cut latency for every request. ", count: 12)
        #expect(TextScores.coherence(good).score == 1)
        #expect((TextScores.coherence(cut).score ?? 1) <= 0.6)
        #expect(TextScores.coherence(fence).detail.contains("never closed"))
        #expect((TextScores.coherence(loop).score ?? 1) < 0.6)
    }

    @Test func textAnswerGetsTextDimensionsWithStatedWeights() async {
        let v = RealValidator()
        let r = await v.analyze(
            Fixture.input("PgBouncer pools PostgreSQL connections: clients reuse open server connections, so the TCP handshake and authentication are skipped, which reduces connection latency.", task: task,
                          phase: .research, type: .research, requirements: ["PgBouncer"]))
        #expect(r.kind == .text)
        let weighted = r.report.dimensions.filter { $0.weight > 0 }
        #expect(weighted.map(\.name) == ["relevance", "completeness", "coherence"])
        #expect(r.report.dimensions.allSatisfy { !$0.detail.isEmpty })
        // Said, not hidden: no judge, and how much of the weight rests on checks that ran.
        #expect(r.report.dimensions.contains { $0.name == "judge" && $0.weight == 0 && $0.detail.contains("heuristics only") })
        #expect(r.report.dimensions.contains { $0.name == "evidence" && $0.detail.hasPrefix("100% of the weight") })
        #expect(r.report.findings.contains { $0.rule == "requirement-met" })
        #expect(r.report.passed)
    }

    @Test func reviewsAreScoredAsReviewsNotAgainstRequirements() async {
        let review = "## Review\n\n1. Input validation is missing on one entry point\n2. No test covers the failure path\n\nOverall: sound structure; fix the issues above.\n"
        let v = RealValidator()
        let r = await v.analyze(Fixture.input(review, task: "Create a REST API with authentication", phase: .review, type: .code,
                                              requirements: ["JWT authentication", "Docker deployment"]))
        let names = r.report.dimensions.map(\.name)
        #expect(names.contains("review structure"))
        #expect(!names.contains("completeness"))
        #expect(r.report.dimensions.first { $0.name == "review structure" }?.score == 1)
        #expect(!r.report.findings.contains { $0.rule == "requirement-unmet" })
        #expect(TextScores.reviewStructure("Looks fine.").score == 0)
    }
}

@Suite struct JudgeTests {
    static let good = #"{"relevance": 0.9, "completeness": 0.8, "correctness": 0.9, "clarity": 0.8, "rationale": "solid"}"#
    let input = Fixture.input("PgBouncer pools connections.", task: "Explain PgBouncer", phase: .review, type: .text)

    @Test func strictParsing() throws {
        #expect(abs(try ModelJudge.parse("Sure!\n```json\n\(Self.good)\n```").overall - 0.85) < 1e-9)
        #expect(throws: JudgeError.self) { try ModelJudge.parse("I think it is good, 8/10") }
        #expect(throws: JudgeError.self) {
            try ModelJudge.parse(#"{"relevance": 8, "completeness": 0.8, "correctness": 0.9, "clarity": 0.8, "rationale": "x"}"#)
        }
        #expect(throws: JudgeError.self) {
            try ModelJudge.parse(#"{"relevance": "high", "completeness": 0.8, "correctness": 0.9, "clarity": 0.8, "rationale": "x"}"#)
        }
        #expect(throws: JudgeError.self) { try ModelJudge.parse(#"{"relevance": 0.9, "rationale": "x"}"#) }
        #expect(throws: JudgeError.self) {
            try ModelJudge.parse(#"{"relevance": true, "completeness": 0.8, "correctness": 0.9, "clarity": 0.8, "rationale": "x"}"#)
        }
    }

    @Test func steadyJudgeIsCalibratedWithNoExtraBand() async {
        let v = RealValidator(judge: ScriptedClient.judge([Self.good, Self.good]))
        let r = await v.analyze(input)
        #expect(r.judge?.agreement == 1)
        #expect(r.report.tolerance == 0)
        let d = r.report.dimensions.first { $0.name == "judge" }
        #expect(abs((d?.score ?? 0) - 0.85) < 1e-9)
        #expect(d?.detail.contains("agreement 1.00") == true)
    }

    @Test func judgeTokensAreReportedForBilling() async {
        // The scripted client reports no usage: both scorings are estimated from prompt and answer, and marked so.
        let v = RealValidator(judge: ScriptedClient.judge([Self.good, Self.good]))
        let r = await v.analyze(input)
        let spend = r.report.spend ?? []
        #expect(spend.count == 1)
        #expect(spend.first?.model == "sim/judge")
        #expect((spend.first?.usage.inputTokens ?? 0) > 0 && (spend.first?.usage.outputTokens ?? 0) > 0)
        #expect(spend.first?.usage.estimated == true)
        // Without a judge, scoring costs nothing.
        #expect(await RealValidator().analyze(input).report.spend == nil)
    }

    @Test func noisyJudgeWidensThePassBand() async {
        let low = #"{"relevance": 0.4, "completeness": 0.3, "correctness": 0.5, "clarity": 0.4, "rationale": "meh"}"#
        let v = RealValidator(judge: ScriptedClient.judge([Self.good, low]))
        let r = await v.analyze(input)
        let agreement = r.judge?.agreement ?? 1
        #expect(abs(agreement - 0.55) < 1e-9)
        #expect(r.report.tolerance == 0.15)  // half of 0.45 disagreement, capped at 0.15
        #expect(r.report.dimensions.first { $0.name == "judge" }?.detail.contains("noisy") == true)
    }

    @Test func calibrationIsSampledAndItsBandCarriesOver() async {
        let low = #"{"relevance": 0.4, "completeness": 0.3, "correctness": 0.5, "clarity": 0.4, "rationale": "meh"}"#
        let judge = ScriptedClient.judge([Self.good, low])  // calibrates the 1st, 5th, 9th … output
        let v = RealValidator(judge: judge)
        let first = await v.analyze(input)
        let second = await v.analyze(input)
        #expect(first.judge?.scores.count == 2)
        #expect(second.judge?.scores.count == 1, "between calibrations the judge scores once")
        #expect(second.report.tolerance == first.report.tolerance)
        #expect(second.report.dimensions.first { $0.name == "judge" }?.detail.contains("last calibration") == true)
        _ = await v.analyze(input)
        _ = await v.analyze(input)
        let fifth = await v.analyze(input)
        #expect(fifth.judge?.scores.count == 2)
    }

    @Test func garbageJudgeFallsBackToHeuristics() async {
        let v = RealValidator(judge: ScriptedClient.judge(["great answer!!", "10/10"]))
        let r = await v.analyze(input)
        let d = r.report.dimensions.first { $0.name == "judge" }
        #expect(d?.score == nil)
        #expect(d?.detail.contains("heuristic") == true)
        #expect(r.report.tolerance == 0)
        #expect(r.report.score > 0)  // from relevance and coherence
    }

    @Test func failingClientFallsBackToo() async {
        let v = RealValidator(judge: ScriptedClient.judge([Self.good], fail: true))
        let r = await v.analyze(input)
        #expect(r.judge?.failures.count == 2)
        #expect(r.report.dimensions.first { $0.name == "judge" }?.score == nil)
    }

    @Test func judgeScoresTextInEveryPhaseButNeverItsOwnModel() async {
        let v = RealValidator(judge: ScriptedClient.judge([Self.good]))
        var i = input
        i.phase = .research
        let r = await v.analyze(i, kind: .text)
        #expect(r.judge != nil)
        #expect(r.report.dimensions.contains { $0.name == "judge" && $0.score != nil })
        // The judge's own output: no judge at all, and the report says so.
        i.judgedModel = ScriptedClient.model.id
        let own = await v.analyze(i, kind: .text)
        #expect(own.judge == nil)
        #expect(own.report.dimensions.contains { $0.name == "judge" && $0.weight == 0 && $0.detail.contains("the only judge model is the one being judged") })
    }

    @Test func codeInGenerationIsJudgedByRunningItNotByAJudge() async {
        let v = RealValidator(options: .init(runTests: false), judge: ScriptedClient.judge([Self.good]))
        var i = input
        i.phase = .generation
        let r = await v.analyze(i, kind: .code)
        #expect(r.judge == nil)
        #expect(r.report.dimensions.contains { $0.name == "judge" && $0.weight == 0 })
    }
}
