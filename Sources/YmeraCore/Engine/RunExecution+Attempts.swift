import Foundation
import Synchronization

// Attempts: the loop over models, fallbacks and retries, and one attempt against the model client.

extension RunExecution {
    /// Tries a step's work on its model and fallbacks until one completes, honouring breakers, rate
    /// limits, retry policy, pause, swap and cancel. Returns the kept output and the model that finished it.
    func attemptLoop(stepID: String, step: PlanStep, baseMessages: [ChatMessage], purpose initialPurpose: AttemptPurpose)
        async -> Result<(String, ModelID), ModelFailure>
    {
        var chain = [step.model] + step.fallbacks.filter { $0 != step.model }
        var index = 0
        var attemptsOnModel = 0
        var total = 0
        var purpose = initialPurpose
        var kept = ""  // output kept for a continuation
        var continuesFrom: Int?
        var lastFailure = ModelFailure(.unknown, "no attempt was made")
        var continuations = 0
        var continued = ""  // answers cut at the output limit, kept across a retry on the same model
        let began = nowMs
        let tools = await offeredTools(stepID: stepID, phase: step.phase)

        while total < engine.config.maxAttemptsPerStep {
            if let bound = engine.config.stepTimeoutMs, total > 0, nowMs - began >= bound {
                return .failure(ModelFailure(
                    .timeout,
                    "the step ran past its wall-clock bound of \(bound / 1000) s (\(total) attempts); last error: \(lastFailure.message)",
                    httpStatus: lastFailure.httpStatus))
            }
            if let reason = m.withLock({ $0.cancelled }) { return .failure(ModelFailure(.cancelled, reason)) }
            if isAbandoned(stepID) { return .failure(ModelFailure(.cancelled, "input reset by a retry")) }
            await waitIfPaused()
            if let reason = m.withLock({ $0.cancelled }) { return .failure(ModelFailure(.cancelled, reason)) }
            if total > 0 && m.withLock({ $0.restarts.remove(stepID) != nil }) {
                kept = ""
                continued = ""
                continuesFrom = nil
                purpose = .rerun
                attemptsOnModel = 0
            }

            // A swap asked for while not running an attempt.
            if let swapTo = m.withLock({ $0.swaps.removeValue(forKey: stepID) ?? $0.swaps.removeValue(forKey: parentID(stepID)) }) {
                let from = chain[min(index, chain.count - 1)]
                chain = [swapTo] + chain.filter { $0 != swapTo }
                index = 0
                attemptsOnModel = 0
                kept = ""
                continued = ""
                continuesFrom = nil
                purpose = .swap
                if from != swapTo { emit(.modelSwapped(.init(step: stepID, from: from, to: swapTo, restarted: total > 0))) }
            }
            guard index < chain.count else { break }
            let modelID = chain[index]
            guard let model = try? engine.catalog.model(modelID), let provider = engine.catalog.provider(for: model) else {
                lastFailure = ModelFailure(.badRequest, "model \(modelID) is not in the catalog")
                index += 1
                continue
            }

            // Budget.
            let (spent, tokens, budget) = m.withLock { ($0.state.cost.money, $0.state.usage.totalTokens, $0.plan.budget) }
            if let max = budget.maxCost, spent >= max {
                return .failure(ModelFailure(.budgetExceeded, "budget of \(max) spent (\(spent)); no further attempts"))
            }
            if let max = budget.maxTokens, tokens >= max {
                return .failure(ModelFailure(.budgetExceeded, "token budget of \(max) spent (\(tokens) tokens); no further attempts"))
            }

            // Breaker.
            let (admission, transition) = engine.resilience.admit(modelID, nowMs: nowMs)
            emit(transition, model: modelID)
            if case .rejected(let retryIn) = admission {
                if index + 1 < chain.count {
                    emit(.fallbackTaken(.init(step: stepID, from: modelID, to: chain[index + 1], reason: .circuitOpen, mode: .restart)))
                    index += 1
                    attemptsOnModel = 0
                    purpose = .fallback
                    continue
                }
                // Nothing else: wait for the earliest half-open probe, within bounds.
                let wait = chain.compactMap { engine.resilience.peek($0, nowMs: nowMs) }.min() ?? retryIn
                guard wait <= engine.config.maxBreakerWaitMs else {
                    return .failure(ModelFailure(.circuitOpen, "every model's breaker is open (next probe in \(wait / 1000) s)"))
                }
                emit(.throttled(.init(step: stepID, provider: model.provider, waitMs: Int(max(1, wait)), reason: "all breakers open; waiting for a half-open probe")))
                do { try await clock.sleep(ms: max(1, wait)) } catch { return .failure(ModelFailure(.cancelled, "cancelled")) }
                index = chain.firstIndex { engine.resilience.peek($0, nowMs: nowMs) == nil } ?? 0
                total += 1
                continue
            }

            // Rate limit.
            let estimate = TokenUsage.estimateTokens(characters: baseMessages.reduce(0) { $0 + $1.content.count }) + step.maxTokens / 2
            var throttles = 0
            while throttles < 8 {
                throttles += 1
                let (wait, why) = engine.resilience.reserve(provider: model.provider, limit: model.rateLimit, estimatedTokens: estimate, nowMs: nowMs)
                guard wait > 0 else { break }
                if wait > engine.config.maxThrottleWaitMs && index + 1 < chain.count { break }
                emit(.throttled(.init(step: stepID, provider: model.provider, waitMs: Int(wait), reason: why ?? "rate limit")))
                do { try await clock.sleep(ms: wait) } catch { return .failure(ModelFailure(.cancelled, "cancelled")) }
            }

            total += 1
            attemptsOnModel += 1
            emit(.stepStarted(.init(step: stepID, model: modelID, attempt: total, purpose: purpose, continuesFrom: continuesFrom)))
            let messages = kept.isEmpty ? baseMessages : Prompts.continuation(baseMessages, partial: kept)
            let plan = m.withLock { $0.plan }
            let request = ModelRequest(
                model: model, provider: provider, messages: messages, maxTokens: min(step.maxTokens, model.maxOutputTokens),
                temperature: step.temperature, stream: engine.config.stream,
                context: RequestContext(runID: plan.runID, stepID: stepID, phase: step.phase, attempt: total, taskType: plan.intent.taskType, seed: plan.seed),
                tools: tools)

            let limit = provider.maxConcurrent ?? Int.max
            if limit < Int.max { await engine.slots.acquire(provider.id, limit: limit, clock: clock) }
            let outcome = await perform(request, stepID: stepID)
            if limit < Int.max { engine.slots.release(provider.id, clock: clock) }
            switch outcome {
            case .success(let (text, usage, finish)):
                let cost = model.cost(of: usage)
                emit(.usage(.init(step: stepID, model: modelID, usage: usage, cost: cost)))
                emit(engine.resilience.record(modelID, failure: false, nowMs: nowMs), model: modelID)
                // Cut at the output limit: the model is asked to go on (bounded), else it is kept
                // and the step is marked truncated — never passed off as complete.
                if finish == .length && continuations < engine.config.maxContinuations && !text.isEmpty {
                    continuations += 1
                    kept += text
                    continued = kept
                    continuesFrom = kept.count
                    attemptsOnModel = 0
                    purpose = .continuation
                    continue
                }
                m.withLock { $0.finishReasons[stepID] = finish == .length ? .length : nil }
                return .success((kept + text, modelID))

            case .failure(let failure):
                // Bill what was used, even on failure: nothing for a request refused before its
                // first token, what streamed (estimated where the provider sent no usable count).
                let used =
                    failure.usage
                    ?? TokenUsage.billable(
                        reported: nil, promptCharacters: request.promptCharacters, outputCharacters: failure.partialOutput.count)
                if let used, used.totalTokens > 0 {
                    emit(.usage(.init(step: stepID, model: modelID, usage: used, cost: model.cost(of: used))))
                }
                // A user's swap or retry of this step, or a cancel.
                if failure.errorClass == .cancelled {
                    if let reason = m.withLock({ $0.cancelled }) { return .failure(ModelFailure(.cancelled, reason)) }
                    if isAbandoned(stepID) { return .failure(ModelFailure(.cancelled, "input reset by a retry")) }
                    if m.withLock({ $0.restarts.remove(stepID) != nil }) {
                        emit(.modelSwapped(.init(step: stepID, from: modelID, to: modelID, restarted: true)))
                        kept = ""
                        continued = ""
                        continuesFrom = nil
                        purpose = .rerun
                        attemptsOnModel = 0
                        continue
                    }
                    if let swapTo = m.withLock({ $0.swaps.removeValue(forKey: stepID) ?? $0.swaps.removeValue(forKey: parentID(stepID)) }) {
                        emit(.modelSwapped(.init(step: stepID, from: modelID, to: swapTo, restarted: true)))
                        chain = [swapTo] + chain.filter { $0 != swapTo }
                        index = 0
                        attemptsOnModel = 0
                        kept = ""
                        continued = ""
                        continuesFrom = nil
                        purpose = .swap
                        continue
                    }
                }
                lastFailure = failure
                emit(.attemptFailed(.init(
                    step: stepID, model: modelID, attempt: total, errorClass: failure.errorClass, message: failure.message,
                    httpStatus: failure.httpStatus, retryAfterMs: failure.retryAfterMs, partialChars: failure.partialOutput.count)))
                if failure.errorClass.opensBreakerImmediately {
                    let forMs =
                        failure.errorClass == .modelNotFound
                        ? engine.config.notFoundCooldownMs : failure.retryAfterMs.map(Int64.init) ?? engine.config.unavailableCooldownMs
                    emit(engine.resilience.forceOpen(modelID, nowMs: nowMs, forMs: forMs, reason: failure.errorClass.rawValue), model: modelID)
                } else {
                    emit(engine.resilience.record(modelID, failure: failure.errorClass.countsTowardBreaker ? true : nil, nowMs: nowMs, reason: failure.errorClass.rawValue), model: modelID)
                }
                if failure.errorClass == .rateLimit, let ra = failure.retryAfterMs {
                    engine.resilience.block(provider: model.provider, untilMs: nowMs + Int64(ra), nowMs: nowMs)
                }

                let nextIndex = nextModel(after: index, in: chain, failure: failure)
                let decision = m.withLock { s in
                    engine.config.retry.decide(failure, attemptsOnModel: attemptsOnModel, hasFallback: nextIndex != nil, random: &s.rng)
                }
                switch decision {
                case .retry(let delay, let basis):
                    emit(.retryScheduled(.init(step: stepID, model: modelID, attempt: total + 1, delayMs: Int(delay), basis: basis)))
                    do { try await clock.sleep(ms: delay) } catch { return .failure(ModelFailure(.cancelled, "cancelled")) }
                    // A retry on the same model starts the failed request again: what earlier,
                    // complete requests of a continued answer said is kept.
                    kept = continued
                    continuesFrom = continued.isEmpty ? nil : continued.count
                    purpose = .retry
                case .fallback:
                    guard let ni = nextIndex else { return .failure(failure) }
                    let partial = failure.partialOutput
                    let mode: RunEvent.FallbackTaken.Mode = (engine.config.fallbackMode == .continue && !partial.isEmpty) ? .continue : .restart
                    if mode == .continue {
                        kept += partial
                        continuesFrom = kept.count
                    } else {
                        kept = ""
                        continuesFrom = nil
                    }
                    continued = kept  // the next model's retries keep what it continues from
                    emit(.fallbackTaken(.init(step: stepID, from: modelID, to: chain[ni], reason: failure.errorClass, mode: mode, spliceAt: mode == .continue ? kept.count : nil)))
                    index = ni
                    attemptsOnModel = 0
                    purpose = .fallback
                case .fail(let why):
                    return .failure(ModelFailure(failure.errorClass, why + (why.contains(failure.message) ? "" : " — last error: \(failure.message)"), httpStatus: failure.httpStatus))
                }
            }
        }
        return .failure(ModelFailure(lastFailure.errorClass, "gave up after \(total) attempts; last error: \(lastFailure.message)", httpStatus: lastFailure.httpStatus))
    }

