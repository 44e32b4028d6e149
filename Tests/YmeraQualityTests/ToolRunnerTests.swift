import Foundation
import Testing

@testable import YmeraQuality

@Suite struct ToolRunnerTests {
    let runner = ToolRunner(searchPath: "/usr/bin:/bin")

    func scratch() throws -> URL { try Scratch(prefix: "ymera-test").url }

    @Test func childSeesNoSecretsFromOurEnvironment() async throws {
        setenv("YMERA_TEST_SECRET_KEY", "sk-should-never-leak", 1)
        defer { unsetenv("YMERA_TEST_SECRET_KEY") }
        let dir = try scratch()
        let r = await runner.run("/usr/bin/env", [], in: dir)
        #expect(r.succeeded)
        #expect(!r.stdout.contains("sk-should-never-leak"))
        #expect(r.stdout.contains("HOME=\(dir.path)"))
    }

    @Test func runawayChildIsKilledAtTheTimeout() async throws {
        let dir = try scratch()
        let r = await runner.run("/bin/sh", ["-c", "sleep 30"], in: dir, limits: .init(timeout: .seconds(1)))
        #expect(r.timedOut)
        #expect(!r.succeeded)
    }

    @Test func outputIsBounded() async throws {
        let dir = try scratch()
        let r = await runner.run(
            "/bin/sh", ["-c", "yes ymera | head -c 100000"], in: dir, limits: .init(maxOutputBytes: 1000))
        #expect(r.truncated)
        #expect(r.stdout.utf8.count == 1000)
    }

    @Test func missingExecutableIsReportedNotPassed() async throws {
        let dir = try scratch()
        let r = await runner.run("/nonexistent/tool", [], in: dir)
        #expect(!r.succeeded)
    }
}
