import Foundation
import GRDB
import Testing
import YmeraCore

@testable import YmeraStore

/// The v1 schema exactly as it shipped: a fixture that must never change. A v1 database is made by
/// the v1 migration alone; the test checks that equals this fixture, fills it the v1 way, and upgrades.
let v1SchemaFixture: [String: String] = [
    "runs": "CREATE TABLE runs (\n  id TEXT PRIMARY KEY NOT NULL,\n  task TEXT NOT NULL DEFAULT '',\n  task_type TEXT,\n  complexity REAL,\n  strategy TEXT,\n  serving TEXT,\n  status TEXT NOT NULL,\n  score REAL,\n  cost_nanos INTEGER NOT NULL DEFAULT 0,\n  unpriced_tokens INTEGER NOT NULL DEFAULT 0,\n  tokens INTEGER NOT NULL DEFAULT 0,\n  started_at REAL NOT NULL,\n  duration_ms INTEGER NOT NULL DEFAULT 0,\n  last_seq INTEGER NOT NULL DEFAULT 0,\n  updated_at REAL NOT NULL\n)",
    "runs_started": "CREATE INDEX runs_started ON runs(started_at)",
    "runs_status": "CREATE INDEX runs_status ON runs(status, started_at)",
    "runs_type": "CREATE INDEX runs_type ON runs(task_type, started_at)",
    "steps": "CREATE TABLE steps (\n  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n  step_id TEXT NOT NULL,\n  position INTEGER NOT NULL,\n  parent TEXT,\n  phase TEXT NOT NULL,\n  title TEXT NOT NULL,\n  model TEXT NOT NULL,\n  attempts INTEGER NOT NULL,\n  status TEXT NOT NULL,\n  score REAL,\n  tokens INTEGER NOT NULL,\n  cost_nanos INTEGER NOT NULL,\n  unpriced_tokens INTEGER NOT NULL,\n  started_ms INTEGER,\n  finished_ms INTEGER,\n  output_chars INTEGER NOT NULL,\n  PRIMARY KEY (run_id, step_id)\n) WITHOUT ROWID",
    "steps_model": "CREATE INDEX steps_model ON steps(model, run_id)",
    "attempts": "CREATE TABLE attempts (\n  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n  step_id TEXT NOT NULL,\n  n INTEGER NOT NULL,\n  model TEXT NOT NULL,\n  purpose TEXT NOT NULL,\n  started_ms INTEGER NOT NULL,\n  finished_ms INTEGER,\n  status TEXT NOT NULL,\n  error_class TEXT,\n  message TEXT,\n  http_status INTEGER,\n  tokens INTEGER NOT NULL DEFAULT 0,\n  cost_nanos INTEGER NOT NULL DEFAULT 0,\n  unpriced_tokens INTEGER NOT NULL DEFAULT 0,\n  PRIMARY KEY (run_id, step_id, n)\n) WITHOUT ROWID",
    "events": "CREATE TABLE events (\n  id INTEGER PRIMARY KEY,\n  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n  seq INTEGER NOT NULL,\n  t_ms INTEGER NOT NULL,\n  type TEXT NOT NULL,\n  step TEXT,\n  payload TEXT NOT NULL\n)",
    "events_run_seq": "CREATE UNIQUE INDEX events_run_seq ON events(run_id, seq)",
]

func schema(_ db: Database) throws -> [String: String] {
    var out: [String: String] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'grdb_%'") {
        out[row[0]] = row[1]
    }
    return out
}

@Suite("Journal: schema and migrations")
struct SchemaTests {
    @Test("an empty database migrates to the latest schema")
    func emptyDatabase() throws {
        let dir = try TempDir()
        let j = try Journal.open(directory: dir.url)
        let applied = try j.pool.read { db in try JournalSchema.migrator.appliedIdentifiers(db) }
        #expect(applied == Set(JournalSchema.versions))
        let names = try j.pool.read { db in try schema(db) }.keys
        for table in ["runs", "steps", "attempts", "events", "events_fts", "breakers", "executions"] {
            #expect(names.contains(table), "missing \(table)")
        }
        #expect(try j.runs().isEmpty)
        #expect(try j.integrityCheck() == "ok")
        // Opening again is a no-op migration.
        _ = try Journal.open(directory: dir.url)
        #expect(try j.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") } == "wal")
    }

    @Test("the v1 migration alone produces exactly the frozen v1 schema")
    func v1IsFrozen() throws {
        let dir = try TempDir()
        let queue = try DatabaseQueue(path: dir.url.appendingPathComponent("v1.sqlite").path)
        try JournalSchema.migrator.migrate(queue, upTo: "v1-journal")
        #expect(try queue.read { db in try schema(db) } == v1SchemaFixture)
    }

