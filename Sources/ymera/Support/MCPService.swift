import ArgumentParser
import Foundation
import MCP
import YmeraConfig
import YmeraCore
import YmeraStore

/// YMERA as MCP tools and resources (`ymera mcp`): analyse and plan a task, start runs in the
/// background (journaled like `ymera run`), follow, steer and search them. Every answer is JSON text,
/// bounded and sanitized; bad input is a JSON-RPC `invalid params` error that says what was wrong.
actor MCPService {
    let context: AppContext
    let journal: Journal
    let simulate: Bool
    let validator: String
    /// Hosts the runs started here (ownership, journal, commands from other processes) and sends
    /// commands to runs of other processes.
    let host: RunHost

    /// Runs started by this server and not yet ended.
    private var live: [String: LiveRun] = [:]

    struct LiveRun {
        let handle: RunHandle
        let finished: Task<Void, Never>
    }

    static let maxTaskBytes = 64 * 1024
    static let maxLiveRuns = 4
    static let maxEventsPage = 200
    static let maxStringChars = 4_000

    init(context: AppContext, journal: Journal, simulate: Bool, validator: String) {
        self.context = context
        self.journal = journal
        self.simulate = simulate
        self.validator = validator
        self.host = RunHost(context: context, journal: journal)
    }

    // MARK: tools

    static let tools: [Tool] = [
        Tool(
            name: "analyse_task", description: "Analyse a task: its type, complexity, urgency, creativity, needed capabilities and requirements.",
            inputSchema: schema(["task": str("The task, in plain words.")], required: ["task"]),
            annotations: .init(readOnlyHint: true)),
        Tool(
            name: "plan_task",
            description: "Plan a task without running it: strategy, steps, the model for each phase, fallbacks, and the cost/token/time forecast.",
            inputSchema: schema(planProperties, required: ["task"]), annotations: .init(readOnlyHint: true)),
        Tool(
            name: "start_run",
            description: "Plan and start a run in the background (journaled like `ymera run`). Returns the run id at once; follow it with run_state and run_events.",
            inputSchema: schema(planProperties, required: ["task"])),
        Tool(
            name: "run_state", description: "A run's state: status, steps, cost, score, summary and (bounded) final output.",
            inputSchema: schema(["run_id": str("The run id (a unique prefix will do).")], required: ["run_id"]),
            annotations: .init(readOnlyHint: true)),
        Tool(
            name: "run_events", description: "A run's events after a sequence number, in a bounded page (at most 200).",
            inputSchema: schema([
                "run_id": str("The run id."), "since": .object(["type": "integer", "description": "Only events with seq greater than this (default 0)."]),
                "limit": .object(["type": "integer", "description": "Events per page, 1-200 (default 100)."]),
            ], required: ["run_id"]),
            annotations: .init(readOnlyHint: true)),
        Tool(
            name: "list_runs", description: "Recent runs, newest first.",
            inputSchema: schema([
                "limit": .object(["type": "integer", "description": "1-100 (default 20)."]),
                "status": str("Only runs with this status (succeeded, failed, cancelled, running, paused, interrupted)."),
            ], required: []),
            annotations: .init(readOnlyHint: true)),
        Tool(
            name: "search_runs", description: "Full-text search over past runs' tasks and outputs (all words must occur; a trailing * matches a prefix).",
            inputSchema: schema(["query": str("Words to search for."), "limit": .object(["type": "integer", "description": "1-100 (default 20)."])], required: ["query"]),
            annotations: .init(readOnlyHint: true)),
        Tool(name: "pause_run", description: "Pause a run started by this server.", inputSchema: schema(["run_id": str("The run id.")], required: ["run_id"])),
        Tool(name: "resume_run", description: "Resume a paused run started by this server.", inputSchema: schema(["run_id": str("The run id.")], required: ["run_id"])),
        Tool(
            name: "cancel_run", description: "Cancel a run started by this server.",
            inputSchema: schema(["run_id": str("The run id."), "reason": str("Why (recorded in the journal).")], required: ["run_id"])),
    ]

    static let planProperties: [String: Value] = [
        "task": str("The task, in plain words (at most 64 KiB)."),
        "strategy": .object(["type": "string", "enum": .array(Strategy.allCases.map { .string($0.rawValue) }), "description": "Default: chosen by complexity."]),
        "budget_usd": .object(["type": "number", "description": "Spending limit in US dollars; a plan over it is downgraded or refused."]),
        "models": .object([
            "type": "array", "items": .object(["type": "string"]),
            "description": "PHASE=MODEL to pin a phase's model, or MODEL alone for every phase.",
        ]),
        "seed": .object(["type": "integer", "description": "Seed; same seed, same simulated run."]),
    ]

    static func str(_ description: String) -> Value { .object(["type": "string", "description": .string(description)]) }
    static func schema(_ properties: [String: Value], required: [String]) -> Value {
        .object(["type": "object", "properties": .object(properties), "required": .array(required.map { .string($0) })])
    }

    func call(_ name: String, _ args: [String: Value]) async throws -> CallTool.Result {
        let json: Any
        switch name {
        case "analyse_task": json = try analyse(args)
        case "plan_task": json = try await plan(args)
        case "start_run": json = try await start(args)
        case "run_state": json = try await runState(args)
        case "run_events": json = try runEvents(args)
        case "list_runs": json = try listRuns(args)
        case "search_runs": json = try searchRuns(args)
        case "pause_run", "resume_run", "cancel_run": json = try await control(name, args)
        default: throw MCPError.invalidParams("unknown tool '\(Self.clip(name, 80))'; tools: \(Self.tools.map(\.name).joined(separator: ", "))")
        }
        return CallTool.Result(content: [.text(text: Self.jsonText(json), annotations: nil, _meta: nil)], isError: false)
    }

    // MARK: planning

    func analyse(_ args: [String: Value]) throws -> Any {
        let task = try Self.task(args)
        let intent = IntentAnalyzer().analyze(task)
        return try Self.encodable(intent)
    }

    func plan(_ args: [String: Value]) async throws -> Any {
        let prepared = try await prepare(args)
        return Self.planJSON(prepared)
    }

    private func prepare(_ args: [String: Value]) async throws -> PreparedRun {
        let task = try Self.task(args)
        var argv: [String] = []
        if let s = args["strategy"] {
            guard let text = s.stringValue, Strategy(rawValue: text) != nil else {
                throw MCPError.invalidParams("strategy: use one of \(Strategy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            argv += ["--strategy", text]
        }
        if let b = args["budget_usd"] {
            guard let v = b.doubleValue ?? b.intValue.map(Double.init), v.isFinite, v >= 0, v <= 1_000_000 else {
                throw MCPError.invalidParams("budget_usd: give a number of US dollars between 0 and 1000000")
            }
            argv += ["--budget", String(v)]
        }
        if let m = args["models"] {
            guard case .array(let items) = m, items.count <= 16 else { throw MCPError.invalidParams("models: give an array of PHASE=MODEL strings (at most 16)") }
            for item in items {
                guard let text = item.stringValue, !text.isEmpty, text.count <= 200, !text.hasPrefix("-") else {
                    throw MCPError.invalidParams("models: each entry is a string PHASE=MODEL or MODEL")
                }
                argv += ["--model", text]
            }
        }
        if let s = args["seed"] {
            guard let v = s.intValue, v >= 0 else { throw MCPError.invalidParams("seed: give a non-negative integer") }
            argv += ["--seed", String(v)]
        }
        if simulate { argv.append("--simulate") }
        argv += ["--", task]
        let options: PlanningOptions
        do {
            options = try PlanningOptions.parse(argv)
        } catch {
            throw MCPError.invalidParams(Self.clip(PlanningOptions.message(for: error), 500))
        }
        do {
            return try await RunSetup.prepare(options, context: context, history: journal)
        } catch let e as PlanError {
            throw MCPError.invalidParams("plan refused: \(Self.clip(e.message, 500))")
        } catch let e as CLIError {
            throw MCPError.invalidParams(Self.clip(e.description, 500))
        }
    }

    static func planJSON(_ p: PreparedRun) -> Any {
        let plan = p.plan
        let steps: [[String: Any]] = plan.steps.map { s in
            var step: [String: Any] = [
                "id": s.id, "phase": s.phase.rawValue, "title": clip(s.title, 200), "model": s.model.rawValue,
                "fallbacks": s.fallbacks.map(\.rawValue), "depends_on": s.dependsOn,
                "forecast": forecastJSON(s.forecast),
            ]
            if !s.candidates.isEmpty { step["candidates"] = s.candidates.map(\.rawValue) }
            return step
        }
        var out: [String: Any] = [
            "run_id": plan.runID, "strategy": plan.strategy.rawValue, "serving": plan.serving.rawValue, "serving_note": p.servingNote,
            "seed": plan.seed, "steps": steps, "forecast": forecastJSON(plan.forecast), "notes": plan.notes,
            "intent": (try? encodable(plan.intent)) ?? [:],
            "models_per_phase": Dictionary(plan.steps.map { ($0.phase.rawValue, $0.model.rawValue) }, uniquingKeysWith: { a, _ in a }),
        ]
        if let max = plan.budget.maxCost { out["budget_usd"] = max.dollars }
        return out
    }

    static func forecastJSON(_ f: StepForecast) -> [String: Any] {
        ["input_tokens": f.inputTokens, "output_tokens": f.outputTokens, "cost_usd": f.cost.money.dollars, "cost": f.cost.display, "duration_ms": f.durationMs]
    }

    // MARK: runs

    func start(_ args: [String: Value]) async throws -> Any {
        live = live.filter { $0.value.handle.state.isActive }
        guard live.count < Self.maxLiveRuns else {
            throw MCPError.invalidParams("\(live.count) runs are already running in this server (the limit is \(Self.maxLiveRuns)); wait or cancel one")
        }
        let prepared = try await prepare(args)
        let hosted: HostedRun
        do {
            let engine = try host.engine(
                serving: prepared.plan.serving, realtime: false, available: prepared.available, validator: validator, faults: 0)
            hosted = try host.start(prepared.plan, engine: engine)
        } catch {
            throw MCPError.internalError("the engine could not be set up: \(Self.clip("\(error)", 300))")
        }
        let handle = hosted.handle
        let finished = Task.detached {
            // The engine writes the run's files through its workspace; here the stream is only drained.
            for await _ in handle.events {}
            if let error = await hosted.finish() {
                FileHandle.standardError.write(Data("ymera mcp: the journal could not record the end of run \(handle.runID): \(error)\n".utf8))
            }
        }
        live[handle.runID] = LiveRun(handle: handle, finished: finished)
        var out = Self.planJSON(prepared) as? [String: Any] ?? [:]
        out["status"] = "running"
        out["hint"] = "follow it with run_state or run_events; the summary is in run_state once the status is terminal"
        return out
    }

    private func resolve(_ args: [String: Value]) throws -> String {
        guard let raw = args["run_id"]?.stringValue, !raw.isEmpty else { throw MCPError.invalidParams("run_id: give the run id (a string)") }
        let id = String(raw.prefix(200))
        if live[id] != nil { return id }
        do {
            return try journal.resolveRunID(id)
        } catch {
            throw MCPError.invalidParams("unknown run id '\(Self.clip(id, 80))': \(Self.clip("\(error)", 200))")
        }
    }

    func runState(_ args: [String: Value]) async throws -> Any {
        let id = try resolve(args)
        let state: RunState
        if let l = live[id], !l.handle.state.isActive {
            // Ended: once its journal is complete (a quick flush), the journal answers like for any run.
            await l.finished.value
            live[id] = nil
        }
        if let l = live[id] {
            state = l.handle.state
        } else {
            guard let s = try journal.state(id) else { throw MCPError.invalidParams("unknown run id '\(Self.clip(id, 80))'") }
            state = s
        }
        return try Self.stateJSON(state, live: live[id] != nil)
    }

    static func stateJSON(_ state: RunState, live: Bool) throws -> [String: Any] {
        let summary = state.summary
        let steps: [[String: Any]] = state.steps.values.map { s in
            var step: [String: Any] = [
                "id": s.id, "phase": s.phase.rawValue, "model": s.model.rawValue, "status": s.status.rawValue, "attempts": s.attempts,
                "tokens": s.usage.totalTokens, "cost": s.cost.display,
            ]
            if let q = s.quality { step["score"] = q.score }
            if let e = s.lastError { step["last_error"] = clip(e, 300) }
            if !s.toolCalls.isEmpty { step["tool_calls"] = s.toolCalls.count }
            return step
        }
        var out: [String: Any] = [
            "run_id": state.runID, "status": state.status.rawValue, "terminal": !state.isActive, "running_here": live,
            "task": clip(state.task, 300), "steps": steps, "cost_usd": summary.costUSD, "cost": summary.cost,
            "tokens": summary.tokens, "summary": try encodable(summary),
        ]
        if let score = summary.score { out["score"] = score }
        if !state.isActive { out["output"] = clip(state.finalOutput, 8_000) }
        return out
    }

    func runEvents(_ args: [String: Value]) throws -> Any {
        let id = try resolve(args)
        let since = args["since"]?.intValue ?? 0
        let limit = args["limit"]?.intValue ?? 100
        guard (1...Self.maxEventsPage).contains(limit) else { throw MCPError.invalidParams("limit: between 1 and \(Self.maxEventsPage)") }
        guard since >= 0 else { throw MCPError.invalidParams("since: a sequence number, 0 or more") }
        let all = try journal.events(id).filter { $0.seq > since }
        let page = Array(all.prefix(limit))
        let events = try page.map { try Self.encodable($0) }
        var out: [String: Any] = ["run_id": id, "events": events, "more": all.count > page.count]
        if let last = page.last { out["next_since"] = last.seq }
        return out
    }

    func listRuns(_ args: [String: Value]) throws -> Any {
        let limit = args["limit"]?.intValue ?? 20
        guard (1...100).contains(limit) else { throw MCPError.invalidParams("limit: between 1 and 100") }
        var filter = RunFilter(limit: limit)
        if let s = args["status"] {
            guard let text = s.stringValue, let status = RunStatus(rawValue: text) else {
                throw MCPError.invalidParams("status: one of planned, running, paused, succeeded, failed, cancelled, interrupted")
            }
            filter.status = status
        }
        return ["runs": try journal.runs(filter).map(Self.recordJSON)]
    }

    func searchRuns(_ args: [String: Value]) throws -> Any {
        guard let q = args["query"]?.stringValue, !q.trimmingCharacters(in: .whitespaces).isEmpty, q.count <= 500 else {
            throw MCPError.invalidParams("query: give words to search for (at most 500 characters)")
        }
        let limit = args["limit"]?.intValue ?? 20
        guard (1...100).contains(limit) else { throw MCPError.invalidParams("limit: between 1 and 100") }
        let runs = try journal.runs(RunFilter(search: q, limit: limit))
        return ["query": q, "runs": runs.map(Self.recordJSON)]
    }

    static func recordJSON(_ r: RunRecord) -> [String: Any] {
        var out: [String: Any] = [
            "run_id": r.id, "task": clip(r.task, 300), "status": r.status.rawValue, "cost_usd": r.costUSD, "cost": r.costDisplay,
            "tokens": r.tokens, "started_at": ISO8601DateFormatter().string(from: r.startedAt), "duration_ms": r.durationMs,
        ]
        if let s = r.score { out["score"] = s }
        if let s = r.strategy { out["strategy"] = s.rawValue }
        if let t = r.taskType { out["task_type"] = t.rawValue }
        return out
    }

    /// Pause, resume or cancel any live run on the machine: one started here directly, one of another
    /// process through the journal's command channel (its owner applies it, or refuses with a reason).
    func control(_ tool: String, _ args: [String: Value]) async throws -> Any {
        let id = try resolve(args)
        let command: ControlCommand
        switch tool {
        case "pause_run": command = .pause
        case "resume_run": command = .resume
        default: command = .cancel(reason: Self.clip(args["reason"]?.stringValue ?? "cancelled over MCP", 200))
        }
        let before = (live[id]?.handle.state ?? (try? journal.state(id)))?.status
        if let run = live[id], !run.handle.state.isActive {
            throw MCPError.invalidParams("run \(id) has already ended (status: \(run.handle.state.status.rawValue))")
        }
        let record: ControlCommandRecord
        do { record = try await host.control(id, command) } catch {
            throw MCPError.internalError("the command could not be sent: \(Self.clip("\(error)", 300))")
        }
        switch record.state {
        case .refused:
            throw MCPError.invalidParams("run \(id): \(Self.clip(record.reason ?? "refused", 300))")
        case .pending, .taken:
            throw MCPError.internalError("run \(id): its owner did not take the command within 5 s")
        case .applied:
            var out: [String: Any] = [
                "run_id": id, "requested": String(tool.dropLast(4)), "status_before": before?.rawValue ?? "unknown",
                "running_here": live[id] != nil,
            ]
            if let after = record.afterSeq { out["after_seq"] = after }
            return out
        }
    }

    // MARK: resources

    func resources() throws -> [Resource] {
        try journal.runs(RunFilter(limit: 50)).map { r in
            Resource(
                name: "run \(r.id)", uri: "ymera://runs/\(r.id)",
                description: "\(r.status.rawValue): \(Self.clip(r.task, 120))", mimeType: "application/json")
        }
    }

    func readResource(_ uri: String) throws -> [Resource.Content] {
        let prefix = "ymera://runs/"
        guard uri.hasPrefix(prefix) else { throw MCPError.invalidParams("unknown resource '\(Self.clip(uri, 120))'; runs are ymera://runs/<id>") }
        let id = try resolve(["run_id": .string(String(uri.dropFirst(prefix.count)))])
        let state: RunState
        if let l = live[id] { state = l.handle.state } else {
            guard let s = try journal.state(id) else { throw MCPError.invalidParams("unknown run id '\(Self.clip(id, 80))'") }
            state = s
        }
        let summary = try Self.encodable(state.summary)
        return [.text(Self.jsonText(summary), uri: uri, mimeType: "application/json")]
    }

    // MARK: shutdown

    /// The client went away: cancel what still runs and let the journal record it (bounded wait).
    func shutdown() async {
        for run in live.values where run.handle.state.isActive { run.handle.cancel(reason: "the MCP client disconnected") }
        let tasks = live.values.map(\.finished)
        let waiter = Task { for t in tasks { await t.value } }
        let deadline = Task {
            try? await Task.sleep(for: .seconds(10))
            waiter.cancel()
        }
        await waiter.value
        deadline.cancel()
    }

    // MARK: helpers

    static func task(_ args: [String: Value]) throws -> String {
        guard let raw = args["task"]?.stringValue else { throw MCPError.invalidParams("task: give the task as a string") }
        let task = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !task.isEmpty else { throw MCPError.invalidParams("task: the task is empty") }
        guard task.utf8.count <= maxTaskBytes else {
            throw MCPError.invalidParams("task: \(task.utf8.count) bytes is over the limit of \(maxTaskBytes) bytes (64 KiB)")
        }
        guard task != "-" else { throw MCPError.invalidParams("task: '-' is not a task") }
        return task
    }

    static func clip(_ s: String, _ max: Int) -> String {
        let clean = TextSanitizer.clean(s)
        return clean.count > max ? String(clean.prefix(max)) + "…" : clean
    }

    /// An Encodable as a JSON object tree (snake_case keys, like `ymera run --json`).
    static func encodable<T: Encodable>(_ value: T) throws -> Any {
        let data = try Output.jsonEncoder.encode(value)
        return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    /// JSON text with every string sanitized and bounded: safe to show, bounded in size.
    static func jsonText(_ value: Any) -> String {
        let clean = sanitize(value)
        guard let data = try? JSONSerialization.data(withJSONObject: clean, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func sanitize(_ value: Any) -> Any {
        switch value {
        case let s as String: return clip(s, maxStringChars)
        case let a as [Any]: return a.map(sanitize)
        case let d as [String: Any]: return d.mapValues(sanitize)
        default: return value
        }
    }
}
