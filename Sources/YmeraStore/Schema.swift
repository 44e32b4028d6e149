import GRDB

/// The journal's schema, as versioned migrations. A migration, once shipped, never changes: a new
/// version adds a new migration (the tests keep v1's SQL frozen and upgrade from it).
public enum JournalSchema {
    /// Identifiers of the migrations, oldest first.
    public static let versions = ["v1-journal", "v2-search", "v3-owner-breakers-learning", "v4-ownership-commands", "v5-forks"]

    /// v1: runs, steps, attempts and the event journal (every event's flat JSON in `payload`).
    public static let v1SQL = """
        CREATE TABLE runs (
          id TEXT PRIMARY KEY NOT NULL,
          task TEXT NOT NULL DEFAULT '',
          task_type TEXT,
          complexity REAL,
          strategy TEXT,
          serving TEXT,
          status TEXT NOT NULL,
          score REAL,
          cost_nanos INTEGER NOT NULL DEFAULT 0,
          unpriced_tokens INTEGER NOT NULL DEFAULT 0,
          tokens INTEGER NOT NULL DEFAULT 0,
          started_at REAL NOT NULL,
          duration_ms INTEGER NOT NULL DEFAULT 0,
          last_seq INTEGER NOT NULL DEFAULT 0,
          updated_at REAL NOT NULL
        );
        CREATE INDEX runs_started ON runs(started_at);
        CREATE INDEX runs_status ON runs(status, started_at);
        CREATE INDEX runs_type ON runs(task_type, started_at);
        CREATE TABLE steps (
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          step_id TEXT NOT NULL,
          position INTEGER NOT NULL,
          parent TEXT,
          phase TEXT NOT NULL,
          title TEXT NOT NULL,
          model TEXT NOT NULL,
          attempts INTEGER NOT NULL,
          status TEXT NOT NULL,
          score REAL,
          tokens INTEGER NOT NULL,
          cost_nanos INTEGER NOT NULL,
          unpriced_tokens INTEGER NOT NULL,
          started_ms INTEGER,
          finished_ms INTEGER,
          output_chars INTEGER NOT NULL,
          PRIMARY KEY (run_id, step_id)
        ) WITHOUT ROWID;
        CREATE INDEX steps_model ON steps(model, run_id);
        CREATE TABLE attempts (
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          step_id TEXT NOT NULL,
          n INTEGER NOT NULL,
          model TEXT NOT NULL,
          purpose TEXT NOT NULL,
          started_ms INTEGER NOT NULL,
          finished_ms INTEGER,
          status TEXT NOT NULL,
          error_class TEXT,
          message TEXT,
          http_status INTEGER,
          tokens INTEGER NOT NULL DEFAULT 0,
          cost_nanos INTEGER NOT NULL DEFAULT 0,
          unpriced_tokens INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (run_id, step_id, n)
        ) WITHOUT ROWID;
        CREATE TABLE events (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          seq INTEGER NOT NULL,
          t_ms INTEGER NOT NULL,
          type TEXT NOT NULL,
          step TEXT,
          payload TEXT NOT NULL
        );
        CREATE UNIQUE INDEX events_run_seq ON events(run_id, seq);
        """

    /// v2: text moves out of the JSON into `text` (text deltas, coalesced per step as the writer
    /// does; the task of `run_planned`), indexed by FTS5 over a view of those rows (external content),
    /// so each output is stored once and is searchable.
    public static let v2CreateSQL = """
        CREATE TABLE events_v2 (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          seq INTEGER NOT NULL,
          seq_end INTEGER,
          t_ms INTEGER NOT NULL,
          type TEXT NOT NULL,
          step TEXT,
          text TEXT,
          payload TEXT
        );
        """

    public static let v2FinishSQL = """
        DROP TABLE events;
        ALTER TABLE events_v2 RENAME TO events;
        CREATE UNIQUE INDEX events_run_seq ON events(run_id, seq);
        CREATE VIEW events_text AS SELECT id, text FROM events WHERE text IS NOT NULL;
        CREATE VIRTUAL TABLE events_fts USING fts5(
          text, content='events_text', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
        CREATE TRIGGER events_fts_insert AFTER INSERT ON events WHEN new.text IS NOT NULL BEGIN
          INSERT INTO events_fts(rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER events_fts_delete AFTER DELETE ON events WHEN old.text IS NOT NULL BEGIN
          INSERT INTO events_fts(events_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        INSERT INTO events_fts(events_fts) VALUES ('rebuild');
        """

