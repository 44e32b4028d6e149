import YmeraCore

/// The run view: header, pipeline, models and breakers, quality, output, event log.
public enum RunView {
    /// A row of the models-and-breakers pane.
    public struct ModelRow: Sendable, Hashable {
        public var id: ModelID
        public var breaker: BreakerState
        public var failures: Int
        public var cooldownMs: Int?
        public var rate: RateLimitSnapshot?
        public var available: Bool
    }

    /// Models the run uses, with their breakers as the run's events show them (catalog status as fallback).
    public static func modelRows(_ st: RunState, models: [ModelStatus]) -> [ModelRow] {
        var ids = st.plan?.allModels ?? []
        for id in st.breakers.keys.sorted() where !ids.contains(id) { ids.append(id) }
        let rows = ids.map { id -> ModelRow in
            let cat = models.first { $0.id == id }
            let b = st.breakers[id]
            let cooldown: Int? = b.flatMap { bv in
                bv.state == .open ? bv.reopensAtMs.map { max(0, $0 - st.elapsedMs) } : nil
            } ?? (cat?.breaker == .open ? cat?.cooldownRemainingMs : nil)
            return ModelRow(
                id: id, breaker: b?.state ?? cat?.breaker ?? .closed, failures: b?.failures ?? cat?.recentFailures ?? 0,
                cooldownMs: cooldown, rate: st.rateLimits[id.provider], available: cat?.available ?? true)
        }
        // Open and half-open breakers first: in a small pane the trouble stays visible.
        let trouble = rows.filter { $0.breaker != .closed }
        return trouble + rows.filter { $0.breaker == .closed }
    }

    static func draw(_ c: inout Canvas, _ r: Rect, app: AppState, entry e: RunEntry, theme t: Theme) {
        let st = e.state
        var area = r
        // Header: two rows.
        let (head, rest) = area.takeTop(2)
        area = rest
        drawHeader(&c, head, app: app, entry: e, theme: t)
        if let gate = st.gates.first, area.height > 6 {
            // A gate: what waits, and the keys that decide it (from the binding table).
            let (bar, below) = area.takeTop(1)
            area = below
            c.fill(bar, t[.prompt])
            let score = gate.score.map { ", score \(Fmt.score($0))" } ?? ""
            let actions = e.readOnly ? "" : ": " + Keymap.gateActions()
            let more = st.gates.count > 1 ? " (+\(st.gates.count - 1) more)" : ""
            c.text(" ⏸ \(gate.step) waits for your decision\(actions)  (\(gate.outputChars) chars on \(gate.model)\(score))\(more)", x: bar.x, y: bar.y, t[.prompt], clip: bar)
        }
        if e.showFiles {
            FilesView.draw(&c, area, entry: e, theme: t)
            return
        }

        let steps = e.stepIDs.count
        if r.width >= 120 {
            // Wide: the event log spans the bottom; pipeline and output on the left, models and
            // quality on the right.
            let logH = min(12, max(4, area.height / 4))
            let (log, top) = area.takeBottom(logH)
            let (left, right) = top.takeLeft(top.width * 3 / 5)
            let pipeH = min(max(6, steps + 3), left.height / 2)
            let (pipe, out) = left.takeTop(pipeH)
            drawPipeline(&c, pipe, e, theme: t)
            drawOutput(&c, out, e, theme: t)
            let mrows = modelRows(st, models: app.models).count
            let (mod, qual) = right.takeTop(min(max(4, mrows + 2), right.height / 2))
            drawModels(&c, mod, e, app: app, theme: t)
            drawQuality(&c, qual, e, theme: t)
            drawLog(&c, log, e, theme: t)
        } else {
            let pipeH = min(max(5, steps + 3), area.height * 2 / 5)
            let (pipe, rest2) = area.takeTop(pipeH)
            drawPipeline(&c, pipe, e, theme: t)
            let logH = min(6, max(3, rest2.height / 4))
            let (log, mid) = rest2.takeBottom(logH)
            let (out, side) = mid.takeLeft(mid.width / 2)
            drawOutput(&c, out, e, theme: t)
            let (mod, qual) = side.takeTop(side.height / 2)
            drawModels(&c, mod, e, app: app, theme: t)
            drawQuality(&c, qual, e, theme: t)
            drawLog(&c, log, e, theme: t)
        }
    }

