import MCP
import YmeraCore

/// The tools `ymera mcp` lists: each one's input schema (enforced by `ToolSchema.problems` before the
/// tool runs) and output schema (what `structuredContent` holds). README's MCP section mirrors this file.
enum MCPTools {
    typealias S = ToolSchema

    static let maxTaskBytes = 64 * 1024
    static let maxEventsPage = 200
    static let runStatuses = [
        "planned", "running", "paused", "awaiting_approval", "succeeded", "completed_below_threshold", "failed", "cancelled", "interrupted",
    ]
    static let pacings = ["instant", "realtime"]

    static let tools: [Tool] = [
        Tool(
            name: "analyse_task", description: "Analyse a task: its type, complexity, urgency, creativity, needed capabilities and requirements.",
            inputSchema: S.object(["task": task], required: ["task"]), annotations: .init(readOnlyHint: true), outputSchema: intent),
        Tool(
            name: "plan_task",
            description: """
                Plan a task without running it: strategy, steps, the model for each phase, fallbacks, and the cost/token/time \
                forecast. Returns a plan_id that start_run accepts (plans are kept while this server runs, the last 32). \
                The same arguments on the same journal give the same plan and plan_id: without a seed, the seed is derived from the task.
                """,
            inputSchema: S.object(planInputs, required: ["task"]), annotations: .init(readOnlyHint: true), outputSchema: planOutput),
        Tool(
            name: "start_run",
            description: """
                Start a run in the background (journaled like `ymera run`): from a plan_id that plan_task returned, or planned \
                here from a task. Returns the run id at once; follow it with run_state and run_events. At most 4 runs at a time.
                """,
            inputSchema: S.object(
                planInputs.merging([
                    "plan_id": S.string("A plan from plan_task (then give no task or planning options).", minLength: 1, maxLength: 100),
                    "pacing": S.string(
                        "Simulated runs only: instant (simulated time, deterministic; the server's default unless it runs with --realtime) or realtime (simulated models take real time, so pause and cancel arrive while the run is still going).",
                        oneOf: pacings),
                ]) { a, _ in a }, anyOf: [["task"], ["plan_id"]]),
            outputSchema: startOutput),
        Tool(
            name: "run_state", description: "A run's state: status, steps, cost, score, summary and (bounded) final output.",
            inputSchema: S.object(["run_id": runID], required: ["run_id"]), annotations: .init(readOnlyHint: true), outputSchema: stateOutput),
        Tool(
            name: "run_events",
            description: """
                A run's journaled events with seq greater than `since`, in order, at most `limit` rows. A text_delta row may \
                coalesce several streamed deltas of one step: it covers seq…seq_end (other rows have seq_end = seq), and rows of \
                parallel steps may interleave inside that range. Page with since = next_since while more is true; the rows \
                together cover every number 1…last_seq, and once terminal is true last_seq is final.
                """,
            inputSchema: S.object([
                "run_id": runID, "since": S.integer("Only rows with seq greater than this (default 0).", min: 0),
                "limit": S.integer("Rows per page (default 100).", min: 1, max: maxEventsPage),
            ], required: ["run_id"]),
            annotations: .init(readOnlyHint: true), outputSchema: eventsOutput),
        Tool(
            name: "list_runs", description: "Recent runs, newest first.",
            inputSchema: S.object([
                "limit": S.integer("Runs to list (default 20).", min: 1, max: 100),
                "status": S.string("Only runs with this status.", oneOf: runStatuses),
            ]),
            annotations: .init(readOnlyHint: true), outputSchema: S.object(["runs": S.array(record, "Newest first.")], required: ["runs"], additional: true)),
        Tool(
            name: "search_runs", description: "Full-text search over past runs' tasks and outputs (all words must occur; a trailing * matches a prefix).",
            inputSchema: S.object([
                "query": S.string("Words to search for.", minLength: 1, maxLength: 500),
                "limit": S.integer("Runs to return (default 20).", min: 1, max: 100),
            ], required: ["query"]),
            annotations: .init(readOnlyHint: true),
            outputSchema: S.object(["query": S.string("The query as given."), "runs": S.array(record, "Newest first.")], required: ["query", "runs"], additional: true)),
        Tool(
            name: "pause_run", description: "Pause a live run — started here or by any other ymera process on this machine (attempts in flight finish; nothing new starts).",
            inputSchema: S.object(["run_id": runID], required: ["run_id"]), outputSchema: controlOutput),
        Tool(
            name: "resume_run", description: "Resume a paused live run, started here or by any other ymera process on this machine.",
            inputSchema: S.object(["run_id": runID], required: ["run_id"]), outputSchema: controlOutput),
        Tool(
            name: "cancel_run", description: "Cancel a live run, started here or by any other ymera process on this machine.",
            inputSchema: S.object(["run_id": runID, "reason": S.string("Why (recorded in the journal).", maxLength: 500)], required: ["run_id"]),
            outputSchema: controlOutput),
        Tool(
            name: "approve_step",
            description: """
                Approve the phase a live run waits on at its gate (status awaiting_approval): the run goes on. With edited_output,                 that text becomes the phase's kept output, marked as written by a person (a generation's files become new                 workspace versions authored by `you`) and the next phase reads it.
                """,
            inputSchema: S.object([
                "run_id": runID,
                "edited_output": S.string("The whole output to keep instead of the model's (at most 4 MiB).", minLength: 1, maxLength: 4 << 20),
            ], required: ["run_id"]),
            outputSchema: controlOutput),
        Tool(
            name: "reject_step", description: "Reject the phase a live run waits on at its gate: the run ends as cancelled, with the reason.",
            inputSchema: S.object(["run_id": runID, "reason": S.string("Why (recorded in the journal).", maxLength: 500)], required: ["run_id"]),
            outputSchema: controlOutput),
        Tool(
            name: "rerun_step",
            description: """
                Run the phase a live run waits on at its gate again: with a note added to its prompt, on another model, or both                 (the run then stops at the gate again when the phase finishes).
                """,
            inputSchema: S.object([
                "run_id": runID, "note": S.string("An instruction added to the phase's prompt.", minLength: 1, maxLength: 2_000),
                "model": S.string("A model id or alias from the catalog.", minLength: 1, maxLength: 200),
            ], required: ["run_id"]),
            outputSchema: controlOutput),
    ]

