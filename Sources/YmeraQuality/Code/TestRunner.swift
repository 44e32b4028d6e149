import Foundation
import YmeraCore

/// Remembers what the sandbox can do on this machine (probed once per process).
actor SandboxProbe {
    static let shared = SandboxProbe()
    private var cached: ToolRunner.SandboxSupport?
    func result(systemPath: String) async -> ToolRunner.SandboxSupport {
        if let c = cached { return c }
        let r = await ToolRunner.probeSandbox(systemPath: systemPath)
        cached = r
        return r
    }
}

/// Runs the tests an output provides (pytest/unittest files, node:test files) in a sandbox: a fresh
/// temporary directory, a wall-clock and CPU limit, an address-space limit, no network and a
/// read-only filesystem outside that directory where user namespaces allow it, and a clean environment. Reports passed/failed and line coverage where the
/// `coverage` module is installed.
struct SandboxTestRunner: Sendable {
    let locator: ToolLocator
    let runner: ToolRunner
    let timeout: Duration
    let memoryKiB: Int
    let isolation: ToolRunner.SandboxSupport

    var limits: ProcessLimits {
        ProcessLimits(
            timeout: timeout, maxOutputBytes: 256 * 1024, memoryKiB: memoryKiB, fileSizeKiB: 64 * 1024,
            cpuSeconds: Int(timeout.components.seconds) + 1, isolateNetwork: true)
    }

    var sandboxDescription: String {
        "temp dir, \(timeout.components.seconds) s wall clock, \(memoryKiB / 1024) MiB address space, clean env; \(isolation.detail)"
    }

    func run(_ blocks: [CodeBlock]) async -> TestRunResult? {
        // Python is always run: test files under pytest (or unittest), and every other module imported
        // with its own top-level `test_*` functions called — an exception at import or a failing
        // assert is a failed test, never "no tests".
        let py = blocks.filter { $0.language == .python }
        if !py.isEmpty { return await python(py) }
        let js = blocks.filter { $0.language == .javascript }
        if js.contains(where: \.isTest) { return await node(js) }
        return nil
    }

    func notChecked(_ framework: String?, _ why: String) -> TestRunResult {
        TestRunResult(
            status: .notChecked, framework: framework, passed: 0, failed: 0, errors: 0, lineCoverage: nil,
            coverageTool: nil, sandbox: sandboxDescription, detail: why, outputTail: "")
    }

