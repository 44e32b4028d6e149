import Foundation
import GRDB
import YmeraCore

/// One journaled row: an event, and the last sequence number it covers. A text_delta row may coalesce
/// several deltas of one step (`seq…seqEnd`); every other row covers its own `seq` only.
public struct JournaledEvent: Sendable {
    public var event: RunEvent
    public var seqEnd: Int
}

/// A page of a run's journal, for clients that page through it (`ymera mcp`'s run_events).
public struct EventPage: Sendable {
    /// Rows with seq greater than the page's `after`, in seq order.
    public var rows: [JournaledEvent]
    /// More rows follow the page.
    public var more: Bool
    /// The highest sequence number the run's journaled rows cover.
    public var lastSeq: Int
}

extension Journal {
    /// Rows with `seq > after`, at most `limit`. While `stopAtGap` is set, the page ends before a row
    /// that would leave a sequence number uncovered (a live run's text still held in memory by another
    /// step's coalescing): a reader paging on from the last row's seq then misses nothing.
    public func eventPage(_ runID: String, after: Int, limit: Int, stopAtGap: Bool) throws -> EventPage {
        try pool.read { db in
            let decoder = JSONDecoder()
            // Everything up to `after` is covered as far as the rows at or before it reach.
            var covered =
                try Int.fetchOne(
                    db, sql: "SELECT max(max(seq, coalesce(seq_end, 0))) FROM events WHERE run_id = ? AND seq <= ?",
                    arguments: [runID, after]) ?? 0
            covered = max(covered, after)
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT seq, seq_end, t_ms, type, step, text, payload FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                arguments: [runID, after, limit + 1])
            var out: [JournaledEvent] = []
            var more = rows.count > limit
            for r in rows.prefix(limit) {
                let seq: Int = r[0]
                if stopAtGap && seq > covered + 1 {
                    more = true
                    break
                }
                let end = max(seq, (r[1] as Int?) ?? seq)
                out.append(
                    JournaledEvent(
                        event: try Self.decodeEvent(runID: runID, seq: seq, t: r[2], type: r[3], step: r[4], text: r[5], payload: r[6], decoder: decoder),
                        seqEnd: end))
                covered = max(covered, end)
            }
            return EventPage(rows: out, more: more, lastSeq: try Self.fetchLastSeq(db, runID: runID))
        }
    }

    /// One stored row as its event: a text row is a text delta, any other row its JSON payload.
    static func decodeEvent(
        runID: String, seq: Int, t: Int, type: String, step: String?, text: String?, payload: String?, decoder: JSONDecoder
    ) throws -> RunEvent {
        if type == "text_delta" {
            return RunEvent(runID: runID, seq: seq, elapsedMs: t, kind: .textDelta(.init(step: step ?? "", text: text ?? "")))
        }
        return try decoder.decode(RunEvent.self, from: Data((payload ?? "{}").utf8))
    }

    /// Runs newest first, after the run `cursor` names (the last one of the previous page), at most `limit`.
    /// Throws `JournalError.runNotFound` when the cursor names no run (pruned, or never one).
    public func runsPage(after cursor: String?, limit: Int) throws -> (runs: [RunRecord], more: Bool) {
        try pool.read { db in
            var sql = "SELECT \(Self.runColumns) FROM runs"
            var args: [(any DatabaseValueConvertible)?] = []
            if let cursor {
                guard let started = try Double.fetchOne(db, sql: "SELECT started_at FROM runs WHERE id = ?", arguments: [cursor]) else {
                    throw JournalError.runNotFound(cursor)
                }
                sql += " WHERE runs.started_at < ? OR (runs.started_at = ? AND runs.id < ?)"
                args += [started, started, cursor]
            }
            sql += " ORDER BY " + RunSort.newest.sql + " LIMIT ?"
            args.append(limit + 1)
            let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map(Self.runRecord)
            return (Array(rows.prefix(limit)), rows.count > limit)
        }
    }
}
