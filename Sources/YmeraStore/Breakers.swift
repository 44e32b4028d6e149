import Foundation
import GRDB
import YmeraCore

extension Journal {
    /// Records a model's breaker state (the engine calls this on every change). A closed breaker is
    /// removed: only open and half-open ones need to survive a restart.
    public func saveBreaker(
        model: ModelID, state: BreakerState, reason: String, openedAt: Date?, cooldownUntil: Date?
    ) throws {
        let updated = now().timeIntervalSince1970
        try pool.write { db in
            if state == .closed {
                try db.execute(sql: "DELETE FROM breakers WHERE model = ?", arguments: [model.rawValue])
                return
            }
            try db.execute(
                sql: """
                    INSERT INTO breakers (model, state, reason, opened_at, cooldown_until, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(model) DO UPDATE SET state = excluded.state, reason = excluded.reason,
                      opened_at = excluded.opened_at, cooldown_until = excluded.cooldown_until,
                      updated_at = excluded.updated_at
                    """,
                arguments: [
                    model.rawValue, state.rawValue, reason, openedAt?.timeIntervalSince1970,
                    cooldownUntil?.timeIntervalSince1970, updated,
                ])
        }
    }

    /// Saves a `PersistedBreaker`.
    public func saveBreaker(_ b: PersistedBreaker) throws {
        try saveBreaker(model: b.model, state: b.state, reason: b.reason, openedAt: b.openedAt, cooldownUntil: b.cooldownUntil)
    }

    /// Breakers whose cool-down has not ended at `now` (open ones, and half-open ones whose probe was
    /// cut off by the end of the last session). Once the cool-down is over a breaker is not returned:
    /// the engine lets a probe through again.
    public func loadBreakers(now: Date) throws -> [PersistedBreaker] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT model, state, reason, opened_at, cooldown_until FROM breakers
                    WHERE state != 'closed' AND cooldown_until IS NOT NULL AND cooldown_until > ?
                    ORDER BY model
                    """, arguments: [now.timeIntervalSince1970]
            ).map { r in
                PersistedBreaker(
                    model: ModelID(r[0] as String), state: BreakerState(rawValue: r[1]) ?? .open, reason: r[2],
                    openedAt: (r[3] as Double?).map(Date.init(timeIntervalSince1970:)),
                    cooldownUntil: (r[4] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }
}

extension Journal: ExecutionHistory {
    /// Records (or replaces) a finished execution. Runs journaled through `append` are recorded
    /// automatically when they end; the engine may call this to record a more precise figure.
    public func record(_ execution: ExecutionRecord) async throws {
        try await pool.write { db in try Self.upsertExecution(db, execution) }
    }

    /// Past executions of `taskType` with complexity within `tolerance`, newest first.
    public func similar(to taskType: TaskType, complexity: Double, tolerance: Double, limit: Int) async throws
        -> [ExecutionRecord]
    {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT run_id, task_type, complexity, strategy, models_json, score, duration_ms, cost_nanos,
                      unpriced_tokens, succeeded, finished_at
                    FROM executions
                    WHERE task_type = ? AND complexity BETWEEN ? AND ?
                    ORDER BY finished_at DESC LIMIT ?
                    """,
                arguments: [taskType.rawValue, complexity - tolerance - 1e-9, complexity + tolerance + 1e-9, max(0, limit)]
            ).compactMap { r -> ExecutionRecord? in
                guard let type = TaskType(rawValue: r[1]), let strategy = Strategy(rawValue: r[3]) else { return nil }
                let modelsJSON: String = r[4]
                let models = (try? JSONDecoder().decode([String: ModelID].self, from: Data(modelsJSON.utf8))) ?? [:]
                return ExecutionRecord(
                    runID: r[0], taskType: type, complexity: r[2], strategy: strategy, modelsByStep: models,
                    score: r[5], durationMs: r[6], cost: Cost(money: Money(nanodollars: r[7]), unpricedTokens: r[8]),
                    succeeded: r[9], finishedAt: Date(timeIntervalSince1970: r[10]))
            }
        }
    }
}

extension Journal {
    /// A `ResilienceRegistry` listener that keeps open breakers across sessions: an opening is saved
    /// with its wall-clock cool-down, a close removes it.
    ///
    ///     let registry = ResilienceRegistry(listener: journal.breakerListener())
    ///     try journal.restoreBreakers(into: registry, nowMs: clock.nowMs())
    public func breakerListener(now: @escaping @Sendable () -> Date = { Date() }) -> ResilienceRegistry.Listener {
        { [self] model, t, _ in
            let wall = now()
            let until = t.cooldownMs.map { wall.addingTimeInterval(Double($0) / 1000) }
            // A journal write failure must not stop a run; the breaker then just starts closed next time.
            try? saveBreaker(
                model: model, state: t.to, reason: t.reason, openedAt: t.to == .open ? wall : nil,
                cooldownUntil: t.to == .closed ? nil : until)
        }
    }

    /// Re-opens in `registry` every breaker whose cool-down had not ended at `now`, for the time left.
    /// Returns the breakers restored.
    @discardableResult
    public func restoreBreakers(into registry: ResilienceRegistry, nowMs: Int64, now: Date = Date()) throws
        -> [PersistedBreaker]
    {
        let open = try loadBreakers(now: now)
        for b in open {
            let left = Int64((b.remainingCooldown(now: now) * 1000).rounded(.up))
            _ = registry.forceOpen(b.model, nowMs: nowMs, forMs: max(1, left), reason: b.reason)
        }
        return open
    }
}
