import Foundation
import YmeraCore

/// The real quality validator: measures code with real toolchains and analyzers, text with stated
/// formulas, and asks a judge model in the review and validation phases. Every dimension says what
/// it measured and how; what could not be measured is "not checked" (score nil), never a pass.
///
/// Weights — code answers: syntax 0.30, tests 0.20, security 0.20, complexity 0.10, test coverage 0.05,
/// lint 0.05, completeness 0.10, relevance 0.05, judge 0.20. Text answers: completeness 0.35,
/// relevance 0.30, coherence 0.20, judge 0.30. Reviews: review structure 0.30, coherence 0.20,
/// relevance 0.15, judge 0.35 (a review is not held to the task's requirements). Unmeasured
/// dimensions drop out of the weighted mean.
/// Caps: a syntax error caps the combined score at 0.5; failing tests or a high-severity security
/// finding cap it at 0.6 — a broken or dangerous program never passes on the strength of its prose.
public struct RealValidator: QualityValidator {
    public enum Kind: String, Codable, Sendable, CaseIterable { case code, text }

    public struct Options: Sendable {
        /// Where tools are looked up (`PATH` syntax); nil = this process's `PATH`. "" = no tools at all.
        public var searchPath: String?
        /// Tool name → absolute path; "" marks a tool as absent.
        public var toolOverrides: [String: String]
        /// Run Bandit, radon, ShellCheck, Ruff where installed.
        public var useExternalAnalyzers: Bool
        /// Run the tests an output provides, in the sandbox.
        public var runTests: Bool
        public var syntaxTimeout: Duration
        public var analyzerTimeout: Duration
        public var testTimeout: Duration
        /// Address-space limit for test runs, KiB.
        public var testMemoryKiB: Int
        /// Phases in which the judge (when given) scores.
        public var judgePhases: Set<Phase>

        public init(
            searchPath: String? = nil, toolOverrides: [String: String] = [:], useExternalAnalyzers: Bool = true,
            runTests: Bool = true, syntaxTimeout: Duration = .seconds(30), analyzerTimeout: Duration = .seconds(60),
            testTimeout: Duration = .seconds(60), testMemoryKiB: Int = 1 << 20,
            judgePhases: Set<Phase> = Set(Phase.allCases)
        ) {
            self.searchPath = searchPath
            self.toolOverrides = toolOverrides
            self.useExternalAnalyzers = useExternalAnalyzers
            self.runTests = runTests
            self.syntaxTimeout = syntaxTimeout
            self.analyzerTimeout = analyzerTimeout
            self.testTimeout = testTimeout
            self.testMemoryKiB = testMemoryKiB
            self.judgePhases = judgePhases
        }
    }

    /// Judge calibration as shown to users.
    public struct JudgeSummary: Codable, Sendable, Hashable {
        public var model: ModelID
        public var scores: [JudgeScores]
        public var failures: [String]
        public var agreement: Double?
        public var tolerance: Double
    }

    /// The report plus everything behind it (per block, per function, per requirement).
    public struct Result: Codable, Sendable, Hashable {
        public var report: QualityReport
        public var kind: Kind
        public var code: CodeAnalysis?
        public var requirements: [TextScores.RequirementCheck]
        public var judge: JudgeSummary?
    }

    public static let weights: [Kind: [String: Double]] = [
        .code: [
            "syntax": 0.30, "tests": 0.20, "security": 0.20, "complexity": 0.10, "test coverage": 0.05, "lint": 0.05,
            "completeness": 0.10, "relevance": 0.05, "judge": 0.20,
        ],
        .text: ["completeness": 0.35, "relevance": 0.30, "coherence": 0.20, "judge": 0.30],
    ]

    /// A review is judged on its own terms: it is not meant to meet the task's requirements, and it
    /// talks about the reviewed work more than about the task. Its weights (judge, when present, 0.35).
    public static let reviewWeights: [String: Double] = ["review structure": 0.30, "coherence": 0.20, "relevance": 0.15, "judge": 0.35]

    public var options: Options
    public var judge: ModelJudge?
    /// Used when `judge` is the model being judged (a model never judges its own output).
    public var alternateJudge: ModelJudge?

    public init(options: Options = .init(), judge: ModelJudge? = nil, alternateJudge: ModelJudge? = nil) {
        self.options = options
        self.judge = judge
        self.alternateJudge = alternateJudge
    }

    public func evaluate(_ input: ValidationInput) async -> QualityReport {
        await analyze(input).report
    }

