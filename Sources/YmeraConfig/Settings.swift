import Foundation
import YmeraCore

/// Defaults a user sets in the config file (`[defaults]`).
public struct RunDefaults: Sendable, Hashable {
    public var strategy: Strategy?
    public var budgetUSD: Double?
    public var qualityThreshold: Double?
    public var theme: String?
    public var subtaskConcurrency: Int?
    /// Phases that wait for a person's decision when they finish (`gates = ["review"]`).
    public var gates: [String]?
    /// `gate_timeout = "30m"`: how long a gate waits (nil: no limit).
    public var gateTimeoutMs: Int64?
    /// `gate_timeout_action = "approve" | "fail"`.
    public var gateTimeoutAction: GatePolicy.TimeoutAction?
    public init() {}
}

/// Everything read from the catalog and config files, with where each part came from.
public struct LoadedConfig: Sendable {
    public var catalog: Catalog
    public var defaults: RunDefaults
    public var engine: EngineConfig
    /// Circuit-breaker settings from `[engine]`.
    public var breaker: CircuitBreaker.Config
    /// The files read, in order (later ones override earlier ones).
    public var sources: [String]
    /// MCP servers from `[mcp.servers.NAME]`, in the order first declared.
    public var mcpServers: [MCPServerConfig] = []
    /// `[engine] stall_timeout_s`: silence mid-stream after which an attempt is a stall (then the
    /// next model continues). nil: the clients' default (30 s).
    public var stallTimeoutSeconds: Double?
}

/// Reads the catalog shipped with YMERA, then the user's files, then `--config FILE`:
///
/// 1. the package resource `catalog.toml` (the default providers and models),
/// 2. `$XDG_CONFIG_HOME/ymera/catalog.toml` and `$XDG_CONFIG_HOME/ymera/config.toml` (if present;
///    `~/.config` when `XDG_CONFIG_HOME` is unset),
/// 3. the file given with `--config`.
///
/// Each may hold `[providers.ID]`, `[[models]]`, `[defaults]`, `[engine]` and `[mcp.servers.NAME]`; later files add to or
/// replace earlier entries. Every model gets a simulated twin `sim/NAME` unless it is local or simulated.
public enum ConfigLoader {
    public static func load(configFile: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> LoadedConfig {
        var docs: [ConfigDocument] = [try defaultCatalogDocument()]
        let dir = userConfigDirectory(environment: environment)
        for name in ["catalog.toml", "config.toml"] {
            let path = dir.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: path) { docs.append(try ConfigDocument.load(path: path)) }
        }
        if let configFile { docs.append(try ConfigDocument.load(path: configFile)) }
        return try load(documents: docs)
    }

