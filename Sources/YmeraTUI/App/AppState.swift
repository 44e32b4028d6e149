import Foundation
import YmeraCore

/// The screens of the dashboard (overlays — help, picker, prompt — sit above them).
public enum Screen: Sendable, Hashable {
    case runs
    case run(String)
    case editor
    case plan
    case history
}

/// Panes of the run view that take focus.
public enum Pane: Int, Sendable, Hashable, CaseIterable {
    case pipeline, output, log, models
}

/// Replay of a past run: its events and how many of them are folded into the view.
public struct Replay: Sendable {
    public var events: [RunEvent]
    public var cursor: Int
}

/// One run on screen: live or opened from history (read-only, with replay).
public struct RunEntry: Sendable {
    public var state: RunState
    public var readOnly: Bool
    public var replay: Replay?
    /// Wall-clock ms when the last event arrived (live runs), for the ticking elapsed clock.
    public var lastEventWallMs: Int64?
    public var selectedStep = 0
    public var focus: Pane = .pipeline
    /// Output scroll, in lines up from the end; 0 follows the stream.
    public var outputScroll = 0
    public var logScroll = 0
    public var selectedModel = 0
    /// Shown from the plan before the run's own `runPlanned` event arrives (then replaced by it).
    public var provisional = false
    /// The process that drives a live run of another process ("pid 4242 on host-a since …"), followed
    /// through the journal and steered through its command channel; nil for this dashboard's runs.
    public var owner: String?
    /// The files view (the run's workspace) replaces the panes while open.
    public var showFiles = false
    /// Row of the file tree: files by path, then refused names.
    public var selectedFile = 0
    /// Content scroll, in lines from the top.
    public var fileScroll = 0
    /// The selected file's content as loaded (sanitized and bounded).
    public var openFile: OpenFile?
    /// The file version asked of the backend and not answered yet (asked once, not per event).
    var requestedFile: String?

    public init(state: RunState, readOnly: Bool = false, replay: Replay? = nil) {
        self.state = state
        self.readOnly = readOnly
        self.replay = replay
    }

    /// Step ids in display order.
    public var stepIDs: [String] { Array(state.steps.keys) }
    public var selectedStepID: String? {
        let ids = stepIDs
        return ids.isEmpty ? nil : ids[min(max(0, selectedStep), ids.count - 1)]
    }
}

/// A file's content loaded for the files view: already sanitized and bounded, split into lines.
public struct OpenFile: Sendable, Hashable {
    public var path: String
    public var version: Int
    public var lines: [String]
    /// Set when the content could not be read (shown instead of lines).
    public var error: String?
    /// The content was longer than the view keeps.
    public var truncated = false

    /// Most lines and bytes kept for display.
    public static let maxLines = 5_000
    public static let maxBytes = 512 * 1024

    /// Untrusted content made safe to draw: at most `maxBytes`, escape sequences and controls
    /// removed, tabs expanded, at most `maxLines` lines.
    public init(path: String, version: Int, content: String) {
        self.path = path
        self.version = version
        var text = content
        if text.utf8.count > Self.maxBytes {
            text = String(decoding: Array(text.utf8.prefix(Self.maxBytes)), as: UTF8.self)
            truncated = true
        }
        var lines = Sanitizer.clean(text).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if lines.count > Self.maxLines {
            lines = Array(lines.prefix(Self.maxLines))
            truncated = true
        }
        self.lines = lines
    }

    public init(path: String, version: Int, error: String) {
        self.path = path
        self.version = version
        self.lines = []
        self.error = Sanitizer.line(error)
    }
}

/// A row of the files view's tree.
public enum FileRow: Sendable, Hashable {
    case file(FileEntry)
    case refused(RefusedFileEntry)
}

extension RunEntry {
    /// The tree's rows: files by path, then refused names.
    public var fileRows: [FileRow] {
        state.files.values.map(FileRow.file) + state.refusedFiles.map(FileRow.refused)
    }

    public var selectedFileRow: FileRow? {
        let rows = fileRows
        return rows.isEmpty ? nil : rows[min(max(0, selectedFile), rows.count - 1)]
    }

    /// The file to load for the view, when the one shown is not its latest version.
    var fileToLoad: (path: String, version: Int)? {
        guard showFiles, case .file(let f)? = selectedFileRow else { return nil }
        if let o = openFile, o.path == f.path, o.version == f.version { return nil }
        return (f.path, f.version)
    }

    /// The backend request for the file the view needs, unless it is already asked for.
    mutating func fileLoadEffect(runID: String) -> Effect? {
        guard let f = fileToLoad else { return nil }
        let key = "\(f.version)/\(f.path)"
        guard requestedFile != key else { return nil }
        requestedFile = key
        return .loadFile(runID: runID, path: f.path, version: f.version)
    }
}

/// The draft of a run between task entry and start.
public struct Draft: Sendable {
    public var request: PlanRequest
    public var plan: RunPlan?
    public var error: String?
    public var loading = false
    public var selectedStep = 0
    /// Gated phases as toggled in plan review (`g`); nil: the plan's own (the config's defaults).
    public var gates: [String]?
}

/// The model picker overlay.
public struct Picker: Sendable {
    public enum Purpose: Sendable, Hashable {
        case swap(runID: String, step: String)
        /// The phase is done: a swap would not change what it produced; the choice runs it again.
        case rerun(runID: String, step: String)
        case draft(step: String)
        /// A past run: fork it from the step, the step on the chosen model (`ymera fork`).
        case fork(runID: String, step: String)
        /// The phase waits at its gate: the choice runs it again on the model (re-route).
        case reroute(runID: String, step: String)
    }
    public var purpose: Purpose
    public var filter = TextBuffer(multiline: false)
    public var selected = 0
    public var current: ModelID?
}

