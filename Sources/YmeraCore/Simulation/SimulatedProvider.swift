import Foundation
import Synchronization

/// A model provider that runs no model: deterministic for a seed, with realistic timing (time to first
/// token and tokens per second by the model's speed tier), output shaped by the phase (a plan with
/// numbered subtasks and dependencies, code blocks for code tasks, a review listing issues, a
/// validation checklist), and injected faults. Its models are the catalog's `sim/...` twins and every
/// run it serves is labelled SIMULATED.
///
/// Pull-based: the stream's work runs inside the consuming task, so on a `VirtualClock` whole runs
/// are deterministic and take no real time.
public struct SimulatedProvider: ModelClient {
    public struct Faults: Sendable {
        /// Share of attempts that fail, 0 … 1, with mixed error classes.
        public var rate: Double
        /// Per-model rates that override `rate`.
        public var perModel: [ModelID: Double]
        /// Models that always fail with the given class (tests).
        public var always: [ModelID: ErrorClass]
        /// Retry-after sent with simulated 429s, in ms.
        public var retryAfterMs: Int
        public init(rate: Double = 0, perModel: [ModelID: Double] = [:], always: [ModelID: ErrorClass] = [:], retryAfterMs: Int = 2_000) {
            self.rate = rate
            self.perModel = perModel
            self.always = always
            self.retryAfterMs = retryAfterMs
        }
    }

    public var clock: any RunClock
    public var faults: Faults
    /// Multiplies the simulated delays (0.2 = five times faster).
    public var timeScale: Double
    /// Attempts seen per run, so faults are spread evenly over a run's attempts.
    let attempts = AttemptCounter()

    public init(clock: any RunClock, faults: Faults = Faults(), timeScale: Double = 1) {
        self.clock = clock
        self.faults = faults
        self.timeScale = timeScale
    }

    final class AttemptCounter: Sendable {
        let counts = Mutex<[String: Int]>([:])
        func next(_ run: String) -> Int {
            counts.withLock { c in
                let n = c[run] ?? 0
                c[run] = n + 1
                return n
            }
        }
    }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        // The twin refuses what its real model would: a prompt that does not fit the window (HTTP 400).
        if var refusal = ClientRouter.windowRefusal(request) {
            refusal.httpStatus = 400
            let failure = refusal
            return AsyncThrowingStream { throw failure }
        }
        let ctx = request.context
        let seed = SplitMix64.derive(ctx.seed, "\(ctx.stepID)|\(request.model.id)|\(ctx.attempt)")
        var rng = SplitMix64(seed: seed)
        let lastUser = request.messages.last(where: { $0.role == .user })?.content ?? ""
        // In a tool conversation the last message may be a tool result or the engine's note that a tool
        // failed: the task is in the prompt's own user message.
        let toolConversation = !request.tools.isEmpty || lastUser.contains("No more tools are available")
            || request.messages.contains { $0.role == .tool || $0.toolCalls != nil }
        let userText = toolConversation
            ? (request.messages.last(where: { $0.role == .user && $0.content.contains("## Task\n") })?.content ?? lastUser) : lastUser
        let task = ctx.stepID.contains("#judge") ? userText : Self.section("Task", in: userText)
        let subtask = Self.section("Your subtask", in: userText)
        let lastAsked = toolConversation ? lastUser : (request.messages.last?.content ?? "")
        let isContinuation = lastAsked.hasPrefix("Your previous answer was cut off")
        let isRefinement = lastAsked.hasPrefix("This answer scored")
        // Tool use: offered tools and no result yet — call the first one; with results — cite them.
        let toolResults = request.messages.filter { $0.role == .tool }
        if !request.tools.isEmpty && toolResults.isEmpty {
            return toolCallStream(request, task: task.isEmpty ? subtask : task, seed: seed)
        }
        // The answer to a step depends on the step (and whether it is a refinement), not on which model
        // or attempt gives it: a continuation after a cut stream then picks up exactly where it stopped.
        var textRNG = SplitMix64(seed: SplitMix64.derive(ctx.seed, "\(ctx.stepID)|\(isRefinement)|text"))
        var text = SimulatedText.generate(
            phase: ctx.phase, taskType: ctx.taskType, task: task, subtask: subtask, stepID: ctx.stepID,
            model: request.model, continuation: false, refinement: isRefinement,
            previousFiles: SimulatedText.fileNames(in: request.messages.filter { $0.role != .system }.map(\.content).joined(separator: "\n")),
            rng: &textRNG)
        if isContinuation {
            let partial = request.messages.last(where: { $0.role == .assistant })?.content ?? ""
            text = !partial.isEmpty && text.hasPrefix(partial)
                ? String(text.dropFirst(partial.count)) : text.split(separator: "\n").suffix(4).joined(separator: "\n") + "\n"
        }
        if !toolResults.isEmpty {
            let cites = toolResults.map { r in
                "Tool \(r.toolName ?? "?") returned: " + String(r.content.prefix(200)).replacingOccurrences(of: "\n", with: " ")
            }
            text = cites.joined(separator: "\n") + "\n\n" + text
        }
        let tokens = SimulatedText.tokenize(text)
        let index = attempts.next(ctx.runID)
        var runRNG = SplitMix64(seed: SplitMix64.derive(ctx.seed, "faults"))
        let fault = plannedFault(request.model.id, attempt: index, offset: runRNG.nextDouble(), rng: &rng, tokenCount: tokens.count)
        let tier = min(5, max(1, request.model.speedTier))
        let ttft = Int64(Double([1500, 900, 600, 350, 200][tier - 1]) * (0.7 + 0.6 * rng.nextDouble()) * timeScale)
        let tps = [25.0, 45.0, 80.0, 150.0, 400.0][tier - 1]
        let promptTokens = TokenUsage.estimateTokens(characters: request.promptCharacters)
        let limit = min(tokens.count, request.maxTokens)

