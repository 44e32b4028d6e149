import YmeraCore

/// The files view of a run: its workspace's file tree (path, version, author phase and model, size;
/// refused names marked) and the selected file's content. Names and content come from model output:
/// both are sanitized (and the content bounded, see `OpenFile`) before they reach the canvas.
enum FilesView {
    static func draw(_ c: inout Canvas, _ r: Rect, entry e: RunEntry, theme t: Theme) {
        let rows = e.fileRows
        let treeW = min(max(28, r.width * 2 / 5), 60)
        let (tree, content) = r.takeLeft(treeW)
        drawTree(&c, tree, e, rows: rows, theme: t)
        drawContent(&c, content, e, theme: t)
    }

    static func size(_ n: Int) -> String {
        if n < 1024 { return "\(n) B" }
        if n < 1024 * 1024 { return Fmt.format1(Double(n) / 1024) + " KB" }
        return Fmt.format1(Double(n) / 1024 / 1024) + " MB"
    }

    static func drawTree(_ c: inout Canvas, _ r: Rect, _ e: RunEntry, rows: [FileRow], theme t: Theme) {
        let st = e.state
        var title = "Files \(st.files.count)"
        if !st.refusedFiles.isEmpty { title += " · \(st.refusedFiles.count) refused" }
        c.box(r, title: title, t[.borderFocus], titleStyle: t[.title])
        let inner = r.inset(1)
        guard inner.height > 0, inner.width > 8 else { return }
        if rows.isEmpty {
            c.text("no files written yet", x: inner.x + 1, y: inner.y, t[.muted], clip: inner)
            return
        }
        // Two lines per file: the path with its version and size, then its author.
        let perRow = inner.height >= 2 * min(rows.count, 4) ? 2 : 1
        let visible = max(1, inner.height / perRow)
        let selected = min(max(0, e.selectedFile), rows.count - 1)
        let first = max(0, min(selected - visible / 2, rows.count - visible))
        for (k, row) in rows[first..<min(rows.count, first + visible)].enumerated() {
            let i = first + k
            let y = inner.y + k * perRow
            let isSel = i == selected
            let base = isSel ? t[.selected] : t[.normal]
            if isSel { c.fill(Rect(x: inner.x, y: y, width: inner.width, height: perRow), t[.selected]) }
            switch row {
            case .file(let f):
                let right = " v\(f.version) " + DisplayWidth.pad(size(f.bytes), to: 8, left: true)
                let pathW = max(1, inner.width - 1 - DisplayWidth.of(right))
                c.text(DisplayWidth.truncate(Sanitizer.line(f.path), to: pathW), x: inner.x + 1, y: y, base.adding(.bold), clip: inner)
                c.text(right, x: inner.maxX - DisplayWidth.of(right), y: y, base, clip: inner)
                if perRow == 2 {
                    let who = "  \(f.phase.rawValue) · \(Sanitizer.line(f.model.rawValue))"
                    c.text(DisplayWidth.truncate(who, to: inner.width - 1), x: inner.x + 1, y: y + 1, isSel ? base : t[.muted], clip: inner)
                }
            case .refused(let x):
                let name = "✗ " + Sanitizer.line(x.name)
                c.text(DisplayWidth.truncate(name, to: inner.width - 1), x: inner.x + 1, y: y, isSel ? base : t[.error], clip: inner)
                if perRow == 2 {
                    let why = "  refused: " + Sanitizer.line(x.reason)
                    c.text(DisplayWidth.truncate(why, to: inner.width - 1), x: inner.x + 1, y: y + 1, isSel ? base : t[.error], clip: inner)
                }
            }
        }
    }

    static func drawContent(_ c: inout Canvas, _ r: Rect, _ e: RunEntry, theme t: Theme) {
        let row = e.selectedFileRow
        var title = "Content"
        switch row {
        case .file(let f)?:
            let author = f.step == f.phase.rawValue ? f.step : "\(f.step) (\(f.phase.rawValue))"
            title = "\(Sanitizer.line(f.path)) v\(f.version) · \(Sanitizer.line(author)) · \(Sanitizer.line(f.model.rawValue))"
        case .refused(let x)?:
            title = "refused by \(x.step)"
        case nil: break
        }
        if e.fileScroll > 0 { title += " · line \(e.fileScroll + 1)" }
        c.box(r, title: DisplayWidth.truncate(title, to: max(1, r.width - 6)), t[.border], titleStyle: t[.muted].adding(.bold))
        let inner = r.inset(1)
        guard inner.height > 0, inner.width > 6 else { return }
        switch row {
        case nil:
            c.text("w closes the files view", x: inner.x + 1, y: inner.y, t[.muted], clip: inner)
        case .refused(let x)?:
            c.text("not written: " + Sanitizer.line(x.reason), x: inner.x + 1, y: inner.y, t[.error], clip: inner)
            let given: String = "name as given: " + Sanitizer.line(x.name)
            let wrapped: [String] = Wrap.lines(given, width: inner.width - 2)
            let room: Int = max(0, inner.height - 2)
            for (i, l) in wrapped.prefix(room).enumerated() {
                let y: Int = inner.y + 2 + i
                c.text(l, x: inner.x + 1, y: y, t[.normal], clip: inner)
            }
        case .file(let f)?:
            guard let o = e.openFile, o.path == f.path else {
                c.text("loading…", x: inner.x + 1, y: inner.y, t[.muted], clip: inner)
                return
            }
            if let err = o.error {
                c.text("cannot show the file: " + err, x: inner.x + 1, y: inner.y, t[.error], clip: inner)
                return
            }
            let gutter = max(3, String(o.lines.count).count) + 1
            let visible = o.truncated ? inner.height - 1 : inner.height
            let start = min(max(0, e.fileScroll), max(0, o.lines.count - 1))
            for (i, line) in o.lines[start..<min(o.lines.count, start + max(0, visible))].enumerated() {
                let y = inner.y + i
                c.text(DisplayWidth.pad(String(start + i + 1), to: gutter - 1, left: true), x: inner.x, y: y, t[.muted], clip: inner)
                c.text(DisplayWidth.truncate(line, to: max(0, inner.width - gutter - 1)), x: inner.x + gutter + 1, y: y, t[.normal], clip: inner)
            }
            if o.lines.isEmpty { c.text("(empty file)", x: inner.x + 1, y: inner.y, t[.muted], clip: inner) }
            if o.truncated {
                c.text("… truncated for display (\(OpenFile.maxLines) lines / \(OpenFile.maxBytes / 1024) KB)", x: inner.x + 1, y: inner.maxY - 1, t[.muted], clip: inner)
            }
        }
    }
}
