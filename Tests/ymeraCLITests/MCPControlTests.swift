import Foundation
import MCP
import Testing
import YmeraConfig
import YmeraCore
import YmeraMCP

/// Issue #14 over MCP: start → pause → (a random real-time wait) → resume or cancel, 200 times, and
/// every run ends; when standard input closes the server cancels its runs and exits within its bound.
@Suite("ymera mcp: control sequences over stdio (the real binary)", .serialized)
struct MCPControlTests {
    /// `MCPService.shutdownBoundMs` plus the 0.3 s given to requests already read, plus process exit.
    static let exitBoundMs = 5_000 + 300 + 1_500

    static func call(_ client: Client, _ tool: String, _ args: [String: Value]) async throws -> [String: Any] {
        try MCPServerTests.json(try await client.callTool(name: tool, arguments: args))
    }

    /// Polls until the run is terminal (bounded); returns its status.
    static func waitTerminal(_ client: Client, _ runID: String, seconds: Double) async throws -> String {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var status = "unknown"
        while ContinuousClock.now < deadline {
            let s = try await call(client, "run_state", ["run_id": .string(runID)])
            status = s["status"] as? String ?? "unknown"
            if s["terminal"] as? Bool == true { return status }
            try await Task.sleep(for: .milliseconds(25))
        }
        return "not terminal after \(seconds) s (\(status))"
    }

    @Test(
        "200 × start_run → pause_run → random wait → resume_run or cancel_run: every run ends",
        .enabled(if: YmeraBinary.has("mcp"), "needs `ymera mcp` in the binary"))
    func twoHundredSequences() async throws {
        let home = try MCPServerTests.tempHome()
        defer { try? FileManager.default.removeItem(at: home) }
        let launched = try await ProcessLauncher(environment: MCPServerTests.environment(home: home))
            .launch(try MCPServerTests.config(home: home)) { _ in }
        let client = Client(name: "ymera-control-test", version: "1")
        try await client.connect(transport: launched.transport)
        let total = Int(ProcessInfo.processInfo.environment["MCP_CONTROL_SEQUENCES"] ?? "") ?? 200
        var rng = SplitMix64(seed: 14)
        // Waits of 0–1 s, drawn up front; a quarter of the range keeps the test short (0–250 ms).
        let plan: [(waitMs: Int, cancel: Bool)] = (0..<total).map { _ in (Int(rng.next() % 250), rng.next() % 2 == 0) }
        var statuses: [String: Int] = [:]
        var problems: [String] = []
        // Four lanes: the server runs at most four runs at once.
        try await withThrowingTaskGroup(of: [(String, String)].self) { group in
            for lane in 0..<4 {
                let mine = plan.enumerated().filter { $0.offset % 4 == lane }.map(\.element)
                group.addTask {
                    var out: [(String, String)] = []
                    for (i, step) in mine.enumerated() {
                        var started: [String: Any]?
                        for _ in 0..<50 where started == nil {
                            started = try? await Self.call(client, "start_run", ["task": .string(restTaskText), "seed": .int(lane * 1000 + i)])
                            if started == nil { try await Task.sleep(for: .milliseconds(50)) }
                        }
                        guard let runID = started?["run_id"] as? String else {
                            out.append(("-", "start_run refused 50 times"))
                            continue
                        }
                        // The run may already have ended: then pause/resume/cancel are refused, which is fine.
                        _ = try? await Self.call(client, "pause_run", ["run_id": .string(runID)])
                        try await Task.sleep(for: .milliseconds(step.waitMs))
                        _ = try? await Self.call(client, step.cancel ? "cancel_run" : "resume_run", ["run_id": .string(runID)])
                        out.append((runID, try await Self.waitTerminal(client, runID, seconds: 30)))
                    }
                    return out
                }
            }
            for try await lane in group {
                for (runID, status) in lane {
                    statuses[status, default: 0] += 1
                    if !["succeeded", "failed", "cancelled"].contains(status) { problems.append("\(runID): \(status)") }
                }
            }
        }
        print("mcp control: \(total) sequences, " + statuses.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        #expect(problems.isEmpty, "\(problems.prefix(10))")
        #expect(statuses.values.reduce(0, +) == total)
        await client.disconnect()
        await launched.stop()
    }

    @Test(
        "stdin closes with paused and running runs: the server exits within its bound and the runs are cancelled",
        .enabled(if: YmeraBinary.has("mcp"), "needs `ymera mcp` in the binary"))
    func stdinCloseCancelsWithinTheBound() async throws {
        let home = try MCPServerTests.tempHome()
        defer { try? FileManager.default.removeItem(at: home) }
        // The launcher closes stdin and waits half its grace (20 s) before SIGTERM: an exit sooner is the server's own.
        let launcher = ProcessLauncher(environment: MCPServerTests.environment(home: home), graceMs: 40_000)
        let launched = try await launcher.launch(try MCPServerTests.config(home: home)) { _ in }
        let client = Client(name: "ymera-control-test", version: "1")
        try await client.connect(transport: launched.transport)
        var ids: [String] = []
        for i in 0..<3 {
            let started = try await Self.call(client, "start_run", ["task": .string(restTaskText), "seed": .int(500 + i)])
            let id = try #require(started["run_id"] as? String)
            _ = try? await Self.call(client, "pause_run", ["run_id": .string(id)])
            ids.append(id)
        }
        let states = try await ids.asyncMap { try await Self.call(client, "run_state", ["run_id": .string($0)])["status"] as? String ?? "?" }
        let active = zip(ids, states).filter { $0.1 == "paused" || $0.1 == "running" }.map(\.0)
        await client.disconnect()
        let t0 = ContinuousClock.now
        await launched.stop()
        let took = ContinuousClock.now - t0
        let ms = Int(took.components.seconds * 1000 + took.components.attoseconds / 1_000_000_000_000_000)
        print("mcp shutdown: exited \(ms) ms after stdin closed, with \(active.count) of 3 runs still active (bound \(Self.exitBoundMs) ms)")
        #expect(ms <= Self.exitBoundMs, "the server took \(ms) ms to exit after stdin closed")
        // A new server on the same journal: the runs that were active are cancelled, none interrupted.
        let again = try await ProcessLauncher(environment: MCPServerTests.environment(home: home))
            .launch(try MCPServerTests.config(home: home)) { _ in }
        let reader = Client(name: "ymera-control-test", version: "1")
        try await reader.connect(transport: again.transport)
        for id in ids {
            let status = try await Self.call(reader, "run_state", ["run_id": .string(id)])["status"] as? String
            if active.contains(id) {
                #expect(status == "cancelled", "\(id) was active when stdin closed: \(status ?? "?")")
            } else {
                #expect(["succeeded", "failed", "cancelled"].contains(status ?? ""), "\(id): \(status ?? "?")")
            }
        }
        await reader.disconnect()
        await again.stop()
    }
}

let restTaskText = "Create a REST API with authentication and deploy it"

extension Array {
    func asyncMap<T>(_ f: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await f(e)) }
        return out
    }
}
