import Foundation
import YmeraCore

/// Builds a whole frame from the app state: pure, so tests render it to text.
public enum Dashboard {
    public static func render(_ app: AppState, theme t: Theme) -> Canvas {
        var c = Canvas(width: app.width, height: app.height)
        if app.isTooSmall {
            drawTooSmall(&c, app, theme: t)
            return c
        }
        let full = c.bounds
        let (top, rest) = full.takeTop(1)
        let (bottom, body) = rest.takeBottom(1)
        drawTopBar(&c, top, app, theme: t)
        switch app.screen {
        case .runs: RunsListView.draw(&c, body, app, theme: t)
        case .run(let id):
            if let e = app.runs[id] { RunView.draw(&c, body, app: app, entry: e, theme: t) }
        case .editor: EditorView.draw(&c, body, app, theme: t)
        case .plan: PlanView.draw(&c, body, app, theme: t)
        case .history: HistoryView.draw(&c, body, app, theme: t)
        }
        if let p = app.picker { PickerView.draw(&c, body, app, p, theme: t) }
        if app.showHelp { HelpView.draw(&c, body, app, theme: t) }
        drawFooter(&c, bottom, app, theme: t)
        return c
    }

    static func drawTooSmall(_ c: inout Canvas, _ app: AppState, theme t: Theme) {
        let lines = [
            "Terminal too small",
            "\(app.width)×\(app.height), need \(AppState.minWidth)×\(AppState.minHeight)",
            "enlarge the window, or q to quit",
        ]
        let y0 = max(0, app.height / 2 - 1)
        for (i, l) in lines.enumerated() {
            let s = DisplayWidth.truncate(l, to: app.width)
            c.text(s, x: max(0, (app.width - DisplayWidth.of(s)) / 2), y: y0 + i, i == 0 ? t[.error] : t[.normal])
        }
    }

    static func screenTitle(_ app: AppState) -> String {
        switch app.screen {
        case .runs: "Runs"
        case .run(let id): app.runs[id]?.readOnly == true ? "Past run \(id)" : "Run \(id)"
        case .editor: "New task"
        case .plan: "Plan"
        case .history: "History"
        }
    }

    static func drawTopBar(_ c: inout Canvas, _ r: Rect, _ app: AppState, theme t: Theme) {
        c.fill(r, t[.header])
        var x = c.text(" YMERA ", x: r.x, y: r.y, t[.title].merged(bg: t[.header].bg))
        x = c.text("› " + screenTitle(app), x: x, y: r.y, t[.header])
        let active = app.activeRuns.count
        let badge = " " + app.serving.badge + " "
        let bx = r.maxX - DisplayWidth.of(badge)
        c.text(badge, x: bx, y: r.y, t[StateLook.serving(app.serving)])
        let info = "\(active) active · \(app.runOrder.count) open  "
        let ix = bx - DisplayWidth.of(info)
        if ix > x + 2 { c.text(info, x: ix, y: r.y, t[.headerLabel]) }
    }

    static func drawFooter(_ c: inout Canvas, _ r: Rect, _ app: AppState, theme t: Theme) {
        c.fill(r, t[.footer])
        if let p = app.prompt {
            drawPrompt(&c, r, app, p, theme: t)
            return
        }
        var x = r.x
        if let msg = app.message {
            x = c.text(" " + DisplayWidth.truncate(msg, to: r.width / 2) + " ", x: x, y: r.y, app.messageIsError ? t[.error].merged(bg: t[.footer].bg) : t[.footer].adding(.bold))
        }
        for (key, hint) in Keymap.hints(for: app.contexts) {
            let need = DisplayWidth.of(key) + DisplayWidth.of(hint) + 3
            if x + need > r.maxX { break }
            x = c.text(" " + key, x: x, y: r.y, t[.footerKey])
            x = c.text(" " + hint + " ", x: x, y: r.y, t[.footer])
        }
    }