    static func drawHeader(_ c: inout Canvas, _ r: Rect, app: AppState, entry e: RunEntry, theme t: Theme) {
        let st = e.state
        c.fill(r, t[.header])
        let serving = st.plan?.serving ?? app.serving
        let badge = " " + serving.badge + " "
        var right = r.maxX - DisplayWidth.of(badge)
        c.text(badge, x: right, y: r.y, t[StateLook.serving(serving)])
        if e.readOnly {
            let tag: String
            if let rp = e.replay {
                tag = " REPLAY \(rp.cursor)/\(rp.events.count) "
            } else {
                tag = " READ-ONLY "
            }
            right -= DisplayWidth.of(tag) + 1
            c.text(tag, x: right, y: r.y, t[.readOnly])
        } else if let owner = e.owner {
            // A run of another process, followed live through the journal.
            let tag = " " + DisplayWidth.truncate("FOLLOWING " + Sanitizer.line(owner), to: max(12, r.width / 3)) + " "
            right -= DisplayWidth.of(tag) + 1
            c.text(tag, x: right, y: r.y, t[.readOnly])
        }
        let task = Sanitizer.line(st.task.isEmpty ? "(no plan yet)" : st.task)
        var x = c.text(" Task ", x: r.x, y: r.y, t[.headerLabel])
        x = c.text(DisplayWidth.truncate(task, to: max(0, right - x - 1)), x: x, y: r.y, t[.header].adding(.bold))

        // Second row: run id, strategy, status, elapsed, cost vs budget, tokens, counters.
        let y = r.y + 1
        let (glyph, role) = StateLook.run(st.status)
        x = c.text(" Run ", x: r.x, y: y, t[.headerLabel])
        x = c.text(st.runID, x: x, y: y, t[.header])
        x = c.text("  ", x: x, y: y, t[.header])
        x = c.text("\(glyph) \(st.status.label)", x: x, y: y, t[role].adding(.bold).merged(bg: t[.header].bg))
        x = c.text("  ", x: x, y: y, t[.header])
        x = c.text(st.plan?.strategy.displayName ?? "—", x: x, y: y, t[.header])
        x = c.text("  Elapsed ", x: x, y: y, t[.headerLabel])
        x = c.text(Fmt.clock(app.displayElapsedMs(e)), x: x, y: y, t[.header])
        x = c.text("  Cost ", x: x, y: y, t[.headerLabel])
        var cost = st.cost.display
        let over: Bool
        if let maxCost = st.plan?.budget.maxCost {
            cost += " / " + maxCost.description
            over = st.cost.money > maxCost
        } else {
            over = false
        }
        x = c.text(cost, x: x, y: y, over ? t[.error].merged(bg: t[.header].bg) : t[.header])
        x = c.text("  Tok ", x: x, y: y, t[.headerLabel])
        x = c.text(Fmt.tokens(st.usage.totalTokens) + (st.usage.estimated ? "~" : ""), x: x, y: y, t[.header])
        var counters: [String] = []
        if st.retries > 0 { counters.append("retries \(st.retries)") }
        if st.fallbacks > 0 { counters.append("fallbacks \(st.fallbacks)") }
        if st.breakerTrips > 0 { counters.append("trips \(st.breakerTrips)") }
        if st.swaps > 0 { counters.append("swaps \(st.swaps)") }
        if st.anomalies > 0 { counters.append("anomalies \(st.anomalies)") }
        if !counters.isEmpty, x < r.maxX - 4 {
            c.text("  " + counters.joined(separator: " · "), x: x, y: y, t[.headerLabel], clip: r)
        }
    }

    static func paneBox(_ c: inout Canvas, _ r: Rect, _ title: String, focused: Bool, theme t: Theme, pane: Pane) {
        c.box(r, title: title, focused ? t[.borderFocus] : t[.border], titleStyle: focused ? t[.title] : t[.muted].adding(.bold))
        c.hit(r, .pane(pane.rawValue))
    }

