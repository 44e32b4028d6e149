import ArgumentParser
import Foundation
import YmeraCore
import YmeraStore

/// `ymera replay RUN [--speed X] [--json]`: re-emits a recorded run. No provider is called.
/// `ymera replay RUN --offline`: runs the engine again against the recorded answers and reports
/// whether the events, scores and files are the same (a regression test for CI).
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a recorded run's events with their original timing, or re-run it offline against its recorded answers (no provider calls, no cost).",
        discussion: """
            --offline runs the engine again, today's planner, prompts and validator included, with a model
            client that answers each request from the journal's recorded attempts (no network). It then
            compares the events (kinds, steps, models, statuses), the scores and the workspace files with the
            recording and lists the differences. A request the journal cannot answer is a difference.
            --threshold and --validator change what the replay runs with, so a changed gate shows up.
            Exit status with --offline: 0 when the replay is the same as the recording, 1 when it differs,
            2 for bad input (unknown run, a run that has not ended).
            """)

    @OptionGroup var common: CommonOptions

    @Flag(help: "Re-run the engine against the recorded answers and compare (exit 0 same, 1 different).")
    var offline = false

    @Option(help: ArgumentHelp("With --offline: the quality threshold to replay with (default: the recorded run's).", valueName: "X"))
    var threshold: Double?

    @Option(help: ArgumentHelp("With --offline: real or heuristic (default: the one that scored the recording).", valueName: "KIND"))
    var validator: String?

    @Argument(help: "Run id or a unique prefix of it.")
    var run: String

    @Option(help: "Speed factor: 2 plays twice as fast; inf plays at once.")
    var speed: Double = 1

    @Option(name: .customLong("max-gap"), help: ArgumentHelp("Wait at most SECONDS between two events.", valueName: "SECONDS"))
    var maxGap: Double?

    @Flag(help: "Print each event as one JSON line (the same form as `ymera run --json`).")
    var json = false

    func validate() throws {
        if !(speed > 0) { throw ValidationError("--speed must be above 0") }
        if let maxGap, !(maxGap >= 0) { throw ValidationError("--max-gap must be 0 or more") }
        if let threshold, !(0...1).contains(threshold) { throw ValidationError("--threshold must be between 0 and 1 (got \(threshold))") }
        if !offline && (threshold != nil || validator != nil) { throw ValidationError("--threshold and --validator go with --offline") }
    }

    func run() async throws {
        if offline {
            try await withCLIErrors { try await OfflineReplay.check(run, common: common, threshold: threshold, validator: validator, json: json) }
            return
        }
        let journal = try Journal.open(explicitDirectory: common.dataDir)
        let id = try JournalCLI.resolve(journal, run)
        let replay = try journal.replay(id, speed: speed, maxGap: maxGap.map { .milliseconds(Int64($0 * 1000)) })
        let encoder = JournalCLI.jsonEncoder(pretty: false)
        var state = RunState(runID: id)
        var streamingStep: String?
        var atLineStart = true
        func line(_ s: String) {
            if !atLineStart { print("") }
            print(s)
            atLineStart = true
            streamingStep = nil
        }
        for try await event in replay {
            if json {
                FileHandle.standardOutput.write(try encoder.encode(event) + Data("\n".utf8))
                continue
            }
            let logBefore = state.log.count
            state.apply(event)
            let stamp = String(format: "[%7.2fs]", Double(event.elapsedMs) / 1000)
            switch event.kind {
            case .textDelta(let p):
                if streamingStep != p.step {
                    line("\(stamp) ── \(TerminalSanitizer.cell(p.step, limit: 40)) ──")
                    streamingStep = p.step
                }
                let text = TerminalSanitizer.sanitize(p.text)
                print(text, terminator: "")
                if !text.isEmpty { atLineStart = text.hasSuffix("\n") }
                fflush(nil)
                continue
            case .runPlanned(let plan):
                line("\(stamp) task: \(TerminalSanitizer.cell(plan.task, limit: 200))")
            case .stepStarted(let p):
                line("\(stamp) \(TerminalSanitizer.cell(p.step, limit: 40)): attempt \(p.attempt) on \(TerminalSanitizer.cell(p.model.rawValue, limit: 60)) (\(p.purpose.rawValue))")
            case .stepDone(let p):
                let s = state.steps[p.step]
                line("\(stamp) \(TerminalSanitizer.cell(p.step, limit: 40)): done on \(TerminalSanitizer.cell(p.model.rawValue, limit: 60)) · \(s?.usage.totalTokens ?? 0) tokens · \(s?.cost.display ?? "$0")")
            default:
                break
            }
            for entry in state.log.dropFirst(logBefore) {
                line("\(stamp) \(entry.level == .info ? "" : entry.level.rawValue.uppercased() + " ")\(TerminalSanitizer.sanitize(entry.text, keepNewlines: false))")
            }
        }
        if !json {
            let s = state.summary
            line("replayed \(id): \(s.status.rawValue) · score \(JournalCLI.score(s.score)) · \(s.tokens) tokens · \(s.cost) (recorded; nothing was billed now)")
        }
    }
}