    static func drawPrompt(_ c: inout Canvas, _ r: Rect, _ app: AppState, _ p: Prompt, theme t: Theme) {
        let label: String
        switch p.kind {
        case .command: label = ":"
        case .filter: label = "filter /"
        case .search: label = "search (full text):"
        case .budget: label = "budget $ (none = unlimited):"
        case .quitConfirm:
            label = "\(app.ownActiveRuns.count) run(s) active — quit and cancel them? y / n"
        case .breaker(let m):
            label = "breaker \(m): r reset · o force open · Esc cancel"
        case .cancelConfirm(let id):
            label = "cancel run \(id)? y / n"
        case .instruct:
            label = "note for the phase (it runs again with it):"
        case .reject:
            label = "reject — why (the run ends as cancelled):"
        }
        let x = c.text(" " + label + " ", x: r.x, y: r.y, t[.prompt])
        if !p.isChoice {
            let text = p.buffer.text
            let avail = r.maxX - x - 2
            let shown = DisplayWidth.of(text) > avail ? String(text.suffix(max(0, avail))) : text
            let end = c.text(" " + shown, x: x, y: r.y, t[.input])
            c.cursor = (end, r.y)
        }
    }
}

/// The list of live and opened runs.
enum RunsListView {
    static func draw(_ c: inout Canvas, _ r: Rect, _ app: AppState, theme t: Theme) {
        c.box(r, title: "Runs (\(app.runOrder.count))", t[.border], titleStyle: t[.title])
        let inner = r.inset(1)
        guard inner.height > 1 else { return }
        if app.runOrder.isEmpty {
            let lines = [
                "No runs yet.",
                "",
                "n  new task — type it, see the analysis, plan and forecast, then start",
                "H  history of past runs (open one to replay it)",
                "?  all keys",
            ]
            for (i, l) in lines.enumerated() {
                c.text(l, x: inner.x + 2, y: inner.y + 1 + i, i == 0 ? t[.title] : t[.normal], clip: inner)
            }
            return
        }
        let w = inner.width
        let taskW = max(10, w - 2 - 14 - 12 - 14 - 8 - 8 - 14 - 6)
        func col(_ s: String, _ n: Int, left: Bool = false) -> String { DisplayWidth.pad(s, to: n, left: left) }
        let header = "  " + col("run", 14) + col("status", 12) + col("strategy", 14) + col("phases", 8)
            + col("time", 8, left: true) + col("cost", 14, left: true) + "  " + col("task", taskW)
        c.text(header, x: inner.x, y: inner.y, t[.muted], clip: inner)
        let rows = inner.height - 1
        let sel = min(app.selectedRun, app.runOrder.count - 1)
        let first = max(0, min(sel - rows / 2, app.runOrder.count - rows))
        for (i, id) in app.runOrder.enumerated().dropFirst(first).prefix(rows) {
            guard let e = app.runs[id] else { continue }
            let st = e.state
            let y = inner.y + 1 + i - first
            let (glyph, role) = StateLook.run(st.status)
            let top = st.steps.values.filter { $0.parent == nil }
            let done = top.filter { $0.status == .done }.count
            var x = c.text(glyph + " ", x: inner.x, y: y, t[role], clip: inner)
            x = c.text(col(id, 14), x: x, y: y, t[.normal].adding(.bold), clip: inner)
            x = c.text(col(st.status.shortLabel + (e.readOnly ? " (past)" : ""), 12), x: x, y: y, t[role], clip: inner)
            x = c.text(col(st.plan?.strategy.rawValue ?? "—", 14), x: x, y: y, t[.normal], clip: inner)
            x = c.text(col("\(done)/\(top.count)", 8), x: x, y: y, t[.normal], clip: inner)
            x = c.text(col(Fmt.clock(app.displayElapsedMs(e)), 8, left: true), x: x, y: y, t[.normal], clip: inner)
            x = c.text(col(st.cost.display, 14, left: true) + "  ", x: x, y: y, t[.normal], clip: inner)
            if let owner = e.owner {
                // Driven by another process: say which (its pid), before the task.
                let pid = owner.split(separator: " ").prefix(2).joined(separator: " ")
                x = c.text("[" + Sanitizer.line(pid) + "] ", x: x, y: y, t[.muted], clip: inner)
            }
            c.text(Sanitizer.line(st.task), x: x, y: y, t[.normal], clip: inner)
            let row = Rect(x: inner.x, y: y, width: inner.width, height: 1)
            if i == sel { c.restyle(row) { $0.merged(with: t[.selected]) } }
            c.hit(row, .run(id))
        }
    }
}

