import Foundation
import YmeraCore

/// Analyses the code in an output: syntax, complexity, security, lint and tests, per block.
struct CodeAnalyzer: Sendable {
    let locator: ToolLocator
    let runner: ToolRunner
    let options: RealValidator.Options
    let pythonHelper: URL?

    /// Functions above this cyclomatic complexity are reported (McCabe's own threshold).
    static let complexityLimit = 10

    func analyze(_ blocks: [CodeBlock]) async -> CodeAnalysis {
        guard let scratch = try? Scratch() else {
            return CodeAnalysis(blocks: [], tests: nil)
        }
        defer { scratch.remove() }
        let syntax = SyntaxChecker(locator: locator, runner: runner, timeout: options.syntaxTimeout, pythonHelper: pythonHelper)
        let ext = ExternalAnalyzers(locator: locator, runner: runner, timeout: options.analyzerTimeout)
        var results: [BlockAnalysis] = []
        for (index, block) in blocks.enumerated() {
            // Each block in its own folder so names never collide and tools see one file.
            let dir = scratch.url.appendingPathComponent("b\(index)")
            let base = SandboxTestRunner.safeName(block.fileName).map { ($0 as NSString).lastPathComponent }
            var name = base ?? "block_\(index + 1).\(block.language.fileExtension)"
            if !name.contains(".") { name += "." + block.language.fileExtension }
            guard (try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)) != nil,
                let file = try? Scratch.at(dir).write(name, block.code)
            else { continue }
            let outcome = await syntax.check(block, file: file, in: dir)
            var analyzers: [String] = []
            if let t = outcome.result.tool { analyzers.append(t) }

            // The field's analyzers run side by side (each is its own process).
            let useExt = options.useExternalAnalyzers
            let parses = outcome.result.status != .failed
            let isPython = block.language == .python
            async let radonRun = Self.optionally(isPython && useExt && parses) { await ext.radon(block, file: file, in: dir) }
            async let banditRun = Self.optionally(isPython && useExt) { await ext.bandit(block, file: file, in: dir) }
            async let lintRun = Self.optionally(useExt && (block.language == .shell || (isPython && parses))) {
                block.language == .shell ? await ext.shellcheck(block, file: file, in: dir) : await ext.ruff(block, file: file, in: dir)
            }
            let (radonOutcome, banditOutcome, lintOutcome) = await (radonRun, banditRun, lintRun)

            // Complexity.
            var functions: [FunctionComplexity] = []
            var complexityDetail: String
            let approx = {
                ComplexityApproximation.functions(in: block.code, language: block.language).map {
                    FunctionComplexity(name: $0.name, line: block.startLine + $0.line - 1, complexity: $0.complexity, source: "ymera-approx")
                }
            }
            if block.language == .python {
                var radonNote = "radon not used"
                if let radonOutcome {
                    switch radonOutcome {
                    case .ran(let fns, let tool):
                        functions = fns
                        analyzers.append(tool)
                        radonNote = ""
                    case .absent(let why), .failed(let why):
                        radonNote = why
                        analyzers.append(why)
                    }
                }
                if !radonNote.isEmpty || !options.useExternalAnalyzers {
                    if let fns = outcome.pythonFunctions {
                        functions = fns.map {
                            FunctionComplexity(name: $0.name, line: block.startLine + $0.line - 1, complexity: $0.complexity, source: "python-ast")
                        }
                    } else {
                        functions = approx()
                    }
                }
                let src = functions.first?.source ?? (outcome.result.status == .failed ? "none" : "python-ast")
                complexityDetail = switch src {
                case "radon": "McCabe complexity by radon"
                case "python-ast": "McCabe complexity by Python's own ast (py_complexity.py)" + (radonNote.isEmpty ? "" : "; \(radonNote)")
                case "ymera-approx": "approximation: decision keywords per function (python3 unavailable or code unparsable)"
                default: "not measured: the code does not parse"
                }
            } else {
                functions = approx()
                complexityDetail = "approximation: 1 + decision keywords (if/for/while/case/catch/&&/||/?:) per function"
            }
            let complexityFindings = functions.filter { $0.complexity > Self.complexityLimit }.map { f in
                QualityFinding(
                    rule: "high-complexity", source: f.source, severity: f.complexity > 20 ? .medium : .low, line: f.line,
                    message: "\(f.name) has cyclomatic complexity \(f.complexity) (limit \(Self.complexityLimit))")
            }

            // Security: built-in rules, plus Bandit for Python where installed.
            var security = SecurityRules.scan(block)
            if let banditOutcome {
                switch banditOutcome {
                case .ran(let found, let tool):
                    security = SecurityRules.dedupe(ours: security, bandit: found) + found
                    analyzers.append(tool)
                case .absent(let why), .failed(let why):
                    analyzers.append(why + "; built-in rules only")
                }
            }
            security.sort { ($0.line ?? 0, $0.rule) < ($1.line ?? 0, $1.rule) }

            // Lint.
            var lint: [QualityFinding] = []
            do {
                switch lintOutcome {
                case .ran(let found, let tool):
                    lint = found
                    analyzers.append(tool)
                case .absent(let why), .failed(let why):
                    analyzers.append(why)
                case nil: break
                }
            }

            results.append(BlockAnalysis(
                language: block.language, fileName: block.fileName, startLine: block.startLine,
                lineCount: block.code.hasSuffix("\n") ? block.code.components(separatedBy: "\n").count - 1 : block.code.components(separatedBy: "\n").count, languageEvidence: block.languageEvidence,
                isTest: block.isTest, syntax: outcome.result, functions: functions, complexityDetail: complexityDetail,
                syntaxFindings: outcome.findings, securityFindings: security, lintFindings: lint,
                complexityFindings: complexityFindings, analyzers: analyzers))
        }

        var tests: TestRunResult?
        if options.runTests {
            let isolation = await SandboxProbe.shared.result(systemPath: runner.systemPath)
            var sandboxed = runner
            sandboxed.canIsolateNetwork = isolation.network
            sandboxed.canMakeFilesystemReadOnly = isolation.readOnlyFilesystem
            let testRunner = SandboxTestRunner(
                locator: locator, runner: sandboxed, timeout: options.testTimeout, memoryKiB: options.testMemoryKiB,
                isolation: isolation)
            tests = await testRunner.run(blocks)
        }
        return CodeAnalysis(blocks: results, tests: tests)
    }
}

extension CodeAnalyzer {
    static func optionally<T: Sendable>(_ condition: Bool, _ body: @Sendable () async -> T) async -> T? {
        condition ? await body() : nil
    }
}

extension Scratch {
    /// A view of an existing directory (not removed by this value).
    static func at(_ url: URL) -> Scratch { Scratch(existing: url) }
}
