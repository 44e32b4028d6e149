import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import YmeraCore

/// The health of one provider as `ymera doctor` shows it. Never holds a key.
public struct ProviderCheck: Sendable, Codable, Hashable {
    public enum Reach: String, Sendable, Codable, Hashable {
        /// Not probed (its key is missing).
        case notChecked = "not_checked"
        /// The server answered.
        case reachable
        /// The server answered but refused the key (401/403).
        case keyRefused = "key_refused"
        /// No answer: nothing listening, timeout, reset.
        case unreachable
        /// The in-process simulated provider.
        case simulated
    }

    public var id: String
    public var displayName: String
    public var kind: ProviderKind
    public var isLocal: Bool
    /// The variable that holds the key; nil when the provider needs none.
    public var keyVariable: String?
    public var keyPresent: Bool
    public var baseURL: String
    /// Which setting gave the base URL: `catalog`, or the override variable's name.
    public var baseURLSource: String
    public var reach: Reach
    public var httpStatus: Int?
    public var latencyMs: Int?
    /// The failure class when unreachable.
    public var errorClass: ErrorClass?
    /// Sanitized detail (server text or network error), never a key.
    public var detail: String?
    public var modelCount: Int
    /// How many models the provider's list named, when it answered with one.
    public var listedCount: Int?
    /// Catalog models of this provider that its list does not name ("not offered").
    public var notOffered: [String] = []
    /// Listed models the catalog lacks (usable with `--model provider/name`).
    public var notInCatalog: [String] = []
    public var canServe: Bool
    /// What to do to make it serve, when it cannot.
    public var advice: String?
}

/// Everything `ymera doctor` found.
public struct DoctorReport: Sendable, Codable, Hashable {
    public var providers: [ProviderCheck]
    /// Some provider (the simulated one included) can serve.
    public var anyCanServe: Bool
    /// Some real (cloud or local) provider can serve.
    public var anyRealCanServe: Bool
    /// What to set when no real provider can serve.
    public var hints: [String]
    /// The model lists the providers answered with (saved as the `ymera models` cache; not printed).
    public var modelLists: [ProviderModelList] = []

    enum CodingKeys: String, CodingKey { case providers, anyCanServe, anyRealCanServe, hints }

    /// The process exit code: non-zero only when no provider at all can serve.
    public var exitCode: Int32 { anyCanServe ? 0 : 1 }
}

/// Checks each provider of a catalog: key present, effective base URL, one cheap authenticated
/// request (a models list) with a short timeout, and its latency.
public struct ProviderDoctor: Sendable {
    let httpClient: HTTPClient
    let environment: [String: String]
    let timeout: Duration

    public init(
        httpClient: HTTPClient, environment: [String: String] = ProcessInfo.processInfo.environment,
        timeout: Duration = .seconds(3)
    ) {
        self.httpClient = httpClient
        self.environment = environment
        self.timeout = timeout
    }

    public func run(catalog: Catalog) async -> DoctorReport {
        let providers = catalog.providers.values.sorted { ($0.isLocal ? 1 : 0, $0.id) < ($1.isLocal ? 1 : 0, $1.id) }
        let byProvider = Dictionary(grouping: catalog.models, by: \.provider)
        let results = await withTaskGroup(of: (Int, ProviderCheck, ProviderModelList?).self) { group in
            for (i, p) in providers.enumerated() {
                group.addTask {
                    let (check, list) = await self.check(p, models: byProvider[p.id] ?? [])
                    return (i, check, list)
                }
            }
            var out: [(Int, ProviderCheck, ProviderModelList?)] = []
            for await r in group { out.append(r) }
            return out.sorted { $0.0 < $1.0 }
        }
        var report = Self.report(results.map(\.1))
        report.modelLists = results.compactMap(\.2)
        return report
    }

