// Breaker and retry decision cost: what the engine pays per model call for its resilience.
//   cd Benchmarks && swift package --disable-sandbox benchmark --target Policies
import Benchmark
import YmeraCore

enum Fixture {
    static let failures = ErrorClass.allCases.map {
        ModelFailure($0, "x", retryAfterMs: $0 == .rateLimit ? 1000 : nil, partialOutput: "p")
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 3,
        scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 100_000)

    Benchmark("CircuitBreaker admit + record (1 in 7 fails)") { benchmark in
        var breaker = CircuitBreaker()
        var t: Int64 = 0
        for i in benchmark.scaledIterations {
            t += 1
            blackHole(breaker.admit(nowMs: t))
            blackHole(breaker.record(failure: i % 7 == 0, nowMs: t))
        }
    }

    Benchmark("ResilienceRegistry admit + record (the engine's locked path)") { benchmark in
        let registry = ResilienceRegistry()
        let models: [ModelID] = ["a/x", "b/y", "c/z"]
        for i in benchmark.scaledIterations {
            let m = models[i % 3]
            blackHole(registry.admit(m, nowMs: Int64(i)))
            blackHole(registry.record(m, failure: i % 7 == 0, nowMs: Int64(i)))
        }
    }

    Benchmark("RetryPolicy.decide (all error classes)") { benchmark in
        let policy = RetryPolicy()
        var rng = SplitMix64(seed: 1)
        for i in benchmark.scaledIterations {
            blackHole(policy.decide(
                Fixture.failures[i % Fixture.failures.count], attemptsOnModel: 1 + i % 3, hasFallback: i % 2 == 0,
                random: &rng))
        }
    }

    Benchmark("RateLimiter.reserve") { benchmark in
        var limiter = RateLimiter(limit: RateLimit(requestsPerMinute: 600, tokensPerMinute: 1_000_000), nowMs: 0)
        for i in benchmark.scaledIterations { blackHole(limiter.reserve(estimatedTokens: 100, nowMs: Int64(i))) }
    }
}
