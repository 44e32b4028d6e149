import CNcursesw
import Foundation
import Synchronization
import YmeraCore

/// A mailbox from async tasks (engine events, backend replies) to the UI loop, with a pipe the
/// loop polls: writers wake it, nothing spins. At most one wake byte is in flight.
public final class Inbox: Sendable {
    private let queue = Mutex<[Item]>([])
    private let signaled = Atomic<Bool>(false)
    let readFD: Int32
    let writeFD: Int32

    enum Item: Sendable {
        case action(Action)
        case event(RunEvent)
    }

    public init() {
        var fds: [Int32] = [0, 0]
        if pipe(&fds) != 0 { fds = [-1, -1] }
        readFD = fds[0]
        writeFD = fds[1]
        for fd in fds where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    public func post(_ action: Action) {
        queue.withLock { $0.append(.action(action)) }
        wake()
    }

    public func post(event: RunEvent) {
        queue.withLock { $0.append(.event(event)) }
        wake()
    }

    private func wake() {
        if !signaled.exchange(true, ordering: .acquiringAndReleasing) {
            var b: UInt8 = 1
            _ = write(writeFD, &b, 1)
        }
    }

    /// Empties the pipe and the queue; consecutive events come back as one `.events` action.
    func drain(nowMs: Int64) -> [Action] {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(readFD, &sink, 64) > 0 {}
        signaled.store(false, ordering: .sequentiallyConsistent)
        let items = queue.withLock { q -> [Item] in
            let items = q
            q.removeAll(keepingCapacity: true)
            return items
        }
        var out: [Action] = []
        var batch: [RunEvent] = []
        for item in items {
            switch item {
            case .event(let e): batch.append(e)
            case .action(let a):
                if !batch.isEmpty { out.append(.events(batch, nowMs: nowMs)); batch = [] }
                out.append(a)
            }
        }
        if !batch.isEmpty { out.append(.events(batch, nowMs: nowMs)) }
        return out
    }
}

/// Options for opening the dashboard.
public struct DashboardOptions: Sendable {
    public var theme: String
    /// Folders searched for `<theme>.toml` before the shipped themes.
    public var themePaths: [String]
    /// Force monochrome (otherwise: `NO_COLOR` set, or a terminal without colours).
    public var monochrome: Bool
    /// For benchmarks: draw to this descriptor and read keys from that one, with this TERM.
    public var outputFD: Int32?
    public var inputFD: Int32?
    public var term: String?
    /// Minimum milliseconds between frames (~30 per second).
    public var frameIntervalMs: Int64

    public init(
        theme: String = "default", themePaths: [String] = DashboardOptions.defaultThemePaths(), monochrome: Bool = false,
        outputFD: Int32? = nil, inputFD: Int32? = nil, term: String? = nil, frameIntervalMs: Int64 = 33
    ) {
        self.theme = theme
        self.themePaths = themePaths
        self.monochrome = monochrome
        self.outputFD = outputFD
        self.inputFD = inputFD
        self.term = term
        self.frameIntervalMs = frameIntervalMs
    }

    /// `./themes`, `$XDG_CONFIG_HOME/ymera/themes` (or `~/.config/ymera/themes`).
    public static func defaultThemePaths() -> [String] {
        let env = ProcessInfo.processInfo.environment
        var paths = ["themes"]
        if let x = env["XDG_CONFIG_HOME"], !x.isEmpty {
            paths.append(x + "/ymera/themes")
        } else if let h = env["HOME"] {
            paths.append(h + "/.config/ymera/themes")
        }
        return paths
    }