/// The multi-line task editor.
enum EditorView {
    static func draw(_ c: inout Canvas, _ r: Rect, _ app: AppState, theme t: Theme) {
        let (box, help) = r.takeBottom(3).1.height >= 6 ? (r.takeBottom(3).1, r.takeBottom(3).0) : (r, Rect(x: 0, y: 0, width: 0, height: 0))
        c.box(box, title: "Describe the task (multi-line)", t[.borderFocus], titleStyle: t[.title])
        let inner = box.inset(1)
        c.fill(inner, t[.input])
        let ed = app.editor
        let firstLine = max(0, ed.row - inner.height + 1)
        for (i, line) in ed.lines.enumerated().dropFirst(firstLine).prefix(inner.height) {
            let s = String(line)
            // Scroll horizontally on the cursor's line when it is longer than the box.
            let curW = DisplayWidth.of(String(line.prefix(ed.col)))
            let shift = i == ed.row ? max(0, curW - inner.width + 2) : 0
            var text = s
            if shift > 0 {
                var w = 0
                var idx = text.startIndex
                while idx < text.endIndex && w < shift { w += DisplayWidth.of(text[idx]); idx = text.index(after: idx) }
                text = String(text[idx...])
            }
            c.text(text, x: inner.x + 1, y: inner.y + i - firstLine, t[.input], clip: inner)
            if i == ed.row { c.cursor = (inner.x + 1 + curW - shift, inner.y + i - firstLine) }
        }
        if ed.isEmpty {
            c.text("e.g. Build a REST API for a todo app with authentication, tests and docs", x: inner.x + 1, y: inner.y, t[.muted].merged(bg: t[.input].bg), clip: inner)
        }
        if help.height > 0 {
            c.text("Enter new line · ^S analyse and plan · Esc back · text is sent to the planner as typed", x: help.x + 1, y: help.y + 1, t[.muted], clip: help)
            if let d = app.draft, d.loading { c.text("planning…", x: help.x + 1, y: help.y + 2, t[.running], clip: help) }
        }
    }
}