    /// Copies v1 events into the v2 table, one run at a time, coalescing consecutive text deltas of a
    /// step (any other event of the run ends the coalescing, as in the writer).
    static func copyV1Events(_ db: Database) throws {
        let runIDs = try String.fetchAll(db, sql: "SELECT DISTINCT run_id FROM events")
        let insert = try db.makeStatement(
            sql: "INSERT INTO events_v2 (run_id, seq, seq_end, t_ms, type, step, text, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        for runID in runIDs {
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, t_ms, type, step, payload,
                      CASE type WHEN 'text_delta' THEN json_extract(payload, '$.text')
                                WHEN 'run_planned' THEN json_extract(payload, '$.plan.task') END
                    FROM events WHERE run_id = ? ORDER BY seq
                    """, arguments: [runID])
            var pending: [(step: String, seq: Int, t: Int, last: Int, text: String)] = []
            func flush() throws {
                for p in pending {
                    try insert.execute(arguments: [runID, p.seq, p.last > p.seq ? p.last : nil, p.t, "text_delta", p.step, p.text, nil])
                }
                pending.removeAll()
            }
            for r in rows {
                let seq: Int = r[0]
                let type: String = r[2]
                if type == "text_delta" {
                    let step: String = r[3] ?? ""
                    let text: String = r[5] ?? ""
                    if let i = pending.firstIndex(where: { $0.step == step }) {
                        pending[i].text += text
                        pending[i].last = seq
                    } else {
                        pending.append((step, seq, r[1], seq, text))
                    }
                    continue
                }
                try flush()
                let payload: String = r[4]
                let text: String? = r[5]
                try insert.execute(arguments: [runID, seq, nil, r[1] as Int, type, r[3] as String?, text, payload])
            }
            try flush()
        }
    }

    /// v3: which process writes a run (to tell a live run from a cut-off one), breakers kept across
    /// sessions, and the learning system's execution records (backfilled from finished runs).
    public static let v3SQL = """
        ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
        ALTER TABLE runs ADD COLUMN owner_start INTEGER;
        CREATE TABLE breakers (
          model TEXT PRIMARY KEY NOT NULL,
          state TEXT NOT NULL,
          reason TEXT NOT NULL,
          opened_at REAL,
          cooldown_until REAL,
          updated_at REAL NOT NULL
        );
        CREATE TABLE executions (
          run_id TEXT PRIMARY KEY NOT NULL,
          task_type TEXT NOT NULL,
          complexity REAL NOT NULL,
          strategy TEXT NOT NULL,
          models_json TEXT NOT NULL,
          score REAL,
          duration_ms INTEGER NOT NULL,
          cost_nanos INTEGER NOT NULL,
          unpriced_tokens INTEGER NOT NULL,
          succeeded INTEGER NOT NULL,
          finished_at REAL NOT NULL
        );
        CREATE INDEX executions_type ON executions(task_type, finished_at);
        INSERT INTO executions
          SELECT r.id, r.task_type, r.complexity, r.strategy,
            (SELECT json_group_object(s.step_id, s.model) FROM steps s
               WHERE s.run_id = r.id AND s.parent IS NULL AND s.status = 'done'),
            r.score, r.duration_ms, r.cost_nanos, r.unpriced_tokens, r.status = 'succeeded',
            r.started_at + r.duration_ms / 1000.0
          FROM runs r
          WHERE r.status IN ('succeeded', 'failed') AND r.task_type IS NOT NULL
            AND r.complexity IS NOT NULL AND r.strategy IS NOT NULL;
        """

    /// v4: the ownership of live runs (one process drives a run: pid, host, process start time,
    /// heartbeat) and the commands other processes address to a run (the journal is the bus).
    public static let v4SQL = """
        CREATE TABLE run_owners (
          run_id TEXT PRIMARY KEY NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          pid INTEGER NOT NULL,
          host TEXT NOT NULL,
          start_ticks INTEGER NOT NULL,
          since REAL NOT NULL,
          heartbeat REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE run_commands (
          id INTEGER PRIMARY KEY,
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          kind TEXT NOT NULL,
          step TEXT,
          model TEXT,
          reason TEXT,
          issued_by TEXT NOT NULL,
          issued_at REAL NOT NULL,
          state TEXT NOT NULL DEFAULT 'pending',
          outcome TEXT,
          after_seq INTEGER,
          settled_at REAL
        );
        CREATE INDEX run_commands_pending ON run_commands(run_id, state);
        """

    /// v5: the run a fork was forked from (its plan's `forkOf`), indexed to list a run's forks.
    public static let v5SQL = """
        ALTER TABLE runs ADD COLUMN fork_of TEXT;
        CREATE INDEX runs_fork_of ON runs(fork_of);
        """

    /// The migrator with every version registered.
    public static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration(versions[0]) { db in try db.execute(sql: v1SQL) }
        m.registerMigration(versions[1]) { db in
            try db.execute(sql: v2CreateSQL)
            try copyV1Events(db)
            try db.execute(sql: v2FinishSQL)
        }
        m.registerMigration(versions[2]) { db in try db.execute(sql: v3SQL) }
        m.registerMigration(versions[3]) { db in try db.execute(sql: v4SQL) }
        m.registerMigration(versions[4]) { db in try db.execute(sql: v5SQL) }
        return m
    }
}
