import Foundation
import Synchronization

/// One run: its state, the numbering and delivery of its events, and the coordinator's mailbox.
final class RunExecution: Sendable {
    enum Message: Sendable {
        /// A step task ended; the coordinator inherits its clock participation.
        case finished(String, Bool)
        /// A command arrived.
        case poke
        /// A gate's time limit passed (step, which opening of its gate).
        case gateTimeout(String, Int)
    }

    struct Mutable {
        var state: RunState
        /// The run's control: mode, the plan as changed by swaps, the phase graph, loops in flight.
        var machine: RunMachine
        var seq: Int
        /// The last event that ended a step: what must be durable before another step's attempt starts.
        var lastStepEndSeq = 0
        /// Tasks waiting at the pause gate; woken only after the machine's state changed.
        var gate: [CheckedContinuation<Void, Never>] = []
        /// How to stop each loop's attempt in flight.
        var attempts: [String: @Sendable () -> Void] = [:]
        /// The timers of gates with a time limit, by phase.
        var gateTimers: [String: Task<Void, Never>] = [:]
        /// Why each step's (or subtask's) kept answer ended, when not naturally (`length`: at the
        /// output limit after the continuations allowed).
        var finishReasons: [String: FinishReason] = [:]
        var rng: SplitMix64
        var finished = false
        /// Events numbered but not yet handed to the observer and the stream, in `seq` order.
        var outbox: [RunEvent] = []
        /// True while one emitter hands the outbox over; others only append to it.
        var delivering = false

        var plan: RunPlan { machine.plan }
    }

    let engine: Engine
    let clock: any RunClock
    let startMs: Int64
    let baseElapsed: Int
    let resume: ResumePoint?
    let continuation: AsyncStream<RunEvent>.Continuation
    let mailbox: Mailbox
    let observer: (@Sendable (RunEvent, RunControl) -> Void)?
    /// Waits until the events up to a sequence number are durable (the journal's group commit); see
    /// `Engine.start`.
    let durable: (@Sendable (Int) async -> Void)?
    let m: Mutex<Mutable>

    init(
        engine: Engine, plan: RunPlan, resume: ResumePoint?, continuation: AsyncStream<RunEvent>.Continuation,
        observer: (@Sendable (RunEvent, RunControl) -> Void)?, durable: (@Sendable (Int) async -> Void)? = nil
    ) {
        self.durable = durable
        self.engine = engine
        self.clock = engine.clock
        self.startMs = engine.clock.nowMs()
        self.baseElapsed = resume?.prior.elapsedMs ?? 0
        self.resume = resume
        self.continuation = continuation
        self.observer = observer
        mailbox = Mailbox(clock: engine.clock)
        var state = resume?.prior ?? RunState(runID: plan.runID)
        state.markInterruptedIfOpen()
        let machine = RunMachine(plan: plan, knownModels: Set(engine.catalog.models.map(\.id)))
        m = Mutex(Mutable(state: state, machine: machine, seq: resume?.prior.lastSeq ?? 0, rng: SplitMix64(seed: SplitMix64.derive(plan.seed, "engine"))))
    }

    var nowMs: Int64 { clock.nowMs() }
    func snapshot() -> RunState { m.withLock { $0.state } }

    // MARK: events

    /// Numbers an event, folds it into the run's state, and hands it to the observer and the stream in
    /// `seq` order. Steps running at once emit from different threads: numbering happens under the lock,
    /// and the hand-over goes through an outbox drained by one emitter at a time, so the journal, the live
    /// view and `--json` never see event 12 before event 11. The observer runs outside the lock (it may
    /// send run commands, which emit in turn: those land in the outbox and the same drain delivers them).
    @discardableResult
    func emit(_ kind: RunEvent.Kind) -> RunEvent {
        let (event, drain) = m.withLock { s -> (RunEvent, Bool) in
            let e = record(kind, in: &s)
            return (e, claimDelivery(&s))
        }
        if drain { deliverOutbox() }
        return event
    }

    /// Numbers an event and folds it, under the lock (with the decision that caused it).
    func record(_ kind: RunEvent.Kind, in s: inout Mutable) -> RunEvent {
        s.seq += 1
        let e = RunEvent(runID: s.plan.runID, seq: s.seq, elapsedMs: baseElapsed + Int(nowMs - startMs), kind: kind)
        s.state.apply(e)
        s.outbox.append(e)
        if kind.endsAStep { s.lastStepEndSeq = s.seq }
        return e
    }

    /// Before an attempt starts: every step end so far is durable (when the host journals durably),
    /// so a resumed run never calls a provider again for a phase that had finished.
    func awaitDurableStepEnds() async {
        guard let durable else { return }
        let seq = m.withLock { $0.lastStepEndSeq }
        if seq > 0 { await durable(seq) }
    }

    /// True when the caller is to hand the outbox over (no one else is doing it).
    func claimDelivery(_ s: inout Mutable) -> Bool {
        if s.delivering || s.outbox.isEmpty { return false }
        s.delivering = true
        return true
    }

    func deliverOutbox() {
        while true {
            let batch = m.withLock { s -> [RunEvent] in
                if s.outbox.isEmpty {
                    s.delivering = false
                    return []
                }
                defer { s.outbox.removeAll(keepingCapacity: true) }
                return s.outbox
            }
            if batch.isEmpty { return }
            for e in batch {
                observer?(e, RunControl(execution: self))
                continuation.yield(e)
            }
        }
    }

    /// Waits (briefly, bounded) until another thread's drain has handed over every event, so the stream
    /// is not finished before its last events are in it.
    func awaitDelivery() async {
        for _ in 0..<1_000_000 {
            if m.withLock({ !$0.delivering && $0.outbox.isEmpty }) { return }
            await Task.yield()
        }
    }

    func emit(_ t: CircuitBreaker.Transition?, model: ModelID) {
        guard let t else { return }
        emit(.breakerChanged(.init(model: model, from: t.from, to: t.to, reason: t.reason, cooldownMs: t.cooldownMs.map(Int.init))))
    }
}

/// The coordinator's inbox, aware of the run clock: a message counts the coordinator as running
/// only when it is actually waiting for one (otherwise it finds the message on its next look).
final class Mailbox: Sendable {
    private struct State {
        var queue: [RunExecution.Message] = []
        var waiting: CheckedContinuation<RunExecution.Message, Never>?
    }
    private let state = Mutex(State())
    private let clock: any RunClock

    init(clock: any RunClock) { self.clock = clock }

    func send(_ message: RunExecution.Message) {
        let wake = state.withLock { s -> CheckedContinuation<RunExecution.Message, Never>? in
            if let w = s.waiting {
                s.waiting = nil
                return w
            }
            s.queue.append(message)
            return nil
        }
        if let wake {
            clock.enter()  // on the coordinator's behalf, before the sender can stop counting
            wake.resume(returning: message)
        }
    }

    /// The next message; while waiting, the caller does not count as running.
    func receive() async -> RunExecution.Message {
        if let m = state.withLock({ s -> RunExecution.Message? in s.queue.isEmpty ? nil : s.queue.removeFirst() }) {
            return m
        }
        return await withCheckedContinuation { (c: CheckedContinuation<RunExecution.Message, Never>) in
            let ready = state.withLock { s -> RunExecution.Message? in
                if !s.queue.isEmpty { return s.queue.removeFirst() }
                s.waiting = c
                return nil
            }
            if let ready {
                c.resume(returning: ready)
            } else {
                clock.leave()
            }
        }
    }
}
