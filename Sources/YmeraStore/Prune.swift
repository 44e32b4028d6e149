import Foundation
import GRDB
import YmeraCore

/// What `prune` removed.
public struct PruneResult: Sendable, Hashable, Codable {
    public var runs: Int
    public var events: Int
    public var bytesBefore: Int64
    public var bytesAfter: Int64
}

extension Journal {
    /// Keeps the `keep` newest runs and deletes the rest (their events, outputs, search entries, steps
    /// and attempts). Runs that are live in a running process are never deleted.
    public func prune(keep: Int, vacuum: Bool = false) throws -> PruneResult {
        guard keep >= 0 else { throw JournalError.invalidArgument("--keep must be 0 or more") }
        return try prune(
            where: "id NOT IN (SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT ?)", arguments: [keep],
            vacuum: vacuum)
    }

    /// Deletes runs started more than `days` days before `now`.
    public func prune(olderThanDays days: Double, vacuum: Bool = false) throws -> PruneResult {
        guard days >= 0 else { throw JournalError.invalidArgument("--older-than must be 0 or more days") }
        let cutoff = now().addingTimeInterval(-days * 86_400).timeIntervalSince1970
        return try prune(where: "started_at < ?", arguments: [cutoff], vacuum: vacuum)
    }

    private func prune(where clause: String, arguments: StatementArguments, vacuum: Bool) throws -> PruneResult {
        let before = databaseBytes()
        // Live runs of this process and of other running processes are kept.
        try markInterruptedRuns()
        let liveHere = writer.withLock { Set($0.live.keys) }
        let result = try pool.write { db -> (Int, Int) in
            let candidates = try Row.fetchAll(
                db, sql: "SELECT id, status, owner_pid, owner_start FROM runs WHERE \(clause)", arguments: arguments)
            var ids: [String] = []
            for r in candidates {
                let id: String = r[0]
                let status = RunStatus(rawValue: r[1]) ?? .interrupted
                if liveHere.contains(id) { continue }
                if !status.isTerminal && status != .interrupted {
                    let owner = ProcessIdentity(pid: r[2] ?? 0, startTicks: r[3] ?? 0)
                    if owner.isAlive { continue }
                }
                ids.append(id)
            }
            var events = 0
            for id in ids {
                // Events first: their delete trigger removes the search entries.
                try db.execute(sql: "DELETE FROM events WHERE run_id = ?", arguments: [id])
                events += db.changesCount
                try db.execute(sql: "DELETE FROM attempts WHERE run_id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM steps WHERE run_id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM runs WHERE id = ?", arguments: [id])
            }
            return (ids.count, events)
        }
        if vacuum {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "INSERT INTO events_fts(events_fts) VALUES ('optimize')")
                try db.execute(sql: "VACUUM")
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
            try Self.restrictPermissions(databaseURL)
        }
        return PruneResult(runs: result.0, events: result.1, bytesBefore: before, bytesAfter: databaseBytes())
    }

    /// Bytes used by the database file and its WAL.
    public func databaseBytes() -> Int64 {
        var total: Int64 = 0
        for suffix in ["", "-wal"] {
            let attrs = try? FileManager.default.attributesOfItem(atPath: databaseURL.path + suffix)
            total += (attrs?[.size] as? NSNumber)?.int64Value ?? 0
        }
        return total
    }

    /// `PRAGMA integrity_check` plus the full-text index's check against its content: "ok" when sound.
    public func integrityCheck() throws -> String {
        let sqlite = try pool.read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n")
        }
        guard sqlite == "ok" else { return sqlite }
        do {
            try pool.write { db in
                try db.execute(sql: "INSERT INTO events_fts(events_fts, rank) VALUES ('integrity-check', 1)")
            }
        } catch {
            return "full-text index: \(error)"
        }
        return "ok"
    }
}