/// A one-line prompt at the bottom of the screen.
public struct Prompt: Sendable {
    public enum Kind: Sendable, Hashable {
        case command
        case filter
        case search
        case budget
        case quitConfirm
        case breaker(ModelID)
        case cancelConfirm(String)
        /// At a gate: a note for the phase's prompt (then it runs again).
        case instruct(String)
        /// At a gate: why the run is rejected.
        case reject(String)
    }
    public var kind: Kind
    public var buffer = TextBuffer(multiline: false)

    /// Kinds that answer with one key rather than a line of text.
    public var isChoice: Bool {
        switch kind {
        case .quitConfirm, .breaker, .cancelConfirm: true
        default: false
        }
    }
}

/// History browser state.
public struct HistoryState: Sendable {
    public enum Column: String, Sendable, CaseIterable {
        case started, status, strategy, score, cost, duration, task
    }
    public var entries: [HistoryEntry] = []
    public var filter = ""
    public var search: String?
    public var sort: Column = .started
    public var descending = true
    public var selected = 0
    public var loading = false

    /// Rows after filter and sort.
    public var rows: [HistoryEntry] {
        let f = filter.lowercased()
        let filtered = f.isEmpty ? entries : entries.filter { e in
            let s = e.summary
            return [s.runID, s.task, s.status.rawValue, s.strategy?.rawValue ?? "", s.serving?.badge ?? ""]
                .contains { $0.lowercased().contains(f) }
        }
        let sorted = filtered.sorted { a, b in
            if sortKeyEqual(a, b) { return a.summary.runID < b.summary.runID }
            let less = lessThan(a, b)
            return descending ? !less : less
        }
        return sorted
    }

    private func lessThan(_ a: HistoryEntry, _ b: HistoryEntry) -> Bool {
        let (x, y) = (a.summary, b.summary)
        switch sort {
        case .started: return a.startedAt < b.startedAt
        case .status: return x.status.rawValue < y.status.rawValue
        case .strategy: return (x.strategy?.rawValue ?? "") < (y.strategy?.rawValue ?? "")
        case .score: return (x.score ?? -1) < (y.score ?? -1)
        case .cost: return x.costUSD < y.costUSD
        case .duration: return x.durationMs < y.durationMs
        case .task: return x.task.lowercased() < y.task.lowercased()
        }
    }

    private func sortKeyEqual(_ a: HistoryEntry, _ b: HistoryEntry) -> Bool {
        let (x, y) = (a.summary, b.summary)
        switch sort {
        case .started: return a.startedAt == b.startedAt
        case .status: return x.status == y.status
        case .strategy: return x.strategy == y.strategy
        case .score: return x.score == y.score
        case .cost: return x.costUSD == y.costUSD
        case .duration: return x.durationMs == y.durationMs
        case .task: return x.task.lowercased() == y.task.lowercased()
        }
    }
}

/// What the reducer asks the shell to do (backend calls and terminal requests). Pure data, so
/// reducer tests check them without I/O.
public enum Effect: Sendable, Hashable {
    case loadModels
    case plan(PlanRequest)
    case start(RunPlan)
    /// Fork a past run from a step, the step on a model; answered by `started` like `start`.
    case fork(runID: String, step: String, model: ModelID)
    case control(runID: String, RunControlAction)
    case breaker(ModelID, BreakerCommand)
    case loadHistory(search: String?)
    case loadRun(String)
    /// Read the latest version of a file of a run's workspace (answered by `fileLoaded`).
    case loadFile(runID: String, path: String, version: Int)
    /// Open the output waiting at a run's gate in $VISUAL/$EDITOR (the terminal is suspended
    /// meanwhile); answered by `outputEdited`.
    case editOutput(runID: String, step: String, text: String)
    case setTheme(String)
    case redrawAll
    case quit
}

/// Inputs to the reducer.
public enum Action: Sendable {
    case key(Key)
    /// A click (or wheel: `wheel` −1 up, +1 down) at a cell, hit-tested against the last frame.
    case click(HitTarget?, wheel: Int)
    case resize(width: Int, height: Int)
    case tick(nowMs: Int64)
    case events([RunEvent], nowMs: Int64)
    case modelsLoaded([ModelStatus])
    /// A plan, with the request it answers (replies to an older request are ignored).
    case planned(RunPlan, request: PlanRequest)
    case planFailed(String, request: PlanRequest)
    case started(RunPlan, runID: String)
    case historyLoaded([HistoryEntry], search: String?)
    case runLoaded(String, [RunEvent])
    /// A live run of another process, seen for the first time: its owner and its events so far.
    case followed(runID: String, owner: String, events: [RunEvent])
    /// A followed run's owner is gone without journaling an end: the run is interrupted.
    case ownerGone(runID: String)
    /// A file's content (or why it could not be read), for the files view.
    case fileLoaded(runID: String, path: String, version: Int, content: String?, error: String?)
    /// The editor closed: the edited text (nil: unchanged), or why it could not run.
    case outputEdited(runID: String, text: String?, error: String?)
    case backendFailed(String)
    case quitRequested
}

