import Foundation
import Testing
@testable import YmeraCore

/// A model-based test of the run's control machine, without I/O: a small world (three phases, the
/// middle one split into two subtasks that run at once) drives `RunMachine` the way the engine does,
/// every reachable state is visited, and in every state every command is tried.
///
/// Checked on every transition:
/// - no command is lost: a command applies (the state changes or an event says what happened) or it
///   is refused with a `command_refused` event and the state stays exactly as it was;
/// - resume changes the state before it wakes anyone: the waiters it wakes find the run running;
/// - no step is both done and running: a phase the graph holds done has no loop alive;
/// - a done phase's model (as the view shows it, folded from the events) never changes without a
///   new attempt on it.
@Suite("Control: every command in every reachable state")
struct ControlModelTests {
    static let phases = ["planning", "generation", "review"]
    static let subtasks = ["generation/a", "generation/b"]
    static let models: [ModelID] = ["sim/coder", "sim/fast"]

    static func plan() -> RunPlan {
        manualPlan([
            PlanStep(id: "planning", phase: .planning, title: "p", model: "sim/coder"),
            PlanStep(id: "generation", phase: .generation, title: "g", model: "sim/coder", dependsOn: ["planning"], decompose: true),
            PlanStep(id: "review", phase: .review, title: "r", model: "sim/coder", dependsOn: ["generation"]),
        ])
    }

    static let commands: [RunCommand] = {
        var c: [RunCommand] = [.pause, .resume, .cancel(reason: "x"), .resetBreaker("sim/fast"), .forceOpenBreaker("sim/fast", forMs: 1000)]
        for p in phases {
            c.append(.retry(step: p))
            c.append(.retry(step: p, on: "sim/fast"))
            c.append(.swap(step: p, to: "sim/fast"))
        }
        c.append(.swap(step: "generation", to: "sim/coder"))
        c.append(.swap(step: "generation/a", to: "sim/fast"))
        c.append(.swap(step: "nope", to: "sim/fast"))
        return c
    }()

    /// One loop as the world sees it.
    enum Loop: Hashable {
        case atGate(ModelID)
        case inAttempt(ModelID, stopAsked: Bool)
        case done(ModelID)
        case failed
    }

    /// The world around the machine: the engine's tasks, reduced to what control decides on.
    struct World: Hashable {
        var machine: RunMachine
        var phaseRunning: Set<String> = []
        var loops: [String: Loop] = [:]
        var over = false

        /// What identifies a state (the plan only varies in its models): hashing the whole plan is slow.
        struct Key: Hashable {
            var mode: RunMachine.Mode
            var graph: [StepScheduler.NodeState]
            var models: [ModelID]
            var machineLoops: [String: RunMachine.Loop]
            var swaps: [String: ModelID]
            var stopping: [String: Bool]
            var unfinished: [String: Set<String>]
            var seenLoops: Set<String>
            var ended: Bool
            var phaseRunning: Set<String>
            var loops: [String: Loop]
            var over: Bool
        }
        var key: Key {
            Key(mode: machine.mode, graph: phases.map { machine.scheduler?.states[$0] ?? .pending }, models: machine.plan.steps.map(\.model),
                machineLoops: machine.loops, swaps: machine.swaps, stopping: machine.stopping, unfinished: machine.unfinishedSubtasks,
                seenLoops: machine.loopsSeen, ended: machine.ended, phaseRunning: phaseRunning, loops: loops, over: over)
        }
        static func == (a: World, b: World) -> Bool { a.key == b.key }
        func hash(into h: inout Hasher) { h.combine(key) }

        var summary: String {
            let graph = (machine.scheduler?.order ?? []).map { "\($0)=\(machine.scheduler!.states[$0]!)@\(machine.model(of: $0)!)" }
            let ls = loops.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
            return "mode \(machine.mode), graph \(graph), loops \(ls), stopping \(machine.stopping), swaps \(machine.swaps), over \(over)"
        }
    }

