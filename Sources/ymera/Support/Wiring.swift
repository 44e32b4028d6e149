import Foundation
import YmeraConfig
import YmeraCore

/// Builds the engine's parts for a command: clock, clients, validator.
struct Wiring {
    let context: AppContext

    /// Simulated runs use virtual time unless asked for real pacing: same seed, same events.
    func clock(serving: ServingKind, realtime: Bool) -> any RunClock {
        serving == .simulated && !realtime ? VirtualClock() : SystemClock()
    }

    func client(clock: any RunClock, faults: SimulatedProvider.Faults, timeScale: Double = 1) -> any ModelClient {
        var clients: [ProviderKind: any ModelClient] = [
            .simulated: SimulatedProvider(clock: clock, faults: faults, timeScale: timeScale)
        ]
        for (kind, client) in HTTPWiring.clients(environment: context.environment) { clients[kind] = client }
        return ClientRouter(clients: clients)
    }
}

/// HTTP clients for the real wire formats (filled in by the providers target).
enum HTTPWiring {
    static func clients(environment: [String: String]) -> [ProviderKind: any ModelClient] { [:] }
}