/// The dashboard's UI state. Run data come from `RunState` (YmeraCore's one event reducer);
/// this reducer only handles navigation, selection, overlays and drafts.
public struct AppState: Sendable {
    public var width = 80
    public var height = 24
    public var nowMs: Int64 = 0
    public var serving: ServingKind
    public var screen: Screen = .runs
    public var backStack: [Screen] = []
    public var runs: [String: RunEntry] = [:]
    /// Runs in the order they were opened.
    public var runOrder: [String] = []
    public var selectedRun = 0
    public var models: [ModelStatus] = []
    public var editor = TextBuffer()
    public var draft: Draft?
    public var picker: Picker?
    public var prompt: Prompt?
    public var showHelp = false
    public var helpScroll = 0
    public var history = HistoryState()
    /// A control sent to a run and not yet confirmed by its event: the footer names it until the
    /// event that confirms it (or a `command_refused` saying why not) arrives, then shows the result.
    public var pending: PendingControl?
    /// A one-line message for the footer (errors, confirmations); cleared on the next key.
    public var message: String?
    public var messageIsError = false
    public var themeName = "default"

    public init(serving: ServingKind) { self.serving = serving }

    public static let minWidth = 60
    public static let minHeight = 16

    public var isTooSmall: Bool { width < Self.minWidth || height < Self.minHeight }

    /// Live runs that have not ended (this dashboard's and the followed runs of other processes).
    public var activeRuns: [String] {
        runOrder.filter { id in runs[id].map { !$0.readOnly && $0.state.isActive } ?? false }
    }

    /// Active runs this dashboard drives (quitting cancels them; runs of other processes go on).
    public var ownActiveRuns: [String] {
        activeRuns.filter { runs[$0]?.owner == nil }
    }

    /// Whether something on screen changes with time alone (a live run's clock, breaker countdowns).
    public var isAnimating: Bool {
        activeRuns.contains { runs[$0]?.state.status == .running }
    }

    /// Active key contexts, most specific first.
    public var contexts: [KeyContext] {
        if prompt != nil { return [.prompt] }
        if picker != nil { return [.picker] }
        if showHelp { return [.help] }
        switch screen {
        case .runs: return [.runs, .global]
        case .run(let id): return (runs[id]?.replay != nil ? [.replay, .run] : [.run]) + [.global]
        case .editor: return [.editor]
        case .plan: return [.plan, .global]
        case .history: return [.history, .global]
        }
    }

    // MARK: - reducer

    public mutating func reduce(_ action: Action) -> [Effect] {
        switch action {
        case .key(let key):
            message = pending?.text
            messageIsError = false
            return handleKey(key)
        case .click(let target, let wheel):
            return handleClick(target, wheel: wheel)
        case .resize(let w, let h):
            width = w
            height = h
            return []
        case .tick(let now):
            nowMs = now
            return []
        case .events(let events, let now):
            nowMs = now
            var effects: [Effect] = []
            for e in events {
                if runs[e.runID] == nil {
                    runs[e.runID] = RunEntry(state: RunState(runID: e.runID))
                    runOrder.append(e.runID)
                }
                if runs[e.runID]!.provisional, case .runPlanned = e.kind {
                    runs[e.runID]!.state = RunState(runID: e.runID)
                    runs[e.runID]!.provisional = false
                }
                runs[e.runID]!.state.apply(e)
                runs[e.runID]!.lastEventWallMs = now
                if let p = pending, let result = p.result(of: e) {
                    pending = nil
                    message = result.text
                    messageIsError = result.isError
                }
                if case .breakerChanged = e.kind, !effects.contains(.loadModels) { effects.append(.loadModels) }
            }
            for id in Set(events.map(\.runID)).sorted() {
                if let fx = runs[id]?.fileLoadEffect(runID: id) { effects.append(fx) }
            }
            return effects
        case .modelsLoaded(let m):
            models = m
            return []
        case .planned(let plan, let request):
            guard draft != nil, draft!.request == request else { return [] }
            draft!.plan = plan
            if let g = draft!.gates {
                draft!.plan!.gates = g.isEmpty ? nil : GatePolicy(phases: g, timeoutMs: plan.gates?.timeoutMs, onTimeout: plan.gates?.onTimeout ?? .fail)
            }
            draft!.loading = false
            draft!.error = nil
            draft!.selectedStep = min(draft!.selectedStep, max(0, plan.steps.count - 1))
            return []
        case .planFailed(let msg, let request):
            guard draft?.request == request else { return [] }
            draft?.loading = false
            draft?.error = Sanitizer.line(msg)
            return []
        case .started(let plan, let id):
            if runs[id] == nil {
                var st = RunState(runID: id)
                st.apply(RunEvent(runID: id, seq: 0, elapsedMs: 0, kind: .runPlanned(plan)))
                st.lastSeq = 0
                runs[id] = RunEntry(state: st)
                runs[id]!.provisional = true
                runOrder.append(id)
            }
            runs[id]!.lastEventWallMs = nowMs
            draft = nil
            editor = TextBuffer()
            backStack = [.runs]
            screen = .run(id)
            selectedRun = runOrder.firstIndex(of: id) ?? 0
            return []
        case .historyLoaded(let entries, let search):
            history.entries = entries
            history.search = search
            history.loading = false
            history.selected = 0
            return []
        case .runLoaded(let id, let events):
            if let live = runs[id], !live.readOnly, live.state.isActive {
                go(.run(id))
                return []
            }
            let state = RunState.replay(events)
            runs[id] = RunEntry(state: state, readOnly: true, replay: Replay(events: events, cursor: events.count))
            if !runOrder.contains(id) { runOrder.append(id) }
            go(.run(id))
            return []
        case .followed(let id, let owner, let events):
            if let e = runs[id], !e.readOnly, e.owner == nil, e.state.isActive { return [] }  // driven here
            var entry = RunEntry(state: RunState.replay(events))
            entry.state.runID = id
            entry.owner = owner
            entry.lastEventWallMs = nowMs
            if let old = runs[id] {
                entry.selectedStep = old.selectedStep
                entry.focus = old.focus
            }
            runs[id] = entry
            if !runOrder.contains(id) { runOrder.append(id) }
            return []
        case .ownerGone(let id):
            guard runs[id]?.owner != nil else { return [] }
            runs[id]!.state.markInterruptedIfOpen()
            return []
        case .fileLoaded(let id, let path, let version, let content, let error):
            guard var e = runs[id] else { return [] }
            if e.requestedFile == "\(version)/\(path)" { e.requestedFile = nil }
            if e.showFiles, case .file(let f)? = e.selectedFileRow, f.path == path {
                if let content {
                    e.openFile = OpenFile(path: path, version: version, content: content)
                } else {
                    e.openFile = OpenFile(path: path, version: version, error: error ?? "cannot read the file")
                }
            }
            let next = e.fileLoadEffect(runID: id)
            runs[id] = e
            return next.map { [$0] } ?? []
        case .outputEdited(let id, let text, let error):
            if let error {
                message = "edit: \(Sanitizer.line(error))"
                messageIsError = true
                return []
            }
            guard let text else {
                message = "the output was not changed: the gate still waits (a approves it as it is)"
                messageIsError = false
                return []
            }
            return [send(id, .approve(edited: text))]
        case .backendFailed(let msg):
            message = Sanitizer.line(msg)
            messageIsError = true
            return []
        case .quitRequested:
            return requestQuit()
        }
    }