    /// A world plus the view folded from every event so far (not part of the state's identity).
    struct Node {
        var world: World
        var view: RunState
        var seq: Int
    }

    enum Input: Hashable, CustomStringConvertible {
        case runLoop, gate(String), succeed(String), fail(String), stopped(String), phaseEnds(String), command(RunCommand)
        var description: String {
            switch self {
            case .runLoop: "runLoop"
            case .gate(let s): "gate(\(s))"
            case .succeed(let s): "succeed(\(s))"
            case .fail(let s): "fail(\(s))"
            case .stopped(let s): "stopped(\(s))"
            case .phaseEnds(let s): "phaseEnds(\(s))"
            case .command(let c): "command(\(c))"
            }
        }
    }

    static func loopIDs(_ phase: String) -> [String] { phase == "generation" ? subtasks : [phase] }

    /// Inputs the world can give in this state (commands are added by the explorer).
    static func enabled(_ w: World) -> [Input] {
        var inputs: [Input] = []
        if !w.over { inputs.append(.runLoop) }
        for (id, loop) in w.loops.sorted(by: { $0.key < $1.key }) {
            switch loop {
            case .atGate: inputs.append(.gate(id))
            case .inAttempt(_, let stop):
                inputs.append(.succeed(id))
                inputs.append(.fail(id))
                if stop { inputs.append(.stopped(id)) }
            case .done, .failed: break
            }
        }
        for p in w.phaseRunning.sorted() where loopIDs(p).allSatisfy({ id in
            switch w.loops[id] { case .done?, .failed?: true; default: false }
        }) {
            inputs.append(.phaseEnds(p))
        }
        return inputs
    }

    struct Violation: Error, CustomStringConvertible {
        var description: String
    }

