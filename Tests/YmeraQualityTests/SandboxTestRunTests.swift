import Foundation
import Testing
import YmeraCore

@testable import YmeraQuality

/// Tests that come with an output run in the sandbox; passed/failed and coverage are reported.
@Suite(.serialized) struct SandboxTestRunTests {
    static let answer = """
        Here is the module:

        ```python
        def add(a, b):
            return a + b


        def sub(a, b):
            return a + b  # bug


        def unused(x):
            if x:
                return 1
            return 2
        ```

        And its tests:

        ```python test_calc.py
        from calc import add, sub


        def test_add():
            assert add(2, 3) == 5


        def test_sub():
            assert sub(5, 3) == 2
        ```
        """

    @Test func pythonTestsRunInTheSandboxWithResults() async {
        let v = RealValidator(options: .init(useExternalAnalyzers: false))
        let r = await v.analyze(Fixture.input(Self.answer, task: "calculator add sub"), kind: .code)
        guard Fixture.has("python3") else {
            #expect(r.code?.tests?.status == .notChecked)
            return
        }
        let t = r.code?.tests
        #expect(t?.status == .failed)
        #expect(t?.passed == 1)
        #expect(t?.failed == 1)
        #expect(t?.sandbox.contains("MiB address space") == true)
        let tests = r.report.dimensions.first { $0.name == "tests" }
        #expect(tests?.score == 0.5)
        #expect(r.report.score <= 0.6, "failing tests cap the score")
        if let cov = t?.lineCoverage {
            // add and sub run, `unused` does not: clearly below 100%.
            #expect(cov > 0.3 && cov < 0.95)
            #expect(r.report.dimensions.contains { $0.name == "test coverage" })
        } else {
            #expect(t?.detail.contains("coverage") == true)
        }
    }

    @Test func passingTestsPass() async {
        let fixed = Self.answer.replacingOccurrences(of: "return a + b  # bug", with: "return a - b")
        let v = RealValidator(options: .init(useExternalAnalyzers: false))
        let r = await v.analyze(Fixture.input(fixed), kind: .code)
        guard Fixture.has("python3") else { return }
        #expect(r.code?.tests?.status == .passed)
        #expect(r.code?.tests?.passed == 2)
    }

    @Test func runawayTestIsStoppedByTheTimeLimit() async {
        let answer = "```python test_loop.py\ndef test_forever():\n    while True:\n        pass\n```\n"
        let v = RealValidator(options: .init(useExternalAnalyzers: false, testTimeout: .seconds(2)))
        let r = await v.analyze(Fixture.input(answer), kind: .code)
        guard Fixture.has("python3") else { return }
        #expect(r.code?.tests?.status == .failed)
        #expect(r.code?.tests?.detail.contains("did not finish") == true)
    }

    @Test func networkIsCutOffWhereTheMachineAllowsIt() async {
        // Connecting to our own loopback listener works on any normal machine and fails in a fresh
        // network namespace (where even `lo` is down): the outcome tells whether the network was cut.
        let answer = """
            ```python test_net.py
            import socket

            def test_loopback_connect():
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                s.listen()
                c = socket.create_connection(s.getsockname(), timeout=2)
                c.close()
                s.close()
            ```
            """
        let support = await SandboxProbe.shared.result(systemPath: "/usr/bin:/bin")
        let (isolated, why) = (support.network, support.detail)
        let v = RealValidator(options: .init(useExternalAnalyzers: false, testTimeout: .seconds(90)))
        let r = await v.analyze(Fixture.input(answer), kind: .code)
        guard Fixture.has("python3") else { return }
        #expect(r.code?.tests?.sandbox.contains(why) == true)
        #expect(r.code?.tests?.status == (isolated ? .failed : .passed), "\(r.code?.tests?.outputTail ?? "")")
        if isolated {
            #expect(r.code?.tests?.outputTail.contains("unreachable") == true, "failed for the wrong reason")
        }
    }