    /// Sends a control and shows it as pending until its event arrives.
    mutating func send(_ runID: String, _ action: RunControlAction) -> Effect {
        messageIsError = false
        guard let st = runs[runID]?.state, st.isActive else {
            // An ended run sends no event any more: nothing would confirm the action.
            pending = nil
            message = "the run has ended (\(runs[runID]?.state.status.rawValue ?? "unknown")); nothing changes"
            return .control(runID: runID, action)
        }
        pending = PendingControl(runID: runID, action: .run(action))
        message = pending?.text
        return .control(runID: runID, action)
    }

    /// A breaker command: pending until a live run's event confirms it (with no live run the
    /// breaker changes directly and there is no event to wait for).
    mutating func breakerCommand(_ model: ModelID, _ command: BreakerCommand) -> Effect {
        if activeRuns.isEmpty {
            pending = nil
            message = command == .reset ? "breaker of \(model) reset" : "breaker of \(model) forced open"
        } else {
            pending = PendingControl(runID: nil, action: .breaker(model, command))
            message = pending?.text
        }
        return .breaker(model, command)
    }

    mutating func go(_ s: Screen) {
        guard s != screen else { return }
        backStack.append(screen)
        if backStack.count > 32 { backStack.removeFirst() }
        screen = s
    }

    mutating func back() {
        screen = backStack.popLast() ?? .runs
    }

    mutating func requestQuit() -> [Effect] {
        if ownActiveRuns.isEmpty { return [.quit] }
        prompt = Prompt(kind: .quitConfirm)
        return []
    }

    private mutating func handleKey(_ key: Key) -> [Effect] {
        // Text input first: the prompt, the picker's filter, the editor.
        if var p = prompt { return handlePrompt(&p, key) }
        if picker != nil { return handlePicker(key) }
        if showHelp {
            switch key {
            case .char("?"), .escape, .char("q"): showHelp = false
            case .down, .char("j"): helpScroll += 1
            case .up, .char("k"): helpScroll = max(0, helpScroll - 1)
            case .ctrl("l"): return [.redrawAll]
            default: break
            }
            return []
        }
        if screen == .editor {
            if let cmd = Keymap.command(for: key, in: [.editor]) { return perform(cmd) }
            _ = editor.handle(key)
            return []
        }
        guard let cmd = Keymap.command(for: key, in: contexts) else { return [] }
        return perform(cmd)
    }

    private mutating func handlePrompt(_ p: inout Prompt, _ key: Key) -> [Effect] {
        if key == .escape {
            prompt = nil
            return []
        }
        if key == .ctrl("l") { return [.redrawAll] }
        switch p.kind {
        case .quitConfirm:
            prompt = nil
            if key == .char("y") || key == .char("Y") {
                return ownActiveRuns.map { Effect.control(runID: $0, .cancel) } + [.quit]
            }
            return []
        case .cancelConfirm(let id):
            prompt = nil
            if key == .char("y") || key == .char("Y") { return [send(id, .cancel)] }
            return []
        case .breaker(let model):
            prompt = nil
            switch key {
            case .char("r"): return [breakerCommand(model, .reset)]
            case .char("o"): return [breakerCommand(model, .forceOpen)]
            default: return []
            }
        case .command, .filter, .search, .budget, .instruct, .reject:
            if key == .enter {
                prompt = nil
                return submitPrompt(p)
            }
            _ = p.buffer.handle(key)
            if p.kind == .filter { history.filter = p.buffer.text; history.selected = 0 }
            prompt = p
            return []
        }
    }