    public static func load(documents docs: [ConfigDocument]) throws(ConfigError) -> LoadedConfig {
        var providers: [String: ProviderConfig] = [:]
        var providerOrder: [String] = []
        var models: [ModelInfo] = []
        var defaults = RunDefaults()
        var engine = EngineConfig()
        var modelOrigin: [ModelID: (ConfigDocument, String)] = [:]
        var mcpServers: [MCPServerConfig] = []
        var retired: [RetiredModel] = []
        var retiredOrigin: [ModelID: (ConfigDocument, String)] = [:]
        for doc in docs {
            let root = TableReader(doc: doc, path: "", value: doc.root)
            try root.checkKeys(["providers", "models", "retired", "defaults", "engine", "mcp"])
            if let p = try root.table("providers") {
                for id in p.value.keys {
                    guard let t = try p.table(id) else { continue }
                    let provider = try readProvider(id: id, t)
                    if providers[id] == nil { providerOrder.append(id) }
                    providers[id] = provider
                }
            }
            if let m = doc.root["models"] {
                guard case .array(let items) = m else { throw doc.error("models", "expected [[models]] entries, found \(m.typeName)") }
                for (i, item) in items.enumerated() {
                    let path = "models[\(i)]"
                    guard case .table = item else { throw doc.error(path, "expected a table") }
                    let model = try readModel(TableReader(doc: doc, path: path, value: item))
                    models.removeAll { $0.id == model.id }
                    models.append(model)
                    modelOrigin[model.id] = (doc, path)
                }
            }
            if let r = doc.root["retired"] {
                guard case .array(let items) = r else { throw doc.error("retired", "expected [[retired]] entries, found \(r.typeName)") }
                for (i, item) in items.enumerated() {
                    let path = "retired[\(i)]"
                    guard case .table = item else { throw doc.error(path, "expected a table") }
                    let entry = try readRetired(TableReader(doc: doc, path: path, value: item))
                    retired.removeAll { $0.id == entry.id }
                    retired.append(entry)
                    retiredOrigin[entry.id] = (doc, path)
                }
            }
            if let d = try root.table("defaults") { try readDefaults(d, into: &defaults) }
            if let e = try root.table("engine") { try readEngine(e, into: &engine) }
            if let m = try root.table("mcp") { try readMCP(m, into: &mcpServers) }
        }
        // Every model must name a known provider.
        for model in models where providers[model.provider] == nil {
            let (doc, path) = modelOrigin[model.id]!
            throw doc.error("\(path).provider", "unknown provider '\(model.provider)'; known: \(providerOrder.joined(separator: ", "))")
        }
        // A retired name resolves to a model that exists (a current model of the same id wins).
        for r in retired where !models.contains(where: { $0.id == r.id }) && !models.contains(where: { $0.id == r.successor }) {
            let (doc, path) = retiredOrigin[r.id]!
            throw doc.error("\(path).successor", "'\(r.successor)' is not a model of the catalog")
        }
        retired.removeAll { r in models.contains { $0.id == r.id } }
        // Simulated twins.
        if providers["sim"] == nil {
            providers["sim"] = ProviderConfig(id: "sim", kind: .simulated, displayName: "Simulated", baseURL: "sim://local")
            providerOrder.append("sim")
        }
        var twins: [ModelInfo] = []
        for m in models where providers[m.provider]?.kind != .simulated && providers[m.provider]?.isLocal != true {
            let id = ModelID("sim/\(m.id.name)")
            guard !models.contains(where: { $0.id == id }), !twins.contains(where: { $0.id == id }) else { continue }
            var t = m
            t.id = id
            t.provider = "sim"
            t.displayName = m.displayName + " (simulated)"
            t.aliases = []
            t.twinOf = m.id
            t.rateLimit = nil
            twins.append(t)
        }
        do {
            let catalog = try Catalog(providers: providerOrder.compactMap { providers[$0] }, models: models + twins, retired: retired)
            return LoadedConfig(
                catalog: catalog, defaults: defaults, engine: engine, breaker: breakerConfig(from: docs), sources: docs.map(\.file),
                mcpServers: mcpServers, stallTimeoutSeconds: stallTimeout(from: docs))
        } catch {
            throw ConfigError(file: docs.last?.file ?? "catalog", line: nil, key: nil, message: "\(error)")
        }
    }