    static func report(_ checks: [ProviderCheck]) -> DoctorReport {
        let real = checks.filter { $0.kind != .simulated }
        let anyReal = real.contains(where: \.canServe)
        var hints: [String] = []
        if !anyReal {
            let keys = real.filter { !$0.isLocal }.compactMap(\.keyVariable)
            if !keys.isEmpty {
                hints.append("No real provider can serve. Set an API key, e.g. " + keys.map { "export \($0)=…" }.prefix(4).joined(separator: ", ")
                    + (keys.count > 4 ? " (or one of \(keys.dropFirst(4).joined(separator: ", ")))" : ""))
            }
            for local in real where local.isLocal {
                hints.append(
                    "Or start the local server for '\(local.id)' at \(local.baseURL), or point "
                        + "\(ProviderEndpoint.baseURLVariable(for: local.id)) at one that runs.")
            }
            if real.isEmpty { hints.append("The catalog names no real provider: add one to the config file.") }
            if checks.contains(where: { $0.kind == .simulated }) {
                hints.append("Meanwhile the simulated provider serves demos and tests (its output is not a model's).")
            }
        }
        return DoctorReport(
            providers: checks, anyCanServe: checks.contains(where: \.canServe), anyRealCanServe: anyReal, hints: hints)
    }

    /// Checks one provider: the models list answers whether it is reachable, whether it takes the key,
    /// and which catalog models it no longer offers.
    public func check(_ provider: ProviderConfig, models: [ModelInfo]) async -> (ProviderCheck, ProviderModelList?) {
        let modelCount = models.count
        let resolved = ProviderEndpoint.resolveDetailed(provider, environment: environment)
        let source: String =
            switch resolved.source {
            case .catalog: "catalog"
            case .providerOverride: ProviderEndpoint.baseURLVariable(for: provider.id)
            case .openAIBaseURL: "OPENAI_BASE_URL"
            }
        var c = ProviderCheck(
            id: provider.id, displayName: FailureClassifier.sanitize(provider.displayName, limit: 60), kind: provider.kind,
            isLocal: provider.isLocal, keyVariable: provider.apiKeyEnv, keyPresent: resolved.apiKey != nil,
            baseURL: FailureClassifier.sanitize(resolved.baseURL, limit: 200), baseURLSource: source, reach: .notChecked,
            modelCount: modelCount, canServe: false)
        if provider.kind == .simulated {
            c.reach = .simulated
            c.canServe = true
            c.baseURL = "(in-process)"
            return (c, nil)
        }
        if let variable = provider.apiKeyEnv, resolved.apiKey == nil {
            c.advice = "set \(variable)"
            return (c, nil)
        }
        guard let format = HTTPModelClients.format(for: provider.kind) else { return (c, nil) }
        var list: ProviderModelList?
        let probe = format.probe(baseURL: resolved.baseURL, apiKey: resolved.apiKey, headers: provider.headers)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let response = try await httpClient.execute(
                HTTPModelClient<OpenAIChatFormat>.httpRequest(probe), timeout: HTTPModelClients.nio(timeout))
            let elapsed = start.duration(to: clock.now)
            c.latencyMs = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
            let status = Int(response.status.code)
            c.httpStatus = status
            var body: [UInt8] = []
            let limit = 8 * 1024 * 1024
            for try await chunk in response.body {
                body.append(contentsOf: chunk.readableBytesView.prefix(max(0, limit - body.count)))
                if body.count >= limit { break }
            }
            switch status {
            case 200..<300:
                c.reach = .reachable
                c.canServe = true
                if let json = JSONValue.parse(bytes: body) {
                    let listed = ModelListParser.parse(json).models
                    let fetched = ProviderModelList(provider: provider.id, fetchedAt: Date(), models: listed)
                    var cache = ModelListCache()
                    cache.merge([fetched])
                    let own = try? Catalog(providers: [provider], models: models)
                    if let own {
                        c.notOffered = cache.notOffered(in: own).map(\.rawValue).sorted()
                        c.notInCatalog = cache.notInCatalog(own).map(\.model.name)
                    }
                    c.listedCount = listed.count
                    list = fetched
                }
            case 401, 403:
                c.reach = .keyRefused
                let failure = FailureClassifier.classifyResponse(
                    status: status, headers: response.headers, body: String(decoding: body, as: UTF8.self),
                    format: provider.kind, provider: provider.id)
                c.errorClass = failure.errorClass
                c.detail = redact(Self.withoutProvider(failure.message, provider.id), resolved.apiKey)
                c.advice = "the server refused the key in \(provider.apiKeyEnv ?? "the configuration"): check it"
            default:
                // Reachable, but only a 2xx is "ok". A 429/503/529 is the provider's documented
                // "busy now": it takes the key and can serve later. Anything else (a 404 from a
                // wrong base URL among them) means it cannot serve as configured.
                c.reach = .reachable
                let failure = FailureClassifier.classifyResponse(
                    status: status, headers: response.headers, body: String(decoding: body, as: UTF8.self),
                    format: provider.kind, provider: provider.id)
                c.errorClass = failure.errorClass
                c.detail = redact(Self.withoutProvider(failure.message, provider.id), resolved.apiKey)
                c.canServe = [429, 503, 529].contains(status) || failure.errorClass == .rateLimit
                if !c.canServe { c.advice = "the server answers HTTP \(status) at \(c.baseURL): check the base URL" }
            }
        } catch {
            let elapsed = start.duration(to: clock.now)
            c.latencyMs = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
            let failure = FailureClassifier.classifyTransport(error, phase: .beforeFirstByte, provider: provider.id)
            c.reach = .unreachable
            c.errorClass = failure.errorClass
            c.detail = redact(Self.withoutProvider(failure.message, provider.id), resolved.apiKey)
            c.advice =
                provider.isLocal
                ? "start the server at \(c.baseURL) or set \(ProviderEndpoint.baseURLVariable(for: provider.id))"
                : "check the network or set \(ProviderEndpoint.baseURLVariable(for: provider.id))"
        }
        return (c, list)
    }

    /// A failure's message without its leading "provider: ", which the report prints once itself.
    static func withoutProvider(_ message: String, _ id: String) -> String {
        message.hasPrefix(id + ": ") ? String(message.dropFirst(id.count + 2)) : message
    }

    private func redact(_ text: String, _ key: String?) -> String {
        guard let key, key.count >= 4 else { return FailureClassifier.sanitize(text, limit: 200) }
        return FailureClassifier.sanitize(text.replacingOccurrences(of: key, with: "[redacted]"), limit: 200)
    }

    /// The report as plain text for a terminal (all server text already sanitized).
    public static func render(_ report: DoctorReport) -> String {
        var rows: [[String]] = [["PROVIDER", "KIND", "KEY", "BASE URL", "STATUS", "LATENCY", "MODELS"]]
        for c in report.providers {
            let key: String =
                if let v = c.keyVariable { c.keyPresent ? "\(v) set" : "\(v) missing" } else { "not needed" }
            let status: String =
                switch c.reach {
                case .notChecked: "not checked"
                case .simulated: "ok (simulated)"
                case .reachable:
                    if let code = c.httpStatus, (200..<300).contains(code) { "ok" }
                    else if c.canServe { "busy now (HTTP \(c.httpStatus ?? 0))" }
                    else { "error HTTP \(c.httpStatus ?? 0)" }
                case .keyRefused: "key refused (HTTP \(c.httpStatus ?? 0))"
                case .unreachable: "unreachable: \(c.errorClass?.rawValue ?? "error")"
                }
            let url = c.baseURL + (c.baseURLSource == "catalog" ? "" : " (\(c.baseURLSource))")
            rows.append([
                c.id + (c.isLocal ? " [local]" : ""), c.kind.rawValue, key, url, status,
                c.latencyMs.map { "\($0) ms" } ?? "-",
                String(c.modelCount) + (c.notOffered.isEmpty ? "" : " (\(c.notOffered.count) not offered)"),
            ])
        }
        let widths = rows[0].indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
        var lines = rows.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        let lists = report.providers.filter { !$0.notOffered.isEmpty || !$0.notInCatalog.isEmpty }
        if !lists.isEmpty { lines.append("") }
        for c in lists {
            if !c.notOffered.isEmpty {
                lines.append("\(c.id): not offered by the provider (not planned onto): \(c.notOffered.joined(separator: ", "))")
            }
            if !c.notInCatalog.isEmpty {
                let shown = c.notInCatalog.prefix(8).joined(separator: ", ")
                lines.append(
                    "\(c.id): listed but not in the catalog (usable with --model \(c.id)/NAME): \(shown)"
                        + (c.notInCatalog.count > 8 ? " and \(c.notInCatalog.count - 8) more" : ""))
            }
        }
        let advice = report.providers.filter { !$0.canServe && $0.advice != nil }
        if !advice.isEmpty {
            lines.append("")
            for c in advice {
                lines.append("\(c.id): \(c.advice ?? "")" + (c.detail.map { " — \($0)" } ?? ""))
            }
        }
        let serving = report.providers.filter(\.canServe).count
        lines.append("")
        lines.append("\(serving) of \(report.providers.count) providers can serve.")
        lines.append(contentsOf: report.hints)
        return lines.joined(separator: "\n")
    }
}
