/// Tool calling: what a phase may call (MCP servers' tools, through `ToolHost`), how a model asks for a
/// call, and what comes back. The engine runs a bounded tool loop per attempt; providers translate these
/// types to their wire formats (OpenAI `tools`/`tool_calls`, Anthropic `tool_use`/`tool_result`, Gemini
/// `functionCall`/`functionResponse`). Tool output is untrusted text: bounded and sanitized by the engine
/// before it reaches an event, a prompt or a terminal.

/// A tool offered to a model.
public struct ToolSpec: Codable, Sendable, Hashable {
    /// The name the model sees and calls (unique within one request; `^[a-zA-Z0-9_-]{1,64}$` so every
    /// provider accepts it).
    public var name: String
    public var description: String
    /// The tool's input as a JSON Schema object, as JSON text (`{"type":"object","properties":{…}}`).
    public var inputSchemaJSON: String
    /// The MCP server that provides it, for events and routing.
    public var server: String?

    public init(name: String, description: String, inputSchemaJSON: String = #"{"type":"object"}"#, server: String? = nil) {
        self.name = name
        self.description = description
        self.inputSchemaJSON = inputSchemaJSON
        self.server = server
    }
}

/// A model's request to call a tool.
public struct ToolCall: Codable, Sendable, Hashable {
    /// The provider's call id (OpenAI `call_…`, Anthropic `toolu_…`); generated when the provider has
    /// none (Gemini), so results can always be matched to calls.
    public var id: String
    public var name: String
    /// Arguments as JSON text (an object).
    public var argumentsJSON: String
    /// Opaque data the provider wants sent back with the call (Gemini's `thoughtSignature`).
    public var signature: String?

    public init(id: String, name: String, argumentsJSON: String, signature: String? = nil) {
        self.id = id
        self.name = name
        self.argumentsJSON = argumentsJSON
        self.signature = signature
    }
}

/// What a tool returned, as given back to the model.
public struct ToolResult: Codable, Sendable, Hashable {
    public var callID: String
    public var name: String
    /// Text content (bounded and sanitized by the engine before use).
    public var content: String
    /// The tool reported an error (MCP `isError`); the model sees it and may recover.
    public var isError: Bool

    public init(callID: String, name: String, content: String, isError: Bool = false) {
        self.callID = callID
        self.name = name
        self.content = content
        self.isError = isError
    }
}

/// Why a tool call did not produce a result.
public enum ToolFailureClass: String, Codable, Sendable, Hashable, CaseIterable {
    /// The server process exited or its transport closed.
    case serverCrashed = "server_crashed"
    /// No answer within the per-call time limit.
    case timeout
    /// The server could not be started or did not finish its handshake.
    case serverUnavailable = "server_unavailable"
    /// The server answered with something that is not valid MCP.
    case protocolError = "protocol_error"
    /// The model called a tool that was not offered.
    case unknownTool = "unknown_tool"
    /// The model's arguments are not a JSON object.
    case badArguments = "bad_arguments"
    /// The tool loop's bounds (calls or time) are spent.
    case limitReached = "limit_reached"
}

/// A classified tool failure. Ends the tool loop of the attempt (the phase then fails or answers without
/// the tool, as the engine decides); never a hang.
public struct ToolFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var failureClass: ToolFailureClass
    public var message: String
    public var server: String?

    public init(_ failureClass: ToolFailureClass, _ message: String, server: String? = nil) {
        self.failureClass = failureClass
        self.message = message
        self.server = server
    }

    public var description: String { "\(failureClass.rawValue): \(message)" }
}

/// Where a tool call comes from.
public struct ToolContext: Sendable, Hashable {
    public var runID: String
    public var stepID: String
    public var phase: Phase

    public init(runID: String, stepID: String, phase: Phase) {
        self.runID = runID
        self.stepID = stepID
        self.phase = phase
    }
}

/// Bounds of one attempt's tool loop.
public struct ToolLoopLimits: Sendable, Hashable {
    /// Tool calls per attempt (all tools together).
    public var maxCalls = 8
    /// Total time an attempt may spend in tool calls.
    public var maxTotalMs: Int64 = 60_000
    /// One call's limit; a server that does not answer within it is a `timeout`.
    public var perCallTimeoutMs: Int64 = 20_000
    /// Characters of a tool result kept for the prompt (the rest is cut, and the cut is said).
    public var maxResultChars = 16_000
    public init() {}
}

/// Provides tools to runs (YmeraMCP's client of configured MCP servers; test hosts in tests).
///
/// Contract: `tools(for:runID:)` may start servers on demand; `call` returns within `timeoutMs` or
/// throws a `ToolFailure` (`timeout`, `serverCrashed`, …); `endRun` stops what the run started.
public protocol ToolHost: Sendable {
    /// Tools a phase of this run may use (empty: the phase gets none).
    func tools(for phase: Phase, runID: String) async throws -> [ToolSpec]
    func call(_ call: ToolCall, context: ToolContext, timeoutMs: Int64) async throws -> ToolResult
    func endRun(_ runID: String) async
}