    static func drawPipeline(_ c: inout Canvas, _ r: Rect, _ e: RunEntry, theme t: Theme) {
        let st = e.state
        let done = st.steps.values.filter { $0.parent == nil && $0.status == .done }.count
        let top = st.steps.values.filter { $0.parent == nil }.count
        paneBox(&c, r, "Pipeline \(done)/\(top)", focused: e.focus == .pipeline, theme: t, pane: .pipeline)
        let inner = r.inset(1)
        guard inner.height > 1, inner.width > 10 else { return }
        let w = inner.width
        // Columns: glyph 2 | step | model | att 3 | dur 6 | tok 6 | score 5 | state 9
        let showState = w >= 70
        let fixed = 2 + 4 + 7 + 7 + 6 + (showState ? 9 : 0)
        let flex = max(8, w - fixed)
        let stepW = max(6, flex * 2 / 5)
        let modelW = max(4, flex - stepW - 1)
        var hx = inner.x + 2
        let hs = t[.muted]
        func col(_ s: String, _ width: Int, left: Bool = false) -> String { DisplayWidth.pad(s, to: width, left: left) }
        hx = c.text(col("step", stepW) + " ", x: hx, y: inner.y, hs, clip: inner)
        hx = c.text(col("model", modelW), x: hx, y: inner.y, hs, clip: inner)
        hx = c.text(col("att", 4, left: true) + col("time", 7, left: true) + col("tok", 7, left: true) + col("score", 6, left: true), x: hx, y: inner.y, hs, clip: inner)
        if showState { c.text("  state", x: hx, y: inner.y, hs, clip: inner) }

        let ids = e.stepIDs
        let rows = inner.height - 1
        let sel = min(max(0, e.selectedStep), max(0, ids.count - 1))
        let first = max(0, min(sel - rows / 2, ids.count - rows))
        let paused = st.status == .paused
        for (i, id) in ids.enumerated().dropFirst(first).prefix(rows) {
            guard let s = st.steps[id] else { continue }
            let y = inner.y + 1 + (i - first)
            let (glyph, word, role) = StateLook.step(s.status, runPaused: paused)
            let name: String
            if s.parent != nil {
                let last = st.steps[s.parent!]?.children.last == id
                name = (last ? " └ " : " ├ ") + Sanitizer.line(s.title)
            } else {
                name = s.id
            }
            var x = inner.x
            x = c.text(glyph + " ", x: x, y: y, t[role], clip: inner)
            x = c.text(col(name, stepW) + " ", x: x, y: y, s.parent == nil ? t[.normal].adding(.bold) : t[.normal], clip: inner)
            let modelText = s.model == s.plannedModel || s.status != .running ? s.model.rawValue : s.model.rawValue + "*"
            x = c.text(col(modelText, modelW), x: x, y: y, t[.normal], clip: inner)
            x = c.text(col(s.attempts == 0 ? "—" : "\(s.attempts)", 4, left: true), x: x, y: y, s.attempts > 1 ? t[.retrying] : t[.normal], clip: inner)
            let dur: Int? = s.status == .running ? s.startedMs.map { st.elapsedMs - $0 } : s.durationMs
            x = c.text(col(Fmt.duration(dur), 7, left: true), x: x, y: y, t[.normal], clip: inner)
            let tok = s.usage.totalTokens
            x = c.text(col(tok == 0 ? "—" : Fmt.tokens(tok), 7, left: true), x: x, y: y, t[.normal], clip: inner)
            let thr = st.plan?.qualityThreshold ?? 0.7
            x = c.text(col(Fmt.score(s.quality?.score), 6, left: true), x: x, y: y, t[StateLook.score(s.quality?.score, threshold: thr)], clip: inner)
            // A done step whose answer stopped at the output limit says so instead of plain "done".
            if showState { c.text("  " + (s.truncated && s.status == .done ? "truncated" : word), x: x, y: y, s.truncated ? t[.retrying] : t[role], clip: inner) }
            let rowRect = Rect(x: inner.x, y: y, width: inner.width, height: 1)
            if i == sel {
                let focused = e.focus == .pipeline
                c.restyle(rowRect) { focused ? $0.merged(with: t[.selected]) : $0.adding(.underline) }
            }
            c.hit(rowRect, .step(id))
        }
        if ids.isEmpty {
            c.text("waiting for the plan…", x: inner.x + 2, y: inner.y + 1, t[.muted], clip: inner)
        }
    }

