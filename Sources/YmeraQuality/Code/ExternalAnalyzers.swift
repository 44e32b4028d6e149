import Foundation
import YmeraCore

/// The field's own analyzers, used when installed; their findings carry their name as `source`.
struct ExternalAnalyzers: Sendable {
    let locator: ToolLocator
    let runner: ToolRunner
    let timeout: Duration

    enum Outcome<T: Sendable>: Sendable {
        case ran(T, tool: String)
        case absent(String)
        case failed(String)
    }

    /// Bandit (`bandit -f json`): Python security.
    func bandit(_ block: CodeBlock, file: URL, in dir: URL) async -> Outcome<[QualityFinding]> {
        guard let bandit = locator.find("bandit") else { return .absent("bandit not installed") }
        let r = await runner.run(bandit, ["-f", "json", "-q", "--ignore-nosec", file.lastPathComponent], in: dir, limits: .init(timeout: timeout, maxOutputBytes: 2 << 20))
        if r.timedOut { return .failed("bandit timed out") }
        if let e = r.launchError { return .failed("bandit could not start: \(e)") }
        struct Out: Decodable {
            struct Result: Decodable {
                var test_id: String
                var test_name: String
                var issue_severity: String
                var issue_confidence: String
                var issue_text: String
                var line_number: Int
            }
            struct Err: Decodable { var reason: String? }
            var results: [Result]
            var errors: [Err]?
        }
        // Exit 1 means "issues found"; anything that is not JSON is a failure of the tool.
        guard let out = try? JSONDecoder().decode(Out.self, from: Data(r.stdout.utf8)) else {
            return .failed("bandit gave no JSON (exit \(r.exitCode))")
        }
        if let err = out.errors?.first, out.results.isEmpty {
            return .failed("bandit could not scan: \(err.reason ?? "error")")
        }
        // `assert` is how pytest tests are written: B101 in a test file is not a finding.
        let results = block.isTest ? out.results.filter { $0.test_id != "B101" } : out.results
        let findings = results.map { res in
            let sev: QualityFinding.Severity =
                switch res.issue_severity.uppercased() {
                case "HIGH": .high
                case "MEDIUM": .medium
                case "LOW": .low
                default: .info
                }
            return QualityFinding(
                rule: res.test_id, source: "bandit", severity: sev, line: block.startLine + res.line_number - 1,
                message: "\(res.test_name): \(res.issue_text) (confidence \(res.issue_confidence.lowercased()))")
        }
        return .ran(findings, tool: "bandit")
    }

    /// radon (`radon cc -j`): Python cyclomatic complexity per function.
    func radon(_ block: CodeBlock, file: URL, in dir: URL) async -> Outcome<[FunctionComplexity]> {
        guard let radon = locator.find("radon") else { return .absent("radon not installed") }
        let r = await runner.run(radon, ["cc", "-j", file.lastPathComponent], in: dir, limits: .init(timeout: timeout, maxOutputBytes: 2 << 20))
        if r.timedOut { return .failed("radon timed out") }
        guard r.exitCode == 0, let data = r.stdout.data(using: .utf8),
            let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let entries = top.values.first as? [[String: Any]]
        else {
            return .failed("radon gave no JSON (exit \(r.exitCode))")
        }
        var out: [FunctionComplexity] = []
        func add(_ e: [String: Any], prefix: String) {
            guard let name = e["name"] as? String, let line = e["lineno"] as? Int, let cc = e["complexity"] as? Int else { return }
            let type = e["type"] as? String
            let full: String
            if type == "method", let cls = e["classname"] as? String { full = "\(cls).\(name)" } else { full = prefix + name }
            out.append(FunctionComplexity(name: full, line: block.startLine + line - 1, complexity: cc, source: "radon"))
            for c in (e["closures"] as? [[String: Any]]) ?? [] { add(c, prefix: full + ".") }
        }
        for e in entries where (e["type"] as? String) != "class" { add(e, prefix: "") }
        // radon lists methods after their class; keep the order of appearance.
        return .ran(out.sorted { $0.line < $1.line }, tool: "radon")
    }

    /// ShellCheck (`shellcheck -f json`): shell lint, including quoting bugs that become security holes.
    func shellcheck(_ block: CodeBlock, file: URL, in dir: URL) async -> Outcome<[QualityFinding]> {
        guard let sc = locator.find("shellcheck") else { return .absent("shellcheck not installed") }
        var args = ["-f", "json"]
        if !block.code.hasPrefix("#!") { args += ["-s", "bash"] }
        let r = await runner.run(sc, args + [file.lastPathComponent], in: dir, limits: .init(timeout: timeout, maxOutputBytes: 2 << 20))
        if r.timedOut { return .failed("shellcheck timed out") }
        struct Item: Decodable { var line: Int; var level: String; var code: Int; var message: String }
        guard let items = try? JSONDecoder().decode([Item].self, from: Data(r.stdout.utf8)) else {
            return .failed("shellcheck gave no JSON (exit \(r.exitCode))")
        }
        return .ran(items.map { i in
            let sev: QualityFinding.Severity =
                switch i.level {
                case "error": .high
                case "warning": .medium
                case "info": .low
                default: .info
                }
            return QualityFinding(rule: "SC\(i.code)", source: "shellcheck", severity: sev, line: block.startLine + i.line - 1, message: i.message)
        }, tool: "shellcheck")
    }

    /// Ruff (`ruff check --output-format json`): Python lint (undefined names, unused imports, ...).
    func ruff(_ block: CodeBlock, file: URL, in dir: URL) async -> Outcome<[QualityFinding]> {
        guard let ruff = locator.find("ruff") else { return .absent("ruff not installed") }
        let r = await runner.run(
            ruff, ["check", "--output-format", "json", "--no-cache", "--isolated", "--select", "E9,F", file.lastPathComponent],
            in: dir, limits: .init(timeout: timeout, maxOutputBytes: 2 << 20))
        if r.timedOut { return .failed("ruff timed out") }
        struct Item: Decodable {
            struct Loc: Decodable { var row: Int }
            var code: String?
            var message: String
            var location: Loc?
        }
        guard let items = try? JSONDecoder().decode([Item].self, from: Data(r.stdout.utf8)) else {
            return .failed("ruff gave no JSON (exit \(r.exitCode))")
        }
        return .ran(items.map { i in
            let code = i.code ?? "ruff"
            // Names that fail at run time (undefined, used before assignment) and parse errors are bugs.
            let sev: QualityFinding.Severity =
                ["F821", "F822", "F823", "F704", "F706"].contains(code) || code.hasPrefix("E9") ? .high
                : ["F811", "F632", "F601", "F602"].contains(code) || code.hasPrefix("F7") ? .medium : .low
            return QualityFinding(rule: code, source: "ruff", severity: sev, line: i.location.map { block.startLine + $0.row - 1 }, message: i.message)
        }, tool: "ruff")
    }
}

/// Lint score: 1 − (high 0.2, medium 0.05, low 0.01 each), floored at 0.
func lintScore(_ findings: [QualityFinding]) -> Double {
    max(0, 1 - findings.reduce(0.0) { acc, f in
        switch f.severity {
        case .high: acc + 0.2
        case .medium: acc + 0.05
        case .low: acc + 0.01
        case .info: acc
        }
    })
}