/// Analysis, plan, forecast and recommendation before a run starts; overrides are changeable here.
enum PlanView {
    static func draw(_ c: inout Canvas, _ r: Rect, _ app: AppState, theme t: Theme) {
        guard let d = app.draft else { return }
        let split = r.width >= 110
        let (left, right) = split ? r.takeLeft(r.width * 2 / 5) : r.takeTop(min(12, r.height / 2))
        let title = d.loading ? "Analysis (planning…)" : "Analysis"
        c.box(left, title: title, t[.border], titleStyle: t[.title])
        let li = left.inset(1)
        var y = li.y
        func line(_ label: String, _ value: String, _ role: Role = .normal) {
            guard y < li.maxY else { return }
            let x = c.text(DisplayWidth.pad(label, to: 13), x: li.x + 1, y: y, t[.muted], clip: li)
            c.text(value, x: x, y: y, t[role], clip: li)
            y += 1
        }
        line("Task", Sanitizer.line(d.request.task))
        if let err = d.error { line("Error", err, .error) }
        guard let p = d.plan else {
            if d.loading { line("", "analysing the task and planning…", .running) }
            return
        }
        let bw = max(4, min(20, li.width - 22))
        line("Type", p.intent.taskType.rawValue, .title)
        line("Complexity", Fmt.bar(p.intent.complexity, width: bw) + " " + Fmt.score(p.intent.complexity))
        line("Urgency", Fmt.bar(p.intent.urgency, width: bw) + " " + Fmt.score(p.intent.urgency))
        line("Creativity", Fmt.bar(p.intent.creativity, width: bw) + " " + Fmt.score(p.intent.creativity))
        line("Strategy", p.strategy.displayName + (d.request.strategy != nil ? " (yours)" : ""), .title)
        let budget = p.budget.maxCost.map { $0.description } ?? "none"
        line("Budget", budget + (p.budget.maxTokens.map { " · \(Fmt.tokens($0)) tok" } ?? ""))
        line("Forecast", "\(p.forecast.cost.display) · \(Fmt.duration(p.forecast.durationMs)) · \(Fmt.tokens(p.forecast.inputTokens + p.forecast.outputTokens)) tok")
        if let m = p.budget.maxCost, p.forecast.cost.money > m { line("", "forecast is over the budget", .error) }
        line("Serving", p.serving.badge, StateLook.serving(p.serving))
        if let rec = p.recommendation {
            line("Recommended", rec.strategy.displayName, rec.strategy == p.strategy ? .done : .retrying)
            if y < li.maxY {
                for l in Wrap.lines(Sanitizer.line(rec.rationale), width: max(4, li.width - 3)).prefix(max(0, li.maxY - y)) {
                    c.text(l, x: li.x + 2, y: y, t[.muted], clip: li)
                    y += 1
                }
            }
        } else {
            line("Recommended", "no similar past runs", .muted)
        }
        if !p.intent.requirements.isEmpty {
            line("Requirements", Sanitizer.line(p.intent.requirements.joined(separator: "; ")))
        }

        c.box(right, title: "Plan: \(p.steps.count) steps", t[.borderFocus], titleStyle: t[.title])
        let ri = right.inset(1)
        let modelW = max(10, min(30, ri.width - 40))
        func col(_ s: String, _ n: Int, left: Bool = false) -> String { DisplayWidth.pad(s, to: n, left: left) }
        c.text("  " + col("step", 12) + col("model", modelW) + col("tok", 7, left: true) + col("cost", 11, left: true) + col("time", 7, left: true) + "  fallbacks", x: ri.x, y: ri.y, t[.muted], clip: ri)
        var ry = ri.y + 1
        for (i, s) in p.steps.enumerated() where ry < ri.maxY {
            let overridden = d.request.models[s.id] != nil
            // ⏸: a gate — the run waits for a decision after this phase (`g` toggles it).
            let gated = p.gates?.gates(s) == true
            var x = c.text((gated ? "⏸ " : "  ") + col(s.id, 12), x: ri.x, y: ry, t[.normal].adding(.bold), clip: ri)
            var model = s.model.rawValue + (overridden ? "*" : "")
            if !s.candidates.isEmpty { model = s.candidates.map(\.name).joined(separator: "|") }
            x = c.text(col(model, modelW), x: x, y: ry, overridden ? t[.title] : t[.normal], clip: ri)
            x = c.text(col(Fmt.tokens(s.forecast.inputTokens + s.forecast.outputTokens), 7, left: true), x: x, y: ry, t[.normal], clip: ri)
            x = c.text(col(s.forecast.cost.display, 11, left: true), x: x, y: ry, t[.normal], clip: ri)
            x = c.text(col(Fmt.duration(s.forecast.durationMs), 7, left: true), x: x, y: ry, t[.normal], clip: ri)
            c.text("  " + s.fallbacks.map(\.rawValue).joined(separator: ", "), x: x, y: ry, t[.muted], clip: ri)
            let row = Rect(x: ri.x, y: ry, width: ri.width, height: 1)
            if i == d.selectedStep { c.restyle(row) { $0.merged(with: t[.selected]) } }
            c.hit(row, .listRow(i))
            ry += 1
        }
        ry += 1
        if let g = p.gates, ry < ri.maxY {
            let limit = g.timeoutMs.map { ", \(GatePolicy.durationText($0)) to decide, then \(g.onTimeout.rawValue)" } ?? ""
            c.text("⏸ gate after \(g.phases.joined(separator: ", ")): the run waits for your decision\(limit)", x: ri.x + 1, y: ry, t[.title], clip: ri)
            ry += 1
        }
        for n in p.notes where ry < ri.maxY {
            c.text("• " + Sanitizer.line(n), x: ri.x + 1, y: ry, t[.muted], clip: ri)
            ry += 1
        }
    }
}

