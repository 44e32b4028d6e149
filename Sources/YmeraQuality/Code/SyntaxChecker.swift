import Foundation
import YmeraCore

/// Checks syntax with each language's own toolchain, found by PATH lookup. When the toolchain is
/// not installed the answer is "not checked" — never a guessed pass.
struct SyntaxChecker: Sendable {
    let locator: ToolLocator
    let runner: ToolRunner
    let timeout: Duration
    let pythonHelper: URL?

    struct Outcome {
        var result: SyntaxResult
        var findings: [QualityFinding]
        /// Functions measured by the Python helper as a by-product (Python only).
        var pythonFunctions: [(name: String, line: Int, complexity: Int)]?
    }

    func check(_ block: CodeBlock, file: URL, in dir: URL) async -> Outcome {
        switch block.language {
        case .python: return await python(block, file: file, in: dir)
        case .javascript:
            return await generic(block, file: file, dir: dir, candidates: ["node"], args: { _ in ["--check", file.lastPathComponent] }, label: "node --check")
        case .swift:
            return await generic(block, file: file, dir: dir, candidates: ["swiftc"], args: { _ in ["-parse", file.lastPathComponent] }, label: "swiftc -parse")
        case .c:
            return await generic(block, file: file, dir: dir, candidates: ["cc", "gcc", "clang"], args: { _ in ["-fsyntax-only", "-std=c17", file.lastPathComponent] }, label: "-fsyntax-only")
        case .cpp:
            return await generic(block, file: file, dir: dir, candidates: ["c++", "g++", "clang++"], args: { _ in ["-fsyntax-only", "-std=c++17", file.lastPathComponent] }, label: "-fsyntax-only")
        case .shell:
            let shell = block.code.hasPrefix("#!") && block.code.split(separator: "\n").first?.contains("zsh") == true ? "zsh" : "bash"
            return await generic(block, file: file, dir: dir, candidates: [shell], args: { _ in ["-n", file.lastPathComponent] }, label: "\(shell) -n")
        case .go:
            return await generic(block, file: file, dir: dir, candidates: ["gofmt"], args: { _ in ["-e", "-l", file.lastPathComponent] }, label: "gofmt -e")
        case .ruby:
            return await generic(block, file: file, dir: dir, candidates: ["ruby"], args: { _ in ["-c", file.lastPathComponent] }, label: "ruby -c")
        case .json:
            return await json(block, file: file, in: dir)
        case .typescript:
            return await typescript(block, file: file, in: dir)
        case .rust:
            return await rust(block, file: file, in: dir)
        case .java:
            // javac stops after parsing when told to: imports of absent libraries are not errors then.
            return await generic(block, file: file, dir: dir, candidates: ["javac"], args: { _ in ["-XDshould-stop.ifNoError=PARSE", "-d", "javac-out", file.lastPathComponent] }, label: "javac (parse only)")
        case .sql:
            return notChecked("SQL dialects differ; no dialect-neutral parser installed; not checked")
        case .unknown:
            return notChecked("language not recognised; not checked")
        }
    }

    func notChecked(_ why: String) -> Outcome {
        Outcome(result: SyntaxResult(status: .notChecked, tool: nil, detail: why), findings: [])
    }

    func timedOutOrFailedToStart(_ r: ToolResult, _ tool: String) -> Outcome? {
        if let e = r.launchError { return notChecked("\(tool) could not start (\(e)); not checked") }
        if r.timedOut { return notChecked("\(tool) timed out after \(timeout); not checked") }
        return nil
    }

