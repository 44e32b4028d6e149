import ArgumentParser
import Foundation
import YmeraCore
import YmeraQuality
import YmeraStore

/// `ymera replay RUN --offline`: the engine runs the recorded plan again on a virtual clock, with a
/// `JournalClient` answering from the recorded attempts and a scratch workspace; the result is
/// compared with the recording (`ReplayCheck`). Nothing is journaled and no network is used.
enum OfflineReplay {
    struct Report: Encodable {
        var type = "replay_check"
        var check: ReplayCheck
    }

    static func check(_ run: String, common: CommonOptions, threshold: Double?, validator: String?, json: Bool) async throws {
        let context: AppContext
        do { context = try AppContext.make(common) } catch { throw CLIError.config("\(error)") }
        let journal: Journal
        do { journal = try Journal.open(directory: context.dataDirectory) } catch { throw CLIError.config("journal: \(error)") }
        let id = try JournalCLI.resolve(journal, run)
        let recorded = try journal.events(id)
        guard let state = try journal.state(id), var plan = state.plan else { throw CLIError.input("run \(id) has no plan in the journal; nothing to replay") }
        guard state.status.isTerminal else {
            throw CLIError.input("run \(id) has not ended (\(state.status.rawValue)); --offline compares a finished run with its replay")
        }
        var notes: [String] = []
        if let threshold, threshold != plan.qualityThreshold {
            notes.append("quality threshold \(plan.qualityThreshold) → \(threshold)")
            plan.qualityThreshold = threshold
        }
        let recordedValidator = state.steps.values.compactMap { $0.quality?.validator }.first
        let kindName = validator ?? (recordedValidator == "heuristic" ? "heuristic" : "real")
        guard let kind = ValidatorKind(rawValue: kindName) else { throw CLIError.input("unknown --validator '\(kindName)': use real or heuristic") }
        if kind == .real && state.steps.values.contains(where: { !($0.quality?.spend ?? []).isEmpty }) {
            notes.append("the recording was scored with a model judge; offline, no judge is called")
        }
        if recorded.contains(where: { if case .modelSwapped = $0.kind { true } else if case .stepReset = $0.kind { true } else { false } }) {
            notes.append("the recording has swaps or retries a person asked for; the replay does not repeat them")
        }
        var resume: ResumePoint?
        if let fork = plan.forkOf {
            guard let parent = try journal.state(fork.run) else { throw CLIError.input("run \(id) is a fork of \(fork.run), which is not in the journal") }
            resume = ResumePoint(prior: RunState(runID: plan.runID), fork: ForkSource(parent: parent, reused: fork.reused))
        }

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ymera-replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: scratch) }
        let clock = VirtualClock()
        let client = JournalClient(events: recorded, clock: clock)
        var config = context.loaded.engine
        if let c = context.loaded.defaults.subtaskConcurrency { config.subtaskConcurrency = c }
        let engine = Engine(
            catalog: context.catalog, client: client, validator: Wiring(context: context).validator(available: [], kind: kind), clock: clock,
            config: config, workspace: StoreRunWorkspace(dataDirectory: scratch))
        let handle = engine.start(plan, resume: resume)
        var replayed: [RunEvent] = []
        for await e in handle.events { replayed.append(e) }

        func files(_ dir: URL) throws -> [String: String] {
            let w = try Workspace.existing(dataDirectory: dir, runID: id)
            return Dictionary((w?.finalFiles ?? []).map { ($0.path, $0.latest.sha256) }, uniquingKeysWith: { _, b in b })
        }
        let check = ReplayCheck(
            recorded: recorded, replayed: replayed, recordedFiles: try files(journal.directory), replayedFiles: try files(scratch),
            unanswered: client.unanswered, answered: client.answeredCount, notes: notes)
        if json {
            Output.jsonLine(Report(check: check))
        } else {
            Output.out(render(check))
        }
        if !check.same { throw ExitCode(1) }
    }

    static func render(_ c: ReplayCheck) -> String {
        var out = "offline replay of \(c.run): \(c.same ? "SAME" : "DIFFERENT") — recorded \(c.recordedStatus.rawValue), replayed \(c.replayedStatus.rawValue); "
        out += "\(c.requestsAnswered) request(s) answered from the journal, \(c.requestsUnanswered) unanswered, no network\n"
        for n in c.notes { out += "note: \(TerminalSanitizer.cell(n, limit: 200))\n" }
        for d in c.differences {
            out += "  ≠ \(d.what)\(d.step.map { " \(TerminalSanitizer.cell($0, limit: 40))" } ?? ""): recorded \(TerminalSanitizer.cell(d.recorded ?? "—", limit: 160)) · replayed \(TerminalSanitizer.cell(d.replayed ?? "—", limit: 160))\n"
        }
        return out
    }
}
