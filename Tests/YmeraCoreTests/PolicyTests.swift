import Testing
@testable import YmeraCore

@Suite("Circuit breaker")
struct CircuitBreakerTests {
    let config = CircuitBreaker.Config(windowSize: 6, minimumCalls: 4, failureRateThreshold: 0.5, consecutiveFailures: 3, cooldownMs: 10_000, halfOpenProbes: 1, probesToClose: 1)

    @Test func opensAfterConsecutiveFailures() {
        var b = CircuitBreaker(config: config)
        #expect(b.record(failure: true, nowMs: 0) == nil)
        #expect(b.record(failure: true, nowMs: 1) == nil)
        let t = b.record(failure: true, nowMs: 2)
        #expect(t?.from == .closed && t?.to == .open)
        #expect(t?.cooldownMs == 10_000)
        #expect(b.admit(nowMs: 5_000).0 == .rejected(retryInMs: 5_002))
    }

    @Test func opensOnFailureRateOnlyWithMinimumCalls() {
        var b = CircuitBreaker(config: config)
        _ = b.record(failure: true, nowMs: 0)
        _ = b.record(failure: false, nowMs: 0)
        #expect(b.record(failure: true, nowMs: 0) == nil, "3 calls < minimum 4")
        let t = b.record(failure: false, nowMs: 0)
        #expect(t == nil, "a success never trips")
        let t2 = b.record(failure: true, nowMs: 0)
        #expect(t2?.to == .open, "3 of 5 failed ≥ 50%")
        #expect(t2?.reason.contains("failure rate") == true)
    }

