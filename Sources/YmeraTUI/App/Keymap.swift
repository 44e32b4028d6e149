/// A key press, decoded from curses.
public enum Key: Sendable, Hashable {
    case char(Character)
    /// Ctrl plus a letter (lowercase).
    case ctrl(Character)
    case up, down, left, right, enter, escape, backspace, delete, tab, backTab
    case home, end, pageUp, pageDown
    case function(Int)

    /// How the key is written in help and footer.
    public var label: String {
        switch self {
        case .char(" "): "Space"
        case .char(let c): String(c)
        case .ctrl(let c): "^" + c.uppercased()
        case .up: "↑"
        case .down: "↓"
        case .left: "←"
        case .right: "→"
        case .enter: "Enter"
        case .escape: "Esc"
        case .backspace: "Bksp"
        case .delete: "Del"
        case .tab: "Tab"
        case .backTab: "S-Tab"
        case .home: "Home"
        case .end: "End"
        case .pageUp: "PgUp"
        case .pageDown: "PgDn"
        case .function(let n): "F\(n)"
        }
    }
}

/// Where a binding applies. `global` applies everywhere outside text fields.
public enum KeyContext: String, Sendable, Hashable, CaseIterable {
    case global, runs, run, replay, editor, plan, picker, history, prompt, help

    public var title: String {
        switch self {
        case .global: "Everywhere"
        case .runs: "Runs list"
        case .run: "Run view"
        case .replay: "Past run (replay)"
        case .editor: "Task editor"
        case .plan: "Plan review"
        case .picker: "Model picker"
        case .history: "History"
        case .prompt: "Prompt"
        case .help: "Help"
        }
    }

    /// Contexts where printable keys are text, not commands.
    public var isTextInput: Bool { self == .editor || self == .picker || self == .prompt }
}

/// What a key does. The reducer interprets commands; the binding table maps keys to them.
public enum Command: String, Sendable, Hashable {
    case quit, back, help, commandLine, filter, redraw, newTask, history, runsList
    case up, down, left, right, pageUp, pageDown, top, bottom, open, nextPane, prevPane
    case pauseResume, retry, swapModel, cancel, breaker, follow
    case replayBack, replayForward, replayJumpBack, replayJumpForward, replayStart, replayEnd
    case submitTask, cycleStrategy, changeModel, setBudget, startRun, editTask
    case sortNext, sortReverse, search
    case files
    case fork
    case toggleGate, approveGate, editGate, instructGate, rerouteGate, rejectGate
}

/// One row of the binding table: it drives the dispatcher, the footer hints and the help overlay.
public struct Binding: Sendable {
    public var keys: [Key]
    public var command: Command
    public var help: String
    public var contexts: [KeyContext]
    /// Shown in the footer (short hint) when non-nil.
    public var hint: String?

    public init(_ keys: [Key], _ command: Command, _ help: String, in contexts: [KeyContext], hint: String? = nil) {
        self.keys = keys
        self.command = command
        self.help = help
        self.contexts = contexts
        self.hint = hint
    }

    public var keyLabel: String { keys.map(\.label).joined(separator: "/") }
}

