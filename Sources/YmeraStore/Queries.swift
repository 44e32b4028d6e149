import Foundation
import GRDB
import YmeraCore

/// How the history list is ordered.
public enum RunSort: String, Sendable, CaseIterable, Codable {
    case newest, oldest, score, cost, duration

    var sql: String {
        switch self {
        case .newest: "runs.started_at DESC, runs.id DESC"
        case .oldest: "runs.started_at ASC, runs.id ASC"
        case .score: "runs.score IS NULL, runs.score DESC, runs.started_at DESC"
        case .cost: "runs.cost_nanos DESC, runs.started_at DESC"
        case .duration: "runs.duration_ms DESC, runs.started_at DESC"
        }
    }
}

/// Filters for the history list. Every field narrows; nil means "any".
public struct RunFilter: Sendable, Hashable {
    public var status: RunStatus?
    public var taskType: TaskType?
    /// A model id (`groq/llama-3.1-8b-instant`) or a provider (`groq`): runs where a step used it.
    public var model: String?
    /// Full-text search over tasks and outputs (words, all must occur; a trailing `*` matches a prefix).
    public var search: String?
    public var since: Date?
    public var limit: Int?
    public var sort: RunSort

    public init(
        status: RunStatus? = nil, taskType: TaskType? = nil, model: String? = nil, search: String? = nil,
        since: Date? = nil, limit: Int? = 50, sort: RunSort = .newest
    ) {
        self.status = status
        self.taskType = taskType
        self.model = model
        self.search = search
        self.since = since
        self.limit = limit
        self.sort = sort
    }
}

extension Journal {
    // MARK: history

