import Foundation
import YmeraConfig
import YmeraCore

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
    let loaded: LoadedConfig
    let environment: [String: String]
    let dataDirectory: URL

    var catalog: Catalog { loaded.catalog }

    static func make(_ options: CommonOptions, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AppContext {
        let loaded = try ConfigLoader.load(configFile: options.config, environment: environment)
        return AppContext(loaded: loaded, environment: environment, dataDirectory: dataDirectory(options.dataDir, environment))
    }

    /// `--data-dir`, else `$YMERA_HOME`, else `$XDG_DATA_HOME/ymera`, else `~/.local/share/ymera`.
    static func dataDirectory(_ flag: String?, _ env: [String: String]) -> URL {
        if let flag, !flag.isEmpty { return URL(fileURLWithPath: flag) }
        if let home = env["YMERA_HOME"], !home.isEmpty { return URL(fileURLWithPath: home) }
        if let xdg = env["XDG_DATA_HOME"], !xdg.isEmpty { return URL(fileURLWithPath: xdg).appendingPathComponent("ymera") }
        return URL(fileURLWithPath: env["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".local/share/ymera")
    }

    func availability(of model: ModelInfo) -> Availability {
        guard let p = catalog.provider(for: model) else { return .missingKey("?") }
        if p.kind == .simulated { return .simulated }
        if p.isLocal { return localProviderUp(p) ? .ready : .localDown }
        guard let env = p.apiKeyEnv else { return .ready }
        return (environment[env]?.isEmpty == false) ? .ready : .missingKey(env)
    }

    func localProviderUp(_ p: ProviderConfig) -> Bool {
        environment["YMERA_\(p.id.uppercased())_BASE_URL"] != nil
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