    /// Scores a file on its own (`ymera validate`).
    public func validate(fileURL: URL, task: String, kind: Kind? = nil, requirements: [String] = [], threshold: Double = 0.7)
        async -> QualityReport
    {
        (try? await analyze(fileURL: fileURL, task: task, kind: kind, requirements: requirements, threshold: threshold))?.report
            ?? QualityReport(
                score: 0, threshold: threshold,
                dimensions: [QualityDimension(name: "file", score: nil, weight: 1, detail: "cannot read \(fileURL.path)")],
                validator: "ymera-quality")
    }

    public func analyze(fileURL: URL, task: String, kind: Kind? = nil, requirements: [String] = [], threshold: Double = 0.7)
        async throws -> Result
    {
        let data = try Data(contentsOf: fileURL)
        let text = String(decoding: data, as: UTF8.self)
        let k = kind ?? (CodeLanguage.from(tag: fileURL.pathExtension) != nil ? .code : nil)
        let input = ValidationInput(
            task: task, intent: Intent(taskType: k == .code ? .code : .text, complexity: 0.5, urgency: 0, creativity: 0, capabilities: []),
            stepID: "validate", phase: .validation, output: text, requirements: requirements, threshold: threshold)
        return await analyze(input, kind: k, fileName: fileURL.lastPathComponent)
    }

    var locator: ToolLocator { ToolLocator(searchPath: options.searchPath, overrides: options.toolOverrides) }