    private func python(_ block: CodeBlock, file: URL, in dir: URL) async -> Outcome {
        guard let py = locator.find("python3") ?? locator.find("python") else {
            return notChecked("python3 not found on PATH; not checked")
        }
        let args: [String]
        if let helper = pythonHelper {
            args = [helper.path, file.lastPathComponent]
        } else {
            args = ["-c", "import sys,json;src=open(sys.argv[1],'rb').read()\ntry:\n compile(src,sys.argv[1],'exec')\n print(json.dumps({'python':sys.version.split()[0],'syntax_error':None,'functions':None}))\nexcept SyntaxError as e:\n print(json.dumps({'python':sys.version.split()[0],'syntax_error':{'line':e.lineno or 0,'column':e.offset or 0,'message':type(e).__name__+': '+str(e.msg)},'functions':None}))", file.lastPathComponent]
        }
        let r = await runner.run(py, args, in: dir, limits: .init(timeout: timeout))
        if let o = timedOutOrFailedToStart(r, "python3") { return o }
        struct Out: Decodable {
            struct Err: Decodable { var line: Int; var column: Int; var message: String }
            struct Fn: Decodable { var name: String; var line: Int; var complexity: Int }
            var python: String
            var syntax_error: Err?
            var functions: [Fn]?
        }
        guard r.exitCode == 0, let out = try? JSONDecoder().decode(Out.self, from: Data(r.stdout.utf8)) else {
            let why = r.stderr.split(separator: "\n").last.map(String.init) ?? "exit \(r.exitCode)"
            return notChecked("python3 checker failed (\(why)); not checked")
        }
        let tool = "python3 \(out.python) compile()"
        if let e = out.syntax_error {
            let line = e.line > 0 ? block.startLine + e.line - 1 : nil
            return Outcome(
                result: SyntaxResult(status: .failed, tool: tool, detail: "\(e.message) at line \(e.line)"),
                findings: [QualityFinding(rule: "syntax-error", source: "python3", severity: .high, line: line, message: e.message)])
        }
        return Outcome(
            result: SyntaxResult(status: .passed, tool: tool, detail: "parsed and compiled by python3 \(out.python)"),
            findings: [], pythonFunctions: out.functions?.map { ($0.name, $0.line, $0.complexity) })
    }

    /// rustfmt parses the file without resolving crates (rustc has no parse-only mode on stable).
    /// It exits 1 both for a syntax error and for a formatting difference: only `error:` with a
    /// `--> file:line:col` location counts as a syntax error.
    private func rust(_ block: CodeBlock, file: URL, in dir: URL) async -> Outcome {
        guard let rustfmt = locator.find("rustfmt") else { return notChecked("rustfmt not found on PATH; not checked") }
        let r = await runner.run(rustfmt, ["--edition", "2021", "--check", file.lastPathComponent], in: dir, limits: .init(timeout: timeout))
        if let o = timedOutOrFailedToStart(r, "rustfmt") { return o }
        let lines = r.stderr.split(separator: "\n").map(String.init)
        var findings: [QualityFinding] = []
        for (i, l) in lines.enumerated() where l.hasPrefix("error") {
            let loc = lines[(i + 1)...].prefix(2).first { $0.contains("--> ") }
            let n = loc.flatMap { l in l.split(separator: ":").dropFirst().first.flatMap { Int($0) } }
            findings.append(QualityFinding(
                rule: "syntax-error", source: "rustfmt", severity: .high, line: n.map { block.startLine + $0 - 1 },
                message: String(l.drop { $0 != ":" }.dropFirst()).trimmingCharacters(in: .whitespaces)))
        }
        let tool = "rustfmt --check (parser)"
        if r.exitCode == 0 || (findings.isEmpty && (r.stdout.contains("Diff in") || r.stderr.isEmpty)) {
            return Outcome(result: SyntaxResult(status: .passed, tool: tool, detail: "parsed by rustfmt"), findings: [])
        }
        if findings.isEmpty {
            return notChecked("rustfmt failed (\(lines.first ?? "exit \(r.exitCode)")); not checked")
        }
        return Outcome(
            result: SyntaxResult(status: .failed, tool: tool, detail: "rustfmt: \(findings[0].message)"), findings: findings)
    }

