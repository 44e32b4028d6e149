import Foundation
import Synchronization
import YmeraCore

/// Journals a live run: `record` hands each event to the journal's writer thread
/// (`JournalGroupCommit`); the writer commits in groups, across runs. Only an event that ends
/// something waits for its commit before `record` returns (so what the stream shows as done is on
/// disk); text deltas and the like return at once. Give the engine both ends:
///
///     let sink = JournalSink(journal: journal)
///     let handle = engine.start(plan, resume: point, observer: { event, _ in sink.record(event) },
///                               durable: { seq in await sink.durable(through: seq) })
///     …
///     try await sink.finish()
///
/// Durability: an event that ends something (plan, a finished/failed/skipped step, the end of a
/// run, a resume, a reset — `JournalRecorder.isCheckpoint`) is committed at once, and the engine
/// waits for a step's end to be durable before the next attempt starts (`durable(through:)`), so a
/// finished step survives a SIGKILL and a resumed run never calls a provider for it again. Other
/// events (text deltas, usage) are committed within `maxDelay` or once `maxBatch` wait. `finish`
/// returns once everything recorded is on disk. Safe to call from several threads at once; the
/// journal puts events back in sequence order.
public final class JournalSink: Sendable {
    public let journal: Journal
    public let maxBatch: Int
    public let maxDelay: Duration

    private struct State {
        /// Events recorded and not yet committed.
        var unwritten = 0
        /// The ticket of the last event recorded.
        var lastTicket: UInt64 = 0
        /// Recorded events' tickets by run sequence number, for events that ended a step and are
        /// not yet known committed (a handful at a time).
        var stepEnds: [(seq: Int, ticket: UInt64)] = []
        /// The highest sequence number recorded.
        var recordedSeq = 0
        /// Barriers waiting for a sequence number not yet recorded (its event is still on its way
        /// from another emitting thread).
        var early: [(seq: Int, continuation: CheckedContinuation<UInt64?, Never>)] = []
        var error: (any Error)?
        var finished = false
        /// The runs whose events this sink recorded (one, in practice).
        var runIDs: Set<String> = []
    }
    private let state = Mutex(State())

    /// Told of each batch once it is committed (benchmarks trace commit times with it).
    let onCommit: (@Sendable ([RunEvent]) -> Void)?

    public init(
        journal: Journal, maxBatch: Int = 256, maxDelay: Duration = .milliseconds(100),
        onCommit: (@Sendable ([RunEvent]) -> Void)? = nil
    ) {
        self.onCommit = onCommit
        self.journal = journal
        self.maxBatch = max(1, maxBatch)
        self.maxDelay = maxDelay
    }

    /// Records one event (see the type's documentation for when it reaches the disk). Never throws:
    /// the first write error is kept and thrown by `finish()`, and a
    /// run is not stopped by its journal.
    public func record(_ event: RunEvent) {
        let writer = journal.groupCommit
        let checkpoint = JournalRecorder.isCheckpoint(event.kind)
        var waitFor: UInt64 = 0
        let resume = state.withLock { s -> [(CheckedContinuation<UInt64?, Never>, UInt64)] in
            guard !s.finished else { return [] }
            s.unwritten += 1
            let urgent = checkpoint || s.unwritten >= maxBatch
            // Enqueued under the sink's lock, so tickets follow the order events were recorded in.
            let ticket = writer.enqueue(event, from: self, urgent: urgent)
            if checkpoint { waitFor = ticket }
            s.lastTicket = ticket
            s.recordedSeq = max(s.recordedSeq, event.seq)
            if !s.runIDs.contains(event.runID) { s.runIDs.insert(event.runID) }
            if event.kind.endsAStep { s.stepEnds.append((event.seq, ticket)) }
            var ready: [(CheckedContinuation<UInt64?, Never>, UInt64)] = []
            s.early.removeAll { w in
                guard w.seq <= s.recordedSeq else { return false }
                ready.append((w.continuation, ticket))
                return true
            }
            return ready
        }
        for (c, t) in resume { c.resume(returning: t) }
        // An event that ends something is on disk before anyone sees it (the stream's consumers print
        // it next): the crash test's "reported done ⇒ journaled" holds. The writer still groups these
        // commits across runs; other events never wait.
        if waitFor > 0 { writer.waitCommittedBlocking(waitFor) }
    }

    /// Returns once every event of this run up to `seq` is committed (the engine's barrier before
    /// an attempt starts). Returns at once after `finish`.
    public func durable(through seq: Int) async {
        let known = state.withLock { s -> UInt64?? in
            if s.finished { return .some(nil) }
            guard s.recordedSeq >= seq else { return nil }
            // A step end not yet known committed; once committed it leaves `stepEnds`. Any other
            // event: the last one recorded covers it.
            if let t = s.stepEnds.first(where: { $0.seq == seq })?.ticket { return .some(t) }
            return .some(s.stepEnds.isEmpty && s.unwritten == 0 ? nil : s.lastTicket)
        }
        let ticket: UInt64?
        switch known {
        case .some(let t): ticket = t
        case .none:
            ticket = await withCheckedContinuation { (c: CheckedContinuation<UInt64?, Never>) in
                let now = state.withLock { s -> UInt64?? in
                    if s.finished { return .some(nil) }
                    if s.recordedSeq >= seq { return .some(s.lastTicket) }
                    s.early.append((seq, c))
                    return nil
                }
                if case .some(let t) = now { c.resume(returning: t) }
            }
        }
        if let ticket { await journal.groupCommit.waitCommitted(ticket) }
    }

    /// Called by the writer thread once `events` are committed (or failed to be).
    func committed(_ events: [RunEvent], error: (any Error)?) {
        state.withLock { s in
            s.unwritten = max(0, s.unwritten - events.count)
            if let error, s.error == nil { s.error = error }
            if let last = events.last?.seq { s.stepEnds.removeAll { $0.seq <= last } }
        }
        if error == nil { onCommit?(events) }
    }

    /// Blocks until what is recorded is written, including held-back text; reports the first write
    /// error. (Not from a run's path: `finish` and `durable(through:)` wait without blocking a thread.)
    public func flush() throws {
        let ticket = state.withLock { $0.lastTicket }
        journal.groupCommit.waitCommittedBlocking(ticket)
        try journal.sync()
        try takeError()
    }

    /// Stops recording, waits until everything recorded is on disk (held-back text included), and
    /// reports the first write error, if any.
    public func finish() async throws {
        let (waiting, ticket, runs) = state.withLock { s -> ([CheckedContinuation<UInt64?, Never>], UInt64, Set<String>) in
            s.finished = true
            defer { s.early.removeAll() }
            return (s.early.map(\.continuation), s.lastTicket, s.runIDs)
        }
        for c in waiting { c.resume(returning: nil) }
        await journal.groupCommit.waitCommitted(ticket)
        try journal.sync(runs: runs)
        try takeError()
    }

    private func takeError() throws {
        try state.withLock { s in
            if let e = s.error {
                s.error = nil
                throw e
            }
        }
    }
}