        struct Cursor { var index = 0; var started = false; var emitted = ""; var done = false; var sentUsage = false }
        let cursor = Mutex(Cursor())
        let clock = self.clock
        let chunk = 3
        let chunkDelay = Int64(Double(chunk) / tps * 1000 * timeScale)
        let model = request.model
        let retryAfter = faults.retryAfterMs
        let remaining = 990 - Int(rng.next() % 50)

        return AsyncThrowingStream(unfolding: {
            let state = cursor.withLock { $0 }
            if state.done { return nil }
            if !state.started {
                cursor.withLock { $0.started = true }
                switch fault {
                case .some(.immediate(let cls)):
                    try await clock.sleep(ms: cls == .timeout ? ttft * 4 : ttft / 3)
                    cursor.withLock { $0.done = true }
                    throw Self.failure(cls, model: model, retryAfterMs: retryAfter, partial: "", usage: nil)
                default:
                    try await clock.sleep(ms: ttft)
                    return .rateLimit(RateLimitSnapshot(provider: model.provider, limitRequests: 1000, remainingRequests: remaining, limitTokens: 200_000, remainingTokens: 190_000))
                }
            }
            if state.index < limit {
                if case .some(.midStream(let cls, let at)) = fault, state.index >= at {
                    cursor.withLock { $0.done = true }
                    let usage = TokenUsage(inputTokens: promptTokens, outputTokens: state.index, estimated: true)
                    throw Self.failure(cls, model: model, retryAfterMs: retryAfter, partial: state.emitted, usage: usage)
                }
                if state.index > 0 { try await clock.sleep(ms: chunkDelay) }
                let end = min(limit, state.index + chunk)
                let piece = tokens[state.index..<end].joined()
                cursor.withLock {
                    $0.index = end
                    $0.emitted += piece
                }
                return .delta(piece)
            }
            if !state.sentUsage {
                cursor.withLock { $0.sentUsage = true }
                return .usage(TokenUsage(inputTokens: promptTokens, outputTokens: limit))
            }
            cursor.withLock { $0.done = true }
            return .finished(limit < tokens.count ? .length : .stop)
        })
    }

    /// A turn that only calls a tool: the first one offered, with arguments built from its schema.
    func toolCallStream(_ request: ModelRequest, task: String, seed: UInt64) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let tool = request.tools[0]
        let call = ToolCall(
            id: "call_" + String(String(SplitMix64.derive(seed, "tool"), radix: 16).prefix(12)), name: tool.name,
            argumentsJSON: Self.arguments(for: tool, query: task))
        let tier = min(5, max(1, request.model.speedTier))
        let ttft = Int64(Double([1500, 900, 600, 350, 200][tier - 1]) * timeScale)
        let usage = TokenUsage(
            inputTokens: TokenUsage.estimateTokens(characters: request.promptCharacters),
            outputTokens: TokenUsage.estimateTokens(characters: call.argumentsJSON.count + call.name.count))
        let events: [ModelStreamEvent] = [.toolCall(call), .usage(usage), .finished(.toolCalls)]
        let next = Mutex(0)
        let clock = self.clock
        return AsyncThrowingStream(unfolding: {
            let i = next.withLock { n -> Int in
                n += 1
                return n - 1
            }
            if i == 0 { try await clock.sleep(ms: ttft) }
            return i < events.count ? events[i] : nil
        })
    }

    /// A JSON object for a tool's input schema: string properties get a short query from the task,
    /// numbers 3, booleans true; other required properties an empty array or object.
    static func arguments(for tool: ToolSpec, query: String) -> String {
        let schema = (tool.inputSchemaJSON.data(using: .utf8)).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any] ?? [:]
        let properties = schema["properties"] as? [String: Any] ?? [:]
        let required = Set(schema["required"] as? [String] ?? [])
        let words = query.split(whereSeparator: { $0.isWhitespace || $0.isNewline }).prefix(8).joined(separator: " ")
        let text = words.isEmpty ? "the task" : String(words.prefix(80))
        var args: [String: Any] = [:]
        for (name, value) in properties {
            let type = (value as? [String: Any])?["type"] as? String
            switch type {
            case "string": args[name] = text
            case "integer", "number": args[name] = 3
            case "boolean": args[name] = true
            case "array" where required.contains(name): args[name] = [Any]()
            case "object" where required.contains(name): args[name] = [String: Any]()
            default: break
            }
        }
        guard let data = try? JSONSerialization.data(withJSONObject: args, options: [.sortedKeys]),
              let json = String(data: data, encoding: .utf8) else { return "{}" }
        return json
    }

    enum PlannedFault: Sendable {
        case immediate(ErrorClass)
        case midStream(ErrorClass, atToken: Int)
    }

    /// The classes injected faults cycle through: ones that make the engine retry alternate with
    /// ones that make it fall back, so any stretch of a run sees both.
    static let faultCycle: [(ErrorClass, midStream: Bool)] = [
        (.serverError, false), (.connectionReset, true), (.rateLimit, false), (.timeout, false),
        (.serverError, false), (.truncated, true), (.rateLimit, false), (.overloaded, false),
        (.serverError, false), (.stall, true),
    ]

    /// Whether attempt `index` of a run fails. With a run-wide rate the failures are stratified: of any
    /// n consecutive attempts, rate × n (rounded) fail — "30%" means 30% of attempts, not a coin per
    /// attempt that may leave a run untouched. Per-model rates are independent draws.
    func plannedFault(_ model: ModelID, attempt index: Int, offset: Double, rng: inout SplitMix64, tokenCount: Int) -> PlannedFault? {
        if let cls = faults.always[model] {
            return cls == .connectionReset || cls == .truncated || cls == .stall
                ? .midStream(cls, atToken: max(1, tokenCount / 2)) : .immediate(cls)
        }
        let at = max(1, Int(Double(tokenCount) * (0.2 + 0.6 * rng.nextDouble())))
        let faultNumber: Int
        if let rate = faults.perModel[model] {
            guard rate > 0, rng.nextDouble() < rate else { return nil }
            faultNumber = Int(rng.next() % UInt64(Self.faultCycle.count))
        } else {
            let rate = faults.rate
            guard rate > 0 else { return nil }
            let before = Int((Double(index) * rate + offset).rounded(.down))
            let after = Int((Double(index + 1) * rate + offset).rounded(.down))
            guard after > before else { return nil }
            faultNumber = before + Int(offset * 10)
        }
        let (cls, mid) = Self.faultCycle[faultNumber % Self.faultCycle.count]
        return mid ? .midStream(cls, atToken: at) : .immediate(cls)
    }

    static func failure(_ cls: ErrorClass, model: ModelInfo, retryAfterMs: Int, partial: String, usage: TokenUsage?) -> ModelFailure {
        let (status, message): (Int?, String) =
            switch cls {
            case .serverError: (500, "simulated internal server error")
            case .rateLimit: (429, "simulated rate limit: too many requests")
            case .timeout: (nil, "simulated: no first byte before the deadline")
            case .overloaded: (503, "simulated: the provider is overloaded")
            case .connectionReset: (nil, "simulated: connection reset by peer mid-stream")
            case .truncated: (nil, "simulated: stream ended without its terminal event")
            case .stall: (nil, "simulated: stream stalled mid-answer")
            case .auth: (401, "simulated: invalid API key")
            case .quotaExhausted: (429, "simulated: quota exhausted (limit 0)")
            case .contextTooLong: (400, "simulated: prompt exceeds the context window")
            case .badRequest: (400, "simulated: bad request")
            default: (nil, "simulated \(cls.rawValue)")
            }
        return ModelFailure(
            cls, message, httpStatus: status, retryAfterMs: cls == .rateLimit ? retryAfterMs : nil, provider: model.provider,
            partialOutput: partial, usage: usage)
    }

    /// The text of a `## Name` section of a prompt.
    static func section(_ name: String, in text: String) -> String {
        guard let r = text.range(of: "## \(name)\n") else { return "" }
        let rest = text[r.upperBound...]
        let end = rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex
        return String(rest[..<end]).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
