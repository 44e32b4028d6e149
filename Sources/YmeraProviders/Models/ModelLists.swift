import AsyncHTTPClient
import Foundation
import NIOCore
import YmeraCore

/// Asks providers for their model lists: `GET {base}/models` for the OpenAI-compatible ones (a local
/// llama.cpp server and Ollama's `/v1` answer it too), Anthropic's `GET /v1/models`, Gemini's
/// `models.list`. Bounded by a timeout per provider; a provider that does not answer gets a list
/// with an error and no models, which changes nothing about what is offered.
public struct ModelListFetcher: Sendable {
    let httpClient: HTTPClient
    let environment: [String: String]
    let timeout: Duration
    let now: @Sendable () -> Date

    public init(
        httpClient: HTTPClient, environment: [String: String] = ProcessInfo.processInfo.environment,
        timeout: Duration = .seconds(5), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.httpClient = httpClient
        self.environment = environment
        self.timeout = timeout
        self.now = now
    }

    /// Every real provider of the catalog that has its key (or needs none) and `include` accepts, at once.
    public func fetchAll(_ catalog: Catalog, include: (ProviderConfig) -> Bool = { _ in true }) async -> [ProviderModelList] {
        let providers = catalog.providers.values.filter { p in
            p.kind != .simulated && include(p)
                && (p.apiKeyEnv == nil || ProviderEndpoint.resolve(p, environment: environment).apiKey != nil)
        }
        return await withTaskGroup(of: ProviderModelList.self) { group in
            for p in providers { group.addTask { await self.fetch(p) } }
            var out: [ProviderModelList] = []
            for await list in group { out.append(list) }
            return out.sorted { $0.provider < $1.provider }
        }
    }

    /// One provider's list (following Anthropic's and Gemini's pages, at most 20).
    public func fetch(_ provider: ProviderConfig) async -> ProviderModelList {
        guard let format = HTTPModelClients.format(for: provider.kind) else {
            return ProviderModelList(provider: provider.id, fetchedAt: now(), models: nil, error: "no model list")
        }
        let endpoint = ProviderEndpoint.resolve(provider, environment: environment)
        var models: [ListedModel] = []
        var page: String?
        do {
            for _ in 0..<20 {
                var request = format.probe(baseURL: endpoint.baseURL, apiKey: endpoint.apiKey, headers: provider.headers)
                if let page { request.url += (request.url.contains("?") ? "&" : "?") + page }
                let (status, body) = try await get(request)
                guard (200..<300).contains(status) else {
                    let failure = FailureClassifier.classifyResponse(
                        status: status, headers: [:], body: String(decoding: body, as: UTF8.self), format: provider.kind,
                        provider: provider.id)
                    return ProviderModelList(provider: provider.id, fetchedAt: now(), models: nil, error: failure.description)
                }
                guard let json = JSONValue.parse(bytes: body) else {
                    return ProviderModelList(provider: provider.id, fetchedAt: now(), models: nil, error: "the answer is not JSON")
                }
                let parsed = ModelListParser.parse(json)
                models += parsed.models
                guard let next = parsed.nextPage else { break }
                page = next
            }
        } catch {
            let failure = FailureClassifier.classifyTransport(error, phase: .beforeFirstByte, provider: provider.id)
            return ProviderModelList(provider: provider.id, fetchedAt: now(), models: nil, error: failure.description)
        }
        return ProviderModelList(provider: provider.id, fetchedAt: now(), models: models)
    }

    private func get(_ prepared: PreparedRequest) async throws -> (Int, [UInt8]) {
        let response = try await httpClient.execute(
            HTTPModelClient<OpenAIChatFormat>.httpRequest(prepared), timeout: HTTPModelClients.nio(timeout))
        var body: [UInt8] = []
        let limit = 8 * 1024 * 1024
        for try await chunk in response.body {
            body.append(contentsOf: chunk.readableBytesView.prefix(max(0, limit - body.count)))
            if body.count >= limit { break }
        }
        return (Int(response.status.code), body)
    }
}

/// Reads the shapes model lists come in.
public enum ModelListParser {
    /// The models of one page and the query for the next page, if any.
    public static func parse(_ json: JSONValue) -> (models: [ListedModel], nextPage: String?) {
        // OpenAI-compatible and Anthropic: {"data":[{"id":...}], ...}; Together: a bare array.
        if let items = json["data"]?.array ?? json.array {
            let models = items.compactMap { item -> ListedModel? in
                guard let id = item["id"]?.string, !id.isEmpty else { return nil }
                return ListedModel(
                    name: id,
                    contextWindow: item["context_length"]?.int ?? item["context_window"]?.int ?? item["max_input_tokens"]?.int
                        ?? item["max_model_len"]?.int,
                    maxOutputTokens: item["max_tokens"]?.int ?? item["top_provider"]?["max_completion_tokens"]?.int,
                    priceInput: price(item["pricing"], keys: ["prompt", "input"]),
                    priceOutput: price(item["pricing"], keys: ["completion", "output"]))
            }
            // Anthropic pages with `has_more` and `last_id`.
            var next: String?
            if json["has_more"]?.bool == true, let last = json["last_id"]?.string { next = "after_id=" + last }
            return (models, next)
        }
        // Gemini: {"models":[{"name":"models/x","inputTokenLimit":...}], "nextPageToken"}; Ollama's
        // /api/tags: {"models":[{"name":"llama3:latest"}]}.
        if let items = json["models"]?.array {
            let models = items.compactMap { item -> ListedModel? in
                guard let name = item["name"]?.string, !name.isEmpty else { return nil }
                if let methods = item["supportedGenerationMethods"]?.array,
                    !methods.contains(where: { $0.string == "generateContent" })
                {
                    return nil  // embedding and other models that cannot answer
                }
                let bare = name.hasPrefix("models/") ? String(name.dropFirst(7)) : name
                return ListedModel(name: bare, contextWindow: item["inputTokenLimit"]?.int, maxOutputTokens: item["outputTokenLimit"]?.int)
            }
            let next = json["nextPageToken"]?.string.flatMap { $0.isEmpty ? nil : "pageToken=" + $0 }
            return (models, next)
        }
        return ([], nil)
    }

    /// OpenRouter prices per token as strings ("0.000002"); Together per million as numbers.
    static func price(_ pricing: JSONValue?, keys: [String]) -> Double? {
        guard let pricing else { return nil }
        for key in keys {
            guard let v = pricing[key] else { continue }
            if let s = v.string, let d = Double(s) { return (d * 1_000_000 * 1_000_000).rounded() / 1_000_000 }
            if let d = v.double { return d }
        }
        return nil
    }
}

extension ModelListCache {
    /// The cache file in the data directory.
    public static let fileName = "model-lists.json"

    /// The cached lists; an empty cache when there is none or it cannot be read.
    public static func load(directory: URL) -> ModelListCache {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(fileName)) else { return ModelListCache() }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return (try? decoder.decode(ModelListCache.self, from: data)) ?? ModelListCache()
    }

    public func save(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: directory.appendingPathComponent(Self.fileName), options: .atomic)
    }
}
