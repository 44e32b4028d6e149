import Foundation
import YmeraCore

/// The journal's writer thread: sinks hand it events, and it commits them in groups — every run's
/// events that arrived while the previous transaction ran go into the next one — off the threads
/// that emit them. SQLite's WAL checkpoints happen on this thread too, never on a run's path.
///
/// When it commits: at once when something waits for durability (a step's end before the next
/// step starts, `flush`, `finish`) or a sink's batch is full; otherwise when the oldest waiting
/// event's delay (`JournalSink.maxDelay`) has passed, so a fast token stream is written a batch at a
/// time. The thread exits after two idle seconds and starts again with the next event.
///
/// One per `Journal` (`Journal.groupCommit`). State is guarded by `cond`.
final class JournalGroupCommit: @unchecked Sendable {
    private let cond = NSCondition()
    private unowned let journal: Journal
    private var pending: [(event: RunEvent, sink: JournalSink)] = []
    /// When the writer must commit what is pending, at the latest.
    private var deadline: ContinuousClock.Instant?
    private var urgent = false
    private var enqueued: UInt64 = 0
    private var committed: UInt64 = 0
    private var waiters: [(ticket: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    private var running = false
    /// Transactions committed (for tests and benchmarks).
    private var transactions = 0

    init(journal: Journal) { self.journal = journal }

    /// Queues one event; returns its ticket (`waitCommitted`).
    func enqueue(_ event: RunEvent, from sink: JournalSink, urgent now: Bool) -> UInt64 {
        cond.lock()
        defer { cond.unlock() }
        enqueued += 1
        pending.append((event, sink))
        var wake = false
        if now && !urgent {
            urgent = true
            wake = true
        }
        let due = ContinuousClock.now + sink.maxDelay
        if deadline.map({ due < $0 }) ?? true {
            deadline = due
            wake = true
        }
        if !running {
            running = true
            let thread = Thread { [self] in loop() }
            thread.name = "ymera-journal-writer"
            thread.start()
        } else if wake {
            cond.signal()
        }
        return enqueued
    }

    /// The ticket of the last event queued so far.
    var lastTicket: UInt64 {
        cond.lock()
        defer { cond.unlock() }
        return enqueued
    }

    var transactionCount: Int {
        cond.lock()
        defer { cond.unlock() }
        return transactions
    }

    /// Returns once the event with `ticket` (and every one before it) is committed.
    func waitCommitted(_ ticket: UInt64) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            cond.lock()
            if committed >= ticket {
                cond.unlock()
                c.resume()
                return
            }
            waiters.append((ticket, c))
            urgent = true
            cond.signal()
            cond.unlock()
        }
    }

    /// Blocks the calling thread until the event with `ticket` is committed (`flush`, `finish`).
    func waitCommittedBlocking(_ ticket: UInt64) {
        cond.lock()
        defer { cond.unlock() }
        guard committed < ticket else { return }
        urgent = true
        cond.signal()
        // Bounded: the writer commits what is pending at once when urgent; each pass waits ≤ 1 s.
        for _ in 0..<86_400 where committed < ticket {
            _ = cond.wait(until: Date().addingTimeInterval(1))
        }
    }

    private func loop() {
        // Bounded by idleness: the thread ends after two seconds with nothing to write.
        while true {
            cond.lock()
            var idleSince: ContinuousClock.Instant?
            while true {
                if urgent { break }
                if let d = deadline {
                    idleSince = nil
                    let left = d - ContinuousClock.now
                    if left <= .zero { break }
                    _ = cond.wait(until: Date().addingTimeInterval(Self.seconds(left)))
                } else if pending.isEmpty {
                    let since = idleSince ?? ContinuousClock.now
                    idleSince = since
                    if ContinuousClock.now - since >= .seconds(2) {
                        running = false
                        cond.unlock()
                        return
                    }
                    _ = cond.wait(until: Date().addingTimeInterval(2))
                } else {
                    break
                }
            }
            let batch = pending
            let upTo = enqueued
            pending.removeAll(keepingCapacity: true)
            urgent = false
            deadline = nil
            cond.unlock()

            write(batch)

            cond.lock()
            committed = upTo
            transactions += 1
            var ready: [CheckedContinuation<Void, Never>] = []
            waiters.removeAll { w in
                guard w.ticket <= upTo else { return false }
                ready.append(w.continuation)
                return true
            }
            cond.broadcast()
            cond.unlock()
            for c in ready { c.resume() }
        }
    }

    /// One transaction for the whole group; if it fails (one run taken over by another process, a
    /// full disk), each sink's events are tried alone, so one run's error is its own.
    private func write(_ batch: [(event: RunEvent, sink: JournalSink)]) {
        guard !batch.isEmpty else { return }
        var bySink: [ObjectIdentifier: (sink: JournalSink, events: [RunEvent])] = [:]
        var order: [ObjectIdentifier] = []
        for (e, s) in batch {
            let id = ObjectIdentifier(s)
            if bySink[id] == nil {
                bySink[id] = (s, [])
                order.append(id)
            }
            bySink[id]!.events.append(e)
        }
        do {
            try journal.append(batch.map(\.event))
            for id in order { bySink[id]!.sink.committed(bySink[id]!.events, error: nil) }
        } catch {
            for id in order {
                let (sink, events) = bySink[id]!
                do {
                    try journal.append(events)
                    sink.committed(events, error: nil)
                } catch {
                    sink.committed(events, error: error)
                }
            }
        }
    }

    private static func seconds(_ d: Duration) -> TimeInterval {
        let (s, atto) = d.components
        return Double(s) + Double(atto) / 1e18
    }
}
