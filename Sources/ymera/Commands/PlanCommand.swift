import ArgumentParser
import YmeraCore

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Analyse a task and show the plan and forecast, without running it.")

    @OptionGroup var planning: PlanningOptions
    @OptionGroup var common: CommonOptions
    @Flag(help: "Print the plan as JSON.") var json = false

    func run() async throws {
        try await withCLIErrors { try await execute() }
    }

    func execute() async throws {
        let context: AppContext
        do { context = try AppContext.make(common) } catch { throw CLIError.config("\(error)") }
        do {
            let prepared = try await RunSetup.prepare(planning, context: context)
            if json {
                Output.out(Output.pretty(prepared.plan))
            } else {
                Output.out(RunSetup.describe(prepared, catalog: context.catalog), terminator: "")
                Output.out("signals: " + prepared.intent.signals.joined(separator: "; "))
                if !prepared.intent.requirements.isEmpty {
                    Output.out("requirements: " + prepared.intent.requirements.map { Output.clean($0) }.joined(separator: " · "))
                }
            }
        } catch let e as PlanError {
            throw CLIError.refused(e.message)
        }
    }
}
