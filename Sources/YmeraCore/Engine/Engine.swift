import Foundation
import Logging
import Synchronization

/// Engine settings; the defaults are what a run uses unless the config says otherwise.
public struct EngineConfig: Sendable {
    public var retry = RetryPolicy()
    /// Independent subtasks of generation run at most this many at once.
    public var subtaskConcurrency = 3
    /// Refinements the quality gate may ask for per step.
    public var maxRefinements = 1
    /// After a stream is cut: the next model continues from the partial output, or starts again.
    public var fallbackMode: RunEvent.FallbackTaken.Mode = .continue
    /// Score every step with the validator.
    public var validateSteps = true
    /// Hard bound on attempts in one step (all models together): no step loops for ever.
    public var maxAttemptsPerStep = 12
    /// Longest wait for a rate limiter before trying another model instead.
    public var maxThrottleWaitMs: Int64 = 60_000
    /// Longest wait for an open breaker's cool-down when no other model is left.
    public var maxBreakerWaitMs: Int64 = 120_000
    /// How long an auth failure or exhausted quota keeps a model's breaker open.
    public var unavailableCooldownMs: Int64 = 300_000
    /// How long a provider's "model not found" keeps the model's breaker open (kept across sessions
    /// like any open breaker): a week, or until the provider lists the model again.
    public var notFoundCooldownMs: Int64 = 7 * 24 * 3_600_000
    /// An answer cut at the output limit (`length`) is continued by asking the model to go on, at
    /// most this many times; then the step is marked truncated.
    public var maxContinuations = 2
    /// Wall-clock bound on one step's attempts (all models, waits included): past it the step ends
    /// with a timeout that says so. nil: no bound beyond `maxAttemptsPerStep`.
    public var stepTimeoutMs: Int64? = 900_000
    /// Ask providers to stream.
    public var stream = true
    /// Bounds of each attempt's tool loop (calls, time, result size).
    public var toolLoop = ToolLoopLimits()
    /// Phases for which the engine asks the tool host for tools (the host then decides per phase;
    /// YmeraMCP's default offers tools to research and generation).
    public var toolPhases: Set<Phase> = Set(Phase.allCases)
    public init() {}
}

/// Where a resumed run starts: the state rebuilt from its journal.
public struct ResumePoint: Sendable {
    public var prior: RunState
    /// Steps to run again although they finished (the user's retry after the run ended).
    public var rerun: [String]
    public init(prior: RunState, rerun: [String] = []) {
        self.prior = prior
        self.rerun = rerun
    }
}

/// Runs plans. One engine serves many runs; breakers and rate limiters are shared between them.
public final class Engine: Sendable {
    public let catalog: Catalog
    public let resilience: ResilienceRegistry
    /// Requests in flight per provider with a slot limit (`ProviderConfig.maxConcurrent`).
    public let slots = ProviderSlots()
    public let config: EngineConfig
    let client: any ModelClient
    let validator: any QualityValidator
    let clock: any RunClock
    let history: (any ExecutionHistory)?
    let logger: Logger
    /// Where generation and refinement write their files (nil: outputs stay text only).
    let workspace: (any RunWorkspace)?
    /// Tools for the phases (MCP servers through YmeraMCP); nil: no tool calling.
    public let toolHost: (any ToolHost)?

    public init(
        catalog: Catalog, client: any ModelClient, validator: any QualityValidator = HeuristicValidator(),
        clock: any RunClock = SystemClock(), resilience: ResilienceRegistry? = nil, config: EngineConfig = EngineConfig(),
        history: (any ExecutionHistory)? = nil, logger: Logger = Logger(label: "ymera.engine"),
        workspace: (any RunWorkspace)? = nil, tools: (any ToolHost)? = nil
    ) {
        self.workspace = workspace
        self.toolHost = tools
        self.catalog = catalog
        self.client = client
        self.validator = validator
        self.clock = clock
        self.resilience = resilience ?? ResilienceRegistry()
        self.config = config
        self.history = history
        self.logger = logger
    }

    /// Starts a run. Events arrive on `handle.events`; `observer` (if any) sees each event
    /// synchronously as it is emitted, before consumers of the stream do.
    public func start(_ plan: RunPlan, resume: ResumePoint? = nil, observer: (@Sendable (RunEvent, RunControl) -> Void)? = nil) -> RunHandle {
        let (events, continuation) = AsyncStream<RunEvent>.makeStream(bufferingPolicy: .unbounded)
        let execution = RunExecution(engine: self, plan: resume?.prior.plan ?? plan, resume: resume, continuation: continuation, observer: observer)
        let task = Task { await execution.run() }
        return RunHandle(runID: plan.runID, events: events, execution: execution, task: task)
    }

    /// Runs a plan to the end and returns its final state (tests, headless use).
    public func run(_ plan: RunPlan, resume: ResumePoint? = nil, observer: (@Sendable (RunEvent, RunControl) -> Void)? = nil) async -> RunState {
        let handle = start(plan, resume: resume, observer: observer)
        for await _ in handle.events {}
        return await handle.finalState()
    }
}

/// The controls of a running run. Safe to call from any thread, and from an observer while an event
/// is being emitted (commands take effect at the engine's next decision point).
public struct RunControl: Sendable {
    let execution: RunExecution

    /// No new attempt starts; attempts in flight finish.
    public func pause() { execution.command(.pause) }
    public func resume() { execution.command(.resume) }
    /// Runs the step and every step after it again (a running step restarts).
    public func retry(step: String) { execution.command(.retry(step)) }
    /// Swaps a pending or running step's model (a running one restarts on the new model).
    public func swap(step: String, to model: ModelID) { execution.command(.swap(step, model)) }
    public func cancel(reason: String = "cancelled by user") { execution.command(.cancel(reason)) }
}

/// A running run: its events and its controls.
public final class RunHandle: Sendable {
    public let runID: String
    public let events: AsyncStream<RunEvent>
    public let control: RunControl
    let execution: RunExecution
    let task: Task<RunState, Never>

    init(runID: String, events: AsyncStream<RunEvent>, execution: RunExecution, task: Task<RunState, Never>) {
        self.runID = runID
        self.events = events
        self.execution = execution
        self.control = RunControl(execution: execution)
        self.task = task
    }

    /// No new attempt starts; attempts in flight finish.
    public func pause() { execution.command(.pause) }
    public func resume() { execution.command(.resume) }
    /// Runs the step and every step after it again (a running step restarts).
    public func retry(step: String) { execution.command(.retry(step)) }
    /// Swaps a pending or running step's model (a running one restarts on the new model).
    public func swap(step: String, to model: ModelID) { execution.command(.swap(step, model)) }
    public func cancel(reason: String = "cancelled by user") { execution.command(.cancel(reason)) }
    /// The state as folded so far.
    public var state: RunState { execution.snapshot() }
    public func finalState() async -> RunState { await task.value }
}
