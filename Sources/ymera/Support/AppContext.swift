import Foundation
import YmeraConfig
import YmeraCore
import YmeraLocal

/// Whether a model can serve now, and if not, what to do about it.
enum Availability: Sendable, Equatable {
    case ready
    case missingKey(String)
    case localDown
    case simulated

    var canServe: Bool { self == .ready || self == .simulated }

    var label: String {
        switch self {
        case .ready: "ready"
        case .missingKey(let env): "no key (set \(env))"
        case .localDown: "local server not running"
        case .simulated: "simulated"
        }
    }
}

/// What a command needs: the loaded configuration, the environment, and who can serve.
struct AppContext: Sendable {
    var loaded: LoadedConfig
    let environment: [String: String]
    let dataDirectory: URL
    /// The local model server `ymera local start` runs, when it is up.
    let localServerUp: Bool

    var catalog: Catalog { loaded.catalog }

    static func make(_ options: CommonOptions, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AppContext {
        var loaded = try ConfigLoader.load(configFile: options.config, environment: environment)
        let dir = YmeraDataDirectory.resolve(option: options.dataDir, environment: environment)
        // The running local server's real address and window replace the catalog's placeholder.
        var up = false
        if let entries = try? LocalRuntime(dataDirectory: dir, environment: environment).catalogEntries() {
            loaded.catalog = try loaded.catalog.merging(providers: [entries.provider], models: [entries.model])
            up = true
        }
        return AppContext(loaded: loaded, environment: environment, dataDirectory: URL(fileURLWithPath: dir), localServerUp: up)
    }

    func availability(of model: ModelInfo) -> Availability {
        guard let p = catalog.provider(for: model) else { return .missingKey("?") }
        if p.kind == .simulated { return .simulated }
        if p.isLocal { return localProviderUp(p) ? .ready : .localDown }
        guard let env = p.apiKeyEnv else { return .ready }
        return (environment[env]?.isEmpty == false) ? .ready : .missingKey(env)
    }

    /// The managed local server is up when `ymera local start` runs it (or its address is given in
    /// `YMERA_LOCAL_BASE_URL`); other local providers from the config are taken as up, and a refused
    /// connection is classified and fallen back from like any other failure.
    func localProviderUp(_ p: ProviderConfig) -> Bool {
        if environment["YMERA_\(p.id.uppercased().replacingOccurrences(of: "-", with: "_"))_BASE_URL"]?.isEmpty == false { return true }
        if p.id == "local" { return localServerUp }
        return true
    }

    /// The models a run may use, and what serves them: cloud models with keys first, then a running
    /// local model, then the simulated twins.
    func servable(forceSimulated: Bool) -> (models: [ModelInfo], serving: ServingKind, note: String) {
        let sim = catalog.models(servedBy: .simulated)
        if forceSimulated { return (sim, .simulated, "simulated models (--simulate)") }
        let cloud = catalog.models(servedBy: .cloud).filter { availability(of: $0) == .ready }
        if !cloud.isEmpty {
            let providers = Set(cloud.map(\.provider)).sorted().joined(separator: ", ")
            return (cloud, .cloud, "cloud models with keys set: \(providers)")
        }
        let local = catalog.models(servedBy: .local).filter { availability(of: $0) == .ready }
        if !local.isEmpty { return (local, .local, "no cloud key set: the local model serves") }
        return (sim, .simulated, "no provider key set and no local model running: SIMULATED models serve (set a key, or `ymera local start`)")
    }
}
