import Foundation
import GRDB
import YmeraCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The journal's ownership and command channel in SQLite (`run_owners`, `run_commands`). Claims and
/// command hand-overs are single write transactions (GRDB opens them with `BEGIN IMMEDIATE`, so
/// writers of every process queue on SQLite's lock): whoever commits first wins, the others then see
/// the new owner — there is no window between the check and the write.
extension Journal: RunCoordination {
    /// A heartbeat older than this means the owner is gone, even when its pid still answers.
    public static let defaultStaleAfter: TimeInterval = 30
    /// How often an owner renews its heartbeat.
    public static let heartbeatInterval: Duration = .seconds(3)

    public var me: RunOwner {
        let t = now()
        return RunOwner(pid: owner.pid, host: Self.hostName, startTicks: owner.startTicks, since: t, heartbeat: t)
    }

    /// This machine's name (the owner record's host).
    public static let hostName: String = {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }()

    /// Whether an owner record names a process that is gone: its heartbeat is stale, or (on this
    /// machine) its pid is dead or now belongs to another process.
    func isGone(_ o: RunOwner, staleAfter: TimeInterval) -> Bool {
        if o.pid == owner.pid && o.startTicks == owner.startTicks && o.host == Self.hostName { return false }
        if now().timeIntervalSince(o.heartbeat) > staleAfter { return true }
        if o.host == Self.hostName { return !ProcessIdentity(pid: o.pid, startTicks: o.startTicks).isAlive }
        return false
    }

    static func ownerRecord(_ r: Row) -> RunOwner {
        RunOwner(
            pid: r["pid"], host: r["host"], startTicks: r["start_ticks"],
            since: Date(timeIntervalSince1970: r["since"]), heartbeat: Date(timeIntervalSince1970: r["heartbeat"]))
    }

    static func fetchOwner(_ db: Database, runID: String) throws -> RunOwner? {
        try Row.fetchOne(db, sql: "SELECT * FROM run_owners WHERE run_id = ?", arguments: [runID]).map(ownerRecord)
    }

    func isMine(_ o: RunOwner) -> Bool {
        o.pid == owner.pid && o.startTicks == owner.startTicks && o.host == Self.hostName
    }

