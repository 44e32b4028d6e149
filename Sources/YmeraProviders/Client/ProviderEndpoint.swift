import Foundation
import YmeraCore

/// Where a provider is reached and with which key, after environment overrides.
///
/// Precedence for the base URL: `YMERA_<PROVIDER>_BASE_URL` (provider id upper-cased, anything
/// not a letter or digit → `_`), then `OPENAI_BASE_URL` for the `openai` provider (as the official
/// SDKs do), then the catalog. The key is read from the variable the catalog names (`apiKeyEnv`).
public enum ProviderEndpoint {
    public enum Source: String, Sendable, Codable, Hashable {
        case catalog
        case providerOverride = "YMERA_<PROVIDER>_BASE_URL"
        case openAIBaseURL = "OPENAI_BASE_URL"
    }

    /// The override variable for a provider: `YMERA_GROQ_BASE_URL`, `YMERA_LLAMA_CPP_BASE_URL`.
    public static func baseURLVariable(for providerID: String) -> String {
        let id = String(providerID.uppercased().unicodeScalars.map { scalar -> Character in
            (("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar))
                ? Character(scalar) : "_"
        })
        return "YMERA_\(id)_BASE_URL"
    }

    public static func resolve(
        _ provider: ProviderConfig, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> (baseURL: String, apiKey: String?) {
        let r = resolveDetailed(provider, environment: environment)
        return (r.baseURL, r.apiKey)
    }

    /// Like `resolve`, also saying which setting gave the base URL.
    public static func resolveDetailed(
        _ provider: ProviderConfig, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> (baseURL: String, source: Source, apiKey: String?) {
        var base = provider.baseURL
        var source = Source.catalog
        if let v = nonEmpty(environment["OPENAI_BASE_URL"]), provider.id == "openai" {
            base = v
            source = .openAIBaseURL
        }
        if let v = nonEmpty(environment[baseURLVariable(for: provider.id)]) {
            base = v
            source = .providerOverride
        }
        while base.hasSuffix("/") { base.removeLast() }
        return (base, source, apiKey(provider, environment: environment))
    }

    /// The key, or nil when none is set or none is needed.
    public static func apiKey(_ provider: ProviderConfig, environment: [String: String]) -> String? {
        guard let name = provider.apiKeyEnv else { return nil }
        return nonEmpty(environment[name])
    }

    /// Whether the provider can be asked at all: its key is present, or it needs none.
    public static func isAvailable(
        _ provider: ProviderConfig, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Bool {
        if provider.kind == .simulated { return true }
        guard provider.apiKeyEnv != nil else { return true }
        return apiKey(provider, environment: environment) != nil
    }

    private static func nonEmpty(_ s: String?) -> String? {
        guard let t = s?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else { return nil }
        return t
    }
}

/// Whether a provider can be asked at all: its key is present, or it needs none.
public func isAvailable(
    _ provider: ProviderConfig, environment: [String: String] = ProcessInfo.processInfo.environment
) -> Bool {
    ProviderEndpoint.isAvailable(provider, environment: environment)
}

/// Time limits for one model request.
public struct ProviderTimeouts: Sendable, Hashable {
    /// Establishing the TCP/TLS connection (used when YMERA creates the HTTP client).
    public var connect: Duration
    /// From sending the request to the first byte of the response body.
    public var firstByte: Duration
    /// Longest silence between two chunks once the body has started (a stall).
    public var idle: Duration
    /// The whole request, first byte to last.
    public var total: Duration

    public init(connect: Duration, firstByte: Duration, idle: Duration, total: Duration) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.total = total
    }

    /// Cloud defaults: reasoning models may think a minute before the first token; a stream silent
    /// for 30 s mid-answer is a stall (the next model continues from what arrived).
    public static let `default` = ProviderTimeouts(
        connect: .seconds(10), firstByte: .seconds(120), idle: .seconds(30), total: .seconds(600))

    /// The defaults with another stall timeout.
    public static func withStall(seconds: Double?) -> ProviderTimeouts {
        var t = ProviderTimeouts.default
        if let seconds { t.idle = .milliseconds(Int64(seconds * 1000)) }
        return t
    }

    /// For a health check (`ymera doctor`).
    public static let probe = ProviderTimeouts(
        connect: .seconds(3), firstByte: .seconds(5), idle: .seconds(5), total: .seconds(8))
}