/// The one binding table.
public enum Keymap {
    public static let bindings: [Binding] = [
        // Everywhere (outside text fields).
        Binding([.char("?")], .help, "show or hide this help", in: [.global], hint: "help"),
        Binding([.char("q")], .quit, "quit (asks when runs are active)", in: [.global], hint: "quit"),
        Binding([.escape], .back, "back / close", in: [.global, .help, .picker, .prompt, .editor], hint: "back"),
        Binding([.char(":")], .commandLine, "command line (:q, :theme NAME, :strategy NAME, :search TEXT, :sort COL, :new, :history, :runs)", in: [.global]),
        Binding([.ctrl("l")], .redraw, "redraw the screen", in: [.global, .editor, .picker, .prompt, .help]),
        Binding([.char("n")], .newTask, "new task", in: [.global], hint: "new"),
        Binding([.char("H")], .history, "history of past runs", in: [.global], hint: "history"),
        Binding([.char("R")], .runsList, "runs list (all live and opened runs)", in: [.global]),
        Binding([.up, .char("k")], .up, "move up", in: [.global]),
        Binding([.down, .char("j")], .down, "move down", in: [.global]),
        Binding([.pageUp, .ctrl("b")], .pageUp, "page up", in: [.global]),
        Binding([.pageDown, .ctrl("f")], .pageDown, "page down", in: [.global]),
        Binding([.home, .char("g")], .top, "first row", in: [.global]),
        Binding([.end, .char("G")], .bottom, "last row", in: [.global]),
        // Runs list.
        Binding([.enter], .open, "open the selected run", in: [.runs], hint: "open"),
        // Run view.
        Binding([.tab, .right, .char("l")], .nextPane, "next pane (pipeline, output, log, models)", in: [.run], hint: "pane"),
        Binding([.backTab, .left, .char("h")], .prevPane, "previous pane", in: [.run]),
        Binding([.char("p")], .pauseResume, "pause / resume (attempts in flight finish; nothing new starts)", in: [.run], hint: "pause"),
        Binding([.char("r")], .retry, "retry the selected phase and the phases after it", in: [.run], hint: "retry"),
        Binding([.char("m")], .swapModel, "swap the phase's model (running: restarts on it; done: run again)", in: [.run], hint: "model"),
        Binding([.char("x")], .cancel, "cancel the run (from any state, paused too)", in: [.run], hint: "cancel"),
        Binding([.char("b")], .breaker, "breaker of the selected model: reset / force open", in: [.run], hint: "breaker"),
        Binding([.char("f")], .follow, "follow the output stream (jump to its end)", in: [.run]),
        Binding([.char("w")], .files, "the run's files: tree (version, author, size), selected file (PgUp/PgDn)", in: [.run], hint: "files"),
        // At a gate (a gated phase finished and the run waits for your decision).
        Binding([.char("a")], .approveGate, "gate: approve the phase's output; the run goes on", in: [.run]),
        Binding([.char("e")], .editGate, "gate: edit the output in $VISUAL/$EDITOR; saved, it is kept as yours and the run goes on", in: [.run]),
        Binding([.char("i")], .instructGate, "gate: instruct — a note for the phase's prompt, then it runs again", in: [.run]),
        Binding([.char("o")], .rerouteGate, "gate: re-route — the phase runs again on a model you pick", in: [.run]),
        Binding([.char("d")], .rejectGate, "gate: reject — the run ends as cancelled, with your reason", in: [.run]),
        Binding([.char("[")], .replayBack, "replay: one event back", in: [.replay], hint: "step"),
        Binding([.char("]")], .replayForward, "replay: one event forward", in: [.replay]),
        Binding([.char("{")], .replayJumpBack, "replay: jump back 10%", in: [.replay], hint: "scrub"),
        Binding([.char("}")], .replayJumpForward, "replay: jump forward 10%", in: [.replay]),
        Binding([.char("0")], .replayStart, "replay: to the first event", in: [.replay]),
        Binding([.char("$")], .replayEnd, "replay: to the last event", in: [.replay]),
        Binding([.char("Y")], .fork, "fork from the selected phase (earlier phases reused, $0; pick its model)", in: [.replay], hint: "fork"),
        // Task editor (a text field: printable keys type).
        Binding([.ctrl("s"), .ctrl("d")], .submitTask, "analyse and plan the task", in: [.editor], hint: "plan"),
        // Plan review.
        Binding([.enter], .startRun, "start the run", in: [.plan], hint: "start"),
        Binding([.char("s")], .cycleStrategy, "change the strategy", in: [.plan], hint: "strategy"),
        Binding([.char("m")], .changeModel, "change the selected phase's model", in: [.plan], hint: "model"),
        Binding([.char("$")], .setBudget, "set the budget", in: [.plan], hint: "budget"),
        Binding([.char("e")], .editTask, "edit the task text", in: [.plan], hint: "edit"),
        Binding([.char("g")], .toggleGate, "gate the selected phase on/off: the run waits for your decision after it", in: [.plan], hint: "gate"),
        // Model picker (typing filters).
        Binding([.enter], .open, "choose the model", in: [.picker], hint: "choose"),
        Binding([.up], .up, "move up", in: [.picker]),
        Binding([.down], .down, "move down", in: [.picker]),
        // History.
        Binding([.enter], .open, "open the run (read-only, with replay)", in: [.history], hint: "open"),
        Binding([.char("/")], .filter, "filter the table", in: [.history], hint: "filter"),
        Binding([.char("s")], .sortNext, "sort by the next column", in: [.history], hint: "sort"),
        Binding([.char("S")], .sortReverse, "reverse the sort", in: [.history]),
        Binding([.char("F")], .search, "full-text search (task and output)", in: [.history], hint: "search"),
        // Prompt.
        Binding([.enter], .open, "accept", in: [.prompt]),
    ]

    /// The command for a key in a context (specific contexts first, then global).
    public static func command(for key: Key, in contexts: [KeyContext]) -> Command? {
        for ctx in contexts {
            if let b = bindings.first(where: { $0.contexts.contains(ctx) && $0.keys.contains(key) }) {
                return b.command
            }
        }
        return nil
    }

    /// Footer hints for the active contexts, most specific first.
    public static func hints(for contexts: [KeyContext]) -> [(String, String)] {
        var out: [(String, String)] = []
        var seen = Set<Command>()
        for ctx in contexts {
            for b in bindings where b.contexts.contains(ctx) {
                guard let hint = b.hint, seen.insert(b.command).inserted else { continue }
                out.append((b.keys[0].label, hint))
            }
        }
        return out
    }

    /// The keys of the gate actions, as the run view lists them ("a approve · e edit · …").
    public static func gateActions() -> String {
        let names: [(Command, String)] = [
            (.approveGate, "approve"), (.editGate, "edit"), (.instructGate, "instruct"), (.rerouteGate, "re-route"), (.rejectGate, "reject"),
        ]
        return names.compactMap { cmd, name in
            bindings.first { $0.command == cmd }.map { "\($0.keys[0].label) \(name)" }
        }.joined(separator: " · ")
    }

    /// Help sections: context title and its bindings (key labels, text).
    public static func helpSections() -> [(String, [(String, String)])] {
        KeyContext.allCases.compactMap { ctx in
            let rows = bindings.filter { $0.contexts.first == ctx }.map { ($0.keyLabel, $0.help) }
            return rows.isEmpty ? nil : (ctx.title, rows)
        }
    }
}
