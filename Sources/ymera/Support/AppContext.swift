import Foundation
import YmeraConfig
import YmeraCore
import YmeraLocal
import YmeraProviders

/// Whether a model can serve now, and if not, what to do about it.
enum Availability: Sendable, Equatable {
    case ready
    case missingKey(String)
    case localDown
    case simulated
    /// The provider's model list does not name it, or it answered "model not found".
    case notOffered

    var canServe: Bool { self == .ready || self == .simulated }

    var label: String {
        switch self {
        case .ready: "ready"
        case .missingKey(let env): "no key (set \(env))"
        case .localDown: "local server not running"
        case .simulated: "simulated"
        case .notOffered: "not offered by the provider"
        }
    }
}

/// What a command needs: the loaded configuration, the environment, and who can serve.
struct AppContext: Sendable {
    var loaded: LoadedConfig
    let environment: [String: String]
    let dataDirectory: URL
    /// The providers of the local model servers `ymera local start` runs that are up (`local`, `local-gemma`).
    let localServersUp: Set<String>
    /// The providers' model lists as last fetched, and the models they no longer offer.
    var offers = ModelListCache()
    /// Models a provider lists that the catalog lacks: usable with `--model`, never planned onto.
    var listedOnly: Set<ModelID> = []

    var catalog: Catalog { loaded.catalog }

    /// Catalog models not to plan onto (see `ModelListCache.notOffered`).
    var notOffered: Set<ModelID> { offers.notOffered(in: catalog) }

    static func make(_ options: CommonOptions, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AppContext {
        var loaded = try ConfigLoader.load(configFile: options.config, environment: environment)
        let dir = YmeraDataDirectory.resolve(option: options.dataDir, environment: environment)
        // The running local server's real address and window replace the catalog's placeholder.
        var up: Set<String> = []
        for spec in LocalModelSpec.all {
            if let entries = try? LocalRuntime(dataDirectory: dir, spec: spec, environment: environment).catalogEntries() {
                loaded.catalog = try loaded.catalog.merging(providers: [entries.provider], models: [entries.model])
                up.insert(entries.provider.id)
            }
        }
        let directory = URL(fileURLWithPath: dir)
        let offers = ModelListCache.load(directory: directory)
        let extra = offers.extraModels(for: loaded.catalog)
        if !extra.isEmpty { loaded.catalog = try loaded.catalog.merging(providers: [], models: extra) }
        return AppContext(
            loaded: loaded, environment: environment, dataDirectory: directory, localServersUp: up, offers: offers,
            listedOnly: Set(extra.map(\.id)))
    }

    func availability(of model: ModelInfo) -> Availability {
        guard let p = catalog.provider(for: model) else { return .missingKey("?") }
        if p.kind == .simulated { return .simulated }
        if notOffered.contains(model.id) { return .notOffered }
        if p.isLocal { return localProviderUp(p) ? .ready : .localDown }
        guard let env = p.apiKeyEnv else { return .ready }
        return (environment[env]?.isEmpty == false) ? .ready : .missingKey(env)
    }

    /// The managed local server is up when `ymera local start` runs it (or its address is given in
    /// `YMERA_LOCAL_BASE_URL`); other local providers from the config are taken as up, and a refused
    /// connection is classified and fallen back from like any other failure.
    func localProviderUp(_ p: ProviderConfig) -> Bool {
        if environment["YMERA_\(p.id.uppercased().replacingOccurrences(of: "-", with: "_"))_BASE_URL"]?.isEmpty == false { return true }
        if LocalModelSpec.all.contains(where: { $0.providerID == p.id }) { return localServersUp.contains(p.id) }
        return true
    }

    /// The models a run may use, and what serves them: cloud models with keys first, then a running
    /// local model, then the simulated twins.
    func servable(forceSimulated: Bool) -> (models: [ModelInfo], serving: ServingKind, note: String) {
        let sim = catalog.models(servedBy: .simulated)
        if forceSimulated { return (sim, .simulated, "simulated models (--simulate)") }
        let cloud = catalog.models(servedBy: .cloud).filter { availability(of: $0) == .ready && !listedOnly.contains($0.id) }
        if !cloud.isEmpty {
            let providers = Set(cloud.map(\.provider)).sorted().joined(separator: ", ")
            return (cloud, .cloud, "cloud models with keys set: \(providers)")
        }
        let local = catalog.models(servedBy: .local).filter { availability(of: $0) == .ready && !listedOnly.contains($0.id) }
        if !local.isEmpty { return (local, .local, "no cloud key set: the local model serves") }
        return (sim, .simulated, "no provider key set and no local model running: SIMULATED models serve (set a key, or `ymera local start`)")
    }
}
