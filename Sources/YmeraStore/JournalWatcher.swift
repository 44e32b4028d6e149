import Foundation
import GRDB
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Wakes when another connection commits to the journal, with no polling: a thread blocks in poll(2)
/// on an inotify watch of the journal's directory (every commit writes the `-wal` file) and, on a
/// write, asks SQLite's `PRAGMA data_version` on a connection of its own whether the database really
/// changed. An idle journal costs nothing. An optional tick (`setTick`) also wakes it after that much
/// quiet (an owner's heartbeat; a follower checking that a followed run's owner still lives).
///
///     let watcher = try JournalWatcher(journal: journal)
///     for await wake in watcher.changes { … }   // .changed or .tick
///     watcher.stop()
public final class JournalWatcher: Sendable {
    public enum Wake: Sendable, Hashable {
        /// Another connection committed.
        case changed
        /// The tick passed with nothing committed.
        case tick
    }

    public let changes: AsyncStream<Wake>
    private let core: Core

    /// Starts watching. Throws when the watch cannot be set up (no inotify, unreadable directory).
    public init(journal: Journal, tick: Duration? = nil) throws {
        let (stream, continuation) = AsyncStream<Wake>.makeStream(bufferingPolicy: .bufferingNewest(1))
        changes = stream
        core = try Core(databaseURL: journal.databaseURL, continuation: continuation, tick: tick)
        let core = self.core
        let thread = Thread { core.loop() }
        thread.name = "ymera-journal-watch"
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit { core.stop() }

    /// Changes (or removes, with nil) the tick; takes effect at once.
    public func setTick(_ tick: Duration?) { core.setTick(tick) }

    /// Ends the watch (the stream finishes).
    public func stop() { core.stop() }

    final class Core: Sendable {
        let inotifyFD: Int32
        let wakeRead: Int32
        let wakeWrite: Int32
        let names: Set<String>
        let versionQueue: DatabaseQueue
        let continuation: AsyncStream<Wake>.Continuation
        let tickMs = Mutex<Int32>(-1)
        let stopped = Atomic<Bool>(false)

        init(databaseURL: URL, continuation: AsyncStream<Wake>.Continuation, tick: Duration?) throws {
            self.continuation = continuation
            let dir = databaseURL.deletingLastPathComponent().path
            let base = databaseURL.lastPathComponent
            names = [base + "-wal", base]
            #if os(Linux)
                let ino = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
                guard ino >= 0 else { throw JournalError.invalidArgument("cannot watch the journal: inotify_init1 errno \(errno)") }
                let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)
                guard inotify_add_watch(ino, dir, mask) >= 0 else {
                    let e = errno
                    close(ino)
                    throw JournalError.invalidArgument("cannot watch \(dir): inotify_add_watch errno \(e)")
                }
            #else
                throw JournalError.invalidArgument("watching the journal needs Linux inotify")
            #endif
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else {
                close(ino)
                throw JournalError.invalidArgument("cannot watch the journal: pipe errno \(errno)")
            }
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
            var config = Configuration()
            config.busyMode = .timeout(5)
            config.readonly = true
            do {
                versionQueue = try DatabaseQueue(path: databaseURL.path, configuration: config)
            } catch {
                for fd in [ino, fds[0], fds[1]] { close(fd) }
                throw error
            }
            inotifyFD = ino
            wakeRead = fds[0]
            wakeWrite = fds[1]
            setTick(tick)
        }

        func setTick(_ tick: Duration?) {
            let ms: Int32 = tick.map { d in
                let c = d.components
                return Int32(clamping: max(1, c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000))
            } ?? -1
            tickMs.withLock { $0 = ms }
            nudge()
        }

        func stop() {
            if !stopped.exchange(true, ordering: .sequentiallyConsistent) { nudge() }
        }

        private func nudge() {
            var b: UInt8 = 1
            _ = write(wakeWrite, &b, 1)
        }

        func dataVersion() -> Int? {
            try? versionQueue.inDatabase { db in try Int.fetchOne(db, sql: "PRAGMA data_version") }
        }

        /// The watch thread: bounded by `stop()`.
        func loop() {
            defer {
                continuation.finish()
                close(inotifyFD)
                close(wakeRead)
                close(wakeWrite)
                try? versionQueue.close()
            }
            var version = dataVersion()
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while !stopped.load(ordering: .sequentiallyConsistent) {
                var fds = [
                    pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                ]
                let timeout = tickMs.withLock { $0 }
                let rc = poll(&fds, 2, timeout)
                if stopped.load(ordering: .sequentiallyConsistent) { return }
                if rc < 0 {
                    if errno == EINTR { continue }
                    return
                }
                if fds[1].revents != 0 { while read(wakeRead, &buffer, buffer.count) > 0 {} }
                var written = false
                if fds[0].revents != 0 { written = drainWatch(&buffer) }
                guard written || rc == 0 else { continue }
                let now = dataVersion()
                if now != version {
                    version = now
                    continuation.yield(.changed)
                } else if rc == 0 {
                    continuation.yield(.tick)
                }
            }
        }

        /// Reads every pending inotify event; true when one concerns the journal's files.
        private func drainWatch(_ buffer: inout [UInt8]) -> Bool {
            var relevant = false
            while true {
                let n = buffer.withUnsafeMutableBytes { read(inotifyFD, $0.baseAddress, $0.count) }
                if n <= 0 { return relevant }
                buffer.withUnsafeBytes { raw in
                    var offset = 0
                    // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[]; }
                    while offset + 16 <= n {
                        let len = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                        let nameStart = offset + 16
                        let nameEnd = min(n, nameStart + len)
                        let bytes = raw[nameStart..<nameEnd].prefix { $0 != 0 }
                        if names.contains(String(decoding: bytes, as: UTF8.self)) { relevant = true }
                        offset = nameStart + len
                    }
                }
            }
        }
    }
}