    static func tool(_ name: String) -> Tool? { tools.first { $0.name == name } }

    // MARK: inputs

    static let task = S.string("The task, in plain words (at most 64 KiB).", minLength: 1)
    static let runID = S.string("The run id (a unique prefix will do).", minLength: 1, maxLength: 200)

    static let planInputs: [String: Value] = [
        "task": task,
        "strategy": S.string("Default: chosen by complexity.", oneOf: Strategy.allCases.map(\.rawValue)),
        "budget_usd": S.number("Spending limit in US dollars; a plan over it is downgraded or refused.", min: 0, max: 1_000_000),
        "max_tokens": S.integer("Token limit for the whole run (input + output); a plan forecast over it is refused.", min: 1, max: 1_000_000_000),
        "models": S.array(
            S.string("PHASE=MODEL or MODEL.", minLength: 1, maxLength: 200),
            "PHASE=MODEL to pin a phase's model, or MODEL alone for every phase.", maxItems: 16),
        "seed": S.integer("Seed; same seed, same simulated run (default: derived from the task).", min: 0, max: 9_007_199_254_740_991),
        "gates": S.array(
            S.string("A phase.", oneOf: Phase.allCases.map(\.rawValue)),
            "Phases the run stops after for a decision (approve_step, rerun_step, reject_step); default: the config's [defaults] gates.",
            maxItems: 6),
    ]

    // MARK: outputs

    static let forecast = S.object(
        [
            "input_tokens": S.integer("Forecast input tokens."), "output_tokens": S.integer("Forecast output tokens."),
            "cost_usd": S.number("Forecast cost in US dollars."), "cost": S.string("The cost as shown."),
            "duration_ms": S.integer("Forecast duration."),
        ], required: ["input_tokens", "output_tokens", "cost_usd", "cost", "duration_ms"], additional: true)

    static let intent = S.object(
        [
            "task_type": S.string("code, analysis, writing, …"), "complexity": S.number("0-1.", min: 0, max: 1),
            "urgency": S.number("0-1.", min: 0, max: 1), "creativity": S.number("0-1.", min: 0, max: 1),
            "capabilities": S.array(S.string("A capability."), "Needed capabilities, sorted."),
            "requirements": S.array(S.string("A requirement."), "Requirements found in the task."),
            "signals": S.array(S.string("A signal."), "Why the analysis decided as it did."),
            "source": S.string("heuristic, or the model that refined the analysis."),
        ], required: ["task_type", "complexity", "urgency", "creativity", "capabilities", "requirements", "signals", "source"],
        additional: true)

    static let planStep = S.object(
        [
            "id": S.string("Step id."), "phase": S.string("Phase.", oneOf: Phase.allCases.map(\.rawValue)), "title": S.string("Title."),
            "model": S.string("Model id."), "fallbacks": S.array(S.string("Model id."), "Fallback chain, in order."),
            "depends_on": S.array(S.string("Step id."), "Steps this one waits for."), "forecast": forecast,
            "candidates": S.array(S.string("Model id."), "Parallel candidates."),
        ], required: ["id", "phase", "title", "model", "fallbacks", "depends_on", "forecast"], additional: true)

