import ArgumentParser
import YmeraCore

@main
struct Ymera: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "ymera",
        abstract: "Turn one task into a multi-model LLM workflow and watch it run.",
        discussion: """
            Without a subcommand, opens the dashboard. Headless: `ymera run "TASK" --json`.

            With no provider key set, runs use the local model when it is running (`ymera local start`), \
            otherwise the simulated twins of the catalog's models, and every screen and summary says so.
            """,
        version: version,
        subcommands: Ymera.allSubcommands,
        defaultSubcommand: DashboardCommand.self
    )
}