    @Test("a v1 database with runs upgrades: events readable, text searchable, learning backfilled, cut-off run interrupted")
    func upgradeFromV1() async throws {
        let dir = try TempDir()
        let dbPath = dir.url.appendingPathComponent(DataDirectory.databaseFileName).path
        let finished = RunScript.rich(runID: "v1-finished", task: "Translate the zephyrine manual")
        let cut = RunScript.rich(runID: "v1-cut", task: "Draft the release notes", finish: false)
        try fillV1(path: dbPath, scripts: [finished, cut])
        let j = try Journal.open(directory: dir.url)
        #expect(try syncRead(j) { db in try JournalSchema.migrator.appliedIdentifiers(db) } == Set(JournalSchema.versions))
        // Events read back: the same events, text coalesced per step.
        #expect(sameRun(try j.events("v1-finished"), finished.events))
        #expect(try j.events("v1-finished").count < finished.events.count / 2)
        #expect(try j.state("v1-finished")?.comparable == RunState.replay(finished.events).comparable)
        // Text moved out of the JSON and into the search index.
        #expect(try j.runs(RunFilter(search: "zephyrine")).map(\.id) == ["v1-finished"])
        #expect(try j.runs(RunFilter(search: "zanzibar")).count == 2)
        let jsonText = try syncRead(j) { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE type = 'text_delta' AND payload IS NOT NULL")
        }
        #expect(jsonText == 0)
        // The finished run became a learning record; the cut-off run is interrupted.
        let similar = try await j.similar(to: .code, complexity: 0.6, tolerance: 0.1, limit: 10)
        #expect(similar.map(\.runID) == ["v1-finished"])
        #expect(similar.first?.modelsByStep["generation"] == "sim/fallback")
        #expect(try j.run("v1-cut")?.status == .interrupted)
        #expect(try j.resumeData("v1-cut").finishedSteps.map(\.stepID).contains("generation"))
        // And the upgraded journal takes new events.
        var more = RunScript(runID: "v1-cut")
        more.seq = try j.resumePoint("v1-cut").prior.lastSeq
        more.emit(.runResumed(.init(keptSteps: ["planning", "generation", "review"])))
        more.phase("validation", model: "sim/validation-model", text: "ok")
        more.emit(.runFinished(.init()))
        try j.append(more.events)
        #expect(try j.run("v1-cut")?.status == .succeeded)
        #expect(try j.integrityCheck() == "ok")
    }
}


/// A v1 database as v1 wrote it: every event's full JSON in payload, one row per delta.
func fillV1(path: String, scripts: [RunScript]) throws {
    let queue = try DatabaseQueue(path: path)
    try JournalSchema.migrator.migrate(queue, upTo: "v1-journal")
    #expect(try queue.read { db in try schema(db) } == v1SchemaFixture)
    try queue.write { db in
        for script in scripts {
            let st = RunState.replay(script.events)
            try db.execute(
                sql: "INSERT INTO runs (id, task, task_type, complexity, strategy, serving, status, score, cost_nanos, unpriced_tokens, tokens, started_at, duration_ms, last_seq, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                arguments: [st.runID, st.task, st.plan!.intent.taskType.rawValue, st.plan!.intent.complexity,
                            st.plan!.strategy.rawValue, st.plan!.serving.rawValue, st.status.rawValue, st.score,
                            st.cost.money.nanodollars, st.cost.unpricedTokens, st.usage.totalTokens,
                            st.plan!.createdAt.timeIntervalSince1970, st.elapsedMs, st.lastSeq, 0.0])
            for (i, s) in st.steps.values.enumerated() {
                try db.execute(
                    sql: "INSERT INTO steps VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    arguments: [st.runID, s.id, i, s.parent, s.phase.rawValue, s.title, s.model.rawValue, s.attempts,
                                s.status.rawValue, s.quality?.score, s.usage.totalTokens, s.cost.money.nanodollars,
                                s.cost.unpricedTokens, s.startedMs, s.finishedMs, s.output.count])
            }
            for e in script.events {
                try db.execute(
                    sql: "INSERT INTO events (run_id, seq, t_ms, type, step, payload) VALUES (?,?,?,?,?,?)",
                    arguments: [e.runID, e.seq, e.elapsedMs, e.typeName, e.kind.stepID,
                                String(decoding: try JSONEncoder().encode(e), as: UTF8.self)])
            }
        }
    }
}

func syncRead<T>(_ j: Journal, _ body: (Database) throws -> T) throws -> T {
    try j.pool.read(body)
}
