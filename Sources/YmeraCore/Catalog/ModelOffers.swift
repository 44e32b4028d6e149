import Foundation

/// One model as a provider's model list names it.
public struct ListedModel: Codable, Sendable, Hashable {
    /// The name to send on the wire (Gemini's `models/` prefix removed).
    public var name: String
    public var contextWindow: Int?
    public var maxOutputTokens: Int?
    /// Prices in dollars per million tokens, where the list carries them (OpenRouter, Together).
    public var priceInput: Double?
    public var priceOutput: Double?

    public init(name: String, contextWindow: Int? = nil, maxOutputTokens: Int? = nil, priceInput: Double? = nil, priceOutput: Double? = nil) {
        self.name = name
        self.contextWindow = contextWindow
        self.maxOutputTokens = maxOutputTokens
        self.priceInput = priceInput
        self.priceOutput = priceOutput
    }
}

/// What one provider answered when asked for its models, and when.
public struct ProviderModelList: Codable, Sendable, Hashable {
    public var provider: String
    public var fetchedAt: Date
    /// nil when the provider did not answer with a list (`error` says why).
    public var models: [ListedModel]?
    public var error: String?

    public init(provider: String, fetchedAt: Date, models: [ListedModel]?, error: String? = nil) {
        self.provider = provider
        self.fetchedAt = fetchedAt
        self.models = models
        self.error = error
    }
}

/// The providers' model lists as last fetched (`ymera models --refresh`, `ymera doctor`), compared
/// with the catalog: catalog models a provider does not list are "not offered" (the planner does not
/// pick them); listed models the catalog lacks are shown and usable with `--model`.
///
/// A provider that did not answer keeps its previous list; a provider never asked has none, and
/// then nothing is assumed: every catalog model of it stays offered.
public struct ModelListCache: Codable, Sendable, Hashable {
    public var lists: [String: ProviderModelList]
    /// Models a provider answered "model not found" for in a run (id → when), kept until the
    /// provider's next list names them again.
    public var notFound: [String: Date]

    public init(lists: [String: ProviderModelList] = [:], notFound: [String: Date] = [:]) {
        self.lists = lists
        self.notFound = notFound
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lists = try c.decodeIfPresent([String: ProviderModelList].self, forKey: .lists) ?? [:]
        notFound = try c.decodeIfPresent([String: Date].self, forKey: .notFound) ?? [:]
    }

    /// Records fresh answers. A failed answer replaces nothing but an earlier failure.
    public mutating func merge(_ fresh: [ProviderModelList]) {
        for list in fresh {
            if list.models == nil, let old = lists[list.provider], old.models != nil { continue }
            lists[list.provider] = list
        }
    }

    /// Records a provider's "model not found" for a model.
    public mutating func markNotFound(_ model: ModelID, at date: Date) { notFound[model.rawValue] = date }

    /// Catalog models not to plan onto: ones whose provider answered with a list that does not name
    /// them, and ones it answered "model not found" for.
    public func notOffered(in catalog: Catalog) -> Set<ModelID> {
        var out: Set<ModelID> = []
        for (id, when) in notFound {
            // A list fetched after the "not found" that names the model again clears the mark.
            if let model = try? catalog.model(id), let list = lists[model.provider], list.fetchedAt > when,
                listedNames(model.provider)?.contains(Self.normalized(model.apiName)) == true
            {
                continue
            }
            out.insert(ModelID(id))
        }
        for model in catalog.models where model.twinOf == nil {
            guard let names = listedNames(model.provider) else { continue }
            if !names.contains(Self.normalized(model.apiName)) { out.insert(model.id) }
        }
        return out
    }

    /// Listed models the catalog lacks, per provider, in the providers' order.
    public func notInCatalog(_ catalog: Catalog) -> [(provider: String, model: ListedModel)] {
        var out: [(String, ListedModel)] = []
        for provider in lists.keys.sorted() {
            guard catalog.providers[provider] != nil, let models = lists[provider]?.models else { continue }
            let known = Set(catalog.models.filter { $0.provider == provider }.map { Self.normalized($0.apiName) })
            for m in models where !known.contains(Self.normalized(m.name)) { out.append((provider, m)) }
        }
        return out
    }

    /// Catalog entries for the listed models the catalog lacks (`provider/name`), so `--model` can
    /// name them. Unpriced unless the list carries prices.
    public func extraModels(for catalog: Catalog) -> [ModelInfo] {
        notInCatalog(catalog).map { provider, m in
            ModelInfo(
                id: ModelID("\(provider)/\(m.name)"), provider: provider, apiName: m.name,
                displayName: m.name + " (listed by \(provider), not in the catalog)", contextWindow: m.contextWindow ?? 8192,
                maxOutputTokens: m.maxOutputTokens ?? 4096,
                pricing: m.priceInput.flatMap { i in m.priceOutput.map { Pricing(inputPerMillion: i, outputPerMillion: $0) } },
                speedTier: 3, qualityTier: 3, capabilities: [])
        }
    }

    func listedNames(_ provider: String) -> Set<String>? {
        guard let models = lists[provider]?.models else { return nil }
        return Set(models.map { Self.normalized($0.name) })
    }

    /// Names compared without Gemini's `models/` prefix and case.
    static func normalized(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasPrefix("models/") ? String(lower.dropFirst(7)) : lower
    }
}
