import Foundation
import Testing
import YmeraCore
@testable import YmeraLocal

@Suite("Process inspection, metrics, catalog entries, subprocesses")
struct InspectionTests {
    @Test func processStateIsReadAfterTheLastParenthesis() {
        #expect(ProcessInspector.processState(fromStat: "1234 (python3) S 1 1234 1234 0 -1") == "S")
        #expect(ProcessInspector.processState(fromStat: "99 (a) b) (c) Z 1 2 3") == "Z")
        #expect(ProcessInspector.processState(fromStat: "garbage") == nil)
    }

    @Test func residentMemoryComesFromVmRSS() {
        let status = "Name:\tpython\nVmPeak:\t  500000 kB\nVmRSS:\t  198692 kB\nThreads:\t11\n"
        #expect(ProcessInspector.residentBytes(fromStatus: status) == 198_692 * 1024)
        #expect(ProcessInspector.residentBytes(fromStatus: "Name:\tx\n") == nil)
    }

    @Test func ourOwnProcessIsAliveButNotTheLauncher() throws {
        guard case .reused(let cmd) = ProcessInspector.liveness(pid: getpid(), marker: "ymera_llama_server.py") else {
            Issue.record("expected .reused")
            return
        }
        #expect(!cmd.isEmpty)
        #expect(ProcessInspector.liveness(pid: try exitedPid(), marker: "x") == .gone)
        #expect((ProcessInspector.residentBytes(pid: getpid()) ?? 0) > 1_000_000)
    }

    @Test func serverMetricsGiveTokensPerSecond() throws {
        let text = """
            # HELP llamacpp:tokens_predicted_total Number of generation tokens processed.
            llamacpp:prompt_tokens_total 34
            llamacpp:tokens_predicted_total 140
            llamacpp:tokens_predicted_seconds_total 2
            llamacpp:predicted_tokens_seconds 40.3431
            """
        let m = try #require(LocalRuntime.ServerMetrics.parse(text))
        #expect(m.tokensPredicted == 140)
        #expect(m.promptTokens == 34)
        #expect(m.tokensPerSecond == 70)
        #expect(LocalRuntime.ServerMetrics.parse("# nothing\n") == nil)
    }

    @Test func aRunsSpeedIsTheDifferenceOfTheServerCounters() throws {
        typealias M = LocalRuntime.ServerMetrics
        let before = M(tokensPredicted: 100, generationSeconds: 2, promptTokens: 50)
        let after = M(tokensPredicted: 450, generationSeconds: 7, promptTokens: 900)
        let stats = try #require(LocalRunStats.between(before, after, model: "local/m", runID: "r9", at: Date()))
        #expect(stats.outputTokens == 350)
        #expect(stats.tokensPerSecond == 70)
        #expect(stats.runID == "r9")
        #expect(stats.source == "run")
        // Nothing generated: nothing to record.
        #expect(LocalRunStats.between(after, after, model: "local/m", runID: nil, at: Date()) == nil)
        // The server restarted in between (counters went down): count from zero.
        let restarted = try #require(LocalRunStats.between(after, before, model: "local/m", runID: nil, at: Date()))
        #expect(restarted.outputTokens == 100)
    }

    @Test func catalogEntriesDescribeAFreeLocalOpenAICompatibleServer() throws {
        let (provider, model) = LocalRuntime.catalogEntries(for: sampleState(pid: 1, port: 40111))
        #expect(provider.id == "local")
        #expect(provider.kind == .openAICompatible)
        #expect(provider.isLocal)
        #expect(provider.servingKind == .local)
        #expect(provider.maxConcurrent == 1)
        #expect(provider.apiKeyEnv == nil)
        #expect(provider.baseURL == "http://127.0.0.1:40111/v1")
        #expect(model.id == "local/smollm2-135m-instruct")
        #expect(model.provider == "local")
        #expect(model.apiName == "smollm2-135m-instruct")
        #expect(model.contextWindow == 2048)
        #expect(model.maxOutputTokens < model.contextWindow)
        #expect(!model.has(.code) && !model.has(.reasoning) && !model.has(.review))
        // Priced at zero, so its cost is $0 and complete — not "unpriced".
        let cost = model.cost(of: TokenUsage(inputTokens: 1200, outputTokens: 800))
        #expect(cost.money == .zero)
        #expect(cost.isFullyPriced)
        let catalog = try Catalog(providers: [provider], models: [model])
        #expect(try catalog.model("smollm2-135m-instruct").id == model.id)
        #expect(catalog.models(servedBy: .local).count == 1)
    }

    @Test func subprocessStreamsLinesAndReportsExitCode() async throws {
        let lines = LineBox()
        let r = try await Subprocess.run(
            "/bin/sh", ["-c", "echo one; echo two 1>&2; printf 'three'; exit 7"], timeout: .seconds(20),
            onLine: { lines.append($0) })
        #expect(r.exitCode == 7)
        #expect(!r.timedOut)
        #expect(Set(lines.all) == ["one", "two", "three"])
        #expect(r.tail.last == "three")
    }

    @Test func subprocessIsStoppedAtItsTimeout() async throws {
        let r = try await Subprocess.run("/bin/sleep", ["30"], timeout: .milliseconds(50))
        #expect(r.timedOut)
        #expect(r.exitCode != 0)
    }

    @Test func untrustedTextLosesEscapeSequencesAndControls() {
        #expect(TerminalText.sanitize("ok\u{1B}[31mred\u{1B}[0m\u{07}\u{1B}]0;title\u{07}!\tx\n") == "okred!\tx\n")
        // 8-bit CSI (U+009B) starts a sequence like ESC [: "2J" is its body, not text; a lone CR is a newline.
        #expect(TerminalText.sanitize("a\u{0}b\u{9B}2Jc\r") == "abc\n")
    }
}

final class LineBox: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
