import Foundation

/// Who owns (drives) a run: the one process that calls providers for it and journals its events.
public struct RunOwner: Sendable, Hashable, Codable {
    public var pid: Int32
    public var host: String
    /// The process's start time (clock ticks since boot on Linux; 0 when unknown), so a reused pid is
    /// not taken for the original owner.
    public var startTicks: Int64
    /// When it took the run.
    public var since: Date
    /// Its last sign of life.
    public var heartbeat: Date

    public init(pid: Int32, host: String, startTicks: Int64, since: Date, heartbeat: Date) {
        self.pid = pid
        self.host = host
        self.startTicks = startTicks
        self.since = since
        self.heartbeat = heartbeat
    }

    /// Whether two records name the same process (times aside).
    public func isSameProcess(as other: RunOwner) -> Bool {
        pid == other.pid && host == other.host && startTicks == other.startTicks
    }

    /// "pid 4242 on host-a since 09:12:03" (a person reads it in a refusal).
    public var label: String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        f.timeZone = TimeZone.current
        return "pid \(pid) on \(host) since \(f.string(from: since))"
    }
}

/// A command as the journal keeps it.
public struct ControlCommandRecord: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        /// Written, not yet taken by the owner.
        case pending
        /// Taken by the owner, being applied.
        case taken
        /// Applied through the engine's controls; the events after `afterSeq` confirm it.
        case applied
        /// Not applied; `reason` says why.
        case refused
    }

    public var id: Int64
    public var runID: String
    public var command: RunCommand
    /// Who sent it ("pid 77 on host-a").
    public var issuedBy: String
    public var issuedAt: Date
    public var state: State
    public var reason: String?
    /// The run's last event when the owner applied it (the confirming event comes after).
    public var afterSeq: Int?

    public init(
        id: Int64, runID: String, command: RunCommand, issuedBy: String, issuedAt: Date, state: State,
        reason: String? = nil, afterSeq: Int? = nil
    ) {
        self.id = id
        self.runID = runID
        self.command = command
        self.issuedBy = issuedBy
        self.issuedAt = issuedAt
        self.state = state
        self.reason = reason
        self.afterSeq = afterSeq
    }
}

/// What claiming a run found.
public enum ClaimOutcome: Sendable, Hashable {
    /// This process owns the run now; `previous` was the owner it took over from (gone), if any.
    case claimed(previous: RunOwner?)
    /// Another live process owns it.
    case ownedBy(RunOwner)
    /// The run has ended; nobody can own it.
    case ended(RunStatus)
}

/// The ownership and command channel of a run journal: which process drives a run, and commands
/// addressed to a run by any other process. The SQLite journal implements it with a transaction per
/// claim (`BEGIN IMMEDIATE`) and a file-change notification on its WAL; a PostgreSQL journal would use
/// `SELECT … FOR UPDATE SKIP LOCKED` for claims and commands and `LISTEN/NOTIFY` for `changes`.
///
/// Rules every implementation keeps:
/// - `claim` is atomic: of any number of processes claiming one run, exactly one gets `.claimed`,
///   and it gets it only when the previous owner is gone (process dead, or not the same process any
///   more, or its heartbeat older than `staleAfter`).
/// - Events of a run are appended only by its owner (the journal refuses the others: fencing).
/// - `takeCommands` hands each pending command to the owner once.
public protocol RunCoordination: Sendable {
    /// This process, as an owner record would name it.
    var me: RunOwner { get }
    /// Takes the run for this process (creating its record when the run is new).
    func claim(runID: String, staleAfter: TimeInterval) throws -> ClaimOutcome
    /// Renews this process's ownership; false when it no longer owns the run (it must stop at once).
    func heartbeat(runID: String) throws -> Bool
    /// Gives the run up (its end was journaled, or it stopped).
    func release(runID: String) throws
    /// The run's live owner, if any (a dead or stale owner is nil).
    func liveOwner(of runID: String, staleAfter: TimeInterval) throws -> RunOwner?
    /// Runs owned by live processes, with their owners.
    func liveRuns(staleAfter: TimeInterval) throws -> [(runID: String, owner: RunOwner)]
    /// Writes a command for the run's owner; returns its id.
    func send(_ command: RunCommand, to runID: String) throws -> Int64
    /// Pending commands of runs this process owns, each handed over once (oldest first).
    func takeCommands(runIDs: [String]) throws -> [ControlCommandRecord]
    /// Records what became of a taken command.
    func settle(_ commandID: Int64, state: ControlCommandRecord.State, reason: String?, afterSeq: Int?) throws
    /// A command as it stands.
    func command(_ id: Int64) throws -> ControlCommandRecord?
}

/// Which events answer a command from another process. The owner's engine decides the command (its
/// control machine applies it or refuses it with a `command_refused` event); the sender waits for
/// the event that confirms it.
public enum CommandPolicy {
    /// Whether `event` confirms `command` (the event that the engine emits once it has applied it).
    public static func confirms(_ event: RunEvent, _ command: RunCommand) -> Bool {
        switch (command, event.kind) {
        case (.pause, .paused), (.resume, .resumed), (.cancel, .runCancelled), (.reject, .runCancelled): return true
        case (.approve, .gateApproved): return true
        case (.rerun, .stepReset(let p)): return p.reset.contains(p.step)
        case (.retry(let step, _), .stepReset(let p)): return p.step == step || p.reset.contains(step)
        case (.retry(let step, _), .stepStarted(let p)): return p.step == step
        case (.swap(let step, let model), .modelSwapped(let p)): return p.step == step && p.to == model
        case (.resetBreaker(let model), .breakerChanged(let p)), (.forceOpenBreaker(let model, _), .breakerChanged(let p)): return p.model == model
        default: return false
        }
    }

    /// An event after which the command can no longer be confirmed (the run ended another way).
    public static func ends(_ event: RunEvent) -> Bool {
        switch event.kind {
        case .runFinished, .runFailed, .runCancelled: true
        default: false
        }
    }
}
