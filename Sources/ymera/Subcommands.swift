import ArgumentParser

extension Ymera {
    /// Every subcommand, in the order `--help` lists them.
    static let allSubcommands: [any ParsableCommand.Type] = [
        DashboardCommand.self,
        RunCommand.self,
        PlanCommand.self,
        ModelsCommand.self,
        ResumeCommand.self,
        ForkCommand.self,
        PauseCommand.self,
        CancelCommand.self,
        RetryCommand.self,
        SwapCommand.self,
        ApproveCommand.self,
        RejectCommand.self,
        RerunCommand.self,
        HistoryCommand.self,
        ShowCommand.self,
        ExportCommand.self,
        ReplayCommand.self,
        PruneCommand.self,
        FilesCommand.self,
        DiffCommand.self,
        ValidateCommand.self,
        LocalCommand.self,
        ToolsCommand.self,
        DoctorCommand.self,
        MCPCommand.self,
    ]
}
