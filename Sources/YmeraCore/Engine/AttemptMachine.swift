/// One step's attempt loop as a value-type state machine: which model next, continue from the
/// partial output or restart, retry, fall back, swap, give up. The shell (`RunExecution.attemptLoop`)
/// asks the breakers, rate limits and the model client, tells the machine what happened, and
/// performs what it returns. No I/O, no locks, no continuations.
struct AttemptMachine: Sendable, Hashable {
    let stepID: String
    private(set) var chain: [ModelID]
    private(set) var index = 0
    private(set) var attemptsOnModel = 0
    /// Attempts started (all models together).
    private(set) var total = 0
    private(set) var purpose: AttemptPurpose
    /// Output kept for a continuation on the next model.
    private(set) var kept = ""
    private(set) var continuesFrom: Int?
    private(set) var lastFailure = ModelFailure(.unknown, "no attempt was made")
    let maxAttempts: Int
    let fallbackMode: RunEvent.FallbackTaken.Mode
    /// Context windows of the chain's models (a too-long context falls back to a larger one).
    let contextWindows: [ModelID: Int]

    init(stepID: String, model: ModelID, fallbacks: [ModelID], purpose: AttemptPurpose, maxAttempts: Int,
         fallbackMode: RunEvent.FallbackTaken.Mode, contextWindows: [ModelID: Int]) {
        self.stepID = stepID
        self.chain = [model] + fallbacks.filter { $0 != model }
        self.purpose = purpose
        self.maxAttempts = maxAttempts
        self.fallbackMode = fallbackMode
        self.contextWindows = contextWindows
    }

    enum Next: Sendable, Hashable {
        /// Try this model now.
        case attempt(ModelID)
        /// No attempt left: the loop ends with this failure.
        case giveUp(ModelFailure)
    }

    /// What to do at the top of the loop.
    func next() -> Next {
        guard total < maxAttempts, index < chain.count else {
            if total >= maxAttempts || total > 0 {
                return .giveUp(ModelFailure(lastFailure.errorClass, "gave up after \(total) attempts; last error: \(lastFailure.message)", httpStatus: lastFailure.httpStatus))
            }
            return .giveUp(lastFailure)
        }
        return .attempt(chain[index])
    }

    var currentModel: ModelID { chain[min(index, chain.count - 1)] }

    /// The user swapped the model between attempts: the next attempt starts the answer again on it.
    mutating func swap(to model: ModelID) {
        chain = [model] + chain.filter { $0 != model }
        index = 0
        attemptsOnModel = 0
        kept = ""
        continuesFrom = nil
        purpose = .swap
    }

    /// The model is not in the catalog: on to the next one.
    mutating func unknownModel(_ model: ModelID) {
        lastFailure = ModelFailure(.badRequest, "model \(model) is not in the catalog")
        index += 1
    }

    enum BreakerAction: Sendable, Hashable {
        /// Emit the fallback and go round again.
        case fallback(RunEvent.Kind)
        /// Wait this long for a half-open probe (after emitting the event), then `breakerWaited`.
        case wait(Int64, RunEvent.Kind)
        case giveUp(ModelFailure)
    }

    /// The current model's breaker refused the attempt. `earliestProbeMs`: the soonest any model of
    /// the chain admits a probe.
    mutating func breakerRejected(retryInMs: Int64, earliestProbeMs: Int64?, provider: String, maxWaitMs: Int64) -> BreakerAction {
        let model = chain[index]
        if index + 1 < chain.count {
            index += 1
            attemptsOnModel = 0
            purpose = .fallback
            return .fallback(.fallbackTaken(.init(step: stepID, from: model, to: chain[index], reason: .circuitOpen, mode: .restart)))
        }
        let wait = earliestProbeMs ?? retryInMs
        guard wait <= maxWaitMs else {
            return .giveUp(ModelFailure(.circuitOpen, "every model's breaker is open (next probe in \(wait / 1000) s)"))
        }
        let ms = max(1, wait)
        return .wait(ms, .throttled(.init(step: stepID, provider: provider, waitMs: Int(ms), reason: "all breakers open; waiting for a half-open probe")))
    }

    /// After the breaker wait: start again from the first model that admits a call (or the first).
    mutating func breakerWaited(firstAdmitting: Int?) {
        index = firstAdmitting ?? 0
        total += 1
    }

    /// An attempt starts: its `step_started` event.
    mutating func started() -> RunEvent.Kind {
        total += 1
        attemptsOnModel += 1
        return .stepStarted(.init(step: stepID, model: chain[index], attempt: total, purpose: purpose, continuesFrom: continuesFrom))
    }

    /// The attempt answered: the kept output and the model that finished it.
    func succeeded(_ text: String) -> (String, ModelID) { (kept + text, chain[index]) }

    /// The attempt in flight was stopped for a user's swap: the next attempt, on `model`, continues
    /// from the partial output or starts again, per `fallbackMode` (as a fallback would).
    mutating func stoppedForSwap(to model: ModelID, partial: String) {
        let keep = kept + partial
        swap(to: model)
        if fallbackMode == .continue && !partial.isEmpty {
            kept = keep
            continuesFrom = keep.count
        }
    }

    /// Whether a fallback exists after this failure (the retry policy's `hasFallback`).
    func fallbackIndex(after failure: ModelFailure) -> Int? {
        guard index + 1 < chain.count else { return nil }
        if failure.errorClass == .contextTooLong, let current = contextWindows[chain[index]] {
            return (index + 1..<chain.count).first { contextWindows[chain[$0]] ?? 0 > current }
        }
        return index + 1
    }

    enum FailureAction: Sendable, Hashable {
        /// Emit, sleep, then go round again on the same model.
        case retry(RunEvent.Kind, delayMs: Int64)
        /// Emit and go round again on the next model.
        case fallback(RunEvent.Kind)
        case giveUp(ModelFailure)
    }

    /// The attempt failed (not stopped from outside); `decision` is the retry policy's answer.
    mutating func failed(_ failure: ModelFailure, decision: RetryPolicy.Decision) -> FailureAction {
        lastFailure = failure
        let model = chain[index]
        switch decision {
        case .retry(let delay, let basis):
            // A retry on the same model starts the answer again.
            kept = ""
            continuesFrom = nil
            purpose = .retry
            return .retry(.retryScheduled(.init(step: stepID, model: model, attempt: total + 1, delayMs: Int(delay), basis: basis)), delayMs: delay)
        case .fallback:
            guard let ni = fallbackIndex(after: failure) else { return .giveUp(failure) }
            let partial = failure.partialOutput
            let mode: RunEvent.FallbackTaken.Mode = (fallbackMode == .continue && !partial.isEmpty) ? .continue : .restart
            if mode == .continue {
                kept += partial
                continuesFrom = kept.count
            } else {
                kept = ""
                continuesFrom = nil
            }
            index = ni
            attemptsOnModel = 0
            purpose = .fallback
            return .fallback(.fallbackTaken(.init(step: stepID, from: model, to: chain[ni], reason: failure.errorClass, mode: mode, spliceAt: mode == .continue ? kept.count : nil)))
        case .fail(let why):
            return .giveUp(ModelFailure(failure.errorClass, why + (why.contains(failure.message) ? "" : " — last error: \(failure.message)"), httpStatus: failure.httpStatus))
        }
    }
}