/// The model picker overlay (typing filters).
enum PickerView {
    static func draw(_ c: inout Canvas, _ body: Rect, _ app: AppState, _ p: Picker, theme t: Theme) {
        let w = min(body.width - 4, 110)
        let rows = app.pickerRows(p)
        let h = min(body.height - 2, max(8, app.models.count + 5))
        let r = Rect(x: body.x + (body.width - w) / 2, y: body.y + (body.height - h) / 2, width: w, height: h)
        c.fill(r, t[.normal])
        let what: String
        switch p.purpose {
        case .swap(_, let step): what = "Swap model of \(step)"
        case .rerun(_, let step): what = "\(step) is done — Enter runs it again on the chosen model (and the phases after it)"
        case .draft(let step): what = "Model for \(step)"
        case .fork(let run, let step): what = "Fork \(run) from \(step) — the phases before it are reused ($0); Enter runs \(step) on"
        case .reroute(_, let step): what = "\(step) waits at its gate — Enter runs it again on the chosen model"
        }
        c.box(r, title: what + (p.current.map { " (now \($0))" } ?? ""), t[.borderFocus], titleStyle: t[.title])
        let inner = r.inset(1)
        var x = c.text(" filter: ", x: inner.x, y: inner.y, t[.muted], clip: inner)
        x = c.text(p.filter.text, x: x, y: inner.y, t[.input], clip: inner)
        c.cursor = (x, inner.y)
        c.text("\(rows.count)/\(app.models.count)", x: inner.maxX - 8, y: inner.y, t[.muted], clip: inner)
        func col(_ s: String, _ n: Int, left: Bool = false) -> String { DisplayWidth.pad(s, to: n, left: left) }
        let showProvider = inner.width >= 96
        let idW = max(16, inner.width - (showProvider ? 12 : 0) - 15 - 6 - 6 - 12 - 12)
        c.text(" " + col("model", idW) + (showProvider ? col("provider", 12) : "") + col("$/M in/out", 15) + col("speed", 6) + col("qual", 6) + col("serves", 12) + "breaker", x: inner.x, y: inner.y + 1, t[.muted], clip: inner)
        let list = Rect(x: inner.x, y: inner.y + 2, width: inner.width, height: inner.height - 2)
        let sel = min(p.selected, max(0, rows.count - 1))
        let first = max(0, min(sel - list.height / 2, rows.count - list.height))
        for (i, m) in rows.enumerated().dropFirst(first).prefix(list.height) {
            let y = list.y + i - first
            let base = m.available ? t[.normal] : t[.muted]
            var x = c.text(" " + col(m.id.rawValue + (m.id == p.current ? " ◂" : ""), idW), x: list.x, y: y, base, clip: list)
            if showProvider { x = c.text(col(m.info.provider, 12), x: x, y: y, base, clip: list) }
            x = c.text(col(Fmt.price(m.info.pricing), 15), x: x, y: y, base, clip: list)
            x = c.text(col(Fmt.stars(m.info.speedTier), 6), x: x, y: y, base, clip: list)
            x = c.text(col(Fmt.stars(m.info.qualityTier), 6), x: x, y: y, base, clip: list)
            x = c.text(col(m.available ? m.serving.badge.lowercased() : "unavailable", 12), x: x, y: y, m.available ? base : t[.error], clip: list)
            let (label, role) = StateLook.breaker(m.breaker)
            c.text(label, x: x, y: y, t[role], clip: list)
            if i == sel { c.restyle(Rect(x: list.x, y: y, width: list.width, height: 1)) { $0.merged(with: t[.selected]) } }
        }
        if rows.isEmpty {
            c.text(app.models.isEmpty ? " loading the catalog…" : " no model matches", x: list.x, y: list.y, t[.muted], clip: list)
        }
    }
}

/// The history browser.
enum HistoryView {
    static let dateFormat: DateFormatter = {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        f.timeZone = TimeZone(identifier: "UTC")
        f.locale = Locale(identifier: "en_US_POSIX")
        return f
    }()