    @Test func ignoredOutcomesDoNotCount() {
        var b = CircuitBreaker(config: config)
        for _ in 0..<10 { #expect(b.record(failure: nil, nowMs: 0) == nil) }
        #expect(b.state == .closed)
    }

    @Test func halfOpenProbeThatSucceedsCloses() {
        var b = CircuitBreaker(config: config)
        for i in 0..<3 { _ = b.record(failure: true, nowMs: Int64(i)) }
        let (a, t) = b.admit(nowMs: 10_002)
        #expect(a == .probe)
        #expect(t?.from == .open && t?.to == .halfOpen)
        // Only one probe at a time.
        #expect(b.admit(nowMs: 10_003).0 == .rejected(retryInMs: 0))
        let closed = b.record(failure: false, nowMs: 10_100)
        #expect(closed?.from == .halfOpen && closed?.to == .closed)
        #expect(b.admit(nowMs: 10_101).0 == .allowed)
    }

    @Test func halfOpenProbeThatFailsReopens() {
        var b = CircuitBreaker(config: config)
        for i in 0..<3 { _ = b.record(failure: true, nowMs: Int64(i)) }
        _ = b.admit(nowMs: 20_000)
        let t = b.record(failure: true, nowMs: 20_050)
        #expect(t?.from == .halfOpen && t?.to == .open)
        #expect(b.admit(nowMs: 20_060).0 == .rejected(retryInMs: 9_990))
    }

    @Test func forceOpenAndReset() {
        var b = CircuitBreaker(config: config)
        #expect(b.forceOpen(nowMs: 0, forMs: 60_000, reason: "auth")?.to == .open)
        #expect(b.admit(nowMs: 59_999).0 == .rejected(retryInMs: 1))
        #expect(b.reset()?.to == .closed)
        #expect(b.admit(nowMs: 1).0 == .allowed)
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    var policy = RetryPolicy()

    @Test func honoursRetryAfterWhenShort() {
        var rng = SplitMix64(seed: 1)
        let d = policy.decide(ModelFailure(.rateLimit, "429", retryAfterMs: 3_000), attemptsOnModel: 1, hasFallback: true, random: &rng)
        #expect(d == .retry(delayMs: 3_000, basis: "retry-after"))
    }

    @Test func longRetryAfterPrefersAnotherModel() {
        var rng = SplitMix64(seed: 1)
        let d = policy.decide(ModelFailure(.rateLimit, "429", retryAfterMs: 90_000), attemptsOnModel: 1, hasFallback: true, random: &rng)
        #expect(d == .fallback)
        let alone = policy.decide(ModelFailure(.rateLimit, "429", retryAfterMs: 90_000), attemptsOnModel: 1, hasFallback: false, random: &rng)
        #expect(alone == .retry(delayMs: 90_000, basis: "retry-after"), "with nowhere else to go, the server's wait is honoured")
    }

    @Test(arguments: [ErrorClass.auth, .quotaExhausted, .badRequest, .contextTooLong, .overloaded, .connectionRefused])
    func fallsBackWithoutRetrying(_ cls: ErrorClass) {
        var rng = SplitMix64(seed: 1)
        #expect(policy.decide(ModelFailure(cls, "x"), attemptsOnModel: 1, hasFallback: true, random: &rng) == .fallback)
    }

    @Test(arguments: [ErrorClass.stall, .connectionReset, .streamError, .truncated])
    func cutStreamWithTextGoesToTheNextModel(_ cls: ErrorClass) {
        var rng = SplitMix64(seed: 1)
        #expect(policy.decide(ModelFailure(cls, "x", partialOutput: "half an ans"), attemptsOnModel: 1, hasFallback: true, random: &rng) == .fallback)
        guard case .retry = policy.decide(ModelFailure(cls, "x", partialOutput: "half"), attemptsOnModel: 1, hasFallback: false, random: &rng) else {
            Issue.record("with no other model, a cut stream is retried")
            return
        }
    }

    @Test func timeoutPrefersAnotherModel() {
        var rng = SplitMix64(seed: 1)
        #expect(policy.decide(ModelFailure(.timeout, "x"), attemptsOnModel: 1, hasFallback: true, random: &rng) == .fallback)
        guard case .retry = policy.decide(ModelFailure(.timeout, "x"), attemptsOnModel: 1, hasFallback: false, random: &rng) else {
            Issue.record("with no other model, a timeout is retried")
            return
        }
    }

    @Test func stallGoesToTheNextModelAtOnce() {
        var rng = SplitMix64(seed: 1)
        // With or without partial output: the stalled model only again when nothing else can serve.
        #expect(policy.decide(ModelFailure(.stall, "x"), attemptsOnModel: 1, hasFallback: true, random: &rng) == .fallback)
        #expect(policy.decide(ModelFailure(.stall, "x", partialOutput: "half"), attemptsOnModel: 1, hasFallback: true, random: &rng) == .fallback)
        guard case .retry = policy.decide(ModelFailure(.stall, "x"), attemptsOnModel: 1, hasFallback: false, random: &rng) else {
            Issue.record("with no other model, a stall is retried")
            return
        }
        if case .fail = policy.decide(ModelFailure(.stall, "x"), attemptsOnModel: 3, hasFallback: false, random: &rng) {} else {
            Issue.record("expected failure after the retries with no fallback left")
        }
    }

    @Test(arguments: [ErrorClass.serverError, .connectionReset, .streamError, .truncated, .malformed])
    func retriesThenFallsBack(_ cls: ErrorClass) {
        var rng = SplitMix64(seed: 1)
        guard case .retry(_, "backoff") = policy.decide(ModelFailure(cls, "x"), attemptsOnModel: 1, hasFallback: true, random: &rng) else {
            Issue.record("expected a backoff retry for \(cls)")
            return
        }
        #expect(policy.decide(ModelFailure(cls, "x"), attemptsOnModel: 3, hasFallback: true, random: &rng) == .fallback)
        if case .fail = policy.decide(ModelFailure(cls, "x"), attemptsOnModel: 3, hasFallback: false, random: &rng) {} else {
            Issue.record("expected failure with no fallback left")
        }
    }

    @Test func backoffGrowsAndIsCapped() {
        var rng = SplitMix64(seed: 42)
        var p = policy
        p.jitter = 0
        #expect(p.delay(afterAttempt: 1, random: &rng) == 500)
        #expect(p.delay(afterAttempt: 2, random: &rng) == 1_000)
        #expect(p.delay(afterAttempt: 3, random: &rng) == 2_000)
        #expect(p.delay(afterAttempt: 20, random: &rng) == 30_000)
        p.jitter = 0.2
        for n in 1...6 {
            let d = p.delay(afterAttempt: n, random: &rng)
            let base = min(30_000.0, 500 * pow2(n - 1))
            #expect(Double(d) >= base * 0.8 - 1 && Double(d) <= base * 1.2 + 1)
        }
    }

    func pow2(_ n: Int) -> Double { (0..<n).reduce(1.0) { r, _ in r * 2 } }
}

@Suite("Rate limiter")
struct RateLimiterTests {
    @Test func waitsWhenRequestsPerMinuteAreUsedUp() {
        var l = RateLimiter(limit: RateLimit(requestsPerMinute: 2), nowMs: 0)
        #expect(l.reserve(estimatedTokens: 10, nowMs: 0).waitMs == 0)
        #expect(l.reserve(estimatedTokens: 10, nowMs: 0).waitMs == 0)
        let (wait, reason) = l.reserve(estimatedTokens: 10, nowMs: 0)
        #expect(wait == 30_000)
        #expect(reason == "requests per minute")
        #expect(l.reserve(estimatedTokens: 10, nowMs: 30_000).waitMs == 0)
    }

    @Test func providerHeadersBlockUntilReset() {
        var l = RateLimiter(limit: nil, nowMs: 0)
        l.observe(RateLimitSnapshot(provider: "groq", limitRequests: 100, remainingRequests: 0, resetRequestsMs: 7_000), nowMs: 1_000)
        #expect(l.reserve(estimatedTokens: 1, nowMs: 1_000).waitMs == 7_000)
        #expect(l.reserve(estimatedTokens: 1, nowMs: 8_000).waitMs == 0)
    }

    @Test func tokenBudget() {
        var l = RateLimiter(limit: RateLimit(tokensPerMinute: 6_000), nowMs: 0)
        #expect(l.reserve(estimatedTokens: 5_000, nowMs: 0).waitMs == 0)
        let (wait, reason) = l.reserve(estimatedTokens: 2_000, nowMs: 0)
        #expect(reason == "tokens per minute")
        #expect(wait == 10_000)
    }
}

@Suite("Step scheduler")
struct StepSchedulerTests {
    @Test func respectsDependenciesAndLimit() throws {
        var s = try StepScheduler(nodes: [("1", []), ("2", ["1"]), ("3", ["1"]), ("4", ["1"]), ("5", ["2", "3", "4"])], limit: 2)
        #expect(s.nextReady() == ["1"])
        #expect(s.nextReady() == [])
        s.finish("1", succeeded: true)
        #expect(s.nextReady() == ["2", "3"])
        s.finish("3", succeeded: true)
        #expect(s.nextReady() == ["4"])
        s.finish("2", succeeded: true)
        s.finish("4", succeeded: true)
        #expect(s.nextReady() == ["5"])
        s.finish("5", succeeded: true)
        #expect(s.isFinished && s.succeeded)
    }

    @Test func failureSkipsDependents() throws {
        var s = try StepScheduler(nodes: [("a", []), ("b", ["a"]), ("c", ["b"]), ("d", [])], limit: 4)
        #expect(s.nextReady() == ["a", "d"])
        #expect(s.finish("a", succeeded: false) == ["b", "c"])
        s.finish("d", succeeded: true)
        #expect(s.isFinished && !s.succeeded)
    }

    @Test func rejectsCycles() {
        #expect(throws: CatalogError.self) { try StepScheduler(nodes: [("a", ["b"]), ("b", ["a"])], limit: 1) }
    }

    @Test func resetRerunsDownstream() throws {
        var s = try StepScheduler(nodes: [("p", []), ("g", ["p"]), ("v", ["g"])], limit: 3)
        for id in ["p", "g", "v"] {
            _ = s.nextReady()
            s.finish(id, succeeded: true)
        }
        #expect(s.reset("g") == ["g", "v"])
        #expect(s.nextReady() == ["g"])
    }
}