    @Test func filesOutsideTheSandboxAreReadOnlyWhereTheMachineAllowsIt() async throws {
        let name = "ymera-escape-\(UUID().uuidString)"
        let answer = """
            ```python test_escape.py
            import os

            def test_write_outside():
                path = os.path.join(os.path.dirname(os.getcwd()), "\(name)")
                with open(path, "w") as f:
                    f.write("escaped")
            ```
            """
        let support = await SandboxProbe.shared.result(systemPath: "/usr/bin:/bin")
        let v = RealValidator(options: .init(useExternalAnalyzers: false, testTimeout: .seconds(90)))
        let r = await v.analyze(Fixture.input(answer), kind: .code)
        guard Fixture.has("python3") else { return }
        let escaped = FileManager.default.temporaryDirectory.appendingPathComponent(name)
        defer { try? FileManager.default.removeItem(at: escaped) }
        if support.readOnlyFilesystem {
            #expect(r.code?.tests?.status == .failed, "\(r.code?.tests?.outputTail ?? "")")
            #expect(!FileManager.default.fileExists(atPath: escaped.path))
            #expect(r.code?.tests?.outputTail.contains("Read-only file system") == true, "failed for the wrong reason")
            #expect(r.code?.tests?.sandbox.contains("read-only") == true)
        } else {
            #expect(r.code?.tests?.sandbox.contains("not protected") == true || !support.network)
        }
    }

    @Test func memoryLimitStopsAGreedyTest() async {
        let answer = "```python test_mem.py\ndef test_greedy():\n    b = bytearray(3 * 1024 * 1024 * 1024)\n    assert len(b) > 0\n```\n"
        let v = RealValidator(options: .init(useExternalAnalyzers: false, testMemoryKiB: 512 * 1024))
        let r = await v.analyze(Fixture.input(answer), kind: .code)
        guard Fixture.has("python3") else { return }
        #expect(r.code?.tests?.status == .failed)
        #expect(r.code?.tests?.outputTail.contains("MemoryError") == true, "failed for the wrong reason")
    }

    @Test func nodeTestsRun() async {
        let answer = """
            ```js sum.js
            exports.sum = (a, b) => a + b;
            ```

            ```js sum.test.js
            const test = require('node:test');
            const assert = require('node:assert');
            const { sum } = require('./sum');
            test('sums', () => { assert.strictEqual(sum(1, 2), 3); });
            test('wrong', () => { assert.strictEqual(sum(1, 2), 4); });
            ```
            """
        let v = RealValidator(options: .init(useExternalAnalyzers: false))
        let r = await v.analyze(Fixture.input(answer), kind: .code)
        guard Fixture.has("node") else {
            #expect(r.code?.tests?.status == .notChecked)
            return
        }
        #expect(r.code?.tests?.passed == 1)
        #expect(r.code?.tests?.failed == 1)
        #expect(r.code?.tests?.status == .failed)
        // A node that prints a coverage report must have it read.
        if r.code?.tests?.outputTail.contains("end of coverage report") == true {
            let cov = r.code?.tests?.lineCoverage ?? -1
            #expect(cov > 0 && cov <= 1)
            #expect(r.code?.tests?.coverageTool?.contains("node") == true)
        } else {
            #expect(r.code?.tests?.lineCoverage == nil)
        }
    }

    @Test func codeWithoutTestsIsRunButNotCountedAsPassed() async {
        guard Fixture.has("python3") else { return }
        let r = await Fixture.analyze("def f():\n    return 1\n", as: "f.py", options: .init())
        let tests = r.report.dimensions.first { $0.name == "tests" }
        #expect(tests?.score == 0.25)
        #expect(tests?.detail.contains("imported 1 of 1 module") == true)
        #expect(tests?.detail.contains("unverified") == true)
        // An exception at import is a failed test, not "no tests".
        let bad = await Fixture.analyze("def f():\n    return 1\n\nassert f() == 2\n", as: "f.py", options: .init())
        #expect(bad.code?.tests?.status == .failed)
        #expect(bad.report.dimensions.first { $0.name == "tests" }?.score == 0)
    }
}