    /// `NO_COLOR` set to anything non-empty (https://no-color.org).
    public static var noColorRequested: Bool {
        !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
    }
}

/// Counters the loop keeps (benchmarks read them).
public struct LoopStats: Sendable {
    public var frames = 0
    public var wakeups = 0
    public var buildNs: UInt64 = 0
    public var drawNs: UInt64 = 0
}

/// The UI loop: the one owner of the `Terminal`. It blocks in poll(2) on the keyboard and the
/// inbox pipe, feeds actions to the reducer, runs effects as tasks and draws coalesced frames.
public final class UILoop: @unchecked Sendable {
    // @unchecked: every field is touched only on the loop's own thread after `start`.
    private let backend: any DashboardBackend
    private let options: DashboardOptions
    public let inbox = Inbox()
    private var state: AppState
    private var theme: Theme
    private var terminal: Terminal?
    private var lastFrame: Canvas?
    private var dirty = true
    private var lastDrawMs: Int64 = 0
    private var quitting = false
    private var exitCode: Int32 = 0
    private let stopFlag = Atomic<Bool>(false)
    private let statsBox = Mutex(LoopStats())
    private var eofStrikes = 0
    /// Benchmarks (`YMERA_TRACE_FRAMES=FILE`): each event's run, seq and the wall-clock ms of the first
    /// frame that showed it, one line per event (scripts/bench-follow.sh reads them).
    private let frameTrace: FileHandle? = ProcessInfo.processInfo.environment["YMERA_TRACE_FRAMES"].flatMap { path in
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return FileHandle(forWritingAtPath: path)
    }
    private var untraced: [RunEvent] = []

    public init(backend: any DashboardBackend, options: DashboardOptions) {
        self.backend = backend
        self.options = options
        self.state = AppState(serving: backend.serving)
        self.theme = Theme.standard()
    }

    public var stats: LoopStats { statsBox.withLock { $0 } }

    /// Asks the loop to end (from any thread).
    public func stop() {
        stopFlag.store(true, ordering: .sequentiallyConsistent)
        inbox.post(.quitRequested)
    }

    static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Runs the loop on the calling thread until quit; returns the exit status. Throws when no
    /// terminal can be opened (before anything is drawn).
    public func runBlocking() throws -> Int32 {
        let mono = options.monochrome || DashboardOptions.noColorRequested
        let term = try Terminal(term: options.term, outputFD: options.outputFD, inputFD: options.inputFD, monochrome: mono)
        terminal = term
        defer {
            term.shutdown()
            ymera_restore_default_signals()
        }
        ymera_install_quit_handlers(inbox.writeFD)
        ymera_chain_winch()
        do {
            theme = try Theme.load(named: options.theme, searchPaths: options.themePaths, monochrome: mono || term.colorMode == .none)
            state.themeName = options.theme
        } catch {
            theme = Theme.standard(monochrome: mono || term.colorMode == .none)
            state.message = "theme: \(error)"
            state.messageIsError = true
        }
        let (w, h) = term.size
        state.width = w
        state.height = h
        state.nowMs = Self.nowMs()
        execute([.loadModels])
        followOtherRuns()
        let inFD = options.inputFD ?? STDIN_FILENO
        while !quitting {
            let now = Self.nowMs()
            if dirty && now - lastDrawMs >= options.frameIntervalMs {
                drawFrame()
            }
            var fds = [
                pollfd(fd: inFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: inbox.readFD, events: Int16(POLLIN), revents: 0),
            ]
            // While a frame is pending, engine events wait in the inbox for it (one wake-up per frame,
            // not one per token); keys are still read at once, and signals interrupt the poll.
            let watchInbox = !dirty
            let rc = poll(&fds, watchInbox ? 2 : 1, pollTimeout(now: Self.nowMs()))
            statsBox.withLock { $0.wakeups += 1 }
            let sig = ymera_take_signal()
            if sig != 0 {
                // SIGINT / SIGTERM / SIGHUP: restore the terminal (the defer) and exit 128+signal.
                exitCode = 128 + sig
                break
            }
            if stopFlag.load(ordering: .sequentiallyConsistent) { break }
            let t = Self.nowMs()
            if rc < 0 && errno != EINTR { break }
            // Keys (and KEY_RESIZE, which curses raises after SIGWINCH interrupts the poll).
            let stdinReady = rc > 0 && fds[0].revents != 0
            let resized = ymera_take_winch() != 0
            if stdinReady || rc < 0 || resized {
                let input = term.readInput()
                if stdinReady && input.isEmpty {
                    eofStrikes += 1
                    if fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 || eofStrikes >= 3 { break }  // EOF/EIO: quit
                } else {
                    eofStrikes = 0
                }
                for ev in input { handle(ev, now: t) }
            }
            if (watchInbox && rc > 0 && fds[1].revents != 0) || rc == 0 {
                for a in inbox.drain(nowMs: t) { dispatch(a) }
            }
            if state.isAnimating {
                _ = state.reduce(.tick(nowMs: t))
                dirty = true
            }
        }
        return exitCode
    }