    /// tsc type-checks, but numbers its diagnostics: TS1000–TS1999 are syntax errors. Only those
    /// count; type errors (often just modules not installed here) are left to the tests and the judge.
    private func typescript(_ block: CodeBlock, file: URL, in dir: URL) async -> Outcome {
        guard let tsc = locator.find("tsc") else { return notChecked("tsc not found on PATH; not checked") }
        let r = await runner.run(
            tsc, ["--noEmit", "--noResolve", "--skipLibCheck", "--pretty", "false", "--lib", "es2020,dom", file.lastPathComponent],
            in: dir, limits: .init(timeout: timeout))
        if let o = timedOutOrFailedToStart(r, "tsc") { return o }
        let re = try? NSRegularExpression(pattern: #"\((\d+),\d+\): error TS(\d+): (.*)$"#, options: [.anchorsMatchLines])
        let text = r.stdout + "\n" + r.stderr
        let ns = text as NSString
        var syntaxErrors: [QualityFinding] = []
        var other = 0
        for m in re?.matches(in: text, range: NSRange(location: 0, length: ns.length)) ?? [] {
            let line = Int(ns.substring(with: m.range(at: 1))) ?? 0
            let code = Int(ns.substring(with: m.range(at: 2))) ?? 0
            if (1000..<2000).contains(code) {
                syntaxErrors.append(QualityFinding(
                    rule: "syntax-error", source: "tsc", severity: .high, line: block.startLine + line - 1,
                    message: "TS\(code): \(ns.substring(with: m.range(at: 3)))"))
            } else {
                other += 1
            }
        }
        let tool = "tsc (syntax diagnostics TS1xxx)"
        if syntaxErrors.isEmpty {
            if r.exitCode != 0 && other == 0 {
                return notChecked("tsc failed (\(text.split(separator: "\n").first.map(String.init) ?? "exit \(r.exitCode)")); not checked")
            }
            let note = other > 0 ? "; \(other) type diagnostics not counted (modules are not installed here)" : ""
            return Outcome(result: SyntaxResult(status: .passed, tool: tool, detail: "parsed by tsc\(note)"), findings: [])
        }
        return Outcome(
            result: SyntaxResult(status: .failed, tool: tool, detail: "tsc: \(syntaxErrors[0].message)"), findings: syntaxErrors)
    }

    private func json(_ block: CodeBlock, file: URL, in dir: URL) async -> Outcome {
        guard let py = locator.find("python3") else {
            // Foundation's own parser is a real parser too.
            if (try? JSONSerialization.jsonObject(with: Data(block.code.utf8), options: [.fragmentsAllowed])) != nil {
                return Outcome(result: SyntaxResult(status: .passed, tool: "Foundation JSONSerialization", detail: "valid JSON"), findings: [])
            }
            return Outcome(
                result: SyntaxResult(status: .failed, tool: "Foundation JSONSerialization", detail: "invalid JSON"),
                findings: [QualityFinding(rule: "syntax-error", source: "foundation-json", severity: .high, line: block.startLine, message: "invalid JSON")])
        }
        let r = await runner.run(py, ["-c", "import json,sys; json.load(open(sys.argv[1]))", file.lastPathComponent], in: dir, limits: .init(timeout: timeout))
        if let o = timedOutOrFailedToStart(r, "python3 json") { return o }
        if r.exitCode == 0 {
            return Outcome(result: SyntaxResult(status: .passed, tool: "python3 json", detail: "valid JSON"), findings: [])
        }
        let last = r.stderr.split(separator: "\n").last.map(String.init) ?? "invalid JSON"
        let line = Self.firstInt(after: "line ", in: last).map { block.startLine + $0 - 1 }
        return Outcome(
            result: SyntaxResult(status: .failed, tool: "python3 json", detail: last),
            findings: [QualityFinding(rule: "syntax-error", source: "python3-json", severity: .high, line: line, message: last)])
    }

    private func generic(
        _ block: CodeBlock, file: URL, dir: URL, candidates: [String], args: (String) -> [String], label: String
    ) async -> Outcome {
        guard let (name, path) = candidates.lazy.compactMap({ c in locator.find(c).map { (c, $0) } }).first else {
            return notChecked("\(candidates.joined(separator: "/")) not found on PATH; not checked")
        }
        let tool = label.hasPrefix("-") ? "\(name) \(label)" : label
        let r = await runner.run(path, args(name), in: dir, limits: .init(timeout: timeout))
        if let o = timedOutOrFailedToStart(r, name) { return o }
        let text = r.stderr + "\n" + r.stdout
        // A missing header is not the code's syntax: we could not check it here.
        if r.exitCode != 0, [.c, .cpp].contains(block.language),
            text.contains("No such file or directory") || text.contains("file not found"),
            text.range(of: #"fatal error: .*(No such file or directory|file not found)"#, options: .regularExpression) != nil
        {
            let msg = text.split(separator: "\n").first { $0.contains("fatal error") }.map(String.init) ?? "missing header"
            return notChecked("a header is not installed here (\(Self.strip(msg, file.lastPathComponent))); not checked")
        }
        if r.exitCode == 0 && !(name == "gofmt" && text.contains(": ")) {
            return Outcome(result: SyntaxResult(status: .passed, tool: tool, detail: "accepted by \(tool)"), findings: [])
        }
        let findings = Self.parseDiagnostics(text, fileName: file.lastPathComponent, block: block, source: name)
        let first = findings.first?.message ?? (text.split(separator: "\n").first.map(String.init) ?? "exit \(r.exitCode)")
        return Outcome(
            result: SyntaxResult(status: .failed, tool: tool, detail: "\(tool): \(Self.strip(first, file.lastPathComponent))"),
            findings: findings.isEmpty
                ? [QualityFinding(rule: "syntax-error", source: name, severity: .high, line: nil, message: Self.strip(first, file.lastPathComponent))]
                : findings)
    }

    /// `file:LINE:COL: error: msg` (gcc, clang, swiftc, gofmt), `file: line N: msg` (bash),
    /// `file:LINE` + `SyntaxError: msg` (node).
    static func parseDiagnostics(_ text: String, fileName: String, block: CodeBlock, source: String) -> [QualityFinding] {
        var out: [QualityFinding] = []
        let lines = text.split(separator: "\n").map(String.init)
        let escaped = NSRegularExpression.escapedPattern(for: fileName)
        let cStyle = try? NSRegularExpression(pattern: "\(escaped):(\\d+):(?:\\d+:)?\\s*(?:fatal )?error:?\\s*(.*)$")
        let bashStyle = try? NSRegularExpression(pattern: "\(escaped): line (\\d+): (.*)$")
        let nodeLoc = try? NSRegularExpression(pattern: "\(escaped):(\\d+)$")
        for (i, l) in lines.enumerated() {
            let ns = l as NSString
            let range = NSRange(location: 0, length: ns.length)
            for re in [cStyle, bashStyle].compactMap({ $0 }) {
                if let m = re.firstMatch(in: l, range: range), let n = Int(ns.substring(with: m.range(at: 1))) {
                    let msg = ns.substring(with: m.range(at: 2))
                    if re === cStyle && (l.contains(": warning:") || l.contains(": note:")) { continue }
                    out.append(QualityFinding(rule: "syntax-error", source: source, severity: .high, line: block.startLine + n - 1, message: msg))
                }
            }
            if let re = nodeLoc, let m = re.firstMatch(in: l, range: range), let n = Int(ns.substring(with: m.range(at: 1))) {
                let msg = lines[(i + 1)...].first { $0.contains("Error:") } ?? "syntax error"
                out.append(QualityFinding(rule: "syntax-error", source: source, severity: .high, line: block.startLine + n - 1, message: msg))
            }
        }
        return Array(out.prefix(20))
    }

    static func strip(_ s: String, _ file: String) -> String { s.replacingOccurrences(of: file + ":", with: "line ") }

    static func firstInt(after marker: String, in s: String) -> Int? {
        guard let r = s.range(of: marker) else { return nil }
        return Int(s[r.upperBound...].prefix { $0.isNumber })
    }
}