    /// The selected step's quality report (or its parent's when the child has none).
    static func qualityFor(_ e: RunEntry) -> QualityReport? {
        guard let id = e.selectedStepID, let s = e.state.steps[id] else { return nil }
        if let q = s.quality { return q }
        if let p = s.parent { return e.state.steps[p]?.quality }
        return nil
    }

    static func drawQuality(_ c: inout Canvas, _ r: Rect, _ e: RunEntry, theme t: Theme) {
        let step = e.selectedStepID ?? "—"
        paneBox(&c, r, "Quality · \(step)", focused: false, theme: t, pane: .pipeline)
        let inner = r.inset(1)
        guard inner.height > 0, inner.width > 8 else { return }
        guard let q = qualityFor(e) else {
            let s = e.selectedStepID.flatMap { e.state.steps[$0] }
            let msg = s?.status == .done ? "not scored" : "not scored yet"
            c.text(msg, x: inner.x + 1, y: inner.y, t[.muted], clip: inner)
            if let overall = e.state.score {
                c.text("run mean " + Fmt.score(overall), x: inner.x + 1, y: inner.y + 1, t[.muted], clip: inner)
            }
            return
        }
        var y = inner.y
        let verdict = q.passed ? "pass" : "below threshold"
        var x = c.text(" \(Fmt.score(q.score))", x: inner.x, y: y, t[StateLook.score(q.score, threshold: q.threshold)].adding(.bold), clip: inner)
        x = c.text(" / \(Fmt.score(q.threshold)) \(verdict)", x: x, y: y, q.passed ? t[.normal] : t[.scoreBad], clip: inner)
        c.text("  " + Sanitizer.line(q.validator), x: x, y: y, t[.muted], clip: inner)
        y += 1
        let nameW = min(14, max(6, inner.width / 3))
        let barW = max(0, inner.width - nameW - 12)
        for d in q.dimensions where y < inner.maxY {
            var x = c.text(" " + DisplayWidth.pad(Sanitizer.line(d.name), to: nameW), x: inner.x, y: y, t[.normal], clip: inner)
            if let sc = d.score {
                if barW >= 4 { x = c.text(" " + Fmt.bar(sc, width: barW), x: x, y: y, t[StateLook.score(sc, threshold: q.threshold)], clip: inner) }
                c.text(" " + Fmt.score(sc) + " ×" + Fmt.trim(d.weight), x: x, y: y, t[.normal], clip: inner)
            } else {
                c.text(" not checked", x: x, y: y, t[.muted], clip: inner)
            }
            y += 1
        }
        if !q.findings.isEmpty, y < inner.maxY {
            let worst = q.findings.map(\.severity).max() ?? .info
            c.text(" \(q.findings.count) finding(s), worst \(worst.rawValue)", x: inner.x, y: y, worst >= .medium ? t[.logWarn] : t[.muted], clip: inner)
            y += 1
            for f in q.findings.prefix(max(0, inner.maxY - y)) {
                let line = "  \(f.rule) (\(f.source))" + (f.line.map { " L\($0)" } ?? "") + ": " + f.message
                c.text(Sanitizer.line(line), x: inner.x, y: y, t[.muted], clip: inner)
                y += 1
            }
        }
    }