    public func analyze(_ input: ValidationInput, kind: Kind? = nil, fileName: String? = nil) async -> Result {
        let locator = self.locator
        let runner = ToolRunner(searchPath: locator.searchPath)
        let wholeFileLanguage = fileName.flatMap { n in n.contains(".") ? CodeLanguage.from(tag: (n as NSString).pathExtension) : nil }
        // With a workspace, the code checked is the run's files as written (a project: tests run
        // against the other files under their own names); otherwise the code in the answer.
        let workspaceBlocks = Self.blocks(fromFiles: input.files)
        let blocks = workspaceBlocks.isEmpty
            ? CodeExtractor.extract(input.output, fileName: wholeFileLanguage != nil ? fileName : nil) : workspaceBlocks
        // Code is measured where code is produced (generation, refinement) and wherever an answer
        // carries code blocks outside planning/research/review; a code task's generation without any
        // code is a failure ("no code found"), but its validation verdict is prose and scored as text
        // unless the run has a workspace, whose files are then validated as the project they are.
        let producesCode = [.generation, .refinement].contains(input.phase)
        let mayCarryCode = producesCode || input.phase == .validation
        let resolvedKind: Kind = kind
            ?? ((!blocks.isEmpty && mayCarryCode) || (input.intent.taskType == .code && producesCode) ? .code : .text)
        let isReview = input.phase == .review && resolvedKind == .text
        let weights = isReview ? Self.reviewWeights : Self.weights[resolvedKind] ?? [:]
        func dim(_ name: String, _ score: Double?, _ detail: String) -> QualityDimension {
            QualityDimension(name: name, score: score.map { min(1, max(0, $0)) }, weight: weights[name] ?? 0, detail: detail)
        }

        var dims: [QualityDimension] = []
        var findings: [QualityFinding] = []
        var cap: (Double, String)?
        func applyCap(_ value: Double, _ why: String) {
            if cap == nil || value < cap!.0 { cap = (value, why) }
        }

        // Code.
        var analysis: CodeAnalysis?
        if resolvedKind == .code {
            if blocks.isEmpty {
                dims.append(dim("syntax", 0, "no code found in the answer"))
            } else {
                let a = await CodeAnalyzer(locator: locator, runner: runner, options: options, pythonHelper: Self.pythonHelperURL())
                    .analyze(blocks)
                analysis = a
                var codeDims = codeDimensions(a, dim: dim, applyCap: applyCap)
                if !workspaceBlocks.isEmpty, let i = codeDims.firstIndex(where: { $0.name == "syntax" }) {
                    let skipped = input.files.count - workspaceBlocks.count
                    codeDims[i].detail = "workspace: \(plural(workspaceBlocks.count, "code file")) as written"
                        + (skipped > 0 ? " (\(skipped) other file\(skipped == 1 ? "" : "s") not code or over the limits)" : "") + "; " + codeDims[i].detail
                }
                dims += codeDims
                findings += a.allFindings
                // Functions that do nothing (pass, ..., raise NotImplementedError) implement nothing.
                var stubs: [String] = [], functions = 0
                for b in blocks where b.language == .python && !b.isTest {
                    let s = Substance.pythonStubs(b.code.components(separatedBy: "\n"))
                    stubs += s.names
                    functions += s.functions
                }
                for name in stubs {
                    findings.append(QualityFinding(rule: "stub-function", source: "ymera", severity: .medium, message: "\(name) does nothing (its body is only pass, ... or raise NotImplementedError)"))
                }
                if functions > 0 && stubs.count == functions {
                    applyCap(0.4, "every function is a stub (\(stubs.prefix(4).joined(separator: ", ")))")
                }
            }
        }

        // Text.
        var reqs: [String] = []
        for r in input.requirements + input.intent.requirements where !reqs.contains(r) { reqs.append(r) }
        let relevance = TextScores.relevance(task: input.task, output: input.output, requirements: reqs, codeKind: resolvedKind == .code)
        dims.append(dim("relevance", relevance.score, relevance.detail))
        let checks = TextScores.checkRequirements(reqs, output: input.output, task: input.task, codeKind: resolvedKind == .code)
        let completeness = TextScores.completeness(checks)
        if isReview {
            let structure = TextScores.reviewStructure(input.output)
            dims.append(dim("review structure", structure.score, structure.detail))
        } else {
            dims.append(dim("completeness", completeness.score, completeness.detail))
        }
        for c in checks where !isReview {
            findings.append(QualityFinding(
                rule: c.passed ? "requirement-met" : "requirement-unmet", source: "ymera", severity: c.passed ? .info : .medium,
                line: nil, message: "\(c.requirement) — \(c.evidence)"))
        }
        if resolvedKind == .text {
            let coherence = TextScores.coherence(input.output)
            dims.append(dim("coherence", coherence.score, coherence.detail))
        }

        // Judge, with calibration.
        var judgeSummary: JudgeSummary?
        var judgeSpend: [QualitySpend]?
        var tolerance = 0.0
        // The judge scores text answers in every phase, and reviews and validations of any kind; never
        // the output of its own model.
        let judgeUsable = options.judgePhases.contains(input.phase)
            && (resolvedKind == .text || input.phase == .review || input.phase == .validation)
        let chosenJudge = [judge, alternateJudge].compactMap { $0 }.first { $0.model.id != input.judgedModel }
        if let judge = chosenJudge, judgeUsable {
            let v = await judge.judge(input)
            tolerance = v.tolerance
            judgeSpend = [QualitySpend(model: v.model, usage: v.usage)]
            judgeSummary = JudgeSummary(model: v.model, scores: v.scores, failures: v.failures, agreement: v.agreement, tolerance: v.tolerance)
            if let s = v.score {
                var d = "judge \(v.model.rawValue): " + String(format: "%.2f", s)
                if let a = v.agreement, !v.calibratedNow {
                    d += String(format: " (one scoring; agreement %.2f from the last calibration", a)
                    d += tolerance > 0 ? String(format: ", noisy: pass band widened by %.2f)", tolerance) : ", steady)"
                } else if let a = v.agreement {
                    d += String(format: " (mean of %d scorings; agreement %.2f", v.scores.count, a)
                    d += tolerance > 0 ? String(format: ", noisy: pass band widened by %.2f)", tolerance) : ", steady)"
                } else {
                    d += " (one valid scoring; agreement not measured: \(v.failures.joined(separator: "; ")))"
                }
                if let r = v.scores.first?.rationale, !r.isEmpty { d += " — \(r)" }
                dims.append(dim("judge", s, d))
            } else {
                dims.append(dim("judge", nil, "judge \(v.model.rawValue) failed (\(v.failures.joined(separator: "; "))); heuristic scores only"))
            }
        }

        if chosenJudge == nil || !judgeUsable {
            dims.append(QualityDimension(
                name: "judge", score: nil, weight: 0,
                detail: chosenJudge == nil
                    ? (judge == nil
                        ? "no judge model available (configure a model other than the one judged); the score rests on heuristics only"
                        : "no judge available: the only judge model is the one being judged; the score rests on heuristics only")
                    : "judge not used for \(resolvedKind.rawValue) in the \(input.phase.rawValue) phase (code is judged by running it); heuristics and checks only"))
        }
        // Not applicable (no requirements, no task): no weight. A failed judge says so and drops out.
        for i in dims.indices where dims[i].score == nil && (dims[i].name == "completeness" || dims[i].name == "relevance"
            || dims[i].name == "judge")
        {
            dims[i].weight = 0
        }
        // An answer about something else cannot pass on the strength of its form (code that runs,
        // tidy prose): none of the requirements met, or barely touching the task, caps it.
        if !isReview, let c = completeness.score, c == 0, !checks.isEmpty {
            applyCap(0.5, "none of the \(checks.count) requirements is addressed")
        }
        if !isReview, input.phase != .validation, let r = relevance.score, r < 0.25 {
            applyCap(0.5, String(format: "off-topic: what the answer adds barely touches the task (relevance %.2f)", r))
        }
        // Code that never ran cannot pass on syntax and style alone.
        if resolvedKind == .code, let a = analysis, !a.blocks.isEmpty, a.tests == nil || a.tests?.status == .notChecked {
            applyCap(0.65, "no code ran here: syntax and style alone cannot make a confident pass")
        }
        let (combined, evidence) = Self.combineWithoutRedistribution(dims)
        dims.append(evidence)
        var score = combined
        if let (limit, why) = cap, score > limit {
            score = limit
            dims.append(QualityDimension(name: "cap", score: nil, weight: 0, detail: String(format: "combined score capped at %.2f: %@", limit, why)))
        }
        var report = QualityReport(
            score: score, threshold: input.threshold, dimensions: dims, findings: findings, validator: "ymera-quality",
            tolerance: tolerance)
        report.spend = judgeSpend
        return Result(report: report, kind: resolvedKind, code: analysis, requirements: checks, judge: judgeSummary)
    }

