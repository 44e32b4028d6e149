import Foundation
import YmeraCore

/// Buffers a live run's events and writes them to the journal in batches (one transaction each),
/// so the journal keeps up with a fast token stream.
///
/// Events that end something (a plan, a finished/failed/skipped step, the end of a run, a resume, a
/// reset) are written before `record` returns: once the engine has seen `record(stepDone)` return,
/// that step survives a SIGKILL. Other events are written when `maxBatch` accumulate or within
/// `maxDelay` (a background flush), or on `flush()`.
public actor JournalRecorder {
    public let journal: Journal
    public let maxBatch: Int
    public let maxDelay: Duration
    private var buffer: [RunEvent] = []
    private var timer: Task<Void, Never>?
    /// The first error a background flush hit; thrown by the next `record` or `flush`.
    private var backgroundError: (any Error)?

    public init(journal: Journal, maxBatch: Int = 256, maxDelay: Duration = .milliseconds(100)) {
        self.journal = journal
        self.maxBatch = max(1, maxBatch)
        self.maxDelay = maxDelay
    }

    /// Records one event (see the type's documentation for when it reaches the disk).
    public func record(_ event: RunEvent) throws {
        if let e = backgroundError {
            backgroundError = nil
            throw e
        }
        buffer.append(event)
        if Self.isCheckpoint(event.kind) || buffer.count >= maxBatch {
            try flushNow()
        } else if timer == nil {
            let delay = maxDelay
            timer = Task { [weak self] in
                try? await Task.sleep(for: delay)
                await self?.timerFired()
            }
        }
    }

    /// Writes everything buffered, including held-back text.
    public func flush() throws {
        try flushNow()
        try journal.sync()
        if let e = backgroundError {
            backgroundError = nil
            throw e
        }
    }

    /// Flushes and stops the timer.
    public func finish() throws {
        timer?.cancel()
        timer = nil
        try flush()
    }

    private func timerFired() {
        timer = nil
        do { try flushNow() } catch { if backgroundError == nil { backgroundError = error } }
    }

    private func flushNow() throws {
        guard !buffer.isEmpty else { return }
        let batch = buffer
        buffer.removeAll(keepingCapacity: true)
        try journal.append(batch)
    }

    static func isCheckpoint(_ kind: RunEvent.Kind) -> Bool {
        switch kind {
        case .runPlanned, .stepDone, .stepFailed, .stepSkipped, .runFinished, .runFailed, .runCancelled,
            .runResumed, .stepReset, .subtasksPlanned, .candidateChosen, .paused, .filesWritten, .stepReused, .awaitingApproval, .gateApproved:
            true
        default:
            false
        }
    }
}