    private mutating func submitPrompt(_ p: Prompt) -> [Effect] {
        let text = p.buffer.text.trimmingCharacters(in: .whitespaces)
        switch p.kind {
        case .filter:
            history.filter = text
            return []
        case .search:
            history.loading = true
            return [.loadHistory(search: text.isEmpty ? nil : text)]
        case .budget:
            guard draft != nil else { return [] }
            let t = text.hasPrefix("$") ? String(text.dropFirst()) : text
            if t.isEmpty || t == "none" {
                draft!.request.budget = Budget.unlimited
            } else if let d = Double(t), d > 0 {
                draft!.request.budget = Budget(maxCost: Money(dollars: d))
            } else {
                message = "budget: give dollars, e.g. 0.50 (or none)"
                messageIsError = true
                return []
            }
            draft!.loading = true
            return [.plan(draft!.request)]
        case .command:
            return runCommand(text)
        case .instruct(let id):
            guard !text.isEmpty else {
                message = "no note given: nothing sent"
                return []
            }
            return [send(id, .gateRerun(note: String(text.prefix(2_000)), model: nil))]
        case .reject(let id):
            return [send(id, .reject(reason: text.isEmpty ? "rejected from the dashboard" : String(text.prefix(200))))]
        default:
            return []
        }
    }

    /// The `:` command line.
    mutating func runCommand(_ line: String) -> [Effect] {
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        guard let name = parts.first else { return [] }
        let arg = parts.count > 1 ? parts[1] : ""
        switch name {
        case "q", "quit": return requestQuit()
        case "q!", "quit!": return ownActiveRuns.map { Effect.control(runID: $0, .cancel) } + [.quit]
        case "help": showHelp = true; return []
        case "new": return perform(.newTask)
        case "history": return perform(.history)
        case "runs": return perform(.runsList)
        case "theme":
            guard !arg.isEmpty else { message = "usage: :theme NAME (\(Theme.builtinNames.joined(separator: ", ")))"; return [] }
            return [.setTheme(arg)]
        case "search":
            history.loading = true
            if screen != .history { go(.history) }
            return [.loadHistory(search: arg.isEmpty ? nil : arg)]
        case "pause", "resume", "cancel":
            guard case .run(let id) = screen, let e = runs[id], !e.readOnly else {
                message = "no live run selected"; messageIsError = true; return []
            }
            let c: RunControlAction = name == "pause" ? .pause : name == "resume" ? .resume : .cancel
            return [send(id, c)]
        case "strategy":
            guard draft != nil, screen == .plan else { message = ":strategy works on the plan screen"; messageIsError = true; return [] }
            guard let st = Strategy(rawValue: arg) ?? Strategy.allCases.first(where: { $0.displayName.hasPrefix(arg) && !arg.isEmpty }) else {
                message = "strategies: " + Strategy.allCases.map(\.rawValue).joined(separator: ", ")
                messageIsError = true
                return []
            }
            draft!.request.strategy = st
            draft!.loading = true
            return [.plan(draft!.request)]
        case "sort":
            if let c = HistoryState.Column(rawValue: arg) { history.sort = c } else {
                message = "sort by: " + HistoryState.Column.allCases.map(\.rawValue).joined(separator: ", ")
            }
            return []
        default:
            message = "unknown command :\(Sanitizer.line(name)) — try :help"
            messageIsError = true
            return []
        }
    }

    private mutating func handlePicker(_ key: Key) -> [Effect] {
        guard var p = picker else { return [] }
        switch key {
        case .escape:
            picker = nil
            return []
        case .ctrl("l"):
            return [.redrawAll]
        case .up, .ctrl("p"):
            p.selected = max(0, p.selected - 1)
        case .down, .ctrl("n"):
            p.selected = min(max(0, pickerRows(p).count - 1), p.selected + 1)
        case .enter:
            let rows = pickerRows(p)
            guard !rows.isEmpty else { picker = p; return [] }
            let chosen = rows[min(p.selected, rows.count - 1)]
            picker = nil
            if !chosen.available {
                message = "\(chosen.id) is unavailable: \(chosen.unavailableReason ?? "no key")"
                messageIsError = true
                return []
            }
            if chosen.id == p.current, case .swap = p.purpose {
                message = "\(chosen.id) already serves this phase"
                return []
            }
            switch p.purpose {
            case .swap(let runID, let step):
                return [send(runID, .swapModel(step: step, to: chosen.id))]
            case .rerun(let runID, let step):
                return [send(runID, .rerun(step: step, on: chosen.id))]
            case .fork(let runID, let step):
                message = "forking \(runID) from \(step) on \(chosen.id)…"
                return [.fork(runID: runID, step: step, model: chosen.id)]
            case .draft(let step):
                guard draft != nil else { return [] }
                draft!.request.models[step] = chosen.id
                draft!.loading = true
                return [.plan(draft!.request)]
            case .reroute(let runID, _):
                return [send(runID, .gateRerun(note: nil, model: chosen.id))]
            }
        default:
            if p.filter.handle(key) { p.selected = 0 }
        }
        picker = p
        return []
    }

    /// Models shown in the picker: filtered by every word typed (id, provider, name, capabilities).
    public func pickerRows(_ p: Picker) -> [ModelStatus] {
        let words = p.filter.text.lowercased().split(separator: " ")
        return models.filter { m in
            let hay = ([m.info.id.rawValue, m.info.provider, m.info.displayName, m.serving.badge]
                + m.info.capabilities.map(\.rawValue)).joined(separator: " ").lowercased()
            return words.allSatisfy { hay.contains($0) }
        }
    }

