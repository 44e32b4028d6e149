import ArgumentParser

extension Ymera {
    /// Every subcommand, in the order `--help` lists them.
    static let allSubcommands: [any ParsableCommand.Type] = [
        RunCommand.self,
        PlanCommand.self,
        ModelsCommand.self,
        ValidateCommand.self,
    ]
}
