import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import YmeraCore

/// OpenAI-compatible chat completions (OpenAI, Groq, Mistral, DeepSeek, Together, OpenRouter, AI21,
/// llama.cpp, Ollama, vLLM, LM Studio).
public typealias OpenAICompatibleClient = HTTPModelClient<OpenAIChatFormat>
/// Anthropic Messages.
public typealias AnthropicClient = HTTPModelClient<AnthropicMessagesFormat>
/// Google Gemini `generateContent` / `streamGenerateContent`.
public typealias GeminiClient = HTTPModelClient<GeminiFormat>

/// Builds the HTTP model clients.
///
/// Usage from the command line:
/// ```swift
/// var router = HTTPModelClients.router(httpClient: HTTPModelClients.shared, environment: env)
/// router.clients[.simulated] = SimulatedProvider(...)
/// ```
/// A client from `makeHTTPClient` must be shut down by its creator (`try await http.shutdown()`).
/// `HTTPClient.shared` works too, but it retries refused connections until its connect timeout, so
/// a server that is down shows up as a timeout instead of `connection_refused`.
public enum HTTPModelClients {
    /// A process-wide client made by `makeHTTPClient(timeouts: .default)`, for a command-line
    /// process that runs until it exits. Like `HTTPClient.shared` it is never shut down: do not
    /// call `shutdown()` on it.
    public static let shared: HTTPClient = makeHTTPClient(timeouts: .default)

    /// An HTTP client tuned for model calls: connect timeout from `timeouts`, no silent retries of
    /// failed connection attempts (the engine decides about retries), redirects not followed for
    /// POSTs. The caller owns it and must `shutdown()` it.
    public static func makeHTTPClient(timeouts: ProviderTimeouts = .default) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: nio(timeouts.connect), read: nil)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .enabled(limit: .ratio(50))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// One client per wire format, keyed by provider kind (the caller adds `.simulated`).
    public static func clients(
        httpClient: HTTPClient, environment: [String: String] = ProcessInfo.processInfo.environment,
        timeouts: ProviderTimeouts = .default, logger: Logger = Logger(label: "ymera.providers")
    ) -> [ProviderKind: any ModelClient] {
        [
            .openAICompatible: OpenAICompatibleClient(
                format: OpenAIChatFormat(), httpClient: httpClient, environment: environment, timeouts: timeouts, logger: logger),
            .anthropic: AnthropicClient(
                format: AnthropicMessagesFormat(), httpClient: httpClient, environment: environment, timeouts: timeouts,
                logger: logger),
            .gemini: GeminiClient(
                format: GeminiFormat(), httpClient: httpClient, environment: environment, timeouts: timeouts, logger: logger),
        ]
    }

    /// A router over the three HTTP clients.
    public static func router(
        httpClient: HTTPClient, environment: [String: String] = ProcessInfo.processInfo.environment,
        timeouts: ProviderTimeouts = .default, logger: Logger = Logger(label: "ymera.providers")
    ) -> ClientRouter {
        ClientRouter(clients: clients(httpClient: httpClient, environment: environment, timeouts: timeouts, logger: logger))
    }

    /// The wire format for a provider kind (nil for the simulated one).
    public static func format(for kind: ProviderKind) -> (any WireFormat)? {
        switch kind {
        case .openAICompatible: OpenAIChatFormat()
        case .anthropic: AnthropicMessagesFormat()
        case .gemini: GeminiFormat()
        case .simulated: nil
        }
    }

    static func nio(_ d: Duration) -> TimeAmount {
        let c = d.components
        return .nanoseconds(c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000)
    }
}
