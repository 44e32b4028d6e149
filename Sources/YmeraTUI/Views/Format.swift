import YmeraCore

/// Number and time formats shared by the views.
enum Fmt {
    /// `0.8s`, `12s`, `1m05s`, `1h02m`.
    static func duration(_ ms: Int?) -> String {
        guard let ms else { return "—" }
        if ms < 10_000 { return String(format1(Double(ms) / 1000)) + "s" }
        let s = ms / 1000
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + pad2(s % 60) + "s" }
        return "\(s / 3600)h" + pad2(s / 60 % 60) + "m"
    }

    /// A clock: `00:12`, `01:02:03`.
    static func clock(_ ms: Int) -> String {
        let s = max(0, ms / 1000)
        if s >= 3600 { return pad2(s / 3600) + ":" + pad2(s / 60 % 60) + ":" + pad2(s % 60) }
        return pad2(s / 60) + ":" + pad2(s % 60)
    }

    static func tokens(_ n: Int) -> String {
        if n < 1000 { return "\(n)" }
        if n < 100_000 { return format1(Double(n) / 1000) + "k" }
        if n < 1_000_000 { return "\(n / 1000)k" }
        return format1(Double(n) / 1_000_000) + "M"
    }

    static func score(_ x: Double?) -> String {
        guard let x else { return "—" }
        return format2(x)
    }

    static func percent(_ x: Double) -> String { "\(Int((x * 100).rounded()))%" }

    static func format1(_ x: Double) -> String {
        let v = Int((x * 10).rounded())
        return "\(v / 10).\(abs(v % 10))"
    }

    static func format2(_ x: Double) -> String {
        let v = Int((x * 100).rounded())
        return "\(v / 100)." + pad2(abs(v % 100))
    }

    static func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static func price(_ p: Pricing?) -> String {
        guard let p else { return "unpriced" }
        if p.inputPerMillion == 0 && p.outputPerMillion == 0 { return "free" }
        return "$" + trim(p.inputPerMillion) + "/$" + trim(p.outputPerMillion)
    }

    static func trim(_ x: Double) -> String {
        if x == x.rounded() { return String(Int(x)) }
        var s = format2(x)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }

    static func stars(_ n: Int) -> String {
        let k = min(5, max(0, n))
        return String(repeating: "●", count: k) + String(repeating: "○", count: 5 - k)
    }

    /// A bar of `width` cells for a 0…1 value.
    static func bar(_ x: Double, width: Int) -> String {
        let w = max(0, width)
        let filled = Int((min(1, max(0, x)) * Double(w)).rounded())
        return String(repeating: "█", count: filled) + String(repeating: "░", count: w - filled)
    }
}

/// Glyphs and roles for states, so colour and monochrome both show them.
enum StateLook {
    static func step(_ s: StepStatus, runPaused: Bool) -> (String, String, Role) {
        if runPaused && s == .pending { return ("‖", "paused", .paused) }
        switch s {
        case .pending: return ("·", "pending", .pending)
        case .running: return ("▶", "running", .running)
        case .retrying: return ("↻", "retrying", .retrying)
        case .done: return ("✓", "done", .done)
        case .failed: return ("✗", "failed", .failed)
        case .skipped: return ("–", "skipped", .skipped)
        }
    }

    static func run(_ s: RunStatus) -> (String, Role) {
        switch s {
        case .planned: return ("·", .pending)
        case .running: return ("▶", .running)
        case .paused: return ("‖", .paused)
        case .awaitingApproval: return ("⏸", .paused)
        case .succeeded: return ("✓", .done)
        case .completedBelowThreshold: return ("▽", .retrying)
        case .failed: return ("✗", .failed)
        case .cancelled: return ("⊘", .skipped)
        case .interrupted: return ("!", .retrying)
        }
    }

    static func breaker(_ s: BreakerState) -> (String, Role) {
        switch s {
        case .closed: return ("● closed", .breakerClosed)
        case .open: return ("○ OPEN", .breakerOpen)
        case .halfOpen: return ("◐ half-open", .breakerHalfOpen)
        }
    }

    static func serving(_ k: ServingKind) -> Role {
        switch k {
        case .simulated, .mixed: .badgeSimulated
        case .local: .badgeLocal
        case .cloud: .badgeCloud
        }
    }

    static func score(_ x: Double?, threshold: Double) -> Role {
        guard let x else { return .muted }
        if x >= threshold { return .scoreGood }
        if x >= threshold - 0.15 { return .scoreMid }
        return .scoreBad
    }
}

/// Word-wraps sanitized text to a width in columns (by display width, wide characters included).
enum Wrap {
    static func lines(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var out: [String] = []
        for para in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            var w = 0
            var lastSpace: (String.Index, Int)? = nil
            for ch in para {
                let cw = ch.isASCII ? 1 : DisplayWidth.of(ch)
                if w + cw > width {
                    if let (idx, _) = lastSpace, idx > line.startIndex {
                        let head = String(line[..<idx])
                        let tail = String(line[line.index(after: idx)...])
                        out.append(head)
                        line = tail
                        w = DisplayWidth.of(line)
                    } else {
                        out.append(line)
                        line = ""
                        w = 0
                    }
                    lastSpace = nil
                }
                if ch == " " { lastSpace = (line.endIndex, w) }
                line.append(ch)
                w += cw
            }
            out.append(line)
        }
        return out
    }
}
