import ArgumentParser
import Foundation
import YmeraCore
import YmeraStore

/// `--data-dir DIR`, shared by the journal commands.
struct DataDirOption: ParsableArguments {
    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp(
            "Directory of the run journal (default: $YMERA_HOME, else $XDG_DATA_HOME/ymera, else ~/.local/share/ymera).",
            valueName: "DIR"))
    var dataDir: String?

    func openJournal() throws -> Journal {
        try Journal.open(explicitDirectory: dataDir)
    }
}

/// Helpers shared by the journal commands (kept here: the CLI root owns the other files).
enum JournalCLI {
    /// Resolves a unique run id prefix, with a readable error.
    static func resolve(_ journal: Journal, _ prefix: String) throws -> String {
        do { return try journal.resolveRunID(prefix) } catch let e as JournalError {
            throw CLIError.input(e.description)
        }
    }

    /// The same JSON conventions as `ymera run --json` (snake_case keys, ISO 8601 dates).
    static func jsonEncoder(pretty: Bool) -> JSONEncoder { Journal.exportEncoder(pretty: pretty) }

    static func printJSON<T: Encodable>(_ value: T, pretty: Bool = true) throws {
        let data = try jsonEncoder(pretty: pretty).encode(value)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    static func localTime(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: d)
    }

    static func seconds(_ ms: Int) -> String {
        ms >= 60_000 ? String(format: "%dm%02ds", ms / 60_000, (ms / 1000) % 60) : String(format: "%.1fs", Double(ms) / 1000)
    }

    static func score(_ s: Double?) -> String { s.map { String(format: "%.2f", $0) } ?? "—" }

    /// A run's place among forks: `of PARENT` for a fork, `N forks` for a run forked from.
    static func forkCell(_ r: RunRecord) -> String {
        let parts = [r.forkOf.map { "of \($0.prefix(12))" }, r.forks.map { "\($0.count) fork\($0.count == 1 ? "" : "s")" }].compactMap { $0 }
        return parts.isEmpty ? "—" : parts.joined(separator: ", ")
    }

    /// Left-aligned columns; the last column is not padded.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// `2026-11-20`, an ISO 8601 time, or a span back from now: `30m`, `12h`, `7d`, `2w`.
    static func parseSince(_ text: String, now: Date = Date()) -> Date? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let unit = t.last, let n = Double(t.dropLast()), n >= 0 {
            let scale: Double? =
                switch unit {
                case "m": 60
                case "h": 3600
                case "d": 86_400
                case "w": 604_800
                default: nil
                }
            if let scale { return now.addingTimeInterval(-n * scale) }
        }
        if let d = try? Date(t, strategy: .iso8601) { return d }
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.dateFormat = "yyyy-MM-dd"
        return day.date(from: t)
    }
}

/// `ymera history`: past runs, newest first, with filters and full-text search.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List past runs (newest first), with filters and full-text search.")

    @OptionGroup var data: DataDirOption

    @Option(help: "Only runs with this status: succeeded, completed_below_threshold, failed, cancelled, interrupted, running, paused, awaiting_approval, planned.")
    var status: String?

    @Option(help: "Only runs of this task type: \(TaskType.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: String?

    @Option(help: "Only runs where a step used this model id, or any model of this provider.")
    var model: String?

    @Option(help: "Full-text search over tasks and outputs (all words must occur; word* for a prefix).")
    var search: String?

    @Option(help: ArgumentHelp("Only runs started since DATE (2026-11-20, an ISO 8601 time, or 7d / 12h / 30m ago).", valueName: "DATE"))
    var since: String?

    @Option(help: "At most N runs (0 for all).")
    var limit: Int = 20

    @Option(help: "Order: \(RunSort.allCases.map(\.rawValue).joined(separator: ", ")).")
    var sort: String = RunSort.newest.rawValue

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        if let status, RunStatus(rawValue: status) == nil { throw ValidationError("unknown status '\(status)'") }
        if let type, TaskType(rawValue: type) == nil { throw ValidationError("unknown task type '\(type)'") }
        if let since, JournalCLI.parseSince(since) == nil { throw ValidationError("cannot read date '\(since)'") }
        if RunSort(rawValue: sort) == nil { throw ValidationError("unknown sort '\(sort)'") }
        if limit < 0 { throw ValidationError("--limit must be 0 or more") }
    }

    func run() async throws {
        let journal = try data.openJournal()
        let filter = RunFilter(
            status: status.flatMap(RunStatus.init(rawValue:)), taskType: type.flatMap(TaskType.init(rawValue:)),
            model: model, search: search, since: since.flatMap { JournalCLI.parseSince($0) },
            limit: limit == 0 ? nil : limit, sort: RunSort(rawValue: sort) ?? .newest)
        let runs = try journal.runs(filter)
        if json {
            try JournalCLI.printJSON(runs)
            return
        }
        if runs.isEmpty {
            print("no runs" + (filter == RunFilter(limit: filter.limit) ? " yet (journal: \(journal.databaseURL.path))" : " match"))
            return
        }
        let rows = runs.map { r in
            [
                String(r.id.prefix(12)), JournalCLI.localTime(r.startedAt), r.status.rawValue, r.taskType?.rawValue ?? "—",
                r.strategy?.rawValue ?? "—", JournalCLI.score(r.score), r.cost.display, String(r.tokens),
                JournalCLI.seconds(r.durationMs), JournalCLI.forkCell(r), TerminalSanitizer.cell(r.task, limit: 60),
            ]
        }
        print(JournalCLI.table(["ID", "STARTED", "STATUS", "TYPE", "STRATEGY", "SCORE", "COST", "TOKENS", "TIME", "FORK", "TASK"], rows))
    }
}
