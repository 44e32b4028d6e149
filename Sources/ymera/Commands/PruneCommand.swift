import ArgumentParser
import Foundation
import YmeraStore

/// `ymera prune --keep N | --older-than DAYS`.
struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete old runs from the journal (events, outputs, search entries). Runs still in progress are kept.")

    @OptionGroup var data: DataDirOption

    @Option(help: "Keep the N newest runs.")
    var keep: Int?

    @Option(name: .customLong("older-than"), help: ArgumentHelp("Delete runs started more than DAYS days ago.", valueName: "DAYS"))
    var olderThan: Double?

    @Flag(help: "Compact the database file afterwards (VACUUM).")
    var vacuum = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        switch (keep, olderThan) {
        case (nil, nil), (.some, .some): throw ValidationError("give exactly one of --keep N and --older-than DAYS")
        case (let k?, nil) where k < 0: throw ValidationError("--keep must be 0 or more")
        case (nil, let d?) where !(d >= 0): throw ValidationError("--older-than must be 0 or more")
        default: break
        }
    }

    func run() async throws {
        let journal = try data.openJournal()
        let result: PruneResult
        if let keep {
            result = try journal.prune(keep: keep, vacuum: vacuum)
        } else {
            result = try journal.prune(olderThanDays: olderThan ?? 0, vacuum: vacuum)
        }
        if json {
            try JournalCLI.printJSON(result)
        } else {
            let mb = { (b: Int64) in String(format: "%.1f MB", Double(b) / 1_048_576) }
            print("removed \(result.runs) run(s), \(result.events) event row(s); database \(mb(result.bytesBefore)) → \(mb(result.bytesAfter))")
        }
    }
}