    func codeDimensions(
        _ a: CodeAnalysis, dim: (String, Double?, String) -> QualityDimension, applyCap: (Double, String) -> Void
    ) -> [QualityDimension] {
        var dims: [QualityDimension] = []
        // Syntax: share of checked blocks that parse.
        let checked = a.blocks.filter { $0.syntax.status != .notChecked }
        let passed = checked.filter { $0.syntax.status == .passed }
        let lines = a.blocks.map { b in "\(b.label): \(b.syntax.status.rawValue.replacingOccurrences(of: "_", with: " ")) — \(b.syntax.detail)" }
        dims.append(dim("syntax", checked.isEmpty ? nil : Double(passed.count) / Double(checked.count),
                        (checked.isEmpty ? "not checked: " : "\(passed.count) of \(checked.count) checked blocks parse; ") + lines.joined(separator: "; ")))
        if passed.count < checked.count { applyCap(0.5, "syntax error") }

        // Tests: the code is run (Python: every module imported, its tests run).
        if let t = a.tests {
            let total = t.passed + t.failed + t.errors
            if t.status == .passed && t.framework == "import" {
                dims.append(dim("tests", 0.25, "ran: \(t.detail); no tests exercise it, so its behaviour is unverified (0.25) [sandbox: \(t.sandbox)]"))
            } else {
                dims.append(dim("tests", t.status == .notChecked || total == 0 ? nil : Double(t.passed) / Double(total),
                                (t.status == .notChecked ? "not checked: " : "ran: ") + "\(t.detail) [sandbox: \(t.sandbox)]"))
            }
            if t.status == .failed { applyCap(0.6, "tests fail") }
            if let c = t.lineCoverage {
                dims.append(dim("test coverage", c, String(format: "%.0f%% of the code's lines run by its tests (%@)", c * 100, t.coverageTool ?? "coverage")))
            }
        } else {
            dims.append(dim("tests", nil, options.runTests ? "not checked: nothing here can run this code" : "not checked: test runs disabled"))
        }

        // Security.
        let sec = a.blocks.flatMap(\.securityFindings)
        let sources = Set(a.blocks.flatMap { b in b.securityFindings.map(\.source) })
        let analyzers = Array(Set(a.blocks.flatMap(\.analyzers).filter { $0.contains("bandit") })).sorted()
        var secDetail = sec.isEmpty ? "no findings" : plural(sec.count, "finding") + " (" + ["high", "medium", "low"].compactMap { s in
            let n = sec.filter { $0.severity.rawValue == s }.count
            return n > 0 ? "\(n) \(s)" : nil
        }.joined(separator: ", ") + ") from " + sources.sorted().joined(separator: " + ")
        secDetail += "; rules: ymera built-ins" + (analyzers.isEmpty ? "" : ", " + analyzers.joined(separator: ", "))
        secDetail += "; score 1 − 0.4/high − 0.15/medium − 0.05/low"
        dims.append(dim("security", SecurityRules.score(sec), secDetail))
        if sec.contains(where: { $0.severity == .high }) { applyCap(0.6, "high-severity security finding") }

        // Complexity.
        let fns = a.functions
        if fns.isEmpty {
            var d = dim("complexity", nil, "no functions found; not applicable")
            d.weight = 0
            dims.append(d)
        } else {
            let per = fns.map { f in f.complexity <= 10 ? 1.0 : max(0, 1 - Double(f.complexity - 10) / 20) }
            let worst = fns.max { $0.complexity < $1.complexity }!
            let how = Set(a.blocks.filter { !$0.functions.isEmpty }.map(\.complexityDetail)).sorted().joined(separator: "; ")
            dims.append(dim("complexity", per.reduce(0, +) / Double(per.count),
                            "\(plural(fns.count, "function")), max \(worst.complexity) (\(worst.name)); ≤10 scores 1, falling to 0 at 30; \(how)"))
        }

        // Lint.
        let linted = a.blocks.filter { b in b.analyzers.contains { $0 == "shellcheck" || $0 == "ruff" } }
        if linted.isEmpty {
            let absent = Set(a.blocks.flatMap(\.analyzers).filter { $0.contains("shellcheck") || $0.contains("ruff") }).sorted()
            var d = dim("lint", nil, absent.isEmpty ? "no linter for these languages; not applicable" : "not checked: " + absent.joined(separator: "; "))
            if absent.isEmpty { d.weight = 0 }
            dims.append(d)
        } else {
            let lint = linted.flatMap(\.lintFindings)
            let tools = Set(linted.flatMap(\.analyzers).filter { $0 == "shellcheck" || $0 == "ruff" }).sorted().joined(separator: ", ")
            dims.append(dim("lint", lintScore(lint), "\(plural(lint.count, "finding")) from \(tools); score 1 − 0.2/error − 0.05/warning − 0.01/info"))
        }
        return dims
    }