    private mutating func handleClick(_ target: HitTarget?, wheel: Int) -> [Effect] {
        if wheel != 0 { return perform(wheel < 0 ? .up : .down) }
        guard let target else { return [] }
        switch target {
        case .step(let id):
            if case .run(let rid) = screen, let i = runs[rid]?.stepIDs.firstIndex(of: id) {
                runs[rid]!.selectedStep = i
                runs[rid]!.focus = .pipeline
            }
        case .run(let id):
            if let i = runOrder.firstIndex(of: id) {
                if selectedRun == i { go(.run(id)) } else { selectedRun = i }
            }
        case .listRow(let i):
            switch screen {
            case .history:
                if history.selected == i { return perform(.open) }
                history.selected = i
            case .plan: draft?.selectedStep = i
            default: break
            }
        case .pane(let i):
            if case .run(let rid) = screen, let pane = Pane(rawValue: i) { runs[rid]?.focus = pane }
        }
        return []
    }

    // MARK: commands

    mutating func perform(_ cmd: Command) -> [Effect] {
        switch cmd {
        case .quit: return requestQuit()
        case .back:
            if screen == .editor { back(); return [] }
            if case .run(let id) = screen, runs[id]?.showFiles == true {
                runs[id]!.showFiles = false
                return []
            }
            if case .run = screen { back(); return [] }
            if screen == .plan { screen = .editor; return [] }
            back()
            return []
        case .help:
            showHelp.toggle()
            helpScroll = 0
            return []
        case .commandLine:
            prompt = Prompt(kind: .command)
            return []
        case .filter:
            var p = Prompt(kind: .filter)
            p.buffer.set(history.filter)
            prompt = p
            return []
        case .search:
            var p = Prompt(kind: .search)
            p.buffer.set(history.search ?? "")
            prompt = p
            return []
        case .redraw: return [.redrawAll]
        case .newTask:
            go(.editor)
            return models.isEmpty ? [.loadModels] : []
        case .history:
            go(.history)
            history.loading = true
            return [.loadHistory(search: history.search)]
        case .runsList:
            go(.runs)
            return []
        case .submitTask:
            let task = editor.text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !task.isEmpty else {
                message = "type a task first"
                messageIsError = true
                return []
            }
            let keep = draft.map { $0.request.task == task } ?? false
            if !keep { draft = Draft(request: PlanRequest(task: task)) }
            draft!.loading = true
            screen = .plan
            return [.plan(draft!.request)] + (models.isEmpty ? [.loadModels] : [])
        case .editTask:
            screen = .editor
            return []
        case .cycleStrategy:
            guard draft != nil else { return [] }
            let all = Strategy.allCases
            let current = draft!.request.strategy ?? draft!.plan?.strategy ?? .multiModel
            let next = all[((all.firstIndex(of: current) ?? 0) + 1) % all.count]
            draft!.request.strategy = next
            draft!.loading = true
            return [.plan(draft!.request)]
        case .changeModel:
            guard let d = draft, let plan = d.plan, !plan.steps.isEmpty else { return [] }
            let step = plan.steps[min(d.selectedStep, plan.steps.count - 1)]
            picker = Picker(purpose: .draft(step: step.id), current: step.model)
            return models.isEmpty ? [.loadModels] : []
        case .setBudget:
            guard draft != nil else { return [] }
            var p = Prompt(kind: .budget)
            if let m = draft!.request.budget?.maxCost ?? draft!.plan?.budget.maxCost { p.buffer.set(String(m.dollars)) }
            prompt = p
            return []
        case .toggleGate:
            guard let d = draft, var plan = d.plan, !plan.steps.isEmpty, !d.loading else { return [] }
            let step = plan.steps[min(d.selectedStep, plan.steps.count - 1)]
            var phases = plan.gates?.phases ?? []
            let on = plan.gates?.gates(step) == true
            if on { phases.removeAll { $0 == step.id || $0 == step.phase.rawValue } } else { phases.append(step.id) }
            plan.gates = phases.isEmpty ? nil : GatePolicy(phases: phases, timeoutMs: plan.gates?.timeoutMs, onTimeout: plan.gates?.onTimeout ?? .fail)
            draft!.plan = plan
            draft!.gates = phases
            message = on ? "\(step.id): no gate" : "\(step.id): gated — the run waits for your decision after it"
            messageIsError = false
            return []
        case .startRun:
            guard let d = draft, let plan = d.plan, !d.loading else {
                message = draft?.loading == true ? "still planning…" : "no plan yet"
                return []
            }
            return [.start(plan)]
        default:
            return performNavigation(cmd)
        }
    }

    private mutating func performNavigation(_ cmd: Command) -> [Effect] {
        switch screen {
        case .runs:
            let n = runOrder.count
            switch cmd {
            case .up: selectedRun = max(0, selectedRun - 1)
            case .down: selectedRun = min(max(0, n - 1), selectedRun + 1)
            case .top: selectedRun = 0
            case .bottom: selectedRun = max(0, n - 1)
            case .open: if n > 0 { go(.run(runOrder[min(selectedRun, n - 1)])) }
            default: break
            }
            return []
        case .history:
            let n = history.rows.count
            switch cmd {
            case .up: history.selected = max(0, history.selected - 1)
            case .down: history.selected = min(max(0, n - 1), history.selected + 1)
            case .pageUp: history.selected = max(0, history.selected - 10)
            case .pageDown: history.selected = min(max(0, n - 1), history.selected + 10)
            case .top: history.selected = 0
            case .bottom: history.selected = max(0, n - 1)
            case .sortNext:
                let all = HistoryState.Column.allCases
                history.sort = all[((all.firstIndex(of: history.sort) ?? 0) + 1) % all.count]
            case .sortReverse: history.descending.toggle()
            case .open:
                let rows = history.rows
                guard !rows.isEmpty else { return [] }
                return [.loadRun(rows[min(history.selected, rows.count - 1)].summary.runID)]
            default: break
            }
            return []
        case .plan:
            guard let n = draft?.plan?.steps.count else { return [] }
            switch cmd {
            case .up: draft!.selectedStep = max(0, draft!.selectedStep - 1)
            case .down: draft!.selectedStep = min(max(0, n - 1), draft!.selectedStep + 1)
            default: break
            }
            return []
        case .run(let id):
            guard runs[id] != nil else { return [] }
            var effects = runCommand(cmd, id)
            // The files view follows the selection, and a replay's cursor, to the version to show.
            if let fx = runs[id]?.fileLoadEffect(runID: id) { effects.append(fx) }
            return effects
        case .editor:
            return []
        }
    }

