import Foundation
import YmeraCore

/// Whether a check ran, and how it came out. `notChecked` is never counted as a pass.
public enum CheckStatus: String, Codable, Sendable, Hashable {
    case passed
    case failed
    case notChecked = "not_checked"
}

/// The syntax check of one block.
public struct SyntaxResult: Codable, Sendable, Hashable {
    public var status: CheckStatus
    /// The toolchain that checked it (`python3 3.11.7`, `swiftc -parse`, `gcc -fsyntax-only`), if any.
    public var tool: String?
    public var detail: String
}

/// Cyclomatic complexity of one function.
public struct FunctionComplexity: Codable, Sendable, Hashable {
    public var name: String
    /// Line in the validated output.
    public var line: Int
    public var complexity: Int
    /// `radon`, `python-ast` (our helper over Python's own ast), or `ymera-approx` (decision keywords).
    public var source: String
}

/// Outcome of running the tests an output provides.
public struct TestRunResult: Codable, Sendable, Hashable {
    public var status: CheckStatus
    /// `pytest`, `unittest`, `node --test`.
    public var framework: String?
    public var passed: Int
    public var failed: Int
    public var errors: Int
    /// Line coverage of the code under test, 0 … 1, where a coverage tool exists.
    public var lineCoverage: Double?
    public var coverageTool: String?
    /// How the run was confined: time and memory limits, network.
    public var sandbox: String
    public var detail: String
    /// The runner's last lines of output (sanitized on display).
    public var outputTail: String
}

/// Everything found in one code block.
public struct BlockAnalysis: Codable, Sendable, Hashable {
    public var language: CodeLanguage
    public var fileName: String?
    public var startLine: Int
    public var lineCount: Int
    public var languageEvidence: String
    public var isTest: Bool
    public var syntax: SyntaxResult
    public var functions: [FunctionComplexity]
    /// Why complexity is what it is (which tool, or why not measured).
    public var complexityDetail: String
    /// Findings for this block by kind (line numbers are in the whole output).
    public var syntaxFindings: [QualityFinding]
    public var securityFindings: [QualityFinding]
    public var lintFindings: [QualityFinding]
    public var complexityFindings: [QualityFinding]
    /// Analyzers that ran on this block, and those that were absent (`bandit: not installed`).
    public var analyzers: [String]

    public var findings: [QualityFinding] { syntaxFindings + securityFindings + lintFindings + complexityFindings }
    /// Where the block sits, for people: `app.py (lines 3-20)`.
    public var label: String {
        let range = lineCount > 1 ? "lines \(startLine)-\(startLine + lineCount - 1)" : "line \(startLine)"
        return "\(fileName ?? language.rawValue + " block") (\(language.rawValue), \(range))"
    }
}

/// The code side of a validation.
public struct CodeAnalysis: Codable, Sendable, Hashable {
    public var blocks: [BlockAnalysis]
    public var tests: TestRunResult?

    public var allFindings: [QualityFinding] { blocks.flatMap(\.findings) }
    public var functions: [FunctionComplexity] { blocks.flatMap(\.functions) }
}
