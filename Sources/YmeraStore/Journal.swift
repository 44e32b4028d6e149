import Foundation
import GRDB
import Synchronization
import YmeraCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The run journal: one SQLite database (WAL) under the data directory.
///
/// Every `RunEvent` is appended as it happens (`append`). Consecutive text deltas of a step are
/// coalesced into one row, cut at word boundaries so full-text search sees whole words; replay
/// re-emits the same text in the same order. Small tables for browsing (`runs`, `steps`, `attempts`)
/// are maintained by folding the events with the core's `RunState` reducer as they arrive.
public final class Journal: Sendable {
    /// The data directory.
    public let directory: URL
    /// The database file.
    public let databaseURL: URL
    let pool: DatabasePool
    let writer: Mutex<WriterState>
    let owner: ProcessIdentity
    let now: @Sendable () -> Date

    /// Text held back per step before it is written, at most (characters); see `append`.
    static let maxHeldText = 2048

    private init(directory: URL, databaseURL: URL, pool: DatabasePool, owner: ProcessIdentity,
                 now: @escaping @Sendable () -> Date) {
        self.directory = directory
        self.databaseURL = databaseURL
        self.pool = pool
        self.owner = owner
        self.now = now
        self.writer = Mutex(WriterState())
    }

    /// Opens (creating if needed) the journal in `directory`, migrates it to the current schema, and
    /// marks runs whose writer is gone as interrupted.
    ///
    /// The directory is created with mode 0700 and the database files with 0600.
    public static func open(
        directory: URL, owner: ProcessIdentity = .current, now: @escaping @Sendable () -> Date = { Date() }
    ) throws -> Journal {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let dbURL = directory.appendingPathComponent(DataDirectory.databaseFileName)
        // Create the file ourselves with 0600: SQLite gives the -wal and -shm files the same mode.
        let fd = Glibc_open(dbURL.path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        if fd >= 0 { posixClose(fd) }
        try restrictPermissions(dbURL)

        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let pool = try DatabasePool(path: dbURL.path, configuration: config)
        try JournalSchema.migrator.migrate(pool)
        try restrictPermissions(dbURL)
        let journal = Journal(directory: directory, databaseURL: dbURL, pool: pool, owner: owner, now: now)
        try journal.markInterruptedRuns()
        return journal
    }

    /// Opens the journal in the directory the CLI would use: `explicit` (`--data-dir`), else `YMERA_HOME`,
    /// else the XDG data directory.
    public static func open(explicitDirectory: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> Journal
    {
        try open(directory: DataDirectory.resolve(explicit: explicitDirectory, environment: environment))
    }

    /// Sets mode 0600 on the database file and its -wal and -shm companions (where they exist).
    static func restrictPermissions(_ dbURL: URL) throws {
        for suffix in ["", "-wal", "-shm"] {
            let path = dbURL.path + suffix
            if FileManager.default.fileExists(atPath: path) {
                if chmod(path, 0o600) != 0 && errno != ENOENT {
                    throw JournalError.invalidArgument("cannot set mode 0600 on \(path): errno \(errno)")
                }
            }
        }
    }

    /// Writes any text still held back, so the database holds every event appended so far.
    public func sync() throws {
        try sync(runs: nil)
        try Self.restrictPermissions(databaseURL)
    }

    /// Writes the text still held back for `runs` (nil: every run).
    func sync(runs: Set<String>?) throws {
        try writer.withLock { w in
            let ids = w.live.keys.filter {
                (runs?.contains($0) ?? true) && (!(w.live[$0]?.pending.isEmpty ?? true) || !(w.live[$0]?.early.isEmpty ?? true))
            }
            guard !ids.isEmpty else { return }
            try write(&w, events: [], forceFlush: Set(ids))
        }
    }

    /// The writer thread of this journal's sinks (created with the first sink's first event).
    var groupCommit: JournalGroupCommit {
        groupCommitSlot.withLock { slot in
            if let w = slot { return w }
            let w = JournalGroupCommit(journal: self)
            slot = w
            return w
        }
    }
    private let groupCommitSlot = Mutex<JournalGroupCommit?>(nil)

    /// Writes held-back text and closes the database.
    public func close() throws {
        if let w = groupCommitSlot.withLock({ $0 }) { w.waitCommittedBlocking(w.lastTicket) }
        try sync()
        try pool.close()
    }

    // MARK: appending

    /// Appends one event (one transaction). Prefer `append(_ events:)` or a `JournalRecorder` for streams.
    public func append(_ event: RunEvent) throws { try append([event]) }

    /// Appends events in one transaction, and updates the browsing tables of the runs they touch.
    ///
    /// Events whose sequence number is not above the last one journaled for their run are ignored
    /// (a repeated append does not duplicate). The trailing partial word of a step's streamed text is
    /// held in memory until more text or any other event of the run arrives (or `sync`).
    public func append(_ events: some Collection<RunEvent>) throws {
        guard !events.isEmpty else { return }
        try writer.withLock { w in
            try write(&w, events: events, forceFlush: [])
        }
        if !permissionsChecked.withLock({ $0 }) {
            try Self.restrictPermissions(databaseURL)
            permissionsChecked.withLock { $0 = true }
        }
    }

    private let permissionsChecked = Mutex(false)

    private func write(_ w: inout WriterState, events: some Collection<RunEvent>, forceFlush: Set<String>) throws {
        var touched: [String] = []
        var touchedSet = Set<String>()
        let wallNow = now().timeIntervalSince1970
        do {
            try pool.write { db in
                for e in events {
                    if touchedSet.insert(e.runID).inserted {
                        touched.append(e.runID)
                        try checkOwnership(db, runID: e.runID)
                    }
                    if w.live[e.runID] == nil {
                        w.live[e.runID] = try loadLive(db, runID: e.runID, wallNow: wallNow)
                    }
                    try process(e, live: &w.live[e.runID]!, db: db, encoder: w.encoder)
                }
                for id in forceFlush where w.live[id] != nil {
                    try drainEarly(live: &w.live[id]!, db: db, encoder: w.encoder, force: true)
                    try flushPending(db, live: &w.live[id]!, full: true)
                    if touchedSet.insert(id).inserted { touched.append(id) }
                }
                for id in touched {
                    try flushPending(db, live: &w.live[id]!, full: false)
                    try writeTables(db, live: &w.live[id]!, wallNow: wallNow)
                }
            }
        } catch {
            // The transaction rolled back: forget what was folded in memory; it is reloaded next time.
            for id in touched { w.live[id] = nil }
            throw error
        }
        for id in touched
        where w.live[id]?.state.status.isTerminal == true && w.live[id]?.pending.isEmpty == true
            && w.live[id]?.early.isEmpty == true
        {
            w.live[id] = nil
        }
    }

    private func loadLive(_ db: Database, runID: String, wallNow: Double) throws -> LiveRun {
        let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM runs WHERE id = ?", arguments: [runID]) ?? false
        if !exists {
            try db.execute(
                sql: """
                    INSERT INTO runs (id, status, started_at, updated_at, owner_pid, owner_start)
                    VALUES (?, 'planned', ?, ?, ?, ?)
                    """,
                arguments: [runID, wallNow, wallNow, owner.pid, owner.startTicks])
            return LiveRun(state: RunState(runID: runID))
        }
        let events = try Self.fetchEvents(db, runID: runID)
        var live = LiveRun(state: RunState.replay(events))
        live.state.runID = runID
        live.lastSeq = try Self.fetchLastSeq(db, runID: runID)
        live.attempts = try Self.fetchAttempts(db, runID: runID).reduce(into: [:]) { $0[$1.stepID, default: []].append($1) }
        live.executionWritten =
            try Bool.fetchOne(db, sql: "SELECT 1 FROM executions WHERE run_id = ?", arguments: [runID]) ?? false
        return live
    }

    /// Events of a run are journaled in sequence order. One that arrives early (parallel steps emit
    /// from several tasks) waits in memory for the ones before it; duplicates are dropped.
    private func process(_ e: RunEvent, live: inout LiveRun, db: Database, encoder: JSONEncoder) throws {
        if e.seq <= live.lastSeq { return }
        if e.seq > live.lastSeq + 1 {
            live.early[e.seq] = e
            if live.early.count > Self.maxEarlyEvents { try drainEarly(live: &live, db: db, encoder: encoder, force: true) }
            return
        }
        try processInOrder(e, live: &live, db: db, encoder: encoder)
        try drainEarly(live: &live, db: db, encoder: encoder, force: false)
    }

    /// Most events held waiting for a gap to fill before they are written anyway (a producer with gaps).
    static let maxEarlyEvents = 4096

    private func drainEarly(live: inout LiveRun, db: Database, encoder: JSONEncoder, force: Bool) throws {
        while !live.early.isEmpty {
            if let next = live.early.removeValue(forKey: live.lastSeq + 1) {
                try processInOrder(next, live: &live, db: db, encoder: encoder)
            } else if force, let first = live.early.keys.min(), let e = live.early.removeValue(forKey: first) {
                try processInOrder(e, live: &live, db: db, encoder: encoder)
            } else {
                return
            }
        }
    }

    private func processInOrder(_ e: RunEvent, live: inout LiveRun, db: Database, encoder: JSONEncoder) throws {
        live.lastSeq = e.seq
        live.state.apply(e)
        live.dirty = true

        if case .textDelta(let p) = e.kind {
            if let i = live.pending.firstIndex(where: { $0.step == p.step }) {
                live.pending[i].text += p.text
                live.pending[i].lastSeq = e.seq
                live.pending[i].lastT = e.elapsedMs
            } else {
                live.pending.append(
                    PendingText(step: p.step, seq: e.seq, keyT: e.elapsedMs, lastSeq: e.seq, lastT: e.elapsedMs, text: p.text))
            }
            return
        }
        // Any other event may read or reset step outputs: write all held text of the run first.
        try flushPending(db, live: &live, full: true)

        let payload = String(decoding: try encoder.encode(e), as: UTF8.self)
        var text: String? = nil
        if case .runPlanned(let plan) = e.kind { text = plan.task }
        try db.cachedStatement(
            sql: "INSERT INTO events (run_id, seq, seq_end, t_ms, type, step, text, payload) VALUES (?, ?, NULL, ?, ?, ?, ?, ?)"
        ).execute(arguments: [e.runID, e.seq, e.elapsedMs, e.typeName, e.kind.stepID, text, payload])
        trackAttempts(e, live: &live)
    }

    /// Writes held text rows. `full` writes everything; otherwise each step's text up to its last
    /// whitespace is written and the trailing partial word is kept (when it can get its own sequence key).
    private func flushPending(_ db: Database, live: inout LiveRun, full: Bool) throws {
        guard !live.pending.isEmpty else { return }
        var keep: [PendingText] = []
        let insert = try db.cachedStatement(
            sql: "INSERT INTO events (run_id, seq, seq_end, t_ms, type, step, text, payload) VALUES (?, ?, ?, ?, 'text_delta', ?, ?, NULL)")
        for p in live.pending {
            if full || p.text.count >= Self.maxHeldText {
                try insert.execute(arguments: [live.state.runID, p.seq, p.lastSeq > p.seq ? p.lastSeq : nil, p.keyT, p.step, p.text])
                continue
            }
            // Split at the last whitespace; the tail takes the last delta's sequence number as its key.
            guard p.lastSeq > p.seq, let cut = p.text.lastIndex(where: { $0.isWhitespace }) else {
                keep.append(p)
                continue
            }
            let head = String(p.text[...cut])
            let tail = String(p.text[p.text.index(after: cut)...])
            if tail.isEmpty {
                try insert.execute(arguments: [live.state.runID, p.seq, p.lastSeq, p.keyT, p.step, head])
            } else {
                try insert.execute(arguments: [live.state.runID, p.seq, p.lastSeq - 1 > p.seq ? p.lastSeq - 1 : nil, p.keyT, p.step, head])
                keep.append(PendingText(step: p.step, seq: p.lastSeq, keyT: p.lastT, lastSeq: p.lastSeq, lastT: p.lastT, text: tail))
            }
        }
        live.pending = keep
    }

    private func trackAttempts(_ e: RunEvent, live: inout LiveRun) {
        let t = e.elapsedMs
        func closeRunning(_ step: String, as status: AttemptRecord.Status) {
            guard var list = live.attempts[step] else { return }
            for i in list.indices where list[i].status == .running {
                list[i].status = status
                list[i].finishedMs = t
                live.dirtyAttempts.insert(AttemptKey(step: step, n: list[i].number))
            }
            live.attempts[step] = list
        }
        func updateLast(_ step: String, _ body: (inout AttemptRecord) -> Void) {
            guard var list = live.attempts[step], !list.isEmpty else { return }
            body(&list[list.count - 1])
            live.dirtyAttempts.insert(AttemptKey(step: step, n: list[list.count - 1].number))
            live.attempts[step] = list
        }
        switch e.kind {
        case .stepStarted(let p):
            closeRunning(p.step, as: .abandoned)
            let n = (live.attempts[p.step]?.last?.number ?? 0) + 1
            live.attempts[p.step, default: []].append(
                AttemptRecord(
                    runID: e.runID, stepID: p.step, number: n, model: p.model, purpose: p.purpose, startedMs: t,
                    finishedMs: nil, status: .running, errorClass: nil, message: nil, httpStatus: nil, tokens: 0,
                    cost: .zero))
            live.dirtyAttempts.insert(AttemptKey(step: p.step, n: n))
        case .usage(let p):
            updateLast(p.step) { a in
                a.tokens += p.usage.totalTokens
                a.cost += p.cost
            }
        case .attemptFailed(let p):
            updateLast(p.step) { a in
                a.status = .failed
                a.finishedMs = t
                a.errorClass = p.errorClass
                a.message = p.message
                a.httpStatus = p.httpStatus
            }
        case .stepDone(let p):
            closeRunning(p.step, as: .done)
        case .stepFailed(let p):
            updateLast(p.step) { a in
                if a.status == .running {
                    a.status = .failed
                    a.finishedMs = t
                    a.errorClass = p.errorClass
                    a.message = p.reason
                }
            }
        case .stepReset(let p):
            for s in p.reset { closeRunning(s, as: .abandoned) }
        case .runCancelled:
            for s in Array(live.attempts.keys) { closeRunning(s, as: .cancelled) }
        case .runFinished, .runFailed:
            for s in Array(live.attempts.keys) { closeRunning(s, as: .abandoned) }
        default:
            break
        }
    }

    private func writeTables(_ db: Database, live: inout LiveRun, wallNow: Double) throws {
        guard live.dirty else { return }
        live.dirty = false
        let st = live.state
        let plan = st.plan
        let terminal = st.status.isTerminal
        try db.cachedStatement(
            sql: """
                UPDATE runs SET task = ?, task_type = ?, complexity = ?, strategy = ?, serving = ?, status = ?,
                  score = ?, cost_nanos = ?, unpriced_tokens = ?, tokens = ?, started_at = COALESCE(?, started_at),
                  duration_ms = ?, last_seq = ?, updated_at = ?, owner_pid = ?, owner_start = ?, fork_of = ?
                WHERE id = ?
                """
        ).execute(arguments: [
            st.task, plan?.intent.taskType.rawValue, plan?.intent.complexity, plan?.strategy.rawValue,
            plan?.serving.rawValue, st.status.rawValue, st.score.map { $0.rounded(places: 3) },
            st.cost.money.nanodollars, st.cost.unpricedTokens, st.usage.totalTokens,
            plan?.createdAt.timeIntervalSince1970, st.elapsedMs, live.lastSeq, wallNow,
            terminal ? nil : owner.pid, terminal ? nil : owner.startTicks, plan?.forkOf?.run, st.runID,
        ])

        let upsertStep = try db.cachedStatement(
            sql: """
                INSERT INTO steps (run_id, step_id, position, parent, phase, title, model, attempts, status, score,
                  tokens, cost_nanos, unpriced_tokens, started_ms, finished_ms, output_chars)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(run_id, step_id) DO UPDATE SET position = excluded.position, parent = excluded.parent,
                  phase = excluded.phase, title = excluded.title, model = excluded.model, attempts = excluded.attempts,
                  status = excluded.status, score = excluded.score, tokens = excluded.tokens,
                  cost_nanos = excluded.cost_nanos, unpriced_tokens = excluded.unpriced_tokens,
                  started_ms = excluded.started_ms, finished_ms = excluded.finished_ms,
                  output_chars = excluded.output_chars
                """)
        var seen = Set<String>()
        for (position, s) in st.steps.values.enumerated() {
            seen.insert(s.id)
            let row = StepRecord(
                runID: st.runID, stepID: s.id, position: position, parent: s.parent, phase: s.phase, title: s.title,
                model: s.model, attempts: s.attempts, status: s.status, score: s.quality?.score,
                tokens: s.usage.totalTokens, cost: s.cost, startedMs: s.startedMs, finishedMs: s.finishedMs,
                outputChars: s.output.count)
            if live.writtenSteps[s.id] == row { continue }
            try upsertStep.execute(arguments: [
                row.runID, row.stepID, row.position, row.parent, row.phase.rawValue, row.title, row.model.rawValue,
                row.attempts, row.status.rawValue, row.score, row.tokens, row.cost.money.nanodollars,
                row.cost.unpricedTokens, row.startedMs, row.finishedMs, row.outputChars,
            ])
            live.writtenSteps[s.id] = row
        }
        // Steps that disappeared (subtasks of an earlier decomposition).
        let gone = live.writtenSteps.keys.filter { !seen.contains($0) }
        for id in gone {
            try db.execute(sql: "DELETE FROM steps WHERE run_id = ? AND step_id = ?", arguments: [st.runID, id])
            live.writtenSteps[id] = nil
        }

        if !live.dirtyAttempts.isEmpty {
            let upsertAttempt = try db.cachedStatement(
                sql: """
                    INSERT INTO attempts (run_id, step_id, n, model, purpose, started_ms, finished_ms, status,
                      error_class, message, http_status, tokens, cost_nanos, unpriced_tokens)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(run_id, step_id, n) DO UPDATE SET model = excluded.model, purpose = excluded.purpose,
                      started_ms = excluded.started_ms, finished_ms = excluded.finished_ms, status = excluded.status,
                      error_class = excluded.error_class, message = excluded.message,
                      http_status = excluded.http_status, tokens = excluded.tokens,
                      cost_nanos = excluded.cost_nanos, unpriced_tokens = excluded.unpriced_tokens
                    """)
            for key in live.dirtyAttempts {
                guard let a = live.attempts[key.step]?.first(where: { $0.number == key.n }) else { continue }
                try upsertAttempt.execute(arguments: [
                    a.runID, a.stepID, a.number, a.model.rawValue, a.purpose.rawValue, a.startedMs, a.finishedMs,
                    a.status.rawValue, a.errorClass?.rawValue, a.message, a.httpStatus, a.tokens,
                    a.cost.money.nanodollars, a.cost.unpricedTokens,
                ])
            }
            live.dirtyAttempts.removeAll()
        }

        // A finished run becomes a learning record.
        if let plan, st.status == .succeeded || st.status == .completedBelowThreshold || st.status == .failed {
            let record = Self.executionRecord(state: st, plan: plan)
            try Self.upsertExecution(db, record)
            live.executionWritten = true
        }
    }

    static func executionRecord(state st: RunState, plan: RunPlan) -> ExecutionRecord {
        var models: [String: ModelID] = [:]
        for s in st.steps.values where s.parent == nil && s.status == .done { models[s.id] = s.model }
        return ExecutionRecord(
            runID: st.runID, taskType: plan.intent.taskType, complexity: plan.intent.complexity,
            strategy: plan.strategy, modelsByStep: models, score: st.score.map { $0.rounded(places: 3) },
            durationMs: st.elapsedMs, cost: st.cost, succeeded: st.status == .succeeded,
            finishedAt: plan.createdAt.addingTimeInterval(Double(st.elapsedMs) / 1000))
    }

    static func upsertExecution(_ db: Database, _ r: ExecutionRecord) throws {
        let models = String(decoding: try JSONEncoder().encode(r.modelsByStep), as: UTF8.self)
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO executions (run_id, task_type, complexity, strategy, models_json, score,
                  duration_ms, cost_nanos, unpriced_tokens, succeeded, finished_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            r.runID, r.taskType.rawValue, r.complexity, r.strategy.rawValue, models, r.score, r.durationMs,
            r.cost.money.nanodollars, r.cost.unpricedTokens, r.succeeded, r.finishedAt.timeIntervalSince1970,
        ])
    }

    // MARK: interrupted runs

    /// Marks runs with no terminal event whose owner is gone as `interrupted` (in the `runs` and
    /// `steps` tables). Returns their ids. Called on open; cheap (an index on status). The owner is the
    /// ownership record where there is one (pid, host, start time, heartbeat), else the writer columns
    /// of `runs`; each run is checked again inside the write, so a run taken over meanwhile is left alone.
    @discardableResult
    public func markInterruptedRuns() throws -> [String] {
        let open = try pool.read { db in try Self.openRunOwners(db) }
        var alive: [ProcessIdentity: Bool] = [owner: true]
        func gone(_ o: (legacy: ProcessIdentity, record: RunOwner?)) -> Bool {
            if let r = o.record { return isGone(r, staleAfter: Self.defaultStaleAfter) }
            if alive[o.legacy] == nil { alive[o.legacy] = o.legacy.isAlive }
            return alive[o.legacy] != true
        }
        guard open.contains(where: { gone($0.value) }) else { return [] }
        return try pool.write { db in
            var dead: [String] = []
            for (id, o) in try Self.openRunOwners(db) where gone(o) {
                dead.append(id)
                try db.execute(
                    sql: "UPDATE runs SET status = 'interrupted', owner_pid = NULL, owner_start = NULL WHERE id = ? AND status IN ('planned', 'running', 'paused', 'awaiting_approval')",
                    arguments: [id])
                try db.execute(
                    sql: "UPDATE steps SET status = 'pending' WHERE run_id = ? AND status IN ('running', 'retrying')",
                    arguments: [id])
                try db.execute(
                    sql: "UPDATE attempts SET status = 'abandoned' WHERE run_id = ? AND status = 'running'",
                    arguments: [id])
            }
            return dead.sorted()
        }
    }

    /// Open runs (no terminal status, not yet marked interrupted) with their writer and ownership record.
    static func openRunOwners(_ db: Database) throws -> [String: (legacy: ProcessIdentity, record: RunOwner?)] {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT r.id, r.owner_pid, r.owner_start, o.pid, o.host, o.start_ticks, o.since, o.heartbeat
                FROM runs r LEFT JOIN run_owners o ON o.run_id = r.id
                WHERE r.status IN ('planned', 'running', 'paused', 'awaiting_approval')
                """)
        var out: [String: (legacy: ProcessIdentity, record: RunOwner?)] = [:]
        for r in rows {
            let legacy = ProcessIdentity(pid: r[1] ?? 0, startTicks: r[2] ?? 0)
            var record: RunOwner?
            let pid: Int32? = r[3]
            if let pid {
                record = RunOwner(
                    pid: pid, host: r[4], startTicks: r[5], since: Date(timeIntervalSince1970: r[6]),
                    heartbeat: Date(timeIntervalSince1970: r[7]))
            }
            out[r[0]] = (legacy, record)
        }
        return out
    }
}

// MARK: - writer state

struct PendingText: Sendable {
    var step: String
    /// Sequence key of the row it becomes, and that event's time (so row times stay in sequence order).
    var seq: Int
    var keyT: Int
    var lastSeq: Int
    var lastT: Int
    var text: String
}

struct AttemptKey: Hashable, Sendable {
    var step: String
    var n: Int
}

struct LiveRun: Sendable {
    var state: RunState
    var pending: [PendingText] = []
    /// Events that arrived before an earlier one, by sequence number.
    var early: [Int: RunEvent] = [:]
    var lastSeq = 0
    var writtenSteps: [String: StepRecord] = [:]
    var attempts: [String: [AttemptRecord]] = [:]
    var dirtyAttempts: Set<AttemptKey> = []
    var executionWritten = false
    var dirty = false
    init(state: RunState) { self.state = state }
}

struct WriterState: @unchecked Sendable {
    // JSONEncoder is a class without Sendable conformance; it is only used under the writer lock.
    var live: [String: LiveRun] = [:]
    let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()
}

private func Glibc_open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    open(path, flags, mode)
}

private func posixClose(_ fd: Int32) {
    _ = close(fd)
}
