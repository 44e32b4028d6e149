/// One message of a chat conversation.
public struct ChatMessage: Codable, Sendable, Hashable {
    /// `tool` carries one tool result back to the model (`toolCallID` names the call).
    public enum Role: String, Codable, Sendable { case system, user, assistant, tool }
    public var role: Role
    public var content: String
    /// On an assistant message: the tools the model asked to call (its text may be empty).
    public var toolCalls: [ToolCall]?
    /// On a tool message: the call it answers, and the tool's name (Gemini matches by name).
    public var toolCallID: String?
    public var toolName: String?
    /// On a tool message: the tool reported an error (Anthropic's `is_error`; said in the text elsewhere).
    public var toolIsError: Bool?
    public init(role: Role, content: String, toolCalls: [ToolCall]? = nil, toolCallID: String? = nil, toolName: String? = nil, toolIsError: Bool? = nil) {
        self.toolIsError = toolIsError
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.toolName = toolName
    }
    public static func system(_ text: String) -> ChatMessage { .init(role: .system, content: text) }
    public static func user(_ text: String) -> ChatMessage { .init(role: .user, content: text) }
    public static func assistant(_ text: String) -> ChatMessage { .init(role: .assistant, content: text) }
    public static func assistant(_ text: String, toolCalls: [ToolCall]) -> ChatMessage {
        .init(role: .assistant, content: text, toolCalls: toolCalls)
    }
    public static func tool(_ result: ToolResult) -> ChatMessage {
        .init(role: .tool, content: result.content, toolCallID: result.callID, toolName: result.name, toolIsError: result.isError ? true : nil)
    }
}

/// Where a request comes from, for logs, the simulated provider's shaping and determinism.
public struct RequestContext: Sendable, Hashable {
    public var runID: String
    public var stepID: String
    public var phase: Phase
    public var attempt: Int
    public var taskType: TaskType
    /// Seed for anything random (the simulated provider, jitter). Same seed, same run.
    public var seed: UInt64

    public init(runID: String, stepID: String, phase: Phase, attempt: Int, taskType: TaskType, seed: UInt64) {
        self.runID = runID
        self.stepID = stepID
        self.phase = phase
        self.attempt = attempt
        self.taskType = taskType
        self.seed = seed
    }
}

/// A request to one model.
public struct ModelRequest: Sendable {
    public var model: ModelInfo
    public var provider: ProviderConfig
    public var messages: [ChatMessage]
    public var maxTokens: Int
    public var temperature: Double?
    /// Stream tokens as they come (SSE) or wait for the whole answer.
    public var stream: Bool
    public var context: RequestContext
    /// Tools the model may call (empty: no tool calling in this request).
    public var tools: [ToolSpec]

    public init(
        model: ModelInfo, provider: ProviderConfig, messages: [ChatMessage], maxTokens: Int,
        temperature: Double? = nil, stream: Bool = true, context: RequestContext, tools: [ToolSpec] = []
    ) {
        self.tools = tools
        self.model = model
        self.provider = provider
        self.messages = messages
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.stream = stream
        self.context = context
    }

    /// All message text, for token estimates.
    public var promptCharacters: Int { messages.reduce(0) { $0 + $1.content.count } }
}

/// Tokens used by one attempt, as the provider reported them (or estimated, and marked so).
public struct TokenUsage: Codable, Sendable, Hashable {
    public var inputTokens: Int
    public var outputTokens: Int
    /// Reasoning ("thinking") tokens billed as output, where reported separately.
    public var reasoningTokens: Int
    /// Input tokens served from a prompt cache, where reported.
    public var cachedInputTokens: Int
    /// True when the provider sent no usage and these are our own estimate.
    public var estimated: Bool
    /// Money the provider itself reported (OpenRouter's `usage.cost`), which wins over the price table.
    public var reportedCostUSD: Double?

    public init(
        inputTokens: Int = 0, outputTokens: Int = 0, reasoningTokens: Int = 0, cachedInputTokens: Int = 0,
        estimated: Bool = false, reportedCostUSD: Double? = nil
    ) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.reasoningTokens = reasoningTokens
        self.cachedInputTokens = cachedInputTokens
        self.estimated = estimated
        self.reportedCostUSD = reportedCostUSD
    }

    public var totalTokens: Int { inputTokens + outputTokens + reasoningTokens }

    public static func + (lhs: TokenUsage, rhs: TokenUsage) -> TokenUsage {
        TokenUsage(
            inputTokens: lhs.inputTokens + rhs.inputTokens, outputTokens: lhs.outputTokens + rhs.outputTokens,
            reasoningTokens: lhs.reasoningTokens + rhs.reasoningTokens,
            cachedInputTokens: lhs.cachedInputTokens + rhs.cachedInputTokens,
            estimated: lhs.estimated || rhs.estimated,
            reportedCostUSD: (lhs.reportedCostUSD == nil && rhs.reportedCostUSD == nil)
                ? nil : (lhs.reportedCostUSD ?? 0) + (rhs.reportedCostUSD ?? 0))
    }

    /// Rough token count of a text (≈ 4 characters a token), used when a stream ends without usage.
    public static func estimateTokens(characters: Int) -> Int { max(1, (characters + 3) / 4) }

    /// What to bill for an attempt: the provider's usage where it can be right, our estimate where it
    /// sent none or one that cannot be (no output tokens after text arrived — Anthropic's
    /// `message_start` carries a zero output count; a stream cut before the final usage). Nothing when
    /// no text arrived and the provider reported no tokens: a request refused before the first token
    /// (connection, DNS, TLS, an HTTP error) costs nothing.
    ///
    /// `complete: false` (a stream cut before its end): a reported output count is only what the
    /// provider said before the cut (Anthropic's `message_start` says 1), so it is raised to our
    /// estimate of what streamed where lower, and marked estimated.
    public static func billable(
        reported: TokenUsage?, promptCharacters: Int, outputCharacters: Int, complete: Bool = true
    ) -> TokenUsage? {
        if outputCharacters == 0 {
            guard let reported, reported.totalTokens > 0 else { return nil }
            return reported
        }
        guard var u = reported else { return estimate(promptCharacters: promptCharacters, outputCharacters: outputCharacters) }
        let streamed = estimateTokens(characters: outputCharacters)
        if (u.outputTokens == 0 && u.reasoningTokens == 0) || (!complete && u.outputTokens < streamed) {
            u.outputTokens = streamed
            u.estimated = true
        }
        if u.inputTokens == 0 {
            u.inputTokens = estimateTokens(characters: promptCharacters)
            u.estimated = true
        }
        return u
    }

    /// An estimate for a request and the text produced so far.
    public static func estimate(promptCharacters: Int, outputCharacters: Int) -> TokenUsage {
        TokenUsage(
            inputTokens: estimateTokens(characters: promptCharacters),
            outputTokens: outputCharacters == 0 ? 0 : estimateTokens(characters: outputCharacters),
            estimated: true)
    }
}

