import ArgumentParser
import Foundation
import MCP
import Synchronization
import YmeraConfig
import YmeraCore
import YmeraStore

/// YMERA as MCP tools and resources (`ymera mcp`): analyse and plan a task, start runs in the
/// background (journaled like `ymera run`), follow, steer and search them. Every answer is JSON —
/// `structuredContent` and the same JSON as text, keys sorted, bounded and sanitized. Arguments are
/// checked against the tool's published input schema; anything a caller can correct (bad arguments,
/// an unknown run, a plan over budget) is a tool result with `isError: true` saying what to change.
/// JSON-RPC errors are kept for an unknown tool or a malformed request.
actor MCPService {
    let context: AppContext
    let journal: Journal
    let simulate: Bool
    let validator: String
    /// Simulated runs take real time unless a start_run says otherwise (`ymera mcp --realtime`).
    let realtime: Bool
    /// Hosts the runs started here (ownership, journal, commands from other processes) and sends
    /// commands to the live runs of other processes.
    let host: RunHost

    /// Runs started by this server and not yet ended.
    private var live: [String: LiveRun] = [:]
    /// Plans made by plan_task (and start_run), newest last, at most `maxPlans`.
    private var plans: [(id: String, prepared: PreparedRun)] = []

    struct LiveRun {
        let handle: RunHandle
        let finished: Task<Void, Never>
    }

    /// A failure the caller can correct: returned as a tool result with `isError: true`.
    struct ToolError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    static let maxLiveRuns = 4
    static let maxPlans = 32
    static let maxStringChars = 4_000
    static let resourcePage = 50

    init(context: AppContext, journal: Journal, simulate: Bool, validator: String, realtime: Bool = false) {
        self.context = context
        self.journal = journal
        self.simulate = simulate
        self.validator = validator
        self.realtime = realtime
        self.host = RunHost(context: context, journal: journal)
    }

    /// `tools/call`. Throws (a JSON-RPC error) only for an unknown tool; everything else is a result.
    func call(_ name: String, _ arguments: [String: Value]) async throws -> CallTool.Result {
        guard let tool = MCPTools.tool(name) else {
            throw MCPError.invalidParams("unknown tool '\(Self.clip(name, 80))'; tools: \(MCPTools.tools.map(\.name).joined(separator: ", "))")
        }
        let problems = ToolSchema.problems(.object(arguments), against: tool.inputSchema)
        guard problems.isEmpty else {
            return Self.failure("\(name): \(problems.prefix(8).joined(separator: "; "))")
        }
        let args = ToolArguments(values: arguments)
        let json: Any
        do {
            switch name {
            case "analyse_task": json = try analyse(args)
            case "plan_task": json = try await plan(args)
            case "start_run": json = try await start(args)
            case "run_state": json = try await runState(args)
            case "run_events": json = try await runEvents(args)
            case "list_runs": json = try listRuns(args)
            case "search_runs": json = try searchRuns(args)
            default: json = try await control(name, args)
            }
        } catch let e as ToolError {
            return Self.failure("\(name): \(e.message)")
        } catch {
            return Self.failure("\(name) failed: \(Self.clip("\(error)", 500))")
        }
        return try Self.success(json)
    }

    static func success(_ json: Any) throws -> CallTool.Result {
        let text = jsonText(json)
        let structured: Value? = try JSONDecoder().decode(Value.self, from: Data(text.utf8))
        return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], structuredContent: structured, isError: false)
    }

    static func failure(_ message: String) -> CallTool.Result {
        CallTool.Result(content: [.text(text: clip(message, maxStringChars), annotations: nil, _meta: nil)], isError: true)
    }

    // MARK: planning

    func analyse(_ args: ToolArguments) throws -> Any {
        let task = try Self.task(args)
        let intent = IntentAnalyzer().analyze(task)
        return try Self.encodable(intent)
    }

    func plan(_ args: ToolArguments) async throws -> Any {
        let prepared = try await prepare(args)
        return remember(prepared).json
    }

    /// Keeps a plan for start_run; its id is a digest of the plan as returned, so the same plan has
    /// the same id (and the same bytes).
    private func remember(_ prepared: PreparedRun) -> (id: String, json: [String: Any]) {
        var json = Self.planJSON(prepared)
        let id = "plan-" + String(Self.fnv64(Self.jsonText(json)), radix: 16)
        json["plan_id"] = id
        plans.removeAll { $0.id == id }
        plans.append((id, prepared))
        if plans.count > Self.maxPlans { plans.removeFirst(plans.count - Self.maxPlans) }
        return (id, json)
    }

    static let planningArguments = ["task", "strategy", "budget_usd", "max_tokens", "models", "seed", "gates"]

    private func prepare(_ args: ToolArguments) async throws -> PreparedRun {
        let task = try Self.task(args)
        var argv: [String] = []
        if let s = args.string("strategy") { argv += ["--strategy", s] }
        if let b = args.double("budget_usd") { argv += ["--budget", String(b)] }
        if let t = args.int("max_tokens") { argv += ["--max-tokens", String(t)] }
        for m in args.strings("models") ?? [] {
            guard !m.hasPrefix("-") else { throw ToolError("models: '\(Self.clip(m, 80))' is not PHASE=MODEL or MODEL") }
            argv += ["--model", m]
        }
        // Without a seed, one derived from the task: the same request plans (and simulates) the same way.
        let seed = args.int("seed").map { UInt64($0) } ?? (Self.fnv64(task) & 0xFFFF_FFFF)
        argv += ["--seed", String(seed)]
        if simulate { argv.append("--simulate") }
        argv += ["--", task]
        let options: PlanningOptions
        do {
            options = try PlanningOptions.parse(argv)
        } catch {
            throw ToolError(Self.clip(PlanningOptions.message(for: error), 500))
        }
        let gates: GateOptions
        do { gates = try GateOptions.parse((args.strings("gates") ?? []).flatMap { ["--gate", $0] }) } catch {
            throw ToolError("gates: " + Self.clip(GateOptions.message(for: error), 300))
        }
        do {
            var prepared = try await RunSetup.prepare(options, context: context, history: journal)
            do { prepared.plan.gates = try gates.policy(defaults: context.loaded.defaults) } catch { throw ToolError("gates: \(error)") }
            return prepared
        } catch let e as PlanError {
            throw ToolError("plan refused: \(Self.clip(e.message, 500)); raise budget_usd or max_tokens, or choose cheaper models")
        } catch let e as CLIError {
            throw ToolError(Self.clip(e.description.replacingOccurrences(of: "--model ", with: "models: "), 500))
        }
    }

    static func planJSON(_ p: PreparedRun) -> [String: Any] {
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
            "strategy": plan.strategy.rawValue, "serving": plan.serving.rawValue, "serving_note": p.servingNote,
            "seed": plan.seed, "steps": steps, "forecast": forecastJSON(plan.forecast), "notes": plan.notes,
            "intent": (try? encodable(plan.intent)) ?? [:],
            "models_per_phase": Dictionary(plan.steps.map { ($0.phase.rawValue, $0.model.rawValue) }, uniquingKeysWith: { a, _ in a }),
        ]
        if let max = plan.budget.maxCost { out["budget_usd"] = max.dollars }
        if let max = plan.budget.maxTokens { out["max_tokens"] = max }
        if let r = plan.recommendation { out["recommendation"] = clip(r.rationale, 500) }
        if let g = plan.gates { out["gates"] = g.phases }
        return out
    }

    static func forecastJSON(_ f: StepForecast) -> [String: Any] {
        ["input_tokens": f.inputTokens, "output_tokens": f.outputTokens, "cost_usd": f.cost.money.dollars, "cost": f.cost.display, "duration_ms": f.durationMs]
    }

    // MARK: runs

    func start(_ args: ToolArguments) async throws -> Any {
        live = live.filter { $0.value.handle.state.isActive }
        guard live.count < Self.maxLiveRuns else {
            throw ToolError("\(live.count) runs are already running in this server (the limit is \(Self.maxLiveRuns)); wait for one to end or cancel one with cancel_run")
        }
        var prepared: PreparedRun
        let planID: String
        var out: [String: Any]
        if let id = args.string("plan_id") {
            let extra = Self.planningArguments.filter { args.has($0) }
            guard extra.isEmpty else {
                throw ToolError("plan_id carries its plan: drop \(extra.joined(separator: ", ")), or drop plan_id to plan here")
            }
            guard let kept = plans.last(where: { $0.id == id }) else {
                throw ToolError("unknown plan_id '\(Self.clip(id, 80))': this server keeps its last \(Self.maxPlans) plans; call plan_task again")
            }
            prepared = kept.prepared
            planID = id
            out = Self.planJSON(prepared)
            out["plan_id"] = id
        } else {
            prepared = try await prepare(args)
            let kept = remember(prepared)
            planID = kept.id
            out = kept.json
        }
        // A plan may be started more than once: each start is a new run.
        var runID = Planner.newRunID(seed: prepared.plan.seed, task: prepared.plan.task)
        var salt: UInt64 = 1
        while live[runID] != nil || (try? journal.run(runID)) != nil {
            runID = Planner.newRunID(seed: prepared.plan.seed &+ salt, task: prepared.plan.task)
            salt += 1
        }
        prepared.plan.runID = runID
        let pacing = args.string("pacing") ?? (realtime ? "realtime" : "instant")

        let hosted: HostedRun
        do {
            let engine = try host.engine(
                serving: prepared.plan.serving, realtime: pacing == "realtime", available: prepared.available, validator: validator,
                faults: 0)
            hosted = try host.start(prepared.plan, engine: engine)
        } catch {
            throw ToolError("the engine could not be set up: \(Self.clip("\(error)", 300))")
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
        out["plan_id"] = planID
        out["run_id"] = handle.runID
        out["status"] = "running"
        out["pacing"] = pacing
        out["hint"] = "follow it with run_state or run_events; the summary is in run_state once terminal is true"
        return out
    }

    private func resolve(_ args: ToolArguments) throws -> String {
        let id = String((args.string("run_id") ?? "").prefix(200))
        if live[id] != nil { return id }
        do {
            return try journal.resolveRunID(id)
        } catch {
            throw ToolError("unknown run id '\(Self.clip(id, 80))': \(Self.clip("\(error)", 200)); list_runs shows the runs")
        }
    }

    /// A run of this server that has ended: once its journal is complete (a quick flush), the journal
    /// answers for it like for any run.
    private func settle(_ id: String) async {
        if let l = live[id], !l.handle.state.isActive {
            await l.finished.value
            live[id] = nil
        }
    }

    func runState(_ args: ToolArguments) async throws -> Any {
        let id = try resolve(args)
        await settle(id)
        let state: RunState
        if let l = live[id] {
            state = l.handle.state
        } else {
            guard let s = try journal.state(id) else { throw ToolError("unknown run id '\(Self.clip(id, 80))'") }
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
        if let passed = summary.qualityPassed { out["quality_passed"] = passed }
        if !state.isActive { out["output"] = clip(state.finalOutput, 8_000) }
        return out
    }

    func runEvents(_ args: ToolArguments) async throws -> Any {
        let id = try resolve(args)
        await settle(id)
        let since = args.int("since") ?? 0
        let limit = args.int("limit") ?? 100
        let terminal: Bool
        if live[id] != nil {
            terminal = false
        } else if let record = try journal.run(id), record.status.isTerminal {
            terminal = true
        } else {
            // Not ended by its record: ended if its writer is gone (interrupted) — the journal knows.
            terminal = (try journal.state(id)).map { !$0.isActive } ?? true
        }
        // While a run goes on, a page stops before a number still held in memory (coalescing text).
        let page = try journal.eventPage(id, after: since, limit: limit, stopAtGap: !terminal)
        let events: [Any] = try page.rows.map { row in
            var e = try Self.encodable(row.event) as? [String: Any] ?? [:]
            e["seq_end"] = row.seqEnd
            return e
        }
        return [
            "run_id": id, "events": events, "more": page.more, "next_since": page.rows.last?.event.seq ?? since,
            "last_seq": page.lastSeq, "terminal": terminal,
        ] as [String: Any]
    }

    func listRuns(_ args: ToolArguments) throws -> Any {
        var filter = RunFilter(limit: args.int("limit") ?? 20)
        filter.status = args.string("status").flatMap(RunStatus.init(rawValue:))
        return ["runs": try journal.runs(filter).map(Self.recordJSON)]
    }

    func searchRuns(_ args: ToolArguments) throws -> Any {
        let q = args.string("query") ?? ""
        guard !q.trimmingCharacters(in: .whitespaces).isEmpty else { throw ToolError("query: give words to search for") }
        let runs = try journal.runs(RunFilter(search: q, limit: args.int("limit") ?? 20))
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
    func control(_ tool: String, _ args: ToolArguments) async throws -> Any {
        let id = try resolve(args)
        if let run = live[id], !run.handle.state.isActive {
            throw ToolError("run \(id) is not running: it has already ended (status: \(run.handle.state.status.rawValue))")
        }
        let command: YmeraCore.RunCommand
        switch tool {
        case "pause_run": command = .pause
        case "resume_run": command = .resume
        case "approve_step": command = .approve(edited: args.string("edited_output"))
        case "reject_step": command = .reject(reason: Self.clip(args.string("reason") ?? "rejected over MCP", 200))
        case "rerun_step":
            var model: ModelID?
            if let name = args.string("model") {
                do { model = try context.catalog.model(name).id } catch { throw ToolError("model '\(Self.clip(name, 100))': \(error)") }
            }
            command = .rerun(note: args.string("note"), model: model)
        default: command = .cancel(reason: Self.clip(args.string("reason") ?? "cancelled over MCP", 200))
        }
        let before = (live[id]?.handle.state ?? (try? journal.state(id)))?.status
        let record: ControlCommandRecord
        do { record = try await host.control(id, command) } catch {
            throw ToolError("run \(id): the command could not be sent: \(Self.clip("\(error)", 300))")
        }
        switch record.state {
        case .refused:
            throw ToolError(Self.clip(record.reason ?? "run \(id): refused", 400))
        case .pending, .taken:
            throw ToolError("run \(id): its owner did not take the command within 5 s")
        case .applied:
            var out: [String: Any] = [
                "run_id": id, "requested": command.name, "status_before": before?.rawValue ?? "unknown",
                "running_here": live[id] != nil,
            ]
            if let after = record.afterSeq { out["after_seq"] = after }
            return out
        }
    }

    // MARK: resources

    static let templates: [Resource.Template] = [
        Resource.Template(
            uriTemplate: "ymera://runs/{id}", name: "run",
            description: "A run's summary as JSON (a unique prefix of the id will do), with the files it wrote.",
            mimeType: "application/json"),
        Resource.Template(
            uriTemplate: "ymera://runs/{id}/files/{+path}", name: "run file",
            description: "The latest version of a file the run wrote (its path as in the run's summary; text, or base64 for other bytes)."),
    ]

    /// Runs newest first, `resourcePage` at a time; the cursor is opaque (the last run of the page).
    func resources(cursor: String?) throws -> (resources: [Resource], next: String?) {
        var after: String?
        if let cursor {
            guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8), text.hasPrefix("after:") else {
                throw MCPError.invalidParams("invalid cursor: give back the nextCursor of the previous resources/list")
            }
            after = String(text.dropFirst("after:".count))
        }
        let page: (runs: [RunRecord], more: Bool)
        do {
            page = try journal.runsPage(after: after, limit: Self.resourcePage)
        } catch let e as JournalError {
            throw MCPError.invalidParams("invalid cursor (\(Self.clip(e.description, 120))): list again without a cursor")
        }
        let resources = page.runs.map { r in
            Resource(
                name: "run \(r.id)", uri: "ymera://runs/\(r.id)",
                description: "\(r.status.rawValue): \(Self.clip(r.task, 120))", mimeType: "application/json")
        }
        let next = page.more ? page.runs.last.map { Data("after:\($0.id)".utf8).base64EncodedString() } : nil
        return (resources, next)
    }

    static func notFound(_ message: String) -> MCPError { .serverError(code: -32002, message: "resource not found: " + message) }

    func readResource(_ uri: String) throws -> [Resource.Content] {
        let prefix = "ymera://runs/"
        guard uri.hasPrefix(prefix) else {
            throw Self.notFound("'\(Self.clip(uri, 120))'; runs are ymera://runs/{id}, their files ymera://runs/{id}/files/{path}")
        }
        let rest = String(uri.dropFirst(prefix.count))
        let parts = rest.components(separatedBy: "/files/")
        let id: String
        do {
            id = try resolve(ToolArguments(values: ["run_id": .string(parts[0])]))
        } catch let e as ToolError {
            throw Self.notFound(e.message)
        }
        if parts.count > 1 {
            let raw = parts.dropFirst().joined(separator: "/files/")
            let path = raw.removingPercentEncoding ?? raw
            guard let ws = try Workspace.existing(dataDirectory: journal.directory, runID: id),
                let file = ws.finalFiles.first(where: { $0.path == path })
            else { throw Self.notFound("run \(id) wrote no file '\(Self.clip(path, 200))'") }
            let data = try ws.content(of: file.latest)
            if let text = String(data: data, encoding: .utf8) { return [.text(text, uri: uri, mimeType: "text/plain")] }
            return [.binary(data, uri: uri, mimeType: "application/octet-stream")]
        }
        let state: RunState
        if let l = live[id] { state = l.handle.state } else {
            guard let s = try journal.state(id) else { throw Self.notFound("run '\(Self.clip(id, 80))'") }
            state = s
        }
        var summary = try Self.encodable(state.summary) as? [String: Any] ?? [:]
        summary["file_uris"] = state.files.keys.map { "ymera://runs/\(id)/files/" + ($0.addingPercentEncoding(withAllowedCharacters: Self.pathCharacters) ?? $0) }
        return [.text(Self.jsonText(summary), uri: "ymera://runs/\(id)", mimeType: "application/json")]
    }

    static let pathCharacters = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#"))

    // MARK: shutdown

    /// How long the server waits, once standard input has closed, for its cancelled runs to record
    /// their end (`cancelled` in the journal). A cancel ends a run from any state (running, paused,
    /// waiting on a breaker or a rate limit); this bound only covers a stuck tool host or validator.
    static let shutdownBoundMs = 5_000

    /// The client went away: cancel what still runs and let the journal record it, within
    /// `shutdownBoundMs` (awaiting a task's value cannot be cancelled, so the wait polls a deadline).
    func shutdown() async {
        for run in live.values where run.handle.state.isActive { run.handle.cancel(reason: "the MCP client disconnected") }
        let tasks = live.values.map(\.finished)
        final class Count: Sendable { let value = Atomic(0) }
        let ended = Count()
        for t in tasks {
            Task {
                await t.value
                _ = ended.value.add(1, ordering: .relaxed)
            }
        }
        let deadline = ContinuousClock.now + .milliseconds(Self.shutdownBoundMs)
        while ended.value.load(ordering: .relaxed) < tasks.count && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: helpers

    static func task(_ args: ToolArguments) throws -> String {
        let task = (args.string("task") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !task.isEmpty else { throw ToolError("task: the task is empty") }
        guard task.utf8.count <= MCPTools.maxTaskBytes else {
            throw ToolError("task: \(task.utf8.count) bytes is over the limit of \(MCPTools.maxTaskBytes) bytes (64 KiB); shorten it")
        }
        guard task != "-" else { throw ToolError("task: '-' is not a task") }
        return task
    }

    /// FNV-1a, 64 bits: a stable digest (Swift's `hashValue` changes from process to process).
    static func fnv64(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
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

    /// JSON text with every string sanitized and bounded, keys sorted: safe to show, bounded in size,
    /// the same bytes for the same value.
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