    static let planFields: [String: Value] = [
        "plan_id": S.string("Give it to start_run to run this plan."),
        "strategy": S.string("Strategy.", oneOf: Strategy.allCases.map(\.rawValue)),
        "serving": S.string("Who serves the models.", oneOf: ["cloud", "local", "simulated", "mixed"]),
        "serving_note": S.string("Why."), "seed": S.integer("Seed.", min: 0),
        "steps": S.array(planStep, "Steps in order."), "forecast": forecast,
        "notes": S.array(S.string("A note."), "What the planner changed or noticed."), "intent": intent,
        "models_per_phase": S.map(S.string("Model id."), description: "Phase → model of its first step."),
        "budget_usd": S.number("The spending limit."), "max_tokens": S.integer("The token limit."),
        "recommendation": S.string("What history recommended, and why."),
    ]
    static let planRequired = ["plan_id", "strategy", "serving", "serving_note", "seed", "steps", "forecast", "notes", "intent", "models_per_phase"]

    static let planOutput = S.object(planFields, required: planRequired, additional: true)

    static let startOutput = S.object(
        planFields.merging([
            "run_id": S.string("The new run; follow it with run_state and run_events."),
            "status": S.string("running.", oneOf: ["running"]), "pacing": S.string("How simulated time runs.", oneOf: pacings),
            "hint": S.string("What to do next."),
        ]) { a, _ in a }, required: planRequired + ["run_id", "status", "pacing"], additional: true)

    static let stateStep = S.object(
        [
            "id": S.string("Step id."), "phase": S.string("Phase."), "model": S.string("Model id."), "status": S.string("Step status."),
            "attempts": S.integer("Attempts so far.", min: 0), "tokens": S.integer("Tokens.", min: 0), "cost": S.string("Cost as shown."),
            "score": S.number("Quality score 0-1."), "last_error": S.string("The last failure."), "tool_calls": S.integer("Tool calls."),
        ], required: ["id", "phase", "model", "status", "attempts", "tokens", "cost"], additional: true)

    static let stateOutput = S.object(
        [
            "run_id": S.string("Run id."), "status": S.string("Run status.", oneOf: runStatuses),
            "terminal": S.boolean("The run has ended."), "running_here": S.boolean("This server runs it (so it can be paused)."),
            "task": S.string("The task (at most 300 characters)."), "steps": S.array(stateStep, "Steps in plan order."),
            "cost_usd": S.number("Cost so far."), "cost": S.string("Cost as shown."), "tokens": S.integer("Tokens so far."),
            "summary": S.object(
                ["run_id": S.string("Run id."), "status": S.string("Status."), "phases": S.array(S.object([:], additional: true), "Per step.")],
                required: ["run_id", "status", "phases"], additional: true, description: "The summary `ymera run --json` ends with."),
            "score": S.number("Final score 0-1."), "output": S.string("The final output (at most 8000 characters), once terminal."),
            "quality_passed": S.boolean("Once finished: whether every scored kept output passed the quality gate (false with status completed_below_threshold)."),
        ], required: ["run_id", "status", "terminal", "running_here", "task", "steps", "cost_usd", "cost", "tokens", "summary"],
        additional: true)

    static let event = S.object(
        [
            "run": S.string("Run id."), "seq": S.integer("First sequence number this row covers.", min: 1),
            "seq_end": S.integer("Last sequence number this row covers (= seq unless coalesced text).", min: 1),
            "t_ms": S.integer("Run time of the (first) event, ms.", min: 0), "type": S.string("Event type."),
        ], required: ["run", "seq", "seq_end", "t_ms", "type"], additional: true)

    static let eventsOutput = S.object(
        [
            "run_id": S.string("Run id."), "events": S.array(event, "Rows in seq order."),
            "more": S.boolean("More rows follow: ask again with since = next_since."),
            "next_since": S.integer("The last row's seq (or since, for an empty page).", min: 0),
            "last_seq": S.integer("The highest sequence number journaled so far.", min: 0),
            "terminal": S.boolean("The run has ended, so last_seq is final."),
        ], required: ["run_id", "events", "more", "next_since", "last_seq", "terminal"], additional: true)

    static let record = S.object(
        [
            "run_id": S.string("Run id."), "task": S.string("The task (at most 300 characters)."), "status": S.string("Status.", oneOf: runStatuses),
            "cost_usd": S.number("Cost."), "cost": S.string("Cost as shown."), "tokens": S.integer("Tokens."),
            "started_at": S.string("ISO 8601."), "duration_ms": S.integer("Duration."), "score": S.number("Score 0-1."),
            "strategy": S.string("Strategy."), "task_type": S.string("Task type."),
        ], required: ["run_id", "task", "status", "cost_usd", "cost", "tokens", "started_at", "duration_ms"], additional: true)

    static let controlOutput = S.object(
        [
            "run_id": S.string("Run id."), "requested": S.string("What was asked.", oneOf: ["pause", "resume", "cancel", "approve", "reject", "rerun"]),
            "status_before": S.string("The status when it was asked.", oneOf: runStatuses),
        ], required: ["run_id", "requested", "status_before"], additional: true)
}
