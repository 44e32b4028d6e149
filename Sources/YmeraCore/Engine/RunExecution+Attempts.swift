import Foundation
import Synchronization

// Attempts: the loop over models, fallbacks and retries, and one attempt against the model client.

extension RunExecution {
    /// Tries a step's work on its model and fallbacks until one completes, honouring breakers, rate
    /// limits, retry policy, pause, swap and cancel. Returns the kept output and the model that finished it.
    /// The decisions are the machines': `RunMachine.gate` (pause, cancel, swap, reset) before each
    /// attempt, `AttemptMachine` for which model and what to keep.
    func attemptLoop(stepID: String, step: PlanStep, baseMessages: [ChatMessage], purpose initialPurpose: AttemptPurpose)
        async -> Result<(String, ModelID), ModelFailure>
    {
        await awaitDurableStepEnds()
        // The phase's model as of now: a swap may have come since the step was read.
        let current = m.withLock { $0.machine.loopStarted(stepID) }
        defer { m.withLock { $0.machine.loopEnded(stepID) } }
        let first = initialPurpose == .refine ? step.model : (current ?? step.model)
        let chainModels = [first, step.model] + step.fallbacks
        let windows = Dictionary(chainModels.compactMap { id in (try? engine.catalog.model(id)).map { (id, $0.contextWindow) } }, uniquingKeysWith: { a, _ in a })
        var am = AttemptMachine(
            stepID: stepID, model: first, fallbacks: ([step.model] + step.fallbacks).filter { $0 != first }, purpose: initialPurpose,
            maxAttempts: engine.config.maxAttemptsPerStep, fallbackMode: engine.config.fallbackMode, contextWindows: windows)
        let tools = await offeredTools(stepID: stepID, phase: step.phase)
        let began = nowMs

        var rounds = 0
        while rounds < engine.config.maxAttemptsPerStep * 4 + 8 {
            rounds += 1
            if let bound = engine.config.stepTimeoutMs, am.total > 0, nowMs - began >= bound {
                return .failure(ModelFailure(
                    .timeout,
                    "the step ran past its wall-clock bound of \(bound / 1000) s (\(am.total) attempts); last error: \(am.lastFailure.message)",
                    httpStatus: am.lastFailure.httpStatus))
            }
            // The run's decision point: cancelled, reset by a retry, paused, or swapped.
            var gate = m.withLock { $0.machine.gate(stepID) }
            while gate == .wait {
                await waitIfPaused(stepID)
                gate = m.withLock { $0.machine.gate(stepID) }
            }
            switch gate {
            case .stop(let reason):
                return .failure(ModelFailure(.cancelled, reason))
            case .proceed(let swapTo?):
                am.swap(to: swapTo)
            case .proceed(nil), .wait:
                break
            }

            let modelID: ModelID
            switch am.next() {
            case .giveUp(let f): return .failure(f)
            case .attempt(let id): modelID = id
            }
            guard let model = try? engine.catalog.model(modelID), let provider = engine.catalog.provider(for: model) else {
                am.unknownModel(modelID)
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
                let earliest = am.chain.compactMap { engine.resilience.peek($0, nowMs: nowMs) }.min()
                switch am.breakerRejected(retryInMs: retryIn, earliestProbeMs: earliest, provider: model.provider, maxWaitMs: engine.config.maxBreakerWaitMs) {
                case .fallback(let event):
                    emit(event)
                case .giveUp(let f):
                    return .failure(f)
                case .wait(let ms, let event):
                    emit(event)
                    do { try await clock.sleep(ms: ms) } catch { return .failure(ModelFailure(.cancelled, cancelReason ?? "cancelled")) }
                    am.breakerWaited(firstAdmitting: am.chain.firstIndex { engine.resilience.peek($0, nowMs: nowMs) == nil })
                }
                continue
            }

            // Rate limit.
            let estimate = TokenUsage.estimateTokens(characters: baseMessages.reduce(0) { $0 + $1.content.count }) + step.maxTokens / 2
            var throttles = 0
            while throttles < 8 {
                throttles += 1
                let (wait, why) = engine.resilience.reserve(provider: model.provider, limit: model.rateLimit, estimatedTokens: estimate, nowMs: nowMs)
                guard wait > 0 else { break }
                if wait > engine.config.maxThrottleWaitMs && am.index + 1 < am.chain.count { break }
                emit(.throttled(.init(step: stepID, provider: model.provider, waitMs: Int(wait), reason: why ?? "rate limit")))
                do { try await clock.sleep(ms: wait) } catch { return .failure(ModelFailure(.cancelled, cancelReason ?? "cancelled")) }
            }

            let kept = am.kept
            emit(am.started())
            let messages = kept.isEmpty ? baseMessages : Prompts.continuation(baseMessages, partial: kept)
            let plan = m.withLock { $0.plan }
            let request = ModelRequest(
                model: model, provider: provider, messages: messages, maxTokens: min(step.maxTokens, model.maxOutputTokens),
                temperature: step.temperature, stream: engine.config.stream,
                context: RequestContext(runID: plan.runID, stepID: stepID, phase: step.phase, attempt: am.total, taskType: plan.intent.taskType, seed: plan.seed),
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
                // A swap or retry that came as the answer completed still applies.
                switch m.withLock({ $0.machine.attemptAnswered(stepID) }) {
                case .reset:
                    return .failure(ModelFailure(.cancelled, "input reset by a retry"))
                case .swap(let to):
                    am.stoppedForSwap(to: to, partial: "")
                    continue
                case .cancelled, .none:
                    // Cut at the output limit: the model is asked to go on (bounded), else it is kept
                    // and the step is marked truncated — never passed off as complete.
                    if am.answeredAtLimit(text, finish: finish, maxContinuations: engine.config.maxContinuations) { continue }
                    m.withLock { $0.finishReasons[stepID] = finish == .length ? .length : nil }
                    return .success(am.succeeded(text))
                }

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
                // Stopped from outside: a cancel, a retry that resets the phase, or a swap.
                if failure.errorClass == .cancelled {
                    switch m.withLock({ $0.machine.attemptStopped(stepID) }) {
                    case .cancelled(let reason):
                        return .failure(ModelFailure(.cancelled, reason))
                    case .reset:
                        return .failure(ModelFailure(.cancelled, "input reset by a retry"))
                    case .swap(let to):
                        am.stoppedForSwap(to: to, partial: failure.partialOutput)
                        continue
                    case .none:
                        break
                    }
                }
                emit(.attemptFailed(.init(
                    step: stepID, model: modelID, attempt: am.total, errorClass: failure.errorClass, message: failure.message,
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

                let hasFallback = am.fallbackIndex(after: failure) != nil
                let attemptsOnModel = am.attemptsOnModel
                let decision = m.withLock { s in
                    engine.config.retry.decide(failure, attemptsOnModel: attemptsOnModel, hasFallback: hasFallback, random: &s.rng)
                }
                switch am.failed(failure, decision: decision) {
                case .retry(let event, let delay):
                    emit(event)
                    do { try await clock.sleep(ms: delay) } catch { return .failure(ModelFailure(.cancelled, cancelReason ?? "cancelled")) }
                case .fallback(let event):
                    emit(event)
                case .giveUp(let f):
                    return .failure(f)
                }
            }
        }
        return .failure(ModelFailure(am.lastFailure.errorClass, "gave up after \(am.total) attempts; last error: \(am.lastFailure.message)", httpStatus: am.lastFailure.httpStatus))
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
        let stopNow = m.withLock { s -> Bool in
            s.attempts[stepID] = { task.cancel() }
            return s.machine.attemptStarted(stepID, model: request.model.id)
        }
        if stopNow { task.cancel() }
        clock.leave()
        let result = await task.value  // the attempt task hands its participation back
        m.withLock { s in
            s.attempts[stepID] = nil
            s.machine.attemptEnded(stepID)
        }
        return result
    }
}