    /// Weighted mean over every applicable dimension: one that was not checked counts 0 and keeps its
    /// weight (never handed to the checks that ran). Returns the score and an `evidence` line saying
    /// what share of the weight rests on checks that ran.
    static func combineWithoutRedistribution(_ dims: [QualityDimension]) -> (Double, QualityDimension) {
        let applicable = dims.filter { $0.weight > 0 }
        let total = applicable.reduce(0) { $0 + $1.weight }
        let ran = applicable.filter { $0.score != nil }
        let ranWeight = ran.reduce(0) { $0 + $1.weight }
        let score = total > 0 ? ran.reduce(0) { $0 + ($1.score ?? 0) * $1.weight } / total : 0
        let share = total > 0 ? ranWeight / total : 0
        let unchecked = applicable.filter { $0.score == nil }
        var detail = String(format: "%.0f%% of the weight rests on checks that ran", share * 100)
        detail += unchecked.isEmpty ? "" : "; not checked (counted as 0, not handed to the others): "
            + unchecked.map { String(format: "%@ %.2f", $0.name, $0.weight) }.joined(separator: ", ")
        return (score, QualityDimension(name: "evidence", score: nil, weight: 0, detail: detail))
    }

    func plural(_ n: Int, _ word: String) -> String { n == 1 ? "1 \(word)" : "\(n) \(word)s" }

    /// Most workspace files checked per score, and the largest file checked.
    static let maxWorkspaceFiles = 64
    static let maxWorkspaceFileBytes = 256 * 1024

    /// The workspace's code files as blocks (language from the extension), each named by its path
    /// so tests import their modules as written. Files in no known language (docs, data) are left out.
    static func blocks(fromFiles files: [WorkspaceFile]) -> [CodeBlock] {
        var out: [CodeBlock] = []
        for f in files.sorted(by: { $0.path < $1.path }) where out.count < maxWorkspaceFiles {
            guard f.content.utf8.count <= maxWorkspaceFileBytes, f.path.contains("."),
                let lang = CodeLanguage.from(tag: (f.path as NSString).pathExtension),
                !f.content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            else { continue }
            out.append(CodeBlock(language: lang, fileName: f.path, code: f.content, startLine: 1, languageEvidence: "file name"))
        }
        return out
    }

    /// The shipped Python helper (Resources/py_complexity.py), looked up without trapping when the
    /// resource bundle is missing (an installed binary without its bundle falls back to a one-liner).
    static func pythonHelperURL() -> URL? {
        let name = "py_complexity.py"
        var candidates: [URL] = []
        let bundleNames = ["ymera_YmeraQuality.resources", "ymera_YmeraQuality.bundle"]
        var dirs: [URL] = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        if let exe = Bundle.main.executableURL?.deletingLastPathComponent() { dirs.append(exe) }
        for d in dirs {
            for b in bundleNames {
                candidates.append(d.appendingPathComponent(b).appendingPathComponent(name))
                candidates.append(d.appendingPathComponent(b).appendingPathComponent("Contents/Resources").appendingPathComponent(name))
            }
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.contains("YmeraQuality") {
            if let u = bundle.url(forResource: "py_complexity", withExtension: "py") { return u }
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }
}
