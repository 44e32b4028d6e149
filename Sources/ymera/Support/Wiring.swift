import Foundation
import YmeraConfig
import YmeraCore
import YmeraMCP
import YmeraProviders
import YmeraQuality
import YmeraStore

/// Builds the engine's parts for a command: clock, clients, validator.
struct Wiring {
    let context: AppContext

    /// Simulated runs use virtual time unless asked for real pacing: same seed, same events.
    func clock(serving: ServingKind, realtime: Bool) -> any RunClock {
        serving == .simulated && !realtime ? VirtualClock() : SystemClock()
    }

    /// The engine for a journaled command-line run (`run` and `resume` alike): the clients, the chosen
    /// validator, breakers kept in the journal, the config's engine settings and the journal's history.
    /// `workspace` receives the files that generation and refinement write (the engine applies them
    /// before scoring, so validation runs on the files as written).
    func journaledEngine(
        journal: Journal, clock: any RunClock, available: [ModelInfo], validator: String, faults: Double,
        workspace: (any RunWorkspace)? = nil, timeScale: Double = 1
    ) throws -> Engine {
        guard let kind = ValidatorKind(rawValue: validator) else {
            throw CLIError.input("unknown --validator '\(validator)': use real or heuristic")
        }
        var config = context.loaded.engine
        if let c = context.loaded.defaults.subtaskConcurrency { config.subtaskConcurrency = c }
        return Engine(
            catalog: context.catalog, client: client(clock: clock, faults: .init(rate: faults), timeScale: timeScale),
            validator: self.validator(available: available, kind: kind), clock: clock,
            resilience: try resilience(journal: journal, clock: clock), config: config, history: journal,
            workspace: workspace ?? StoreRunWorkspace(dataDirectory: journal.directory), tools: toolHost())
    }

    /// The config's MCP servers as the run's tool host (nil when none are declared): started on demand by
    /// the phases that may use them, stopped when the run ends.
    func toolHost() -> (any ToolHost)? {
        context.loaded.mcpServers.isEmpty ? nil : MCPToolHost(servers: context.loaded.mcpServers)
    }

    /// Breakers and rate limiters for a run. On real time, open breakers are kept in the journal across
    /// sessions (an open breaker stays open after a restart until its cool-down ends). Simulated time is
    /// a run's own, so simulated runs neither restore nor persist breakers.
    func resilience(journal: Journal, clock: any RunClock) throws -> ResilienceRegistry {
        let config = context.loaded.breaker
        guard clock is SystemClock else { return ResilienceRegistry(breakerConfig: config) }
        let registry = ResilienceRegistry(breakerConfig: config, listener: journal.breakerListener())
        try journal.restoreBreakers(into: registry, nowMs: clock.nowMs())
        return registry
    }

    /// The real validator, with a judge for review and validation: the best available model with the
    /// review capability. A simulated judge answers at once, outside the run's simulated time.
    func validator(available: [ModelInfo], kind: ValidatorKind) -> any QualityValidator {
        switch kind {
        case .heuristic:
            return HeuristicValidator()
        case .real:
            // The two best review-capable models: the second judges the first one's outputs.
            let ranked = available.filter { $0.has(.review) }.sorted { ($0.qualityTier, $1.id.rawValue) > ($1.qualityTier, $0.id.rawValue) }
            let judges = ranked.prefix(2).compactMap { m -> ModelJudge? in
                guard let provider = context.catalog.provider(for: m) else { return nil }
                let judgeClient: any ModelClient =
                    provider.kind == .simulated
                    ? SimulatedProvider(clock: SystemClock(), timeScale: 0)
                    : client(clock: SystemClock(), faults: .init())
                return ModelJudge(client: judgeClient, model: m, provider: provider)
            }
            var options = RealValidator.Options()
            options.searchPath = AnalyzerTools.searchPath(dataDirectory: context.dataDirectory.path, environment: context.environment)
            guard let first = judges.first else { return RealValidator(options: options) }
            return RealValidator(options: options, judge: first, alternateJudge: judges.dropFirst().first)
        }
    }

    func client(clock: any RunClock, faults: SimulatedProvider.Faults, timeScale: Double = 1) -> any ModelClient {
        var clients: [ProviderKind: any ModelClient] = [
            .simulated: SimulatedProvider(clock: clock, faults: faults, timeScale: timeScale)
        ]
        for (kind, client) in HTTPWiring.clients(
            environment: context.environment, timeouts: .withStall(seconds: context.loaded.stallTimeoutSeconds))
        {
            clients[kind] = client
        }
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

/// HTTP clients for the real wire formats, on one process-wide HTTP client.
enum HTTPWiring {
    static func clients(environment: [String: String], timeouts: ProviderTimeouts = .default) -> [ProviderKind: any ModelClient] {
        HTTPModelClients.clients(httpClient: HTTPModelClients.shared, environment: environment, timeouts: timeouts)
    }
}