    /// Applies one input; returns the next node (nil: the input did nothing, e.g. a gate that waits).
    static func step(_ node: Node, _ input: Input) throws -> Node? {
        var n = node
        var events: [RunEvent.Kind] = []
        func perform(_ actions: [RunMachine.Action]) {
            for a in actions {
                switch a {
                case .emit(let k): events.append(k)
                case .startStep(let id):
                    n.world.phaseRunning.insert(id)
                    if id == "generation" { n.world.machine.subtasksPlanned(id, subtasks) }
                    for l in loopIDs(id) {
                        n.world.machine.loopStarted(l)
                        n.world.loops[l] = .atGate(n.world.machine.model(of: id)!)
                    }
                case .stopAttempt(let id):
                    if case .inAttempt(let m, _)? = n.world.loops[id] { n.world.loops[id] = .inAttempt(m, stopAsked: true) }
                default: break
                }
            }
        }
        func endLoop(_ id: String, _ loop: Loop) {
            n.world.loops[id] = loop
            n.world.machine.loopEnded(id)
        }
        switch input {
        case .runLoop:
            let (actions, over) = n.world.machine.next()
            perform(actions)
            if over { n.world.over = true }
            if !over && n.world == node.world { return nil }  // nothing to start (or only tasks to cancel)
        case .gate(let id):
            guard case .atGate(var model)? = n.world.loops[id] else { return nil }
            switch n.world.machine.gate(id) {
            case .wait: return nil
            case .stop: endLoop(id, .failed)
            case .proceed(let swap):
                if let swap { model = swap }
                let stopNow = n.world.machine.attemptStarted(id, model: model)
                n.world.loops[id] = .inAttempt(model, stopAsked: stopNow)
                events.append(.stepStarted(.init(step: id, model: model, attempt: 1, purpose: .initial)))
            }
        case .succeed(let id):
            guard case .inAttempt(let model, _)? = n.world.loops[id] else { return nil }
            n.world.machine.attemptEnded(id)
            endLoop(id, .done(model))
            if id.contains("/") { events.append(.stepDone(.init(step: id, model: model, outputChars: 1))) }
        case .fail(let id):
            guard case .inAttempt(let model, _)? = n.world.loops[id] else { return nil }
            n.world.machine.attemptEnded(id)
            n.world.loops[id] = .atGate(model)
            events.append(.attemptFailed(.init(step: id, model: model, attempt: 1, errorClass: .serverError, message: "fault")))
        case .stopped(let id):
            guard case .inAttempt(let model, _)? = n.world.loops[id] else { return nil }
            n.world.machine.attemptEnded(id)
            switch n.world.machine.attemptStopped(id) {
            case .cancelled, .reset: endLoop(id, .failed)
            case .swap(let to): n.world.loops[id] = .atGate(to)
            case .none: n.world.loops[id] = .atGate(model)
            }
        case .phaseEnds(let p):
            let loops = loopIDs(p).compactMap { n.world.loops[$0] }
            let ok = loops.allSatisfy { if case .done = $0 { true } else { false } }
            let abandoned = n.world.machine.isStopping(p)
            if !abandoned {
                if ok, case .done(let m)? = loops.last {
                    events.append(.stepDone(.init(step: p, model: m, outputChars: 1)))
                } else if !ok {
                    events.append(.stepFailed(.init(step: p, errorClass: .unknown, reason: "failed")))
                }
            }
            for l in loopIDs(p) { n.world.loops[l] = nil }
            n.world.phaseRunning.remove(p)
            perform(n.world.machine.stepEnded(p, succeeded: ok && !abandoned))
        case .command(let c):
            let before = n.world
            let (outcome, actions) = n.world.machine.command(c, nowMs: 0)
            perform(actions)
            switch outcome {
            case .refused(let why):
                guard n.world == before else { throw Violation(description: "refused \(c) (\(why)) but the state changed") }
                if before.machine.ended {
                    guard actions.isEmpty else { throw Violation(description: "\(c) after the end emitted \(actions)") }
                } else {
                    guard actions.count == 1, case .emit(.commandRefused(let r)) = actions[0], r.reason == why, r.command == c.name else {
                        throw Violation(description: "refused \(c) without one command_refused event: \(actions)")
                    }
                }
            case .accepted:
                if n.world == before && actions.isEmpty { throw Violation(description: "\(c) accepted but nothing happened") }
                switch c {
                case .pause: guard n.world.machine.isPaused else { throw Violation(description: "pause accepted, not paused") }
                case .resume:
                    guard !n.world.machine.isPaused, actions.contains(.wakeWaiters) else { throw Violation(description: "resume accepted without waking in the running state") }
                    for id in n.world.loops.keys {
                        var probe = n.world.machine
                        guard probe.gate(id) != .wait else { throw Violation(description: "after resume, \(id) would wait again") }
                    }
                case .cancel:
                    guard n.world.machine.cancelReason != nil, actions.contains(.wakeWaiters) else { throw Violation(description: "cancel accepted, not cancelling") }
                default: break
                }
            }
        }
        // Fold what was emitted; check the view.
        let beforeView = n.view
        for k in events {
            n.seq += 1
            n.view.apply(RunEvent(runID: "run-manual", seq: n.seq, elapsedMs: 0, kind: k))
        }
        for p in phases {
            let state = n.world.machine.scheduler?.states[p]
            if state == .done, !n.world.machine.loopIDs(of: p).isEmpty {
                throw Violation(description: "\(p) is done in the graph while a loop of it is alive")
            }
            let was = beforeView.steps[p], now = n.view.steps[p]
            if was?.status == .done, now?.status == .done, was?.model != now?.model {
                throw Violation(description: "\(p) is done and its model changed \(was!.model) → \(now!.model) without an attempt")
            }
            if now?.status == .done, n.world.loops.contains(where: { RunMachine.phaseID($0.key) == p && { if case .inAttempt = $0.value { true } else { false } }($0) }) {
                throw Violation(description: "\(p) shows done while an attempt of it is in flight")
            }
        }
        for (id, s) in n.view.steps where s.status == .done {
            if case .inAttempt? = n.world.loops[id] { throw Violation(description: "\(id) shows done while its attempt is in flight") }
        }
        return n
    }