    public func claim(runID: String, staleAfter: TimeInterval = Journal.defaultStaleAfter) throws -> ClaimOutcome {
        let wallNow = now().timeIntervalSince1970
        let outcome = try pool.write { db -> ClaimOutcome in
            let status = try String.fetchOne(db, sql: "SELECT status FROM runs WHERE id = ?", arguments: [runID])
                .flatMap(RunStatus.init(rawValue:))
            if let status, status.isTerminal { return .ended(status) }
            let previous = try Self.fetchOwner(db, runID: runID)
            if let previous, !isMine(previous), !isGone(previous, staleAfter: staleAfter) { return .ownedBy(previous) }
            if status == nil {
                try db.execute(
                    sql: """
                        INSERT INTO runs (id, status, started_at, updated_at, owner_pid, owner_start)
                        VALUES (?, 'planned', ?, ?, ?, ?)
                        """,
                    arguments: [runID, wallNow, wallNow, owner.pid, owner.startTicks])
            } else {
                try db.execute(
                    sql: "UPDATE runs SET owner_pid = ?, owner_start = ? WHERE id = ?",
                    arguments: [owner.pid, owner.startTicks, runID])
            }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO run_owners (run_id, pid, host, start_ticks, since, heartbeat)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [runID, owner.pid, Self.hostName, owner.startTicks, wallNow, wallNow])
            return .claimed(previous: previous.flatMap { isMine($0) ? nil : $0 })
        }
        if case .claimed = outcome {
            // Whatever this process folded of the run before is stale now: reload it from the journal.
            writer.withLock { $0.live[runID] = nil }
        }
        return outcome
    }

    public func heartbeat(runID: String) throws -> Bool {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE run_owners SET heartbeat = ? WHERE run_id = ? AND pid = ? AND host = ? AND start_ticks = ?",
                arguments: [now().timeIntervalSince1970, runID, owner.pid, Self.hostName, owner.startTicks])
            return db.changesCount > 0
        }
    }

    public func release(runID: String) throws {
        try pool.write { db in
            try db.execute(
                sql: "DELETE FROM run_owners WHERE run_id = ? AND pid = ? AND host = ? AND start_ticks = ?",
                arguments: [runID, owner.pid, Self.hostName, owner.startTicks])
            // Commands nobody will take any more.
            try db.execute(
                sql: """
                    UPDATE run_commands SET state = 'refused', outcome = 'the run ended before the command was taken',
                      settled_at = ? WHERE run_id = ? AND state = 'pending'
                    """, arguments: [now().timeIntervalSince1970, runID])
        }
    }

    public func liveOwner(of runID: String, staleAfter: TimeInterval = Journal.defaultStaleAfter) throws -> RunOwner? {
        guard let o = try pool.read({ db in try Self.fetchOwner(db, runID: runID) }) else { return nil }
        return isGone(o, staleAfter: staleAfter) ? nil : o
    }

    public func liveRuns(staleAfter: TimeInterval = Journal.defaultStaleAfter) throws -> [(runID: String, owner: RunOwner)] {
        let rows = try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT o.* FROM run_owners o JOIN runs r ON r.id = o.run_id
                    WHERE r.status NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY o.since
                    """)
        }
        return rows.compactMap { r in
            let o = Self.ownerRecord(r)
            return isGone(o, staleAfter: staleAfter) ? nil : (r["run_id"], o)
        }
    }

    public func send(_ command: RunCommand, to runID: String) throws -> Int64 {
        let me = self.me
        var step: String?
        var model: String?
        var reason: String?
        // The text of a command (a cancel's reason, a note, an edited output) goes in `reason`.
        switch command {
        case .pause, .resume: break
        case .retry(let s, let m):
            step = s
            model = m?.rawValue
        case .swap(let s, let m):
            step = s
            model = m.rawValue
        case .cancel(let r), .reject(let r): reason = r
        case .resetBreaker(let m): model = m.rawValue
        case .forceOpenBreaker(let m, let ms):
            model = m.rawValue
            reason = String(ms)
        case .approve(let edited): reason = edited
        case .rerun(let note, let m):
            reason = note
            model = m?.rawValue
        }
        return try pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO run_commands (run_id, kind, step, model, reason, issued_by, issued_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [runID, command.name, step, model, reason, "pid \(me.pid) on \(me.host)", me.since.timeIntervalSince1970])
            return db.lastInsertedRowID
        }
    }

    public func takeCommands(runIDs: [String]) throws -> [ControlCommandRecord] {
        guard !runIDs.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: runIDs.count).joined(separator: ", ")
        // Most wakes find nothing: look before taking the write lock.
        let any = try pool.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT 1 FROM run_commands WHERE state = 'pending' AND run_id IN (\(marks)) LIMIT 1",
                arguments: StatementArguments(runIDs)) ?? false
        }
        guard any else { return [] }
        return try pool.write { db in
            // Only the owner of a run takes its commands.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT c.* FROM run_commands c JOIN run_owners o ON o.run_id = c.run_id
                    WHERE c.state = 'pending' AND c.run_id IN (\(marks))
                      AND o.pid = ? AND o.host = ? AND o.start_ticks = ?
                    ORDER BY c.id
                    """,
                arguments: StatementArguments(
                    runIDs.map { $0 as any DatabaseValueConvertible } + [owner.pid, Self.hostName, owner.startTicks]))
            let records = rows.compactMap(Self.commandRecord)
            for r in rows {
                try db.execute(sql: "UPDATE run_commands SET state = 'taken' WHERE id = ?", arguments: [r["id"] as Int64])
            }
            return records
        }
    }

    public func settle(_ commandID: Int64, state: ControlCommandRecord.State, reason: String?, afterSeq: Int?) throws {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE run_commands SET state = ?, outcome = ?, after_seq = ?, settled_at = ? WHERE id = ?",
                arguments: [state.rawValue, reason, afterSeq, now().timeIntervalSince1970, commandID])
        }
    }

    public func command(_ id: Int64) throws -> ControlCommandRecord? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM run_commands WHERE id = ?", arguments: [id]).flatMap(Self.commandRecord)
        }
    }

    static func commandRecord(_ r: Row) -> ControlCommandRecord? {
        let kind: String = r["kind"]
        let step: String? = r["step"]
        let model: String? = r["model"]
        let command: RunCommand
        switch kind {
        case "pause": command = .pause
        case "resume": command = .resume
        case "retry": command = .retry(step: step ?? "", on: model.map(ModelID.init(rawValue:)))
        case "swap": command = .swap(step: step ?? "", to: ModelID(model ?? ""))
        case "cancel": command = .cancel(reason: r["reason"] ?? "cancelled")
        // Breaker commands were journaled as `breaker-reset` / `breaker-force-open` before the engine's
        // names were used here.
        case "breaker_reset", "breaker-reset": command = .resetBreaker(ModelID(model ?? ""))
        case "breaker_open", "breaker-force-open":
            command = .forceOpenBreaker(ModelID(model ?? ""), forMs: (r["reason"] as String?).flatMap { Int64($0) } ?? 60_000)
        case "approve": command = .approve(edited: r["reason"])
        case "rerun": command = .rerun(note: r["reason"], model: model.map(ModelID.init(rawValue:)))
        case "reject": command = .reject(reason: r["reason"] ?? "rejected")
        default: return nil
        }
        let stateText: String = r["state"]
        return ControlCommandRecord(
            id: r["id"], runID: r["run_id"], command: command, issuedBy: r["issued_by"],
            issuedAt: Date(timeIntervalSince1970: r["issued_at"]),
            state: ControlCommandRecord.State(rawValue: stateText) ?? .pending, reason: r["outcome"], afterSeq: r["after_seq"])
    }

    /// Events of a run after sequence number `seq` (a waiter for a confirming event reads them).
    public func events(_ runID: String, after seq: Int) throws -> [RunEvent] {
        try pool.read { db in try Self.fetchEvents(db, runID: runID, where: "seq > ?", [seq]) }
    }

    /// Refuses an append to a run owned by another process (fencing: a taken-over owner cannot write).
    func checkOwnership(_ db: Database, runID: String) throws {
        guard let o = try Self.fetchOwner(db, runID: runID) else { return }
        if !isMine(o) { throw JournalError.notOwner(runID, owner: o.label) }
    }
}

