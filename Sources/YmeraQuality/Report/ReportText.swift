import Foundation
import YmeraCore

/// Strips control and escape sequences from untrusted text before it reaches a terminal: the core's
/// one sanitizer, so a report drops a whole `ESC [31m` sequence exactly as the dashboard does.
public func sanitizeForTerminal(_ s: String) -> String { TextSanitizer.clean(s, tabs: .keep) }

extension RealValidator.Result {
    /// The human-readable breakdown `ymera validate` prints: per block its syntax, the complexity of
    /// each function and the findings with their lines; then tests, requirements, dimensions, score.
    public func renderText() -> String {
        var o: [String] = []
        let r = report
        func s(_ t: String) -> String { sanitizeForTerminal(t) }
        func pct(_ d: Double?) -> String { d.map { String(format: "%.2f", $0) } ?? "not checked" }
        o.append("kind: \(kind.rawValue)")
        if let code {
            if code.blocks.isEmpty { o.append("code: none found") }
            for b in code.blocks {
                o.append("")
                o.append("== \(s(b.label)) — language from \(b.languageEvidence)\(b.isTest ? ", test file" : "")")
                let status = b.syntax.status.rawValue.replacingOccurrences(of: "_", with: " ").uppercased()
                o.append("syntax: \(status)\(b.syntax.tool.map { " [\(s($0))]" } ?? "") — \(s(b.syntax.detail))")
                for f in b.syntaxFindings {
                    o.append("  line \(f.line.map(String.init) ?? "?"): \(s(f.message)) [\(f.source)]")
                }
                if b.functions.isEmpty {
                    o.append("complexity: no functions")
                } else {
                    o.append("complexity (\(s(b.complexityDetail))):")
                    for f in b.functions {
                        let flag = f.complexity > CodeAnalyzer.complexityLimit ? "  ← above \(CodeAnalyzer.complexityLimit)" : ""
                        o.append("  line \(f.line): \(s(f.name)) = \(f.complexity) [\(f.source)]\(flag)")
                    }
                }
                if b.securityFindings.isEmpty {
                    o.append("security: no findings")
                } else {
                    o.append("security:")
                    for f in b.securityFindings {
                        o.append("  line \(f.line.map(String.init) ?? "?"): \(f.severity.rawValue.uppercased()) \(s(f.rule)) [\(s(f.source))] \(s(f.message))")
                    }
                }
                if !b.lintFindings.isEmpty {
                    o.append("lint:")
                    for f in b.lintFindings.prefix(30) {
                        o.append("  line \(f.line.map(String.init) ?? "?"): \(f.severity.rawValue) \(s(f.rule)) [\(s(f.source))] \(s(f.message))")
                    }
                    if b.lintFindings.count > 30 { o.append("  … \(b.lintFindings.count - 30) more") }
                }
                o.append("analyzers: \(s(b.analyzers.joined(separator: "; ")))")
            }
            if let t = code.tests {
                o.append("")
                o.append("tests: \(t.status.rawValue.replacingOccurrences(of: "_", with: " ").uppercased()) — \(s(t.detail))")
                o.append("  sandbox: \(s(t.sandbox))")
            }
        }
        if !requirements.isEmpty {
            o.append("")
            o.append("requirements:")
            for c in requirements {
                o.append("  [\(c.passed ? "PASS" : "FAIL")] \(s(c.requirement)) — \(s(c.evidence))")
            }
        }
        if let j = judge {
            o.append("")
            o.append("judge \(s(j.model.rawValue)): \(j.scores.count) valid scorings, agreement \(pct(j.agreement)), tolerance +\(String(format: "%.2f", j.tolerance))")
            for f in j.failures { o.append("  failed: \(s(f))") }
        }
        o.append("")
        o.append("dimensions (weight, score — why):")
        for d in r.dimensions {
            if d.name == "cap" {
                o.append("  cap            \(s(d.detail))")
                continue
            }
            o.append("  \(d.name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(String(format: "%.2f", d.weight))  \(pct(d.score).padding(toLength: 11, withPad: " ", startingAt: 0)) \(s(d.detail))")
        }
        let band = r.tolerance > 0 ? String(format: " (−%.2f judge tolerance)", r.tolerance) : ""
        o.append(String(format: "score: %.2f  threshold: %.2f%@  → %@", r.score, r.threshold, band, r.passed ? "PASS" : "FAIL"))
        return o.joined(separator: "\n")
    }
}