    private mutating func runCommand(_ cmd: Command, _ id: String) -> [Effect] {
        if cmd == .files || runs[id]!.showFiles, let effects = filesCommand(cmd, id) { return effects }
        var e = runs[id]!
        defer { runs[id] = e }
        let n = e.stepIDs.count
        func scroll(_ d: Int) {
            switch e.focus {
            case .pipeline: e.selectedStep = min(max(0, n - 1), max(0, e.selectedStep + d))
            case .output: e.outputScroll = max(0, e.outputScroll - d)
            case .log: e.logScroll = max(0, e.logScroll - d)
            case .models: e.selectedModel = max(0, e.selectedModel + d)
            }
        }
        switch cmd {
        case .up: scroll(-1)
        case .down: scroll(1)
        case .pageUp: scroll(-10)
        case .pageDown: scroll(10)
        case .top: scroll(-100_000)
        case .bottom: scroll(100_000)
        case .follow: e.outputScroll = 0
        case .nextPane: e.focus = Pane(rawValue: (e.focus.rawValue + 1) % Pane.allCases.count)!
        case .prevPane: e.focus = Pane(rawValue: (e.focus.rawValue + Pane.allCases.count - 1) % Pane.allCases.count)!
        case .replayBack, .replayForward, .replayJumpBack, .replayJumpForward, .replayStart, .replayEnd:
            guard var r = e.replay else { return [] }
            let total = r.events.count
            let jump = max(1, total / 10)
            switch cmd {
            case .replayBack: r.cursor -= 1
            case .replayForward: r.cursor += 1
            case .replayJumpBack: r.cursor -= jump
            case .replayJumpForward: r.cursor += jump
            case .replayStart: r.cursor = 0
            default: r.cursor = total
            }
            r.cursor = min(max(0, r.cursor), total)
            // Re-fold the prefix with the one reducer: the view shows the run as it was then.
            var st = RunState.replay(r.events.prefix(r.cursor))
            if r.cursor == 0 { st = RunState(runID: id) }
            e.state = st
            e.replay = r
        case .fork:
            guard e.replay != nil, let step = e.selectedStepID else {
                message = "fork works on a past run: open one from History (H), select a phase, press Y"
                return []
            }
            let top = e.state.steps[step]?.parent ?? step
            picker = Picker(purpose: .fork(runID: id, step: top), current: e.state.steps[top]?.model)
            message = "fork \(id) from \(top): the phases before it are reused at $0; choose \(top)'s model"
            return models.isEmpty ? [.loadModels] : []
        case .pauseResume, .retry, .swapModel, .cancel:
            guard !e.readOnly else {
                message = "a past run is read-only"
                messageIsError = true
                return []
            }
            guard e.state.isActive || cmd == .retry else {
                message = "the run has ended (\(e.state.status.rawValue))"
                return []
            }
            switch cmd {
            case .pauseResume:
                return [send(id, e.state.status == .paused ? .resume : .pause)]
            case .retry:
                guard let step = e.selectedStepID else { return [] }
                let top = e.state.steps[step]?.parent ?? step
                return [send(id, .retry(step: top))]
            case .swapModel:
                guard let step = e.selectedStepID else { return [] }
                let top = e.state.steps[step]?.parent ?? step
                // A done phase is never relabelled: the picker offers to run it again on the model.
                let done = e.state.steps[top]?.status == .done
                picker = Picker(purpose: done ? .rerun(runID: id, step: top) : .swap(runID: id, step: top), current: e.state.steps[top]?.model)
                return models.isEmpty ? [.loadModels] : []
            default:
                prompt = Prompt(kind: .cancelConfirm(id))
            }
        case .approveGate, .editGate, .instructGate, .rerouteGate, .rejectGate:
            guard !e.readOnly else {
                message = "a past run is read-only"
                messageIsError = true
                return []
            }
            guard let gate = e.state.gates.first else {
                message = "the run is not waiting at a gate" + (e.state.isActive ? "" : " (it has ended)")
                messageIsError = true
                return []
            }
            switch cmd {
            case .approveGate:
                return [send(id, .approve(edited: nil))]
            case .editGate:
                message = "editing \(gate.step)'s output…"
                return [.editOutput(runID: id, step: gate.step, text: e.state.steps[gate.step]?.output ?? "")]
            case .instructGate:
                prompt = Prompt(kind: .instruct(id))
            case .rerouteGate:
                picker = Picker(purpose: .reroute(runID: id, step: gate.step), current: e.state.steps[gate.step]?.model)
                return models.isEmpty ? [.loadModels] : []
            default:
                prompt = Prompt(kind: .reject(id))
            }
        case .breaker:
            guard !e.readOnly else {
                message = "a past run is read-only"
                messageIsError = true
                return []
            }
            let model: ModelID?
            if e.focus == .models {
                let ms = RunView.modelRows(e.state, models: models)
                model = ms.isEmpty ? nil : ms[min(e.selectedModel, ms.count - 1)].id
            } else {
                model = e.selectedStepID.flatMap { e.state.steps[$0]?.model }
            }
            guard let model else { return [] }
            prompt = Prompt(kind: .breaker(model))
        default: break
        }
        return []
    }