    static func drawModels(_ c: inout Canvas, _ r: Rect, _ e: RunEntry, app: AppState, theme t: Theme) {
        paneBox(&c, r, "Models & breakers", focused: e.focus == .models, theme: t, pane: .models)
        let inner = r.inset(1)
        guard inner.height > 0, inner.width > 10 else { return }
        let rows = modelRows(e.state, models: app.models)
        let wide = inner.width >= 56
        let stateW = 12
        let showExtra = inner.width >= 44
        let nameW = max(8, inner.width - stateW - (wide ? 30 : showExtra ? 13 : 0))
        for (i, m) in rows.prefix(inner.height).enumerated() {
            let y = inner.y + i
            var x = c.text(DisplayWidth.pad(m.id.rawValue, to: nameW), x: inner.x, y: y, m.available ? t[.normal] : t[.muted], clip: inner)
            let (label, role) = StateLook.breaker(m.breaker)
            x = c.text(" " + DisplayWidth.pad(label, to: stateW - 1), x: x, y: y, t[role], clip: inner)
            var extra = m.failures > 0 ? "f\(m.failures)" : "  "
            if let cd = m.cooldownMs { extra += " cd " + Fmt.duration(cd) }
            if showExtra {
                x = c.text(" " + DisplayWidth.pad(extra, to: 12), x: x, y: y, m.failures > 0 ? t[.logWarn] : t[.muted], clip: inner)
            }
            if wide, let rl = m.rate {
                var parts: [String] = []
                if let rem = rl.remainingRequests, let lim = rl.limitRequests { parts.append("req \(rem)/\(lim)") }
                if let rem = rl.remainingTokens, let lim = rl.limitTokens { parts.append("tok \(Fmt.tokens(rem))/\(Fmt.tokens(lim))") }
                let low = (rl.remainingRequests ?? 1) == 0 || (rl.remainingTokens ?? 1) == 0
                c.text(" " + parts.joined(separator: " "), x: x, y: y, low ? t[.logWarn] : t[.muted], clip: inner)
            }
            if e.focus == .models && i == min(e.selectedModel, rows.count - 1) {
                c.restyle(Rect(x: inner.x, y: y, width: inner.width, height: 1)) { $0.merged(with: t[.selected]) }
            }
        }
        if rows.isEmpty { c.text("no models yet", x: inner.x + 1, y: inner.y, t[.muted], clip: inner) }
    }

    /// Output lines of a step: sanitized segments between splice points, each splice a marker line.
    static func outputLines(_ s: StepState, width: Int) -> [(String, Bool)] {
        // Only the tail is drawn; cap the work for very long streams (aligned to splices kept).
        let limit = 24_000
        let text = s.output
        let count = text.count
        let start = max(0, count - limit)
        var cuts = s.splices.filter { $0.offset > start && $0.offset <= count }
        cuts.sort { $0.offset < $1.offset }
        var out: [(String, Bool)] = []
        var pos = start
        var idx = text.index(text.startIndex, offsetBy: start)
        for sp in cuts {
            let end = text.index(idx, offsetBy: sp.offset - pos)
            out += Wrap.lines(Sanitizer.clean(String(text[idx..<end])), width: width).map { ($0, false) }
            out.append(("⤷ continued by \(sp.to) after \(sp.from) was cut (char \(sp.offset))", true))
            idx = end
            pos = sp.offset
        }
        out += Wrap.lines(Sanitizer.clean(String(text[idx...])), width: width).map { ($0, false) }
        if out.count == 1 && out[0].0.isEmpty { return [] }
        return out
    }

    /// One line per tool call of the step, the latest `limit`: tool, status, duration, result size.
    /// When calls are left out, the first line says how many.
    static func toolLines(_ s: StepState, limit: Int) -> [String] {
        guard limit > 0, !s.toolCalls.isEmpty else { return [] }
        let shown = s.toolCalls.count > limit ? max(0, limit - 1) : limit
        let calls = s.toolCalls.suffix(shown)
        var out: [String] = []
        if s.toolCalls.count > calls.count { out.append("⚙ \(s.toolCalls.count) tool calls; \(s.toolCalls.count - calls.count) earlier not shown") }
        for call in calls {
            let status: String = switch call.status {
            case .running: "running…"
            case .ok: "ok"
            case .toolError: "tool error"
            case .failed: "failed (\(call.failure?.rawValue ?? "?"))"
            }
            var parts = ["⚙ tool \(call.tool)" + (call.server.map { " (\($0))" } ?? ""), status]
            if let d = call.durationMs { parts.append(Fmt.duration(d)) }
            if let n = call.resultChars { parts.append("\(n) chars") }
            if call.status == .failed, let m = call.message { parts.append(String(m.prefix(120))) }
            out.append(Sanitizer.line(parts.joined(separator: " · ")))
        }
        return out
    }