    static func readProvider(id: String, _ t: TableReader) throws(ConfigError) -> ProviderConfig {
        try t.checkKeys(["kind", "name", "base_url", "api_key_env", "local", "max_concurrent", "headers"])
        let kindText = try t.requiredString("kind")
        guard let kind = ProviderKind(rawValue: kindText) else {
            throw t.doc.error(t.full("kind"), "'\(kindText)' is not a provider kind; use one of \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let base = try t.string("base_url") ?? (kind == .simulated ? "sim://local" : "")
        if kind != .simulated {
            guard let url = URL(string: base), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw t.doc.error(t.full("base_url"), "'\(base)' is not an http(s) URL")
            }
        }
        var headers: [String: String] = [:]
        if let h = try t.table("headers") {
            for k in h.value.keys { headers[k] = try h.requiredString(k) }
            for k in headers.keys where ["authorization", "x-api-key", "x-goog-api-key"].contains(k.lowercased()) {
                throw t.doc.error(h.full(k), "secrets do not belong in the config file; name the environment variable with api_key_env")
            }
        }
        return ProviderConfig(
            id: id, kind: kind, displayName: try t.string("name") ?? id, baseURL: base, apiKeyEnv: try t.string("api_key_env"),
            isLocal: try t.bool("local") ?? false, maxConcurrent: try t.int("max_concurrent", in: 1...1024), headers: headers)
    }

    static func readModel(_ t: TableReader) throws(ConfigError) -> ModelInfo {
        try t.checkKeys([
            "id", "provider", "api_name", "name", "context_window", "max_output_tokens", "price_input", "price_output",
            "price_cached_input", "speed", "quality", "capabilities", "rpm", "tpm", "aliases", "source", "as_of",
            "fixed_temperature",
        ])
        let idText = try t.requiredString("id")
        let parts = idText.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw t.doc.error(t.full("id"), "'\(idText)' should have the form provider/model")
        }
        let provider = try t.string("provider") ?? String(parts[0])
        var caps: Set<Capability> = []
        for c in try t.strings("capabilities") ?? [] {
            guard let cap = Capability(rawValue: c) else {
                throw t.doc.error(t.full("capabilities"), "'\(c)' is not a capability; use \(Capability.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            caps.insert(cap)
        }
        let pin = try t.double("price_input", in: 0...10_000)
        let pout = try t.double("price_output", in: 0...10_000)
        if (pin == nil) != (pout == nil) {
            throw t.doc.error(t.full(pin == nil ? "price_input" : "price_output"), "give both price_input and price_output, or neither (unpriced)")
        }
        let cached = try t.double("price_cached_input", in: 0...10_000)
        let rpm = try t.int("rpm", in: 1...10_000_000)
        let tpm = try t.int("tpm", in: 1...1_000_000_000)
        return ModelInfo(
            id: ModelID(idText), provider: provider, apiName: try t.string("api_name") ?? String(parts[1]),
            displayName: try t.string("name") ?? String(parts[1]), contextWindow: try t.int("context_window", in: 256...100_000_000) ?? 8192,
            maxOutputTokens: try t.int("max_output_tokens", in: 16...1_000_000) ?? 4096,
            pricing: pin.map { Pricing(inputPerMillion: $0, outputPerMillion: pout ?? 0, cachedInputPerMillion: cached) },
            speedTier: try t.int("speed", in: 1...5) ?? 3, qualityTier: try t.int("quality", in: 1...5) ?? 3, capabilities: caps,
            rateLimit: (rpm == nil && tpm == nil) ? nil : RateLimit(requestsPerMinute: rpm, tokensPerMinute: tpm),
            aliases: try t.strings("aliases") ?? [], source: try t.string("source"), asOf: try readDate(t, "as_of"),
            fixedTemperature: try t.bool("fixed_temperature"))
    }

    /// A `[[retired]]` entry: a name that resolves to its successor.
    static func readRetired(_ t: TableReader) throws(ConfigError) -> RetiredModel {
        try t.checkKeys(["id", "retired", "successor", "aliases", "source"])
        let idText = try t.requiredString("id")
        guard idText.split(separator: "/", maxSplits: 1).count == 2 else {
            throw t.doc.error(t.full("id"), "'\(idText)' should have the form provider/model")
        }
        return RetiredModel(
            id: ModelID(idText), retired: try readDate(t, "retired"), successor: ModelID(try t.requiredString("successor")),
            aliases: try t.strings("aliases") ?? [], source: try t.string("source"))
    }

    /// A date written `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    static func readDate(_ t: TableReader, _ key: String) throws(ConfigError) -> String? {
        guard let text = try t.string(key) else { return nil }
        guard text.range(of: #"^\d{4}(-\d{2}(-\d{2})?)?$"#, options: .regularExpression) != nil else {
            throw t.doc.error(t.full(key), "'\(text)' is not a date; write YYYY-MM-DD (or YYYY-MM)")
        }
        return text
    }

    static func readDefaults(_ t: TableReader, into d: inout RunDefaults) throws(ConfigError) {
        try t.checkKeys(["strategy", "budget_usd", "quality_threshold", "theme", "subtask_concurrency", "gates", "gate_timeout", "gate_timeout_action"])
        if let g = try t.strings("gates") {
            do { d.gates = try GatePolicy.validate(g) } catch { throw t.doc.error(t.full("gates"), "\(error)") }
        }
        if let text = try t.string("gate_timeout") {
            guard let ms = GatePolicy.parseDuration(text) else {
                throw t.doc.error(t.full("gate_timeout"), "'\(text)' is not a time limit; write e.g. \"90s\", \"30m\" or \"2h\"")
            }
            d.gateTimeoutMs = ms
        }
        if let a = try t.string("gate_timeout_action") {
            guard let action = GatePolicy.TimeoutAction(rawValue: a) else {
                throw t.doc.error(t.full("gate_timeout_action"), "'\(a)' is not a gate timeout action; use approve or fail")
            }
            d.gateTimeoutAction = action
        }
        if let s = try t.string("strategy") {
            guard let st = Strategy(rawValue: s) else {
                throw t.doc.error(t.full("strategy"), "'\(s)' is not a strategy; use \(Strategy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            d.strategy = st
        }
        if let b = try t.double("budget_usd", in: 0...1_000_000) { d.budgetUSD = b }
        if let q = try t.double("quality_threshold", in: 0...1) { d.qualityThreshold = q }
        if let th = try t.string("theme") { d.theme = th }
        if let c = try t.int("subtask_concurrency", in: 1...64) { d.subtaskConcurrency = c }
    }

    static func readEngine(_ t: TableReader, into e: inout EngineConfig) throws(ConfigError) {
        try t.checkKeys([
            "subtask_concurrency", "max_refinements", "fallback_mode", "max_attempts_per_model", "max_attempts_per_step",
            "retry_initial_ms", "retry_max_ms", "breaker_cooldown_s", "breaker_failure_rate", "breaker_min_calls",
            "breaker_consecutive_failures", "breaker_window", "stream", "stall_timeout_s", "max_continuations",
            "step_timeout_s",
        ])
        if let v = try t.int("subtask_concurrency", in: 1...64) { e.subtaskConcurrency = v }
        if let v = try t.int("max_refinements", in: 0...5) { e.maxRefinements = v }
        if let v = try t.string("fallback_mode") {
            guard let mode = RunEvent.FallbackTaken.Mode(rawValue: v) else {
                throw t.doc.error(t.full("fallback_mode"), "'\(v)' should be 'continue' or 'restart'")
            }
            e.fallbackMode = mode
        }
        if let v = try t.int("max_attempts_per_model", in: 1...20) { e.retry.maxAttemptsPerModel = v }
        if let v = try t.int("max_attempts_per_step", in: 1...100) { e.maxAttemptsPerStep = v }
        if let v = try t.int("retry_initial_ms", in: 0...600_000) { e.retry.initialDelayMs = Int64(v) }
        if let v = try t.int("retry_max_ms", in: 0...3_600_000) { e.retry.maxDelayMs = Int64(v) }
        if let v = try t.bool("stream") { e.stream = v }
        if let v = try t.int("max_continuations", in: 0...10) { e.maxContinuations = v }
        if let v = try t.double("step_timeout_s", in: 1...86_400) { e.stepTimeoutMs = Int64(v * 1000) }
        // Breaker settings are read by `breakerConfig(from:)` below as well; kept here for validation.
        _ = try t.double("stall_timeout_s", in: 1...600)
        _ = try t.double("breaker_cooldown_s", in: 0...86_400)
        _ = try t.double("breaker_failure_rate", in: 0.01...1)
        _ = try t.int("breaker_min_calls", in: 1...1000)
        _ = try t.int("breaker_consecutive_failures", in: 1...1000)
        _ = try t.int("breaker_window", in: 1...1000)
    }

    /// `stall_timeout_s` from the `[engine]` tables (later wins).
    static func stallTimeout(from docs: [ConfigDocument]) -> Double? {
        var out: Double?
        for doc in docs {
            if case .double(let s)? = doc.root["engine"]?["stall_timeout_s"] { out = s }
            if case .int(let s)? = doc.root["engine"]?["stall_timeout_s"] { out = Double(s) }
        }
        return out
    }

    /// Breaker settings from the `[engine]` tables of the documents (later wins).
    public static func breakerConfig(from docs: [ConfigDocument]) -> CircuitBreaker.Config {
        var c = CircuitBreaker.Config()
        for doc in docs {
            guard let e = doc.root["engine"] else { continue }
            if case .double(let s)? = e["breaker_cooldown_s"] { c.cooldownMs = Int64(s * 1000) }
            if case .int(let s)? = e["breaker_cooldown_s"] { c.cooldownMs = Int64(s) * 1000 }
            if case .double(let r)? = e["breaker_failure_rate"] { c.failureRateThreshold = r }
            if case .int(let n)? = e["breaker_min_calls"] { c.minimumCalls = n }
            if case .int(let n)? = e["breaker_consecutive_failures"] { c.consecutiveFailures = n }
            if case .int(let n)? = e["breaker_window"] { c.windowSize = n }
        }
        return c
    }

    public static func userConfigDirectory(environment: [String: String]) -> URL {
        if let x = environment["XDG_CONFIG_HOME"], !x.isEmpty { return URL(fileURLWithPath: x).appendingPathComponent("ymera") }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".config/ymera")
    }

    /// The catalog shipped as a package resource. Found next to the executable (SwiftPM's layout)
    /// without `Bundle.module`, whose accessor ends the process when the bundle is missing.
    public static func defaultCatalogDocument() throws(ConfigError) -> ConfigDocument {
        guard let path = ResourceLocator.path(bundle: "ymera_YmeraConfig", file: "catalog.toml") else {
            throw ConfigError(
                file: "catalog.toml", line: nil, key: nil,
                message: "the default catalog was not found next to the executable (ymera_YmeraConfig.resources/); reinstall, or pass --config FILE with a full catalog")
        }
        return try ConfigDocument.load(path: path)
    }
}

/// Finds SwiftPM resource bundles without `Bundle.module` (which calls fatalError when missing).
public enum ResourceLocator {
    public static func path(bundle: String, file: String) -> String? {
        var candidates: [URL] = []
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(exe)
        candidates.append(Bundle.main.bundleURL)
        if let p = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() { candidates.append(p) }
        // Test bundles live in the build folder next to the resource bundles.
        for b in Bundle.allBundles { candidates.append(b.bundleURL.deletingLastPathComponent()) }
        if let env = ProcessInfo.processInfo.environment["YMERA_RESOURCES"] { candidates.insert(URL(fileURLWithPath: env), at: 0) }
        for dir in candidates {
            for name in ["\(bundle).resources", "\(bundle).bundle", "\(bundle).bundle/Contents/Resources"] {
                let p = dir.appendingPathComponent(name).appendingPathComponent(file).path
                if FileManager.default.fileExists(atPath: p) { return p }
            }
        }
        return nil
    }
}