/// Where a follower of other processes' runs stands: the last event row it has read.
public struct FollowCursor: Sendable, Hashable {
    public var lastRow: Int64 = 0
    /// Runs it follows (their new events are read).
    public var following: Set<String> = []
    public init() {}
}

/// What changed in the journal for a follower since its cursor.
public struct FollowUpdate: Sendable {
    /// Live runs of other processes seen for the first time: their owner and every event so far.
    public var discovered: [(runID: String, owner: RunOwner, events: [RunEvent])] = []
    /// New events of runs already followed, in the order they were journaled.
    public var events: [RunEvent] = []
    /// Followed runs whose owner is gone without journaling an end (now `interrupted`).
    public var ownerGone: [String] = []
    public var isEmpty: Bool { discovered.isEmpty && events.isEmpty && ownerGone.isEmpty }
}

extension Journal {
    /// Reads, in one snapshot, what a follower has not seen: live runs of other processes it does not
    /// follow yet, and new events of the runs it follows. Advances `cursor`. Runs of this process are
    /// never reported (their events reach this process's views directly).
    public func follow(_ cursor: inout FollowCursor, staleAfter: TimeInterval = Journal.defaultStaleAfter) throws -> FollowUpdate {
        let known = cursor.following
        let last = cursor.lastRow
        let (update, maxRow, ended) = try pool.read { db -> (FollowUpdate, Int64, Set<String>) in
            var u = FollowUpdate()
            let maxRow = try Int64.fetchOne(db, sql: "SELECT max(id) FROM events") ?? 0
            let owners = try Row.fetchAll(
                db,
                sql: """
                    SELECT o.* FROM run_owners o JOIN runs r ON r.id = o.run_id
                    WHERE r.status NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY o.since
                    """)
            var live = Set<String>()
            for r in owners {
                let o = Self.ownerRecord(r)
                let id: String = r["run_id"]
                guard !isMine(o), !isGone(o, staleAfter: staleAfter) else { continue }
                live.insert(id)
                if !known.contains(id) {
                    let events = try Self.fetchEvents(db, runID: id, where: "id <= ?", [maxRow])
                    u.discovered.append((id, o, events))
                }
            }
            var ended = Set<String>()
            if !known.isEmpty && maxRow > last {
                for id in known.sorted() {
                    u.events += try Self.fetchEvents(db, runID: id, where: "id > ? AND id <= ?", [last, maxRow], order: "id")
                }
            }
            for e in u.events where CommandPolicy.ends(e) { ended.insert(e.runID) }
            for id in known where !live.contains(id) && !ended.contains(id) {
                // Not live any more and no end in what was just read: ended earlier, or its owner is gone.
                let status = try String.fetchOne(db, sql: "SELECT status FROM runs WHERE id = ?", arguments: [id])
                    .flatMap(RunStatus.init(rawValue:))
                if status?.isTerminal == true { ended.insert(id) } else { u.ownerGone.append(id) }
            }
            return (u, maxRow, ended)
        }
        cursor.lastRow = max(cursor.lastRow, maxRow)
        for d in update.discovered { cursor.following.insert(d.runID) }
        for id in ended { cursor.following.remove(id) }
        for id in update.ownerGone { cursor.following.remove(id) }
        return update
    }
}
