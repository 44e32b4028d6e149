/// An offline replay compared with its recording: the events (kinds, steps, models, statuses — no
/// texts, timings or token counts), the scores and the workspace files. Events are compared step by
/// step, in order within each step, so steps that ran at once may interleave differently.
public struct ReplayCheck: Codable, Sendable, Hashable {
    public struct Difference: Codable, Sendable, Hashable {
        /// `events`, `score`, `file`, `status` or `request`.
        public var what: String
        public var step: String?
        public var recorded: String?
        public var replayed: String?
    }

    public var run: String
    public var same: Bool
    public var differences: [Difference]
    public var recordedStatus: RunStatus
    public var replayedStatus: RunStatus
    /// Requests answered from the journal, and those it could not answer.
    public var requestsAnswered: Int
    public var requestsUnanswered: Int
    public var notes: [String]

    /// Compares a replay with its recording. `files` are path → SHA-256 of each run's final files.
    public init(
        recorded: [RunEvent], replayed: [RunEvent], recordedFiles: [String: String], replayedFiles: [String: String],
        unanswered: [JournalClient.Unanswered], answered: Int, notes: [String] = []
    ) {
        let a = RunState.replay(recorded), b = RunState.replay(replayed)
        run = a.runID
        recordedStatus = a.status
        replayedStatus = b.status
        requestsAnswered = answered
        requestsUnanswered = unanswered.count
        self.notes = notes
        var diffs: [Difference] = []
        if a.status != b.status {
            diffs.append(Difference(what: "status", recorded: a.status.rawValue, replayed: b.status.rawValue))
        }
        for u in unanswered {
            diffs.append(Difference(what: "request", step: u.step, recorded: nil, replayed: "request \(u.number) on \(u.model): no recorded answer"))
        }
        let sa = Self.signatures(recorded), sb = Self.signatures(replayed)
        var keys = sa.keys.sorted()
        for k in sb.keys.sorted() where !keys.contains(k) { keys.append(k) }
        for k in keys {
            let la = sa[k] ?? [], lb = sb[k] ?? []
            guard la != lb else { continue }
            let i = (0..<min(la.count, lb.count)).first { la[$0] != lb[$0] } ?? min(la.count, lb.count)
            diffs.append(Difference(
                what: "events", step: k.isEmpty ? nil : k,
                recorded: i < la.count ? la[i] : "(no more events)", replayed: i < lb.count ? lb[i] : "(no more events)"))
        }
        for (id, s) in a.steps where s.parent == nil {
            let ra = s.quality?.score.rounded(places: 3), rb = b.steps[id]?.quality?.score.rounded(places: 3)
            if ra != rb {
                diffs.append(Difference(what: "score", step: id, recorded: ra.map { "\($0)" } ?? "none", replayed: rb.map { "\($0)" } ?? "none"))
            }
        }
        for path in Set(recordedFiles.keys).union(replayedFiles.keys).sorted() where recordedFiles[path] != replayedFiles[path] {
            diffs.append(Difference(
                what: "file", step: nil, recorded: recordedFiles[path].map { "\(path) sha256 \($0.prefix(12))" } ?? "\(path) absent",
                replayed: replayedFiles[path].map { "\(path) sha256 \($0.prefix(12))" } ?? "\(path) absent"))
        }
        differences = diffs
        same = diffs.isEmpty
    }

    /// Each event's signature, grouped by step ("" for run-level events): what happened, to which step
    /// on which model, with what outcome. Texts, timings, tokens, costs, rate limits and breaker
    /// transitions are left out (they depend on the clock, not on the engine's decisions).
    static func signatures(_ events: [RunEvent]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        func add(_ step: String?, _ s: String) { out[step ?? "", default: []].append(s) }
        for e in events {
            switch e.kind {
            case .runPlanned(let p): add(nil, "run_planned \(p.steps.map { "\($0.id):\($0.model)" }.joined(separator: ","))")
            case .stepStarted(let p): add(p.step, "step_started \(p.model) \(p.purpose.rawValue)")
            case .attemptFailed(let p): add(p.step, "attempt_failed \(p.model) \(p.errorClass.rawValue)")
            case .retryScheduled(let p): add(p.step, "retry_scheduled \(p.model)")
            case .fallbackTaken(let p): add(p.step, "fallback_taken \(p.from)→\(p.to) \(p.mode.rawValue)")
            case .qualityScored(let p):
                add(p.step, "quality_scored \(p.model) \(p.report.score.rounded(places: 3)) \(p.report.passed ? "pass" : "below")")
            case .subtasksPlanned(let p): add(p.step, "subtasks_planned \(p.subtasks.map(\.title).joined(separator: " | "))")
            case .candidateChosen(let p): add(p.step, "candidate_chosen \(p.chosen)")
            case .stepDone(let p): add(p.step, "step_done \(p.model) \(p.outputChars) chars")
            case .stepFailed(let p): add(p.step, "step_failed \(p.errorClass.rawValue)")
            case .stepSkipped(let p): add(p.step, "step_skipped")
            case .stepReused(let p): add(p.step, "step_reused \(p.model) from \(p.fromRun) \(p.output.count) chars")
            case .filesWritten(let p):
                add(p.step, "files_written \(p.files.map { "\($0.path)@\($0.sha256.prefix(12))" }.joined(separator: ",")) refused \(p.refused.count)")
            case .runFinished(let p): add(nil, "run_finished \(p.quality?.passed == false ? "below threshold" : "passed")")
            case .runFailed: add(nil, "run_failed")
            case .runCancelled: add(nil, "run_cancelled")
            case .toolCalled(let p): add(p.step, "tool_called \(p.tool)")
            default: break
            }
        }
        return out
    }
}
