import Foundation
import YmeraConfig
import YmeraCore
import YmeraQuality

/// Builds the engine's parts for a command: clock, clients, validator.
struct Wiring {
    let context: AppContext

    /// Simulated runs use virtual time unless asked for real pacing: same seed, same events.
    func clock(serving: ServingKind, realtime: Bool) -> any RunClock {
        serving == .simulated && !realtime ? VirtualClock() : SystemClock()
    }

    /// The real validator, with a judge for review and validation: the best available model with the
    /// review capability. A simulated judge answers at once, outside the run's simulated time.
    func validator(available: [ModelInfo], kind: ValidatorKind) -> any QualityValidator {
        switch kind {
        case .heuristic:
            return HeuristicValidator()
        case .real:
            let judgeModel = available.filter { $0.has(.review) }.max { ($0.qualityTier, $1.id.rawValue) < ($1.qualityTier, $0.id.rawValue) }
            guard let m = judgeModel, let provider = context.catalog.provider(for: m) else { return RealValidator() }
            let judgeClient: any ModelClient =
                provider.kind == .simulated
                ? SimulatedProvider(clock: SystemClock(), timeScale: 0)
                : client(clock: SystemClock(), faults: .init())
            return RealValidator(judge: ModelJudge(client: judgeClient, model: m, provider: provider))
        }
    }

    func client(clock: any RunClock, faults: SimulatedProvider.Faults, timeScale: Double = 1) -> any ModelClient {
        var clients: [ProviderKind: any ModelClient] = [
            .simulated: SimulatedProvider(clock: clock, faults: faults, timeScale: timeScale)
        ]
        for (kind, client) in HTTPWiring.clients(environment: context.environment) { clients[kind] = client }
        return ClientRouter(clients: clients)
    }
}

/// Which validator scores the phases.
enum ValidatorKind: String, CaseIterable, Sendable {
    /// Toolchains, analyzers, sandboxed tests, text scores and a model judge.
    case real
    /// Text heuristics only: instant, no tools.
    case heuristic
}

/// HTTP clients for the real wire formats (filled in by the providers target).
enum HTTPWiring {
    static func clients(environment: [String: String]) -> [ProviderKind: any ModelClient] { [:] }
}