    static func drawOutput(_ c: inout Canvas, _ r: Rect, _ e: RunEntry, theme t: Theme) {
        let id = e.selectedStepID
        let s = id.flatMap { e.state.steps[$0] }
        var title = "Output"
        if let s { title += " · \(s.id) · \(s.model)" }
        if e.outputScroll > 0 { title += " · ↑\(e.outputScroll) (f follows)" }
        paneBox(&c, r, title, focused: e.focus == .output, theme: t, pane: .output)
        var inner = r.inset(1)
        guard inner.height > 0, inner.width > 4 else { return }
        guard let s else { return }
        // The step's tool calls stay on top (up to a third of the pane); the text scrolls below.
        let tools = toolLines(s, limit: inner.height >= 4 ? max(1, inner.height / 3) : 0)
        for (i, line) in tools.enumerated() {
            c.text(DisplayWidth.pad(line, to: inner.width), x: inner.x, y: inner.y + i, t[.splice], clip: inner)
        }
        inner = Rect(x: inner.x, y: inner.y + tools.count, width: inner.width, height: inner.height - tools.count)
        let lines = outputLines(s, width: inner.width - 1)
        if lines.isEmpty {
            let msg = s.status == .pending ? "waiting to start" : s.status == .running ? "waiting for the first token…" : "no output"
            c.text(msg, x: inner.x + 1, y: inner.y, t[.muted], clip: inner)
            if let err = s.lastError {
                c.text(Sanitizer.line(err), x: inner.x + 1, y: inner.y + 1, t[.error], clip: inner)
            }
            return
        }
        let maxScroll = max(0, lines.count - inner.height)
        let scroll = min(e.outputScroll, maxScroll)
        let end = lines.count - scroll
        let startLine = max(0, end - inner.height)
        for (i, (line, marker)) in lines[startLine..<end].enumerated() {
            let y = inner.y + i
            if marker {
                c.text(DisplayWidth.pad(line, to: inner.width), x: inner.x, y: y, t[.splice], clip: inner)
            } else {
                c.text(line, x: inner.x + 1, y: y, t[.normal], clip: inner)
            }
        }
        if s.status == .running && scroll == 0 && end - startLine < inner.height + 1 {
            let lastY = inner.y + (end - startLine) - 1
            let lastW = DisplayWidth.of(lines[end - 1].0)
            if lastW + 2 < inner.width { c.text("▌", x: inner.x + 1 + lastW, y: lastY, t[.running], clip: inner) }
        }
    }

    static func drawLog(_ c: inout Canvas, _ r: Rect, _ e: RunEntry, theme t: Theme) {
        let log = e.state.log
        paneBox(&c, r, "Events (\(log.count))", focused: e.focus == .log, theme: t, pane: .log)
        let inner = r.inset(1)
        guard inner.height > 0, inner.width > 10 else { return }
        let scroll = min(e.logScroll, max(0, log.count - inner.height))
        let end = log.count - scroll
        let start = max(0, end - inner.height)
        for (i, entry) in log[start..<end].enumerated() {
            let y = inner.y + i
            let (mark, role): (String, Role) = switch entry.level {
            case .info: ("·", .logInfo)
            case .warn: ("▲", .logWarn)
            case .error: ("✗", .logError)
            }
            var x = c.text(Fmt.clock(entry.elapsedMs) + " ", x: inner.x, y: y, t[.muted], clip: inner)
            x = c.text(mark + " ", x: x, y: y, t[role], clip: inner)
            c.text(Sanitizer.line(entry.text), x: x, y: y, t[role], clip: inner)
        }
        if log.isEmpty { c.text("no events yet", x: inner.x + 1, y: inner.y, t[.muted], clip: inner) }
    }
}

extension Style {
    /// This style with another's colours and attributes laid over it (selection bars).
    func merged(with o: Style) -> Style {
        Style(fg: o.fg == .default ? fg : o.fg, bg: o.bg == .default ? bg : o.bg, attrs: attrs.union(o.attrs))
    }
    func merged(bg: Color) -> Style {
        var s = self
        if s.bg == .default { s.bg = bg }
        return s
    }
}