    @Test func everyCommandInEveryReachableState() throws {
        var start = World(machine: RunMachine(plan: Self.plan(), knownModels: Set(Self.models)))
        let sched = try StepScheduler(nodes: Self.plan().steps.map { ($0.id, $0.dependsOn) }, limit: 3)
        _ = start.machine.install(sched, rerun: [], nowMs: 0)
        var view = RunState(runID: "run-manual")
        view.logLimit = 4
        view.apply(RunEvent(runID: "run-manual", seq: 1, elapsedMs: 0, kind: .runPlanned(Self.plan())))
        var seen: Set<World.Key> = [start.key]
        var queue = [Node(world: start, view: view, seq: 1)]
        var head = 0
        var transitions = 0, commandsTried = 0, refusals = 0, endings = 0
        let limit = Int(ProcessInfo.processInfo.environment["CONTROL_MODEL_LIMIT"] ?? "") ?? 400_000
        while head < queue.count && seen.count < limit {
            let node = queue[head]
            head += 1
            if node.world.over { endings += 1 }
            let inputs = Self.enabled(node.world) + Self.commands.map { Input.command($0) }
            for input in inputs {
                let next: Node?
                do { next = try Self.step(node, input) } catch {
                    Issue.record("\(error) — input \(input) in state \(node.world.summary)")
                    return
                }
                transitions += 1
                if case .command = input {
                    commandsTried += 1
                    if next.map({ $0.world.key == node.world.key }) ?? true { refusals += 1 }
                }
                guard let next, seen.insert(next.world.key).inserted else { continue }
                queue.append(next)
                // The queue keeps only what is still to visit.
                if head > 50_000 {
                    queue.removeFirst(head)
                    head = 0
                }
            }
        }
        print("control model: \(seen.count) states, \(transitions) transitions, \(commandsTried) commands tried (\(refusals) left the state as it was), \(endings) end states")
        #expect(seen.count < limit, "the state space was not exhausted within \(limit) states")
        #expect(endings > 0)
        #expect(refusals > 0 && refusals < commandsTried)
    }

    /// The whole run ends from every reachable state once commands stop: no state is a trap.
    @Test func noReachableStateIsATrap() throws {
        // From a sample of states (every 50th), give only world inputs (and a resume when paused);
        // the run must end.
        var start = World(machine: RunMachine(plan: Self.plan(), knownModels: Set(Self.models)))
        _ = start.machine.install(try StepScheduler(nodes: Self.plan().steps.map { ($0.id, $0.dependsOn) }, limit: 3), rerun: [], nowMs: 0)
        var view = RunState(runID: "run-manual")
        view.logLimit = 4
        view.apply(RunEvent(runID: "run-manual", seq: 1, elapsedMs: 0, kind: .runPlanned(Self.plan())))
        var seen: Set<World.Key> = [start.key]
        var queue = [Node(world: start, view: view, seq: 1)]
        var head = 0
        while head < queue.count && seen.count < 3_000 {
            let node = queue[head]
            head += 1
            for input in Self.enabled(node.world) + Self.commands.map({ Input.command($0) }) {
                guard let next = try Self.step(node, input), seen.insert(next.world.key).inserted else { continue }
                queue.append(next)
            }
        }
        var checked = 0
        for (i, node) in queue.enumerated() where i % 10 == 0 {
            var n = node
            var moves = 0
            while !n.world.over && moves < 200 {
                moves += 1
                // Prefer progress: success over failure, a resume when paused.
                var inputs = Self.enabled(n.world).filter { if case .fail = $0 { false } else { true } }
                // The run loop last: it only matters once the phases have moved.
                inputs = inputs.filter { $0 != .runLoop } + inputs.filter { $0 == .runLoop }
                if n.world.machine.isPaused { inputs.insert(.command(.resume), at: 0) }
                var moved = false
                for input in inputs {
                    if let next = try Self.step(n, input) {
                        n = next
                        moved = true
                        break
                    }
                }
                if !moved { break }
            }
            #expect(n.world.over, "stuck in \(n.world.summary)")
            checked += 1
        }
        #expect(checked > 10)
    }
}