    /// A safe relative path for a block's file (no absolute paths, no `..`).
    static func safeName(_ name: String?) -> String? {
        guard let n = name, !n.hasPrefix("/"), !n.split(separator: "/").contains(".."),
            n.range(of: #"^[\w./-]+$"#, options: .regularExpression) != nil
        else { return nil }
        return n
    }

    /// Writes blocks to files; an unnamed code block takes the module name the tests import.
    static func layout(_ blocks: [CodeBlock], ext: String) -> [(String, String)] {
        var files: [(String, String)] = []
        var used = Set<String>()
        let tests = blocks.filter(\.isTest)
        var wanted: [String] = []
        for t in tests {
            let ns = t.code as NSString
            let re = try? NSRegularExpression(pattern: #"(?m)^\s*(?:from\s+(\w+)\s+import|import\s+(\w+))|require\(\s*['"]\./(\w+)"#)
            for m in re?.matches(in: t.code, range: NSRange(location: 0, length: ns.length)) ?? [] {
                for g in 1...3 where m.range(at: g).location != NSNotFound {
                    let mod = ns.substring(with: m.range(at: g))
                    if !["pytest", "unittest", "os", "sys", "json", "re", "math", "typing", "dataclasses", "assert", "node", "test"].contains(mod),
                        !wanted.contains(mod)
                    {
                        wanted.append(mod)
                    }
                }
            }
        }
        for b in blocks {
            if let n = safeName(b.fileName), !used.contains(n) {
                used.insert(n)
                files.append((n, b.code))
            }
        }
        wanted.removeAll { w in used.contains("\(w).\(ext)") || used.contains { $0.hasSuffix("/\(w).\(ext)") } }
        var k = 0
        for b in blocks where safeName(b.fileName) == nil || files.contains(where: { $0.0 == b.fileName && $0.1 != b.code }) {
            k += 1
            var name: String
            if b.isTest {
                name = ext == "py" ? "test_block_\(k).py" : "block_\(k).test.js"
            } else if !wanted.isEmpty {
                name = "\(wanted.removeFirst()).\(ext)"
            } else {
                name = "block_\(k).\(ext)"
            }
            while used.contains(name) { k += 1; name = "block_\(k).\(ext)" }
            used.insert(name)
            files.append((name, b.code))
        }
        return files
    }

    /// Imports each module given on the command line and calls its top-level zero-argument `test_*`
    /// functions; prints one `YMERA-RESULT {json}` line.
    static let importDriver = """
        import sys, os, importlib, inspect, json
        sys.path.insert(0, os.getcwd())
        res = {"imported": [], "import_errors": [], "passed": [], "failed": []}
        for name in sys.argv[1:]:
            try:
                m = importlib.import_module(name)
            except SystemExit as e:
                if e.code in (None, 0):
                    res["imported"].append(name)
                else:
                    res["import_errors"].append("%s: SystemExit(%r) at import" % (name, e.code))
                continue
            except BaseException as e:
                res["import_errors"].append(("%s: %s: %s" % (name, type(e).__name__, e))[:300])
                continue
            res["imported"].append(name)
            for fname, f in list(vars(m).items()):
                if not (fname.startswith("test") and inspect.isfunction(f) and f.__module__ == m.__name__):
                    continue
                try:
                    if any(p.default is p.empty for p in inspect.signature(f).parameters.values()):
                        continue
                    f()
                    res["passed"].append("%s.%s" % (name, fname))
                except BaseException as e:
                    res["failed"].append(("%s.%s: %s: %s" % (name, fname, type(e).__name__, e))[:300])
        sys.stdout.flush()
        print("YMERA-RESULT " + json.dumps(res))
        """

    struct ImportRun: Decodable {
        var imported: [String]
        var import_errors: [String]
        var passed: [String]
        var failed: [String]
    }

    /// A file name as an importable module name (`pkg/mod.py` → `pkg.mod`), or nil.
    static func moduleName(_ file: String) -> String? {
        guard file.hasSuffix(".py") else { return nil }
        let parts = file.dropLast(3).split(separator: "/").map(String.init)
        guard !parts.isEmpty, parts.allSatisfy({ $0.range(of: #"^[A-Za-z_]\w*$"#, options: .regularExpression) != nil }) else { return nil }
        return parts.joined(separator: ".")
    }

    func python(_ blocks: [CodeBlock]) async -> TestRunResult {
        guard let py = locator.find("python3") ?? locator.find("python") else {
            return notChecked(nil, "python3 not found on PATH; code not run")
        }
        guard let scratch = try? Scratch(prefix: "ymera-tests") else { return notChecked(nil, "no temporary directory") }
        defer { scratch.remove() }
        let files = Self.layout(blocks, ext: "py")
        for (name, code) in files { _ = try? scratch.write(name, code) }
        // The test files by name: pytest collects only test_*.py and *_test.py by itself, so a
        // project's `tests.py` is passed explicitly.
        let testCodes = Set(blocks.filter(\.isTest).map(\.code))
        let testNames = files.filter { testCodes.contains($0.1) }.map(\.0)
        let moduleFiles = files.map(\.0).filter { !testNames.contains($0) }

        var passed = 0, failed = 0, errors = 0
        var details: [String] = []
        var tails: [String] = []
        var framework: String?
        var coverage: Double?
        var withCoverage = false
        var exitOK = true

        // 1. Test files, under pytest (or unittest).
        if !testNames.isEmpty {
            let probe = await runner.run(
                py, ["-c", "import importlib.util as u;print(' '.join(m for m in ('pytest','coverage') if u.find_spec(m)))"],
                in: scratch.url, limits: .init(timeout: .seconds(20)))
            let mods = Set(probe.stdout.split(whereSeparator: \.isWhitespace).map(String.init))
            let fw = mods.contains("pytest") ? "pytest" : "unittest"
            framework = fw
            let testArgs = fw == "pytest"
                ? ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--color=no"] + testNames
                : ["-m", "unittest", "discover", "-v", "-p", "test*.py"]
            withCoverage = mods.contains("coverage")
            let args = withCoverage
                ? ["-m", "coverage", "run", "--data-file=.ymera-coverage", "--source=.", "--omit=test_*.py,*_test.py,tests.py,*/test_*.py,conftest.py"] + testArgs
                : testArgs
            let r = await runner.run(py, args, in: scratch.url, limits: limits)
            if let e = r.launchError { return notChecked(fw, "could not start: \(e)") }
            let text = r.stdout + "\n" + r.stderr
            tails.append(text.split(separator: "\n").suffix(30).joined(separator: "\n"))
            if r.timedOut {
                errors += 1
                exitOK = false
                details.append("tests did not finish within \(timeout.components.seconds) s")
            } else if fw == "pytest" {
                let summary = text.split(separator: "\n").last { $0.range(of: #"\d+ (passed|failed|error)"#, options: .regularExpression) != nil }.map(String.init) ?? ""
                var p = Self.count("passed", in: summary), f = Self.count("failed", in: summary)
                var e = Self.count("error", in: summary) + Self.count("errors", in: summary)
                if r.exitCode == 5 {
                    details.append("pytest collected no tests")
                    p = 0; f = 0; e = 0
                } else if r.exitCode != 0 && p + f + e == 0 {
                    e = 1
                }
                if r.exitCode != 0 && r.exitCode != 5 { exitOK = false }
                passed += p; failed += f; errors += e
                if r.exitCode != 5 { details.append("pytest: \(p) passed, \(f) failed, \(e) errors") }
            } else {
                let ran = text.range(of: #"Ran (\d+) tests?"#, options: .regularExpression).map { Int(text[$0].split(separator: " ")[1]) ?? 0 } ?? 0
                let failedLine = text.split(separator: "\n").first { $0.hasPrefix("FAILED (") }.map(String.init) ?? ""
                let f = Self.count("failures", in: failedLine, equals: true)
                let e = Self.count("errors", in: failedLine, equals: true)
                passed += max(0, ran - f - e); failed += f; errors += e
                if r.exitCode != 0 && ran > 0 { exitOK = false }
                details.append(ran == 0 ? "unittest found no tests" : "unittest: \(max(0, ran - f - e)) passed, \(f) failed, \(e) errors")
            }
            if withCoverage && !r.timedOut {
                let c = await runner.run(
                    py, ["-m", "coverage", "json", "--data-file=.ymera-coverage", "-o", "cov.json", "-q"], in: scratch.url,
                    limits: .init(timeout: .seconds(30)))
                if c.exitCode == 0, let d = try? Data(contentsOf: scratch.url.appendingPathComponent("cov.json")),
                    let obj = try? JSONSerialization.jsonObject(with: d) as? [String: Any],
                    let totals = obj["totals"] as? [String: Any], let pct = totals["percent_covered"] as? Double
                {
                    coverage = pct / 100
                }
            }
        }

        // 2. Every other module imported, its own test functions called (test files too, when the
        // framework collected nothing from them: plain functions under unittest).
        let frameworkRan = passed + failed + errors > 0
        let modules = (frameworkRan ? moduleFiles : moduleFiles + testNames).compactMap(Self.moduleName)
        var importedOnly = false
        if !modules.isEmpty {
            let r = await runner.run(py, ["-c", Self.importDriver] + modules, in: scratch.url, limits: limits)
            if let e = r.launchError { return notChecked(framework, "could not start: \(e)") }
            let line = r.stdout.split(separator: "\n").last { $0.hasPrefix("YMERA-RESULT ") }
            if r.timedOut {
                errors += 1
                details.append("importing the code did not finish within \(timeout.components.seconds) s")
            } else if let line, let d = line.dropFirst("YMERA-RESULT ".count).data(using: .utf8),
                let res = try? JSONDecoder().decode(ImportRun.self, from: d)
            {
                errors += res.import_errors.count
                passed += res.passed.count
                failed += res.failed.count
                var d = "imported \(res.imported.count) of \(modules.count) module\(modules.count == 1 ? "" : "s")"
                if !res.passed.isEmpty || !res.failed.isEmpty {
                    d += "; their own test functions: \(res.passed.count) passed, \(res.failed.count) failed"
                }
                if let e = res.import_errors.first { d += "; exception at import: \(e)" }
                if let f = res.failed.first { d += "; failing: \(f)" }
                details.append(d)
                importedOnly = !frameworkRan && res.passed.isEmpty && res.failed.isEmpty && res.import_errors.isEmpty
            } else {
                errors += 1
                let why = (r.stderr.split(separator: "\n").last.map(String.init) ?? "exit \(r.exitCode)")
                details.append("importing the code failed: \(why.prefix(200))")
            }
            tails.append((r.stdout + "\n" + r.stderr).split(separator: "\n").filter { !$0.hasPrefix("YMERA-RESULT") }.suffix(10).joined(separator: "\n"))
        }
        if passed + failed + errors == 0 && !importedOnly {
            return notChecked(framework, details.isEmpty ? "nothing to run" : details.joined(separator: "; "))
        }
        let status: CheckStatus = (failed + errors == 0 && exitOK) ? .passed : .failed
        var covText = ""
        if !testNames.isEmpty {
            covText = coverage.map { String(format: "; line coverage %.0f%% (coverage.py)", $0 * 100) }
                ?? (withCoverage ? "; coverage report failed" : "; coverage not measured (python coverage module not installed)")
        }
        return TestRunResult(
            status: status, framework: importedOnly ? "import" : (framework ?? "import + test functions"), passed: passed, failed: failed,
            errors: errors, lineCoverage: coverage, coverageTool: coverage == nil ? nil : "coverage.py", sandbox: sandboxDescription,
            detail: details.joined(separator: "; ") + covText, outputTail: tails.joined(separator: "\n"))
    }

    func node(_ blocks: [CodeBlock]) async -> TestRunResult {
        guard let node = locator.find("node") else { return notChecked("node --test", "node not found on PATH; tests not run") }
        guard let scratch = try? Scratch(prefix: "ymera-tests") else { return notChecked(nil, "no temporary directory") }
        defer { scratch.remove() }
        let files = Self.layout(blocks, ext: "js")
        for (name, code) in files { _ = try? scratch.write(name, code) }
        let testFiles = files.map(\.0).filter { $0.contains(".test.") || $0.contains(".spec.") }
        // node reserves a large address space at start: give it 4× the memory limit.
        var l = limits
        l.memoryKiB = memoryKiB * 4
        var r = await runner.run(node, ["--test", "--experimental-test-coverage"] + testFiles, in: scratch.url, limits: l)
        if r.stderr.contains("bad option") {  // node older than 18.15: no coverage
            r = await runner.run(node, ["--test"] + testFiles, in: scratch.url, limits: l)
        }
        if let e = r.launchError { return notChecked("node --test", "could not start: \(e)") }
        let text = r.stdout + "\n" + r.stderr
        let tail = text.split(separator: "\n").suffix(40).joined(separator: "\n")
        func tap(_ key: String) -> Int {
            text.split(separator: "\n").first { $0.hasPrefix("# \(key) ") }.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
        let passed = tap("pass"), failed = tap("fail")
        if r.timedOut {
            return TestRunResult(
                status: .failed, framework: "node --test", passed: passed, failed: failed, errors: 1, lineCoverage: nil,
                coverageTool: nil, sandbox: sandboxDescription, detail: "tests did not finish within \(timeout.components.seconds) s", outputTail: tail)
        }
        if passed + failed == 0 { return notChecked("node --test", "node --test ran no tests (exit \(r.exitCode))") }
        let coverage = Self.nodeLineCoverage(text, testFiles: Set(testFiles))
        let covText = coverage.map { String(format: "; line coverage %.0f%% (node, mean over code files)", $0 * 100) }
            ?? "; coverage not reported by this node"
        return TestRunResult(
            status: failed == 0 && r.exitCode == 0 ? .passed : .failed, framework: "node --test", passed: passed, failed: failed,
            errors: 0, lineCoverage: coverage, coverageTool: coverage == nil ? nil : "node --experimental-test-coverage",
            sandbox: sandboxDescription, detail: "node --test: \(passed) passed, \(failed) failed\(covText)", outputTail: tail)
    }

    /// Rows of node's coverage table (`# file | line % | branch % | funcs % | uncovered`) for code files.
    static func nodeLineCoverage(_ text: String, testFiles: Set<String>) -> Double? {
        var values: [Double] = []
        var inReport = false
        for line in text.split(separator: "\n") {
            if line.contains("start of coverage report") { inReport = true; continue }
            if line.contains("end of coverage report") { break }
            guard inReport else { continue }
            let cols = line.drop { $0 == "#" || $0 == " " }.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cols.count >= 2, let pct = Double(cols[1]) else { continue }
            let name = cols[0]
            if name == "all files" || testFiles.contains(name) || name.contains(".test.") || name.contains(".spec.") { continue }
            values.append(pct / 100)
        }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    static func count(_ word: String, in s: String, equals: Bool = false) -> Int {
        let pattern = equals ? "\(word)=(\\d+)" : "(\\d+) \(word)\\b"
        guard let re = try? NSRegularExpression(pattern: pattern) else { return 0 }
        let ns = s as NSString
        return re.matches(in: s, range: NSRange(location: 0, length: ns.length)).reduce(0) { $0 + (Int(ns.substring(with: $1.range(at: 1))) ?? 0) }
    }
}