    /// Keys of the files view: open/close, move in the tree, scroll the content. Nil: not a files
    /// view key (the run view handles it).
    private mutating func filesCommand(_ cmd: Command, _ id: String) -> [Effect]? {
        var e = runs[id]!
        let n = e.fileRows.count
        func select(_ i: Int) {
            let new = min(max(0, n - 1), max(0, i))
            if new != e.selectedFile { e.fileScroll = 0 }
            e.selectedFile = new
        }
        switch cmd {
        case .files:
            e.showFiles.toggle()
            e.requestedFile = nil
            if e.showFiles && n == 0 { message = "this run has written no files (yet)" }
        case .up: select(e.selectedFile - 1)
        case .down: select(e.selectedFile + 1)
        case .top: select(0)
        case .bottom: select(n - 1)
        case .pageUp: e.fileScroll = max(0, e.fileScroll - 10)
        case .pageDown:
            e.fileScroll = min(max(0, (e.openFile?.lines.count ?? 0) - 1), e.fileScroll + 10)
        default: return nil
        }
        runs[id] = e
        return []
    }

    // MARK: time

    /// A run's elapsed time as shown: the engine's clock, advanced by the wall clock while running.
    public func displayElapsedMs(_ e: RunEntry) -> Int {
        guard !e.readOnly, e.state.status == .running, let last = e.lastEventWallMs else { return e.state.elapsedMs }
        return e.state.elapsedMs + Int(max(0, min(nowMs - last, 3_600_000)))
    }
}

/// A control waiting for the event that confirms it.
public struct PendingControl: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        case run(RunControlAction)
        case breaker(ModelID, BreakerCommand)
    }
    /// Nil for breaker commands (the breakers are shared: any run's event confirms them).
    public var runID: String?
    public var action: Action

    /// The footer while it is pending: the action, named.
    public var text: String {
        switch action {
        case .run(.pause): "pausing…"
        case .run(.resume): "resuming…"
        case .run(.retry(let s)): "retrying \(s)…"
        case .run(.swapModel(let s, let to)): "swapping \(s) to \(to)…"
        case .run(.rerun(let s, let on)): "running \(s) again on \(on)…"
        case .run(.cancel): "cancelling…"
        case .run(.approve(let edited)): edited == nil ? "approving…" : "approving your edit…"
        case .run(.gateRerun(_, let model)): "running the phase again" + (model.map { " on \($0)" } ?? "") + "…"
        case .run(.reject): "rejecting…"
        case .breaker(let m, .reset): "resetting the breaker of \(m)…"
        case .breaker(let m, .forceOpen): "opening the breaker of \(m)…"
        }
    }

    var commandName: String {
        switch action {
        case .run(.pause): "pause"
        case .run(.resume): "resume"
        case .run(.retry), .run(.rerun): "retry"
        case .run(.swapModel): "swap"
        case .run(.cancel): "cancel"
        case .run(.approve): "approve"
        case .run(.gateRerun): "rerun"
        case .run(.reject): "reject"
        case .breaker(_, .reset): "breaker_reset"
        case .breaker(_, .forceOpen): "breaker_open"
        }
    }

    /// The footer's result when `e` confirms (or refuses) the action; nil when `e` says nothing of it.
    public func result(of e: RunEvent) -> (text: String, isError: Bool)? {
        if let runID, e.runID != runID { return nil }
        if case .commandRefused(let r) = e.kind, r.command == commandName {
            return ("\(r.command.replacingOccurrences(of: "_", with: " ")) refused: \(Sanitizer.line(r.reason))", true)
        }
        switch (action, e.kind) {
        case (.run(.pause), .paused): return ("paused: attempts in flight finish, nothing new starts", false)
        case (.run(.resume), .resumed): return ("resumed", false)
        case (.run(.retry(let s)), .stepReset(let r)) where r.step == s:
            return ("\(s) runs again (\(r.reset.count) phase\(r.reset.count == 1 ? "" : "s"))", false)
        case (.run(.rerun(let s, let on)), .stepReset(let r)) where r.step == s:
            return ("\(s) runs again on \(on) (\(r.reset.count) phase\(r.reset.count == 1 ? "" : "s"))", false)
        case (.run(.rerun(let s, let on)), .modelSwapped(let w)) where w.step == s && w.to == on:
            return ("\(s) will run on \(on)", false)
        case (.run(.swapModel(let s, let to)), .modelSwapped(let w)) where w.step == s && w.to == to:
            return ("\(s): \(w.from) → \(to)" + (w.restarted ? ", restarting" : ""), false)
        case (.run(.cancel), .runCancelled): return ("cancelled", false)
        case (.run(.approve), .gateApproved(let g)):
            return ("\(g.step) approved" + (g.editedOutput == nil ? "" : " with your edit") + "; the run goes on", false)
        case (.run(.gateRerun), .stepReset(let r)):
            return ("\(r.step) runs again" + (r.model.map { " on \($0)" } ?? "") + (r.note == nil ? "" : " with your note"), false)
        case (.run(.reject), .runCancelled(let c)): return ("rejected: \(Sanitizer.line(c.reason ?? ""))", false)
        case (.breaker(let m, _), .breakerChanged(let b)) where b.model == m:
            return ("breaker \(m): \(b.to.rawValue)", false)
        default: break
        }
        if runID != nil, e.kind.isTerminal { return ("the run ended before it applied", true) }
        return nil
    }
}
