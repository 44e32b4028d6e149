/// The wire format a provider speaks.
public enum ProviderKind: String, Codable, Sendable, CaseIterable {
    case openAICompatible = "openai-compatible"
    case anthropic
    case gemini
    case simulated
}

/// What kind of model is serving a run: the UI says this plainly on every screen.
public enum ServingKind: String, Codable, Sendable {
    case cloud, local, simulated, mixed

    public var badge: String {
        switch self {
        case .cloud: "CLOUD"
        case .local: "LOCAL MODEL"
        case .simulated: "SIMULATED"
        case .mixed: "MIXED"
        }
    }
}

/// A provider entry of the catalog.
public struct ProviderConfig: Codable, Sendable, Hashable, Identifiable {
    /// Short id, the first part of a model id: `groq` in `groq/llama-3.1-8b-instant`.
    public var id: String
    public var kind: ProviderKind
    public var displayName: String
    /// Base URL up to (not including) the endpoint path, e.g. `https://api.groq.com/openai/v1`.
    public var baseURL: String
    /// Name of the environment variable holding the API key; nil when none is needed.
    public var apiKeyEnv: String?
    /// A server on this machine (llama.cpp, Ollama): zero cost, labelled local.
    public var isLocal: Bool
    /// How many requests the server takes at once (a small local server: 1). nil = no limit.
    public var maxConcurrent: Int?
    /// Extra HTTP headers sent with every request (never secrets: keys come from `apiKeyEnv`).
    public var headers: [String: String]

    public init(
        id: String, kind: ProviderKind, displayName: String? = nil, baseURL: String,
        apiKeyEnv: String? = nil, isLocal: Bool = false, maxConcurrent: Int? = nil,
        headers: [String: String] = [:]
    ) {
        self.id = id
        self.kind = kind
        self.displayName = displayName ?? id
        self.baseURL = baseURL
        self.apiKeyEnv = apiKeyEnv
        self.isLocal = isLocal
        self.maxConcurrent = maxConcurrent
        self.headers = headers
    }

    public var servingKind: ServingKind {
        if kind == .simulated { return .simulated }
        return isLocal ? .local : .cloud
    }
}

/// A model id of the form `provider/model`.
public struct ModelID: RawRepresentable, Codable, Sendable, Hashable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ raw: String) { self.rawValue = raw }
    public init(stringLiteral value: String) { self.rawValue = value }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public var provider: String {
        rawValue.split(separator: "/", maxSplits: 1).first.map(String.init) ?? rawValue
    }
    public var name: String {
        let parts = rawValue.split(separator: "/", maxSplits: 1)
        return parts.count == 2 ? String(parts[1]) : rawValue
    }
    public var description: String { rawValue }
    public static func < (lhs: ModelID, rhs: ModelID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// List prices in dollars per million tokens.
public struct Pricing: Codable, Sendable, Hashable {
    public var inputPerMillion: Double
    public var outputPerMillion: Double
    /// Price of cached input tokens, where the provider discounts them; nil = same as input.
    public var cachedInputPerMillion: Double?

    public init(inputPerMillion: Double, outputPerMillion: Double, cachedInputPerMillion: Double? = nil) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion
    }

    /// Cost of a usage record. Reasoning tokens are billed as output; cached input at the cached price.
    public func cost(of usage: TokenUsage) -> Money {
        let cached = min(usage.cachedInputTokens, usage.inputTokens)
        let fresh = usage.inputTokens - cached
        let cachedPrice = cachedInputPerMillion ?? inputPerMillion
        let outputTokens = usage.outputTokens + usage.reasoningTokens
        // tokens × $/M = µ$; ×1000 = n$.
        let nano =
            Double(fresh) * inputPerMillion * 1000 + Double(cached) * cachedPrice * 1000
            + Double(outputTokens) * outputPerMillion * 1000
        return Money(nanodollars: Int64(nano.rounded()))
    }
}

/// Requests and tokens per minute a provider allows for a model.
public struct RateLimit: Codable, Sendable, Hashable {
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
    }
}

/// A model entry of the catalog.
public struct ModelInfo: Codable, Sendable, Hashable, Identifiable {
    public var id: ModelID
    /// Provider id (matches a `ProviderConfig.id`).
    public var provider: String
    /// The name sent on the wire (`llama-3.1-8b-instant`).
    public var apiName: String
    public var displayName: String
    public var contextWindow: Int
    public var maxOutputTokens: Int
    /// nil: no known price — the model is shown as unpriced, never as $0.
    public var pricing: Pricing?
    /// 1 (slow) … 5 (fastest).
    public var speedTier: Int
    /// 1 (basic) … 5 (best).
    public var qualityTier: Int
    public var capabilities: Set<Capability>
    public var rateLimit: RateLimit?
    /// Other names that resolve to this model (the seed's bare names).
    public var aliases: [String]
    /// For a simulated twin: the real model it imitates.
    public var twinOf: ModelID?
    /// The provider page the figures come from, and the day they were read (`2026-12-05`).
    public var source: String?
    public var asOf: String?
    /// The model refuses a non-default temperature (Claude Sonnet 5, GPT-6 with reasoning): none is sent.
    public var fixedTemperature: Bool?