/// Remaining requests and tokens a provider reported in its rate-limit headers.
public struct RateLimitSnapshot: Codable, Sendable, Hashable {
    public var provider: String
    public var limitRequests: Int?
    public var remainingRequests: Int?
    public var limitTokens: Int?
    public var remainingTokens: Int?
    /// Milliseconds until the request window resets.
    public var resetRequestsMs: Int?
    /// Milliseconds until the token window resets.
    public var resetTokensMs: Int?

    public init(
        provider: String, limitRequests: Int? = nil, remainingRequests: Int? = nil, limitTokens: Int? = nil,
        remainingTokens: Int? = nil, resetRequestsMs: Int? = nil, resetTokensMs: Int? = nil
    ) {
        self.provider = provider
        self.limitRequests = limitRequests
        self.remainingRequests = remainingRequests
        self.limitTokens = limitTokens
        self.remainingTokens = remainingTokens
        self.resetRequestsMs = resetRequestsMs
        self.resetTokensMs = resetTokensMs
    }
}

/// Why a model stopped producing text.
public enum FinishReason: String, Codable, Sendable, Hashable {
    /// Natural end of the answer.
    case stop
    /// Hit `max_tokens`: the answer is complete as far as the model goes, but cut.
    case length
    /// Stopped by a content filter.
    case contentFilter = "content_filter"
    /// The model asked for a tool.
    case toolCalls = "tool_calls"
    case other
}

/// What a model client yields while a request runs.
public enum ModelStreamEvent: Sendable, Hashable {
    /// A piece of answer text.
    case delta(String)
    /// Token usage (may come once at the end, or never: then the engine estimates).
    case usage(TokenUsage)
    /// Rate-limit headroom read from the response headers.
    case rateLimit(RateLimitSnapshot)
    /// A complete tool call (providers assemble streamed argument fragments first). Comes before
    /// `.finished(.toolCalls)`.
    case toolCall(ToolCall)
    /// The terminal event: the answer is complete. A stream that ends without it is a failure.
    case finished(FinishReason)
}

/// Talks to one provider. Implementations: HTTP clients in `YmeraProviders`, the simulated provider here.
///
/// Contract: the stream yields zero or more `.delta`/`.usage`/`.rateLimit`/`.toolCall` events and ends with exactly
/// one `.finished`, or throws a `ModelFailure`. Cancelling the consuming task cancels the request.
public protocol ModelClient: Sendable {
    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error>
}

extension ClientRouter {
    /// A `context_too_long` failure when the request's estimated prompt tokens exceed the model's
    /// window (nil when it fits). The estimate is ~4 characters a token.
    public static func windowRefusal(_ request: ModelRequest) -> ModelFailure? {
        let prompt = TokenUsage.estimateTokens(characters: request.promptCharacters)
        guard prompt > request.model.contextWindow else { return nil }
        return ModelFailure(
            .contextTooLong,
            "\(request.provider.id): the prompt (about \(prompt) tokens) does not fit \(request.model.id)'s context window of \(request.model.contextWindow) tokens; not sent",
            provider: request.provider.id)
    }
}

/// Routes each request to the client for its provider kind.
public struct ClientRouter: ModelClient {
    public var clients: [ProviderKind: any ModelClient]
    public init(clients: [ProviderKind: any ModelClient]) { self.clients = clients }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        // A prompt that cannot fit the model's window is refused here, before any request or cost,
        // as the provider would refuse it: the engine then falls back to a model with a larger window.
        if let refusal = Self.windowRefusal(request) {
            return AsyncThrowingStream { throw refusal }
        }
        guard let client = clients[request.provider.kind] else {
            return AsyncThrowingStream {
                throw ModelFailure(
                    .badRequest, "no client for provider kind '\(request.provider.kind.rawValue)'",
                    provider: request.provider.id)
            }
        }
        return client.stream(request)
    }
}