    /// The history list: runs matching `filter`, in its order.
    public func runs(_ filter: RunFilter = RunFilter()) throws -> [RunRecord] {
        var clauses: [String] = []
        var args: [(any DatabaseValueConvertible)?] = []
        if let status = filter.status {
            clauses.append("runs.status = ?")
            args.append(status.rawValue)
        }
        if let type = filter.taskType {
            clauses.append("runs.task_type = ?")
            args.append(type.rawValue)
        }
        if let since = filter.since {
            clauses.append("runs.started_at >= ?")
            args.append(since.timeIntervalSince1970)
        }
        if let model = filter.model?.trimmingCharacters(in: .whitespaces), !model.isEmpty {
            // Exact model id, or every model of a provider (`groq` → `groq/…`): both use steps_model.
            clauses.append(
                "EXISTS (SELECT 1 FROM steps WHERE steps.run_id = runs.id AND (steps.model = ? OR (steps.model >= ? AND steps.model < ?)))"
            )
            args.append(model)
            args.append(model + "/")
            args.append(model + "0")  // '0' follows '/' in ASCII
        }
        if let search = filter.search {
            // Every word must occur in the run, not in one stored row: the task, each step's output
            // and the pieces of a long output are separate rows, so each word is matched on its own
            // and the runs are intersected.
            let terms = Self.searchTerms(search)
            guard !terms.isEmpty else { return [] }
            let one = "SELECT events.run_id FROM events_fts JOIN events ON events.id = events_fts.rowid WHERE events_fts MATCH ?"
            clauses.append("runs.id IN (" + Array(repeating: one, count: terms.count).joined(separator: " INTERSECT ") + ")")
            args.append(contentsOf: terms)
        }
        var sql = "SELECT \(Self.runColumns) FROM runs"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY " + filter.sort.sql
        if let limit = filter.limit, limit > 0 {
            sql += " LIMIT ?"
            args.append(limit)
        }
        let arguments = StatementArguments(args)
        return try pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.runRecord)
        }
    }

    /// Number of runs in the journal.
    public func runCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM runs") ?? 0 }
    }

    /// FTS5 terms from what a user typed, one per word (quoted); `word*` matches a prefix. At most 8
    /// distinct words are used (each is a subquery). Empty when the text holds no word.
    static func searchTerms(_ text: String) -> [String] {
        var terms: [String] = []
        for raw in text.split(whereSeparator: { $0.isWhitespace }) {
            let prefix = raw.hasSuffix("*")
            let parts = raw.split(whereSeparator: { !($0.isLetter || $0.isNumber) })
            for (i, part) in parts.enumerated() {
                let quoted = "\"" + part.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                let term = prefix && i == parts.count - 1 ? quoted + " *" : quoted
                if !terms.contains(term) { terms.append(term) }
            }
        }
        return Array(terms.prefix(8))
    }

    /// An FTS5 query from what a user typed: every word must occur in one row; `word*` matches a prefix.
    /// Nil when the text holds no word.
    static func searchPattern(_ text: String) -> String? {
        var terms: [String] = []
        for raw in text.split(whereSeparator: { $0.isWhitespace }) {
            let prefix = raw.hasSuffix("*")
            // Keep letters and digits: the tokenizer splits on everything else anyway.
            let parts = raw.split(whereSeparator: { !($0.isLetter || $0.isNumber) })
            for (i, part) in parts.enumerated() {
                let quoted = "\"" + part.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                terms.append(prefix && i == parts.count - 1 ? quoted + " *" : quoted)
            }
        }
        return terms.isEmpty ? nil : terms.joined(separator: " AND ")
    }

    static let runColumns =
        "runs.id, runs.task, runs.task_type, runs.complexity, runs.strategy, runs.serving, runs.status, runs.score, runs.cost_nanos, runs.unpriced_tokens, runs.tokens, runs.started_at, runs.duration_ms, runs.last_seq, runs.fork_of, (SELECT group_concat(f.id, ' ') FROM runs f WHERE f.fork_of = runs.id)"

    static func runRecord(_ row: Row) -> RunRecord {
        RunRecord(
            id: row[0], task: row[1], taskType: (row[2] as String?).flatMap(TaskType.init(rawValue:)),
            complexity: row[3], strategy: (row[4] as String?).flatMap(Strategy.init(rawValue:)),
            serving: (row[5] as String?).flatMap(ServingKind.init(rawValue:)),
            status: RunStatus(rawValue: row[6]) ?? .interrupted, score: row[7],
            cost: Cost(money: Money(nanodollars: row[8]), unpricedTokens: row[9]),
            costUSD: Money(nanodollars: row[8]).dollars, tokens: row[10],
            startedAt: Date(timeIntervalSince1970: row[11]), durationMs: row[12], lastSeq: row[13], forkOf: row[14],
            forks: (row[15] as String?).map { $0.split(separator: " ").map(String.init) })
    }

    /// One run's row.
    public func run(_ id: String) throws -> RunRecord? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.runColumns) FROM runs WHERE id = ?", arguments: [id])
                .map(Self.runRecord)
        }
    }

    /// The full run id for a unique prefix (or the id itself).
    public func resolveRunID(_ prefix: String) throws -> String {
        let p = prefix.trimmingCharacters(in: .whitespaces)
        guard !p.isEmpty else { throw JournalError.invalidArgument("empty run id") }
        let ids = try pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 6",
                arguments: [p, p + "\u{10FFFF}"])
        }
        if ids.contains(p) { return p }
        if ids.count == 1 { return ids[0] }
        if ids.isEmpty { throw JournalError.runNotFound(p) }
        throw JournalError.ambiguousRunID(p, matches: ids)
    }

    /// The steps of a run, in display order.
    public func steps(_ runID: String) throws -> [StepRecord] {
        try pool.read { db in try Self.fetchSteps(db, runID: runID) }
    }

    static func fetchSteps(_ db: Database, runID: String) throws -> [StepRecord] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT step_id, position, parent, phase, title, model, attempts, status, score, tokens, cost_nanos,
                  unpriced_tokens, started_ms, finished_ms, output_chars
                FROM steps WHERE run_id = ? ORDER BY position
                """, arguments: [runID]
        ).map { r in
            StepRecord(
                runID: runID, stepID: r[0], position: r[1], parent: r[2], phase: Phase(rawValue: r[3]) ?? .generation,
                title: r[4], model: ModelID(r[5] as String), attempts: r[6],
                status: StepStatus(rawValue: r[7]) ?? .pending, score: r[8], tokens: r[9],
                cost: Cost(money: Money(nanodollars: r[10]), unpricedTokens: r[11]), startedMs: r[12],
                finishedMs: r[13], outputChars: r[14])
        }
    }

    /// Attempts of a run, by step and number.
    public func attempts(_ runID: String) throws -> [AttemptRecord] {
        try pool.read { db in try Self.fetchAttempts(db, runID: runID) }
    }

    static func fetchAttempts(_ db: Database, runID: String) throws -> [AttemptRecord] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT attempts.step_id, n, attempts.model, purpose, attempts.started_ms, attempts.finished_ms,
                  attempts.status, error_class, message, http_status, attempts.tokens, attempts.cost_nanos,
                  attempts.unpriced_tokens
                FROM attempts LEFT JOIN steps ON steps.run_id = attempts.run_id AND steps.step_id = attempts.step_id
                WHERE attempts.run_id = ? ORDER BY steps.position, n
                """, arguments: [runID]
        ).map { r in
            AttemptRecord(
                runID: runID, stepID: r[0], number: r[1], model: ModelID(r[2] as String),
                purpose: AttemptPurpose(rawValue: r[3]) ?? .initial, startedMs: r[4], finishedMs: r[5],
                status: AttemptRecord.Status(rawValue: r[6]) ?? .failed,
                errorClass: (r[7] as String?).flatMap(ErrorClass.init(rawValue:)), message: r[8], httpStatus: r[9],
                tokens: r[10], cost: Cost(money: Money(nanodollars: r[11]), unpricedTokens: r[12]))
        }
    }

    // MARK: events and state

    /// The run's journaled events in order. Coalesced text deltas come back as one delta per row
    /// (the same text, in the same order).
    public func events(_ runID: String) throws -> [RunEvent] {
        try pool.read { db in try Self.fetchEvents(db, runID: runID) }
    }

    static func fetchEvents(
        _ db: Database, runID: String, where condition: String? = nil, _ arguments: [any DatabaseValueConvertible] = [],
        order: String = "seq"
    ) throws -> [RunEvent] {
        let decoder = JSONDecoder()
        var out: [RunEvent] = []
        let rows = try Row.fetchCursor(
            db,
            sql: "SELECT seq, t_ms, type, step, text, payload FROM events WHERE run_id = ?"
                + (condition.map { " AND \($0)" } ?? "") + " ORDER BY \(order)",
            arguments: StatementArguments([runID as any DatabaseValueConvertible] + arguments))
        while let r = try rows.next() {
            let seq: Int = r[0], t: Int = r[1], type: String = r[2]
            let step: String? = r[3], text: String? = r[4], payload: String? = r[5]
            out.append(try Self.decodeEvent(runID: runID, seq: seq, t: t, type: type, step: step, text: text, payload: payload, decoder: decoder))
        }
        return out
    }

    static func fetchLastSeq(_ db: Database, runID: String) throws -> Int {
        try Int.fetchOne(
            db, sql: "SELECT max(max(seq, coalesce(seq_end, 0))) FROM events WHERE run_id = ?", arguments: [runID]) ?? 0
    }

    /// The run's state rebuilt from its journal; `interrupted` when it has no terminal event and its
    /// writer is gone. A run live in this process returns its live state (held text included).
    public func state(_ runID: String) throws -> RunState? {
        if let live = writer.withLock({ $0.live[runID]?.state }) { return live }
        let (events, owner, record, lastSeq) = try pool.read { db -> ([RunEvent], ProcessIdentity?, RunOwner?, Int) in
            let ev = try Self.fetchEvents(db, runID: runID)
            let row = try Row.fetchOne(db, sql: "SELECT owner_pid, owner_start FROM runs WHERE id = ?", arguments: [runID])
            let owner = row.map { ProcessIdentity(pid: $0[0] ?? 0, startTicks: $0[1] ?? 0) }
            return (ev, owner, try Self.fetchOwner(db, runID: runID), try Self.fetchLastSeq(db, runID: runID))
        }
        if events.isEmpty {
            return try run(runID) == nil ? nil : RunState(runID: runID)
        }
        var state = RunState.replay(events)
        // Coalesced text rows are keyed by their first delta: numbering continues after the last one.
        state.lastSeq = max(state.lastSeq, lastSeq)
        if !state.status.isTerminal {
            let alive =
                record.map { !isGone($0, staleAfter: Self.defaultStaleAfter) } ?? owner.map { $0 == self.owner || $0.isAlive } ?? false
            if !alive { state.markInterruptedIfOpen() }
        }
        return state
    }

    /// What `ymera resume` needs: the plan, the finished steps' outputs and costs, and where numbering
    /// continues. Throws when the run is unknown or has no plan.
    public func resumeData(_ runID: String) throws -> ResumeData {
        guard var state = try state(runID) else { throw JournalError.runNotFound(runID) }
        guard let plan = state.plan else { throw JournalError.noPlan(runID) }
        if !state.status.isTerminal { state.markInterruptedIfOpen() }
        let lastSeq = try pool.read { db in try Self.fetchLastSeq(db, runID: runID) }
        let finished = state.steps.values.filter { $0.status == .done }.map { s in
            ResumeData.FinishedStep(
                stepID: s.id, parent: s.parent, phase: s.phase, model: s.model, output: s.output, usage: s.usage,
                cost: s.cost, quality: s.quality, attempts: s.attempts)
        }
        return ResumeData(
            plan: plan, state: state, finishedSteps: finished, lastSeq: max(lastSeq, state.lastSeq),
            elapsedMs: state.elapsedMs)
    }

    /// The engine's resume point for a cut-off run: its state rebuilt from the journal (plan, finished
    /// steps with outputs and costs, sequence numbers to continue from). `rerun` names finished steps
    /// to run again. Throws when the run is unknown, has no plan, or ended (unless steps are rerun).
    public func resumePoint(_ runID: String, rerun: [String] = []) throws -> YmeraCore.ResumePoint {
        let data = try resumeData(runID)
        if data.state.status.isTerminal && rerun.isEmpty {
            throw JournalError.invalidArgument("run \(runID) already ended (\(data.state.status.rawValue)); nothing to resume")
        }
        return YmeraCore.ResumePoint(prior: data.state, rerun: rerun)
    }

    /// Runs cut off before their end (newest first): candidates for `ymera resume`.
    public func interruptedRuns(limit: Int = 50) throws -> [RunRecord] {
        try runs(RunFilter(status: .interrupted, limit: limit))
    }
}
