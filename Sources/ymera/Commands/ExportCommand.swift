import ArgumentParser
import Foundation
import YmeraStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `ymera export RUN --format json|markdown [--output FILE]`.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export a run as JSON (plan, events, summary) or as a Markdown report.")

    @OptionGroup var data: DataDirOption

    @Argument(help: "Run id or a unique prefix of it.")
    var run: String

    @Option(help: "json or markdown.")
    var format: String

    @Option(name: [.short, .long], help: ArgumentHelp("Write to FILE (mode 0600) instead of standard output.", valueName: "FILE"))
    var output: String?

    func validate() throws {
        if ExportFormat(rawValue: format) == nil { throw ValidationError("--format must be json or markdown") }
    }

    func run() async throws {
        let journal = try data.openJournal()
        let id = try JournalCLI.resolve(journal, run)
        let text = try journal.export(id, format: ExportFormat(rawValue: format) ?? .json)
        guard let output else {
            print(text, terminator: "")
            return
        }
        // Outputs can be private: the file is created readable by its owner only.
        let path = (output as NSString).expandingTildeInPath
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError.input("cannot write \(path): \(String(cString: strerror(errno)))") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
        FileHandle.standardError.write(Data("exported run \(id) to \(path)\n".utf8))
    }
}