    func parentID(_ stepID: String) -> String {
        if let i = stepID.firstIndex(where: { $0 == "/" || $0 == "#" }) { return String(stepID[..<i]) }
        return stepID
    }

    /// The next model to fall back to: for a context that is too long, one with a larger window.
    func nextModel(after index: Int, in chain: [ModelID], failure: ModelFailure) -> Int? {
        guard index + 1 < chain.count else { return nil }
        if failure.errorClass == .contextTooLong, let current = try? engine.catalog.model(chain[index]) {
            return (index + 1..<chain.count).first { (try? engine.catalog.model(chain[$0]))?.contextWindow ?? 0 > current.contextWindow }
        }
        return index + 1
    }

    /// Tools the host offers this step's phase (none without a host, or for phases not in
    /// `EngineConfig.toolPhases`). A host that fails to list them is reported and the step runs without.
    func offeredTools(stepID: String, phase: Phase) async -> [ToolSpec] {
        guard let host = engine.toolHost, engine.config.toolPhases.contains(phase) else { return [] }
        let runID = m.withLock { $0.plan.runID }
        let limits = engine.config.toolLoop
        let started = nowMs
        do {
            // Listing may start servers: real I/O, bounded like a call (twice its limit).
            let specs = try await ToolLoop.withWatchdog(
                ms: limits.perCallTimeoutMs * 2 + ToolLoop.watchdogGraceMs,
                onTimeout: { ToolFailure(.serverUnavailable, "the tool host did not list its tools in time") }
            ) { try await host.tools(for: phase, runID: runID) }
            var seen: Set<String> = []
            return specs.filter { seen.insert($0.name).inserted }
        } catch {
            if error is CancellationError { return [] }
            let f = (error as? ToolFailure) ?? ToolFailure(.serverUnavailable, String(describing: error))
            emit(.toolFailed(.init(
                step: stepID, callID: nil, tool: f.server ?? "tools", server: f.server, failure: f.failureClass,
                message: "no tools for \(phase.rawValue): " + ToolLoop.preview(f.message, 500), durationMs: Int(nowMs - started))))
            return []
        }
    }

