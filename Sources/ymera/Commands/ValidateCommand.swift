import ArgumentParser
import Foundation
import YmeraCore
import YmeraQuality

/// `ymera validate FILE`: scores any output on its own and prints the breakdown.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Score a file: syntax, complexity per function, security findings, tests, text measures.",
        discussion: """
            Code is checked with the installed toolchains (python3, node, swiftc, cc, bash) and analyzers \
            (bandit, radon, shellcheck, ruff); what cannot be checked here is reported as "not checked". \
            Exit status: 0 when the score passes the threshold, 1 when it does not.
            """)

    @Argument(help: "The file to score (source code, or an answer in Markdown with fenced code blocks).")
    var file: String

    @Option(help: "The task the file answers, for relevance.")
    var task: String = ""

    @Option(help: "Score as code or text (default: from the file).")
    var kind: RealValidator.Kind?

    @Option(name: .customLong("require"), help: "A requirement to check the file against (repeatable).")
    var requirements: [String] = []

    @Option(help: "Pass threshold, 0 … 1.")
    var threshold: Double = 0.7

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "Do not run the tests the file contains.")
    var noTests = false

    func validate() throws {
        guard (0...1).contains(threshold) else { throw ValidationError("--threshold must be between 0 and 1") }
        guard FileManager.default.isReadableFile(atPath: file) else { throw ValidationError("cannot read \(file)") }
    }

    func run() async throws {
        var options = RealValidator.Options()
        options.runTests = !noTests
        let validator = RealValidator(options: options)
        let result = try await validator.analyze(
            fileURL: URL(fileURLWithPath: file), task: task, kind: kind, requirements: requirements, threshold: threshold)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try enc.encode(result)
            FileHandle.standardOutput.write(data)
            FileHandle.standardOutput.write(Data("\n".utf8))
        } else {
            print(result.renderText())
        }
        if !result.report.passed { throw ExitCode(1) }
    }
}

extension RealValidator.Kind: ExpressibleByArgument {}
