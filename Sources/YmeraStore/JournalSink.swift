import Foundation
import Synchronization
import YmeraCore

/// Journals a live run from the engine's synchronous observer: `Engine.start(plan, observer:)` calls
/// `record` for each event before the event reaches the stream's consumers.
///
/// Events are batched (one transaction per batch); an event that ends something (plan, finished or
/// failed step, end of run, resume, reset) is written before `record` returns, so a step reported
/// done on the stream survives a SIGKILL. Between those, a batch is written when `maxBatch` events
/// wait or when the oldest has waited `maxDelay` (a background flush covers a stream that goes quiet).
/// Safe to call from several threads at once; the journal puts events back in sequence order.
///
///     let sink = JournalSink(journal: journal)
///     let handle = engine.start(plan, resume: point, observer: { event, _ in sink.record(event) })
///     …
///     try sink.finish()
public final class JournalSink: Sendable {
    public let journal: Journal
    public let maxBatch: Int
    public let maxDelay: Duration

    private struct Buffer {
        var events: [RunEvent] = []
        var oldest: ContinuousClock.Instant?
        var error: (any Error)?
        var finished = false
    }
    private let buffer = Mutex(Buffer())
    private let timer: Mutex<Task<Void, Never>?> = Mutex(nil)

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
        let delay = maxDelay
        let task = Task.detached { [weak self] in
            // Bounded by `finish()` (which cancels it) and by the sink's lifetime.
            while !Task.isCancelled {
                try? await Task.sleep(for: delay)
                guard let self else { return }
                self.flushIfDue()
            }
        }
        timer.withLock { $0 = task }
    }

    deinit { timer.withLock { $0?.cancel() } }

    /// Records one event (see the type's documentation for when it reaches the disk). Never throws:
    /// the first write error is kept and thrown by `finish()`, and a run is not stopped by its journal.
    public func record(_ event: RunEvent) {
        buffer.withLock { b in
            guard !b.finished else { return }
            b.events.append(event)
            if b.oldest == nil { b.oldest = .now }
            if JournalRecorder.isCheckpoint(event.kind) || b.events.count >= maxBatch {
                write(&b)
            }
        }
    }

    /// Writes what is buffered, including held-back text.
    public func flush() throws {
        try buffer.withLock { b in
            write(&b)
            try journal.sync()
            if let e = b.error {
                b.error = nil
                throw e
            }
        }
    }

    /// Flushes, stops the background flush, and reports the first write error, if any.
    public func finish() throws {
        timer.withLock {
            $0?.cancel()
            $0 = nil
        }
        try flush()
        buffer.withLock { $0.finished = true }
    }

    private func flushIfDue() {
        buffer.withLock { b in
            guard let oldest = b.oldest, ContinuousClock.now - oldest >= maxDelay else { return }
            write(&b)
        }
    }

    private func write(_ b: inout Buffer) {
        guard !b.events.isEmpty else { return }
        do {
            try journal.append(b.events)
            onCommit?(b.events)
        } catch {
            if b.error == nil { b.error = error }
        }
        b.events.removeAll(keepingCapacity: true)
        b.oldest = nil
    }
}
