import ArgumentParser
import Foundation
import YmeraCore
import YmeraLocal
import YmeraQuality

/// `ymera validate FILE`: scores any output on its own and prints the breakdown.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Score a file: syntax, complexity per function, security findings, tests, text measures.",
        discussion: """
            Code is checked with the installed toolchains (python3, node, swiftc, cc/c++, javac, rustfmt, bash) \
            and analyzers (bandit, radon, shellcheck, ruff; YMERA's own from `ymera tools install` first); \
            what cannot be checked here is reported as "not checked", never as a pass, and its weight counts \
            0 (it is not handed to the checks that ran; the report says what share of the weight ran). Python \
            code is run in a sandbox (temp dir, time and memory limits, no network and a read-only filesystem \
            where the machine allows it): every module imported, its tests run; an exception at import or a \
            failing test is a failed test; code that runs with no tests earns 0.25 for tests.
            Relevance and completeness count only what the answer adds: text copied from the task, \
            requirement lists, "Covers:"-style lines, headings, comments and stub functions earn nothing.
            Weights: code — syntax 0.30, tests 0.20, security 0.20, complexity 0.10, completeness 0.10, \
            coverage 0.05, lint 0.05, relevance 0.05 (judge 0.20); text — completeness 0.35, relevance 0.30, \
            coherence 0.20 (judge 0.30). Caps: a syntax error 0.5; failing tests or a high-severity finding \
            0.6; no requirement met, or off-topic, 0.5; code that never ran 0.65; only stub functions 0.4.
            Exit status: 0 when the score passes the threshold, 1 when it does not, 2 for bad input \
            (unreadable file, unknown or unavailable judge).
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

    @Option(help: ArgumentHelp(
        "A catalog model that also judges the file: it scores twice, its agreement is shown, and a noisy judge widens the pass band.",
        valueName: "MODEL"))
    var judge: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (0...1).contains(threshold) else { throw ValidationError("--threshold must be between 0 and 1") }
    }

    func run() async throws {
        try await withCLIErrors { try await validateFile() }
    }

    func validateFile() async throws {
        guard FileManager.default.isReadableFile(atPath: file) else { throw CLIError.input("cannot read \(file)") }
        var options = RealValidator.Options()
        options.runTests = !noTests
        options.searchPath = AnalyzerTools.searchPath(dataDirectory: YmeraDataDirectory.resolve(option: common.dataDir))
        let validator = RealValidator(options: options, judge: try makeJudge())
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

    /// The judge from the catalog, served by the same clients as runs; refuses a model that cannot serve.
    func makeJudge() throws -> ModelJudge? {
        guard let judge else { return nil }
        let context: AppContext
        do { context = try AppContext.make(common) } catch { throw CLIError.config("\(error)") }
        let model: ModelInfo
        do { model = try context.catalog.model(judge) } catch { throw CLIError.input("\(error)") }
        guard let provider = context.catalog.provider(for: model) else {
            throw CLIError.config("model \(model.id) has no provider in the catalog")
        }
        switch context.availability(of: model) {
        case .missingKey(let env): throw CLIError.input("judge \(model.id) needs \(env) to be set")
        case .localDown: throw CLIError.input("judge \(model.id) is a local model that is not running (`ymera local start`)")
        case .ready, .simulated: break
        }
        let client = Wiring(context: context).client(clock: SystemClock(), faults: .init())
        return ModelJudge(client: client, model: model, provider: provider)
    }
}

extension RealValidator.Kind: ExpressibleByArgument {}
