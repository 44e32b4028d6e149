import Foundation
import Synchronization
import Testing
import YmeraCore

@testable import YmeraStore

#if canImport(Glibc)
    import Glibc
#endif

/// Identities of processes for ownership tests: this one, a live other one (the parent), a dead one,
/// and a reused pid (the parent's pid with another start time).
enum Identities {
    static let me = ProcessIdentity.current
    static let parent = ProcessIdentity(pid: getppid(), startTicks: ProcessIdentity.startTicks(of: getppid()) ?? 0)
    static let dead = ProcessIdentity(pid: 4_000_000, startTicks: 1)
    static let reused = ProcessIdentity(pid: getppid(), startTicks: (ProcessIdentity.startTicks(of: getppid()) ?? 0) + 12345)
}

@Suite("Ownership and commands in the journal (the run bus)")
struct CoordinationTests {
    func journal(_ dir: TempDir, as who: ProcessIdentity, now: @escaping @Sendable () -> Date = { Date() }) throws -> Journal {
        try Journal.open(directory: dir.url, owner: who, now: now)
    }

    @Test("a live owner keeps its run; a second process is refused and told who owns it")
    func liveOwnerRefuses() throws {
        let dir = try TempDir()
        let a = try journal(dir, as: Identities.parent)
        #expect(try a.claim(runID: "r1") == .claimed(previous: nil))
        let b = try journal(dir, as: Identities.me)
        guard case .ownedBy(let o) = try b.claim(runID: "r1") else {
            Issue.record("a second process claimed a run whose owner lives")
            return
        }
        #expect(o.pid == Identities.parent.pid)
        #expect(o.host == Journal.hostName)
        #expect(o.label.contains("pid \(Identities.parent.pid) on \(Journal.hostName) since "))
        #expect(try b.liveOwner(of: "r1")?.pid == Identities.parent.pid)
        #expect(try b.liveRuns().map(\.runID) == ["r1"])
    }

    @Test("an owner that is gone — dead pid, reused pid, stale heartbeat — is taken over", arguments: ["dead", "reused", "stale"])
    func goneOwnerIsTakenOver(_ how: String) throws {
        let dir = try TempDir()
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let first = how == "dead" ? Identities.dead : how == "reused" ? Identities.reused : Identities.parent
        let a = try journal(dir, as: how == "reused" ? Identities.parent : first, now: clock.function)
        var s = RunScript.rich(runID: "r1", finish: false)
        #expect(try a.claim(runID: "r1") == .claimed(previous: nil))
        try a.append(s.events)
        if how == "reused" {
            // The record names the parent's pid with another start time: a new process under an old pid.
            try a.pool.write { db in
                try db.execute(sql: "UPDATE run_owners SET start_ticks = ? WHERE run_id = 'r1'", arguments: [Identities.reused.startTicks])
            }
        }
        if how == "stale" { clock.advance(Journal.defaultStaleAfter + 1) }
        let b = try journal(dir, as: Identities.me, now: clock.function)
        #expect(try b.liveOwner(of: "r1") == nil)
        #expect(try b.run("r1")?.status == .interrupted, "opening the journal marks the run interrupted")
        guard case .claimed(let previous) = try b.claim(runID: "r1") else {
            Issue.record("the run of a gone owner (\(how)) was not taken over")
            return
        }
        #expect(previous?.pid == (how == "dead" ? Identities.dead.pid : Identities.parent.pid))
        // The old owner is fenced off: its events are refused, none lands twice.
        s.emit(.stepStarted(.init(step: "validation", model: "sim/v", attempt: 1, purpose: .initial)))
        #expect(throws: JournalError.self) { try a.append(s.events.last!) }
        #expect(try b.heartbeat(runID: "r1"))
        #expect(try !a.heartbeat(runID: "r1"), "the old owner learns it lost the run")
    }