    /// One attempt: consumes the model's stream, emitting text as it comes. With tools offered it runs
    /// the bounded tool loop: the model's calls go to the host, their results back to the model, until
    /// it answers without calls; a tool failure ends the loop and the model answers once more without
    /// tools. Cancellable from outside (swap, retry, cancel) through the registered attempt task.
    func perform(_ request: ModelRequest, stepID: String) async -> Result<(String, TokenUsage, FinishReason), ModelFailure> {
        let client = engine.client
        clock.enter()
        let key = ClockContext.key
        let task = Task { [self] () -> Result<(String, TokenUsage, FinishReason), ModelFailure> in
          await ClockContext.$key.withValue(key) { () async -> Result<(String, TokenUsage, FinishReason), ModelFailure> in
            var text = ""  // everything this attempt said, over all its requests
            var roundText = ""
            var current = request
            var round = 0
            var loop = ToolLoopState(limits: engine.config.toolLoop)
            do {
                while true {
                    round += 1
                    roundText = ""
                    var usage: TokenUsage?
                    var finished: FinishReason?
                    var calls: [ToolCall] = []
                    for try await event in client.stream(current) {
                        switch event {
                        case .delta(let d):
                            guard !d.isEmpty else { continue }
                            if roundText.isEmpty && !text.isEmpty && !text.hasSuffix("\n\n") {
                                // Text after a tool round starts a new paragraph.
                                let sep = text.hasSuffix("\n") ? "\n" : "\n\n"
                                text += sep
                                emit(.textDelta(.init(step: stepID, text: sep)))
                            }
                            text += d
                            roundText += d
                            emit(.textDelta(.init(step: stepID, text: d)))
                        case .usage(let u):
                            usage = (usage.map { $0 + u }) ?? u
                        case .rateLimit(let snap):
                            engine.resilience.observe(snap, nowMs: nowMs)
                            emit(.rateLimit(snap))
                        case .toolCall(let call):
                            calls.append(call)
                        case .finished(let reason):
                            finished = reason
                        }
                        if Task.isCancelled { throw CancellationError() }
                    }
                    try Task.checkCancellation()
                    guard let finish = finished else {
                        return .failure(ModelFailure(.truncated, "the stream ended without its terminal event", provider: request.provider.id, partialOutput: text, usage: usage))
                    }
                    let u = usage ?? TokenUsage.estimate(promptCharacters: current.promptCharacters, outputCharacters: roundText.count)
                    // No calls, or calls where none were offered (ignored): the answer is complete.
                    guard !calls.isEmpty, !current.tools.isEmpty, round <= engine.config.toolLoop.maxCalls + 2 else {
                        return .success((text, u, finish))
                    }
                    // Every request of the loop is billed as it completes.
                    emit(.usage(.init(step: stepID, model: request.model.id, usage: u, cost: request.model.cost(of: u))))
                    current = try await runTools(calls, text: roundText, request: current, stepID: stepID, loop: &loop)
                }
            } catch let f as ModelFailure {
                var f = f
                if f.partialOutput.isEmpty { f.partialOutput = text }
                if f.usage == nil {
                    f.usage = TokenUsage.billable(reported: nil, promptCharacters: current.promptCharacters, outputCharacters: roundText.count)
                }
                return .failure(f)
            } catch is CancellationError {
                return .failure(ModelFailure(.cancelled, "attempt cancelled", partialOutput: text,
                    usage: roundText.isEmpty && round <= 1 ? nil : TokenUsage.estimate(promptCharacters: current.promptCharacters, outputCharacters: roundText.count)))
            } catch {
                return .failure(ModelFailure(.unknown, String(describing: error), partialOutput: text))
            }
          }
        }
        let alreadyCancelled = m.withLock { s -> Bool in
            s.attempts[stepID] = { task.cancel() }
            return s.cancelled != nil || s.swaps[stepID] != nil || s.restarts.contains(stepID)
        }
        if alreadyCancelled { task.cancel() }
        clock.leave()
        let result = await task.value  // the attempt task hands its participation back
        m.withLock { _ = $0.attempts.removeValue(forKey: stepID) }
        return result
    }
}
