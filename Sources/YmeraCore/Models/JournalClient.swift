import Synchronization

/// A model client that answers from a recorded run's events instead of a provider: each request for
/// a step on a model gets the next attempt recorded for that step on that model — its text, its
/// usage, and its end (a natural stop, the output limit when the run went on with a continuation, or
/// the failure it ended with). No network, no cost. A request the recording cannot answer fails with
/// a clear `bad_request` (and is counted): the replay then differs from the recording, it does not
/// crash. Pull-based on the run's clock, so a replay on a virtual clock is deterministic.
public final class JournalClient: ModelClient, Sendable {
    /// One recorded attempt, as its model answered it.
    public struct Answer: Sendable, Hashable {
        public var text: String
        public var usage: TokenUsage?
        public var finish: FinishReason
        public var failure: ModelFailure?
    }

    /// A request that found no recorded answer.
    public struct Unanswered: Sendable, Hashable {
        public var step: String
        public var model: ModelID
        /// Its number among the requests for that step on that model.
        public var number: Int
    }

    private let clock: any RunClock
    private let answers: [String: [Answer]]
    private let served = Mutex<[String: Int]>([:])
    private let missed = Mutex<[Unanswered]>([])

    public init(events: [RunEvent], clock: any RunClock) {
        self.clock = clock
        self.answers = Self.answers(from: events)
    }

    static func key(_ step: String, _ model: ModelID) -> String { "\(step)\u{1F}\(model.rawValue)" }

    /// The attempts of a recording, per step and model, in order. Attempts that never reached a
    /// provider (an open breaker, the budget, a cancel) are left out.
    public static func answers(from events: [RunEvent]) -> [String: [Answer]] {
        struct Open {
            var key: String
            var answer: Answer
        }
        var open: [String: Open] = [:]  // by step
        var done: [(String, Answer, String)] = []  // key, answer, step (in order of their end)
        func close(_ step: String) {
            guard let o = open.removeValue(forKey: step) else { return }
            done.append((o.key, o.answer, step))
        }
        var continuedAfter: Set<Int> = []  // indexes in `done` followed by a continuation
        for e in events {
            switch e.kind {
            case .stepStarted(let p):
                close(p.step)
                if p.purpose == .continuation, let i = done.lastIndex(where: { $0.2 == p.step }) { continuedAfter.insert(i) }
                open[p.step] = Open(key: key(p.step, p.model), answer: Answer(text: "", usage: nil, finish: .stop, failure: nil))
            case .textDelta(let p):
                open[p.step]?.answer.text += p.text
            case .usage(let p):
                guard var o = open[p.step], o.key == key(p.step, p.model) else { continue }
                o.answer.usage = (o.answer.usage.map { $0 + p.usage }) ?? p.usage
                open[p.step] = o
            case .attemptFailed(let p):
                guard var o = open.removeValue(forKey: p.step) else { continue }
                if [.circuitOpen, .budgetExceeded, .cancelled].contains(p.errorClass) { continue }
                o.answer.failure = ModelFailure(
                    p.errorClass, p.message, httpStatus: p.httpStatus, retryAfterMs: p.retryAfterMs, partialOutput: o.answer.text)
                done.append((o.key, o.answer, p.step))
            case .qualityScored(let p):
                close(p.step)
            case .stepDone(let p):
                close(p.step)
            case .stepFailed(let p):
                close(p.step)
            default:
                break
            }
        }
        for step in Array(open.keys) { close(step) }
        var out: [String: [Answer]] = [:]
        for (i, (k, a, _)) in done.enumerated() {
            var a = a
            if continuedAfter.contains(i) && a.failure == nil { a.finish = .length }
            out[k, default: []].append(a)
        }
        return out
    }

    /// Requests no recorded attempt could answer.
    public var unanswered: [Unanswered] { missed.withLock { $0 } }
    /// Requests answered from the recording.
    public var answeredCount: Int { served.withLock { $0.values.reduce(0, +) } - unanswered.count }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let k = Self.key(request.context.stepID, request.model.id)
        let n = served.withLock { s -> Int in
            s[k, default: 0] += 1
            return s[k]!
        }
        let list = answers[k] ?? []
        guard n <= list.count else {
            missed.withLock { $0.append(Unanswered(step: request.context.stepID, model: request.model.id, number: n)) }
            let failure = ModelFailure(
                .badRequest,
                "offline replay: the journal has no recorded answer for \(request.context.stepID) on \(request.model.id) (request \(n); \(list.count) recorded)")
            return AsyncThrowingStream { $0.finish(throwing: failure) }
        }
        let answer = list[n - 1]
        var pending: [ModelStreamEvent] = answer.text.isEmpty ? [] : [.delta(answer.text)]
        if let u = answer.usage { pending.append(.usage(u)) }
        if answer.failure == nil { pending.append(.finished(answer.finish)) }
        let cursor = Cursor(pending, failure: answer.failure)
        let clock = self.clock
        return AsyncThrowingStream(unfolding: {
            try await clock.sleep(ms: 1)
            return try cursor.next()
        })
    }

    /// What is left of one answer's stream.
    final class Cursor: Sendable {
        private let state: Mutex<(events: [ModelStreamEvent], failure: ModelFailure?)>
        init(_ events: [ModelStreamEvent], failure: ModelFailure?) { state = Mutex((events, failure)) }
        func next() throws -> ModelStreamEvent? {
            let (event, failure) = state.withLock { s -> (ModelStreamEvent?, ModelFailure?) in
                if !s.events.isEmpty { return (s.events.removeFirst(), nil) }
                defer { s.failure = nil }
                return (nil, s.failure)
            }
            if let failure { throw failure }
            return event
        }
    }
}