    @Test("of two processes claiming one run at once, exactly one wins (50 rounds)")
    func racingClaims() throws {
        let dir = try TempDir()
        let a = try journal(dir, as: Identities.me)
        let b = try journal(dir, as: Identities.parent)
        for round in 0..<50 {
            let id = "race-\(round)"
            let results = Mutex<[ClaimOutcome]>([])
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                let j = i == 0 ? a : b
                if let r = try? j.claim(runID: id) { results.withLock { $0.append(r) } }
            }
            let all = results.withLock { $0 }
            #expect(all.count == 2)
            #expect(all.filter { if case .claimed = $0 { true } else { false } }.count == 1, "round \(round): \(all)")
        }
    }

    @Test("an ended run cannot be claimed")
    func endedRun() throws {
        let dir = try TempDir()
        let a = try journal(dir, as: Identities.me)
        #expect(try a.claim(runID: "r1") == .claimed(previous: nil))
        try a.append(RunScript.rich(runID: "r1").events)
        try a.sync()
        try a.release(runID: "r1")
        let b = try journal(dir, as: Identities.parent)
        #expect(try b.claim(runID: "r1") == .ended(.succeeded))
        #expect(try b.liveRuns().isEmpty)
    }

    @Test("a command is handed to the owner once, and its outcome is kept")
    func commands() throws {
        let dir = try TempDir()
        let owner = try journal(dir, as: Identities.parent)
        #expect(try owner.claim(runID: "r1") == .claimed(previous: nil))
        let other = try journal(dir, as: Identities.me)
        let pause = try other.send(.pause, to: "r1")
        let swap = try other.send(.swap(step: "generation", to: "sim/beta"), to: "r1")
        #expect(try other.takeCommands(runIDs: ["r1"]).isEmpty, "only the owner takes a run's commands")
        let taken = try owner.takeCommands(runIDs: ["r1"])
        #expect(taken.map(\.command) == [.pause, .swap(step: "generation", to: "sim/beta")])
        #expect(taken.allSatisfy { $0.issuedBy == "pid \(Identities.me.pid) on \(Journal.hostName)" })
        #expect(try owner.takeCommands(runIDs: ["r1"]).isEmpty, "taken once")
        try owner.settle(pause, state: .applied, reason: nil, afterSeq: 7)
        try owner.settle(swap, state: .refused, reason: "generation is done", afterSeq: nil)
        #expect(try other.command(pause)?.state == .applied)
        #expect(try other.command(pause)?.afterSeq == 7)
        #expect(try other.command(swap)?.reason == "generation is done")
        // Commands left when the run ends are refused, not left pending forever.
        let late = try other.send(.cancel(reason: "x"), to: "r1")
        try owner.release(runID: "r1")
        #expect(try other.command(late)?.state == .refused)
    }

    @Test("a follower sees other processes' live runs and their new events, never its own")
    func follow() throws {
        let dir = try TempDir()
        let owner = try journal(dir, as: Identities.parent)
        let follower = try journal(dir, as: Identities.me)
        #expect(try follower.claim(runID: "mine") == .claimed(previous: nil))
        try follower.append(RunScript.rich(runID: "mine", finish: false).events.prefix(3))
        var cursor = FollowCursor()
        #expect(try follower.follow(&cursor).isEmpty)

        let full = RunScript.rich(runID: "theirs").events
        let cut = full.count - 6
        #expect(try owner.claim(runID: "theirs") == .claimed(previous: nil))
        try owner.append(full.prefix(cut))
        try owner.sync()
        let first = try follower.follow(&cursor)
        #expect(first.discovered.map(\.runID) == ["theirs"])
        #expect(first.discovered.first?.owner.pid == Identities.parent.pid)
        var state = RunState.replay(first.discovered.first?.events ?? [])
        #expect(try follower.follow(&cursor).isEmpty, "nothing new, nothing reported")

        try owner.append(full.dropFirst(cut))
        try owner.sync()
        try owner.release(runID: "theirs")
        let second = try follower.follow(&cursor)
        #expect(second.discovered.isEmpty)
        for e in second.events { state.apply(e) }
        #expect(state.status == .succeeded)
        #expect(state.finalOutput == RunState.replay(full).finalOutput)
        #expect(cursor.following.isEmpty, "an ended run is not followed any more")
    }

    @Test("a followed run whose owner dies is reported once")
    func followedOwnerDies() throws {
        let dir = try TempDir()
        let clock = ManualClock(Date())
        let owner = try journal(dir, as: Identities.parent, now: clock.function)
        let follower = try journal(dir, as: Identities.me, now: clock.function)
        #expect(try owner.claim(runID: "r1") == .claimed(previous: nil))
        try owner.append(RunScript.rich(runID: "r1", finish: false).events)
        var cursor = FollowCursor()
        #expect(try follower.follow(&cursor).discovered.count == 1)
        clock.advance(Journal.defaultStaleAfter + 5)
        #expect(try follower.follow(&cursor).ownerGone == ["r1"])
        #expect(try follower.follow(&cursor).isEmpty)
    }

    @Test("the watcher wakes on another connection's commit and stays asleep otherwise")
    func watcher() async throws {
        let dir = try TempDir()
        let a = try journal(dir, as: Identities.me)
        let watcher = try JournalWatcher(journal: a)
        defer { watcher.stop() }
        let b = try journal(dir, as: Identities.parent)
        var wakes = watcher.changes.makeAsyncIterator()
        let start = ContinuousClock.now
        #expect(try b.claim(runID: "r1") == .claimed(previous: nil))
        let first = await wakes.next()
        #expect(first == .changed)
        // A hang guard, not a speed test (the latency is measured by scripts/bench-follow.sh).
        #expect(ContinuousClock.now - start < .seconds(30))

        // Quiet: no wake without a tick (a short tick proves the loop is alive and only ticks).
        watcher.setTick(.milliseconds(150))
        #expect(await wakes.next() == .tick)
        watcher.setTick(nil)
        let writer = Task {
            try await Task.sleep(for: .milliseconds(300))
            try b.append(RunScript.rich(runID: "r1", finish: false).events.prefix(2))
        }
        // A tick already on its way when the tick was turned off may still arrive (a loaded machine
        // delays the wake-up); after it, the next wake is the commit.
        var next = await wakes.next()
        var lateTicks = 0
        while next == .tick, lateTicks < 3 {
            lateTicks += 1
            next = await wakes.next()
        }
        try await writer.value
        #expect(next == .changed, "a quiet journal with no tick wakes only on a commit")
        #expect(lateTicks <= 1, "\(lateTicks) ticks after the tick was turned off")
    }
}