    private func pollTimeout(now: Int64) -> Int32 {
        if dirty {
            return Int32(max(0, options.frameIntervalMs - (now - lastDrawMs)))
        }
        if state.isAnimating {
            // The elapsed clock ticks at 1 Hz, on the second.
            return Int32(1000 - now % 1000)
        }
        return -1  // idle: sleep until a key or an engine event
    }

    private func handle(_ ev: InputEvent, now: Int64) {
        guard let term = terminal else { return }
        switch ev {
        case .resize:
            let (w, h) = term.size
            dispatch(.resize(width: w, height: h))
        case .key(let k):
            if k == .ctrl("c") {
                dispatch(.quitRequested)
                return
            }
            if state.isTooSmall && k == .char("q") {
                dispatch(.quitRequested)
                return
            }
            dispatch(.key(k))
        case .mouse(let x, let y, let wheel):
            dispatch(.click(lastFrame?.target(atX: x, y: y), wheel: wheel))
        }
    }

    private func dispatch(_ a: Action) {
        if frameTrace != nil {
            if case .events(let batch, _) = a { untraced += batch }
            if case .followed(_, _, let batch) = a { untraced += batch }
        }
        let effects = state.reduce(a)
        dirty = true
        execute(effects)
    }

    private func drawFrame() {
        guard let term = terminal else { return }
        let t0 = Self.nowNs()
        let canvas = Dashboard.render(state, theme: theme)
        let t1 = Self.nowNs()
        term.draw(canvas)
        let t2 = Self.nowNs()
        lastFrame = canvas
        lastDrawMs = Self.nowMs()
        if let trace = frameTrace, !untraced.isEmpty {
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            let wallMs = Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1_000_000
            let lines = untraced.map { "\(String(format: "%.3f", wallMs)) \($0.runID) \($0.seq) \($0.typeName)\n" }.joined()
            trace.write(Data(lines.utf8))
            untraced.removeAll()
        }
        dirty = false
        statsBox.withLock {
            $0.frames += 1
            $0.buildNs += t1 - t0
            $0.drawNs += t2 - t1
        }
    }