    public init(
        id: ModelID, provider: String, apiName: String, displayName: String, contextWindow: Int,
        maxOutputTokens: Int = 4096, pricing: Pricing?, speedTier: Int, qualityTier: Int,
        capabilities: Set<Capability>, rateLimit: RateLimit? = nil, aliases: [String] = [],
        twinOf: ModelID? = nil, source: String? = nil, asOf: String? = nil, fixedTemperature: Bool? = nil
    ) {
        self.source = source
        self.asOf = asOf
        self.fixedTemperature = fixedTemperature
        self.id = id
        self.provider = provider
        self.apiName = apiName
        self.displayName = displayName
        self.contextWindow = contextWindow
        self.maxOutputTokens = maxOutputTokens
        self.pricing = pricing
        self.speedTier = speedTier
        self.qualityTier = qualityTier
        self.capabilities = capabilities
        self.rateLimit = rateLimit
        self.aliases = aliases
        self.twinOf = twinOf
    }

    public func has(_ capability: Capability) -> Bool { capabilities.contains(capability) }

    /// Cost of a usage record; unpriced models report their tokens as unpriced.
    public func cost(of usage: TokenUsage) -> Cost {
        if let reported = usage.reportedCostUSD { return Cost(money: Money(dollars: reported)) }
        guard let pricing else { return Cost(money: .zero, unpricedTokens: usage.totalTokens) }
        return Cost(money: pricing.cost(of: usage))
    }
}

/// A model the provider no longer serves (or that a newer one superseded). Its id and aliases
/// resolve to the successor, and `ymera models` says so.
public struct RetiredModel: Codable, Sendable, Hashable {
    public var id: ModelID
    /// The month the provider stopped serving it (`2025-10`), where that was confirmed.
    public var retired: String?
    public var successor: ModelID
    public var aliases: [String]
    public var source: String?

    public init(id: ModelID, retired: String?, successor: ModelID, aliases: [String] = [], source: String? = nil) {
        self.id = id
        self.retired = retired
        self.successor = successor
        self.aliases = aliases
        self.source = source
    }

    /// "retired 2025-10", or "superseded" when no retirement date was confirmed.
    public var status: String { retired.map { "retired \($0)" } ?? "superseded" }
}

/// Errors resolving names against the catalog.
public struct CatalogError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Providers and models, resolved by id or alias.
public struct Catalog: Sendable, Hashable {
    public private(set) var providers: [String: ProviderConfig]
    /// Models in catalog order.
    public private(set) var models: [ModelInfo]
    /// Names of retired models, resolving to their successors.
    public private(set) var retired: [RetiredModel]
    private var index: [String: Int]

    public init(providers: [ProviderConfig], models: [ModelInfo], retired: [RetiredModel] = []) throws {
        var p: [String: ProviderConfig] = [:]
        for provider in providers {
            guard p[provider.id] == nil else { throw CatalogError("provider '\(provider.id)' is defined twice") }
            p[provider.id] = provider
        }
        self.providers = p
        self.models = []
        self.retired = []
        self.index = [:]
        for model in models {
            guard p[model.provider] != nil else {
                throw CatalogError("model '\(model.id)' names unknown provider '\(model.provider)'")
            }
            if let existing = index[model.id.rawValue] {
                self.models[existing] = model  // later definitions override earlier ones
            } else {
                index[model.id.rawValue] = self.models.count
                self.models.append(model)
            }
        }
        for (i, model) in self.models.enumerated() {
            for alias in model.aliases where index[alias] == nil { index[alias] = i }
        }
        for r in retired {
            // A retired name never shadows a current model of the same name.
            guard index[r.id.rawValue] == nil || self.retired.contains(where: { $0.id == r.id }) else { continue }
            guard let target = index[r.successor.rawValue] else {
                throw CatalogError("retired model '\(r.id)' names unknown successor '\(r.successor)'")
            }
            self.retired.removeAll { $0.id == r.id }
            self.retired.append(r)
            index[r.id.rawValue] = target
            for alias in r.aliases where index[alias] == nil { index[alias] = target }
        }
    }

    /// The retirement record when `name` is a retired model's id or alias.
    public func retirement(of name: String) -> RetiredModel? {
        retired.first { $0.id.rawValue == name || $0.aliases.contains(name) || $0.id.rawValue == name.lowercased() }
    }

    /// The model for an id (`groq/llama-3.1-8b-instant`) or an alias (`llama-3.1-8b-instant`).
    public func model(_ name: String) throws -> ModelInfo {
        if let i = index[name] { return models[i] }
        let lower = name.lowercased()
        if let i = index[lower] { return models[i] }
        let suggestions = models.map(\.id.rawValue).filter {
            $0.lowercased().contains(lower) || lower.contains(ModelID($0).name.lowercased())
        }
        let hint = suggestions.isEmpty ? "run `ymera models` to list them" : "did you mean \(suggestions.prefix(3).joined(separator: ", "))?"
        throw CatalogError("unknown model '\(name)': \(hint)")
    }

    public func model(_ id: ModelID) throws -> ModelInfo { try model(id.rawValue) }

    public func provider(for model: ModelInfo) -> ProviderConfig? { providers[model.provider] }

    /// Models of a given serving kind (cloud, local, simulated).
    public func models(servedBy kind: ServingKind) -> [ModelInfo] {
        models.filter { providers[$0.provider]?.servingKind == kind }
    }

    /// A copy with some models and providers added or replaced (later wins).
    public func merging(providers extra: [ProviderConfig], models extraModels: [ModelInfo]) throws -> Catalog {
        var ps = self.providers
        for p in extra { ps[p.id] = p }
        return try Catalog(
            providers: Array(ps.values).sorted { $0.id < $1.id }, models: self.models + extraModels, retired: self.retired)
    }
}