    static func draw(_ c: inout Canvas, _ r: Rect, _ app: AppState, theme t: Theme) {
        let h = app.history
        let rows = h.rows
        var title = "History (\(rows.count)"
        if rows.count != h.entries.count { title += " of \(h.entries.count)" }
        title += ")"
        if !h.filter.isEmpty { title += " · filter “\(Sanitizer.line(h.filter))”" }
        if let s = h.search { title += " · search “\(Sanitizer.line(s))”" }
        if h.loading { title += " · loading…" }
        c.box(r, title: title, t[.border], titleStyle: t[.title])
        let inner = r.inset(1)
        guard inner.height > 1 else { return }
        func col(_ s: String, _ n: Int, left: Bool = false) -> String { DisplayWidth.pad(s, to: n, left: left) }
        let narrow = inner.width < 110
        let dateW = narrow ? 11 : 17
        let cols: [(HistoryState.Column?, String, Int, Bool)] = [
            (.started, narrow ? "started" : "started (UTC)", dateW, false), (nil, "run", 14, false), (.status, "status", 11, false),
            (.strategy, "strategy", 10, false), (.score, "score", 6, true), (.cost, "cost", 11, true),
            (.duration, "time", 8, true),
        ]
        var x = inner.x + 1
        for (colKind, name, width, right) in cols {
            let mark = colKind == h.sort ? (h.descending ? "▼" : "▲") : ""
            x = c.text(col(name + mark, width, left: right) + " ", x: x, y: inner.y, colKind == h.sort ? t[.title] : t[.muted], clip: inner)
        }
        c.text("task" + (h.sort == .task ? (h.descending ? "▼" : "▲") : ""), x: x, y: inner.y, h.sort == .task ? t[.title] : t[.muted], clip: inner)
        let list = Rect(x: inner.x, y: inner.y + 1, width: inner.width, height: inner.height - 1)
        let sel = min(h.selected, max(0, rows.count - 1))
        let first = max(0, min(sel - list.height / 2, rows.count - list.height))
        for (i, e) in rows.enumerated().dropFirst(first).prefix(list.height) {
            let s = e.summary
            let y = list.y + i - first
            let (glyph, role) = StateLook.run(s.status)
            var x = c.text(glyph, x: list.x, y: y, t[role], clip: list)
            let date = dateFormat.string(from: e.startedAt)
            x = c.text(col(narrow ? String(date.dropFirst(5)) : date, dateW) + " ", x: x, y: y, t[.normal], clip: list)
            x = c.text(col(s.runID, 14) + " ", x: x, y: y, t[.normal].adding(.bold), clip: list)
            x = c.text(col(s.status.shortLabel, 11) + " ", x: x, y: y, t[role], clip: list)
            x = c.text(col(s.strategy?.rawValue ?? "—", 10) + " ", x: x, y: y, t[.normal], clip: list)
            x = c.text(col(Fmt.score(s.score), 6, left: true) + " ", x: x, y: y, t[StateLook.score(s.score, threshold: 0.7)], clip: list)
            x = c.text(col(s.cost, 11, left: true) + " ", x: x, y: y, t[.normal], clip: list)
            x = c.text(col(Fmt.duration(s.durationMs), 8, left: true) + " ", x: x, y: y, t[.normal], clip: list)
            c.text(Sanitizer.line(s.task), x: x, y: y, t[.normal], clip: list)
            let row = Rect(x: list.x, y: y, width: list.width, height: 1)
            if i == sel { c.restyle(row) { $0.merged(with: t[.selected]) } }
            c.hit(row, .listRow(i))
        }
        if rows.isEmpty && !h.loading {
            c.text(h.entries.isEmpty ? "no past runs" : "no run matches the filter", x: list.x + 2, y: list.y, t[.muted], clip: list)
        }
    }
}

/// The help overlay, generated from the binding table.
enum HelpView {
    static func draw(_ c: inout Canvas, _ body: Rect, _ app: AppState, theme t: Theme) {
        let w = min(body.width - 4, 96)
        let h = body.height - 2
        let r = Rect(x: body.x + (body.width - w) / 2, y: body.y + 1, width: w, height: h)
        c.fill(r, t[.normal])
        c.box(r, title: "Keys (? or Esc closes · j/k scroll)", t[.borderFocus], titleStyle: t[.title])
        let inner = r.inset(1)
        var lines: [(String, String, Bool)] = []
        for (title, rows) in Keymap.helpSections() {
            lines.append((title, "", true))
            for (k, text) in rows { lines.append((k, text, false)) }
            lines.append(("", "", false))
        }
        lines.append(("Mouse", "click a row to select it, click again to open; wheel scrolls", false))
        let scroll = min(app.helpScroll, max(0, lines.count - inner.height))
        for (i, (k, text, isTitle)) in lines.dropFirst(scroll).prefix(inner.height).enumerated() {
            let y = inner.y + i
            if isTitle {
                c.text(" " + k, x: inner.x, y: y, t[.title], clip: inner)
            } else {
                let x = c.text("   " + DisplayWidth.pad(k, to: 16), x: inner.x, y: y, Style(fg: t[.footerKey].fg, bg: t[.normal].bg, attrs: t[.footerKey].attrs), clip: inner)
                c.text(text, x: x, y: y, t[.normal], clip: inner)
            }
        }
    }
}