    private func execute(_ effects: [Effect]) {
        let backend = self.backend
        let inbox = self.inbox
        for effect in effects {
            switch effect {
            case .quit:
                quitting = true
            case .redrawAll:
                terminal?.requestFullRedraw()
            case .setTheme(let name):
                do {
                    let mono = options.monochrome || DashboardOptions.noColorRequested || terminal?.colorMode == ColorMode.none
                    theme = try Theme.load(named: name, searchPaths: options.themePaths, monochrome: mono)
                    state.themeName = name
                    state.message = "theme \(name)"
                } catch {
                    state.message = "\(error)"
                    state.messageIsError = true
                }
            case .loadModels:
                Task { inbox.post(.modelsLoaded(await backend.models())) }
            case .plan(let req):
                Task {
                    do { inbox.post(.planned(try await backend.plan(req), request: req)) } catch {
                        inbox.post(.planFailed("\(error)", request: req))
                    }
                }
            case .start(let plan):
                Task {
                    do {
                        let h = try await backend.start(plan)
                        inbox.post(.started(plan, runID: h.runID))
                        for await e in h.events { inbox.post(event: e) }
                    } catch {
                        inbox.post(.backendFailed("start: \(error)"))
                    }
                }
            case .fork(let id, let step, let model):
                Task {
                    do {
                        let (plan, h) = try await backend.fork(runID: id, from: step, model: model)
                        inbox.post(.started(plan, runID: h.runID))
                        for await e in h.events { inbox.post(event: e) }
                    } catch {
                        inbox.post(.backendFailed("fork: \(error)"))
                    }
                }
            case .control(let id, let c):
                Task {
                    do { try await backend.control(runID: id, c) } catch { inbox.post(.backendFailed("\(error)")) }
                }
            case .breaker(let m, let c):
                Task {
                    do {
                        try await backend.breaker(m, c)
                        inbox.post(.modelsLoaded(await backend.models()))
                    } catch { inbox.post(.backendFailed("\(error)")) }
                }
            case .loadHistory(let search):
                Task {
                    do { inbox.post(.historyLoaded(try await backend.history(search: search, limit: 500), search: search)) } catch {
                        inbox.post(.backendFailed("history: \(error)"))
                    }
                }
            case .loadRun(let id):
                Task {
                    do { inbox.post(.runLoaded(id, try await backend.events(ofRun: id))) } catch {
                        inbox.post(.backendFailed("open \(id): \(error)"))
                    }
                }
            case .editOutput(let id, let step, let text):
                // Synchronous: the editor owns the terminal until it exits; then one full repaint.
                switch ExternalEditor.edit(text, name: "\(id)-\(step)", terminal: terminal) {
                case .edited(let t): dispatch(.outputEdited(runID: id, text: t, error: nil))
                case .unchanged: dispatch(.outputEdited(runID: id, text: nil, error: nil))
                case .failed(let why): dispatch(.outputEdited(runID: id, text: nil, error: why))
                }
            case .loadFile(let id, let path, let version):
                Task {
                    do {
                        let text = try await backend.fileContent(runID: id, path: path, version: version)
                        inbox.post(.fileLoaded(runID: id, path: path, version: version, content: text, error: nil))
                    } catch {
                        inbox.post(.fileLoaded(runID: id, path: path, version: version, content: nil, error: "\(error)"))
                    }
                }
            }
        }
    }

    /// Live runs of other processes reach the inbox (and wake the loop) as the journal changes.
    private func followOtherRuns() {
        let backend = self.backend
        let inbox = self.inbox
        Task.detached {
            await backend.followOtherRuns { updates in
                for u in updates {
                    switch u {
                    case .discovered(let id, let owner, let events): inbox.post(.followed(runID: id, owner: owner, events: events))
                    case .events(let events): for e in events { inbox.post(event: e) }
                    case .ownerGone(let id): inbox.post(.ownerGone(runID: id))
                    }
                }
            }
        }
    }

    /// For benchmarks: start runs directly (as if the user had).
    public func startRun(_ plan: RunPlan) {
        let backend = self.backend
        let inbox = self.inbox
        Task {
            do {
                let h = try await backend.start(plan)
                inbox.post(.started(plan, runID: h.runID))
                for await e in h.events { inbox.post(event: e) }
            } catch {
                inbox.post(.backendFailed("start: \(error)"))
            }
        }
    }
}

/// Opens the dashboard on this process's terminal and runs it until the user quits. The loop runs
/// on its own thread (the single curses owner); engine events reach it through the inbox pipe.
public func runDashboard(backend: any DashboardBackend, options: DashboardOptions = DashboardOptions()) async throws -> Int32 {
    let loop = UILoop(backend: backend, options: options)
    return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Int32, any Error>) in
        let thread = Thread {
            do { cont.resume(returning: try loop.runBlocking()) } catch { cont.resume(throwing: error) }
        }
        thread.name = "ymera-ui"
        thread.stackSize = 8 << 20
        thread.start()
    }
}
