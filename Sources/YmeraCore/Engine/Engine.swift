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
    /// A fork's start: the parent whose kept outputs the steps before the fork point take (`ForkPlanner`).
    public var fork: ForkSource?
    public init(prior: RunState, rerun: [String] = [], fork: ForkSource? = nil) {
        self.prior = prior
        self.rerun = rerun
        self.fork = fork
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
    ///
    /// `durable` (if any) is the journal's barrier: before an attempt starts, the engine awaits
    /// `durable(seq)` for the last event that ended a step, and the journal returns once everything
    /// up to that event is on disk. The observer only hands events over; the journal writes them off
    /// the emitting path, and the only wait a run has is a step's end becoming durable before the
    /// next step builds on it.
    public func start(
        _ plan: RunPlan, resume: ResumePoint? = nil, observer: (@Sendable (RunEvent, RunControl) -> Void)? = nil,
        durable: (@Sendable (Int) async -> Void)? = nil
    ) -> RunHandle {
        let (events, continuation) = AsyncStream<RunEvent>.makeStream(bufferingPolicy: .unbounded)
        let execution = RunExecution(
            engine: self, plan: resume?.prior.plan ?? plan, resume: resume, continuation: continuation, observer: observer,
            durable: durable)
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
/// is being emitted. Each command is decided at once by the run's control machine: it applies (its
/// event says what changed) or it is refused (a `command_refused` event says why, nothing changes).
///
/// - pause: attempts in flight finish; no new attempt starts; `resume` continues exactly there.
/// - swap: a pending phase will run on the model; a running one (or its unfinished subtasks) stops its
///   attempts in flight and restarts them on it, continued from the partial output or restarted per
///   `EngineConfig.fallbackMode`. A done phase is refused: `retry(step:on:)` runs it again on a model.
/// - retry: runs the phase and every phase after it again (a running phase stops and starts again).
/// - cancel: ends the run from any state (running, paused, waiting on a breaker or a rate limit).
/// - breaker reset / force open: on the engine's shared breakers; the change is an event of this run.
public struct RunControl: Sendable {
    let execution: RunExecution

    /// Sends a command; returns whether it applied (and why not).
    @discardableResult
    public func send(_ command: RunCommand) -> CommandOutcome { execution.command(command) }

    /// No new attempt starts; attempts in flight finish.
    public func pause() { send(.pause) }
    public func resume() { send(.resume) }
    /// Runs the step and every step after it again (a running step restarts).
    public func retry(step: String) { send(.retry(step: step)) }
    /// Runs a phase and every phase after it again, the phase on `model` ("run it again on M").
    public func retry(step: String, on model: ModelID) { send(.retry(step: step, on: model)) }
    /// Swaps a pending or running step's model (a running one restarts on the new model).
    public func swap(step: String, to model: ModelID) { send(.swap(step: step, to: model)) }
    public func cancel(reason: String = "cancelled by user") { send(.cancel(reason: reason)) }
    /// Closes a model's breaker.
    public func resetBreaker(_ model: ModelID) { send(.resetBreaker(model)) }
    /// Opens a model's breaker for `ms` milliseconds.
    public func forceOpenBreaker(_ model: ModelID, forMs ms: Int64 = 60_000) { send(.forceOpenBreaker(model, forMs: ms)) }
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

    /// Sends a command; returns whether it applied (and why not). See `RunControl`.
    @discardableResult
    public func send(_ command: RunCommand) -> CommandOutcome { control.send(command) }
    /// No new attempt starts; attempts in flight finish.
    public func pause() { control.pause() }
    public func resume() { control.resume() }
    /// Runs the step and every step after it again (a running step restarts).
    public func retry(step: String) { control.retry(step: step) }
    /// Runs a phase and every phase after it again, the phase on `model`.
    public func retry(step: String, on model: ModelID) { control.retry(step: step, on: model) }
    /// Swaps a pending or running step's model (a running one restarts on the new model).
    public func swap(step: String, to model: ModelID) { control.swap(step: step, to: model) }
    public func cancel(reason: String = "cancelled by user") { control.cancel(reason: reason) }
    public func resetBreaker(_ model: ModelID) { control.resetBreaker(model) }
    public func forceOpenBreaker(_ model: ModelID, forMs ms: Int64 = 60_000) { control.forceOpenBreaker(model, forMs: ms) }
    /// The state as folded so far.
    public var state: RunState { execution.snapshot() }
    public func finalState() async -> RunState { await task.value }
}
