import Foundation
import Testing
import YmeraCore

@testable import YmeraQuality

/// With a workspace, the real validator checks the run's files as a project: syntax per file by
/// language, and the tests run in the sandbox against the other files under their own names.
@Suite(.serialized) struct WorkspaceValidationTests {
    static let main = "def greet(name):\n    return 'hello ' + name\n"
    static let tests = "import main\n\n\ndef test_greet():\n    assert main.greet('ada') == 'hello ada'\n\n\ndef test_greet_bob():\n    assert main.greet('bob') == 'hello bob'\n"

    static func input(_ files: [WorkspaceFile], output: String = "## Validation\n\n- PASS: greeting — covered\n\nVerdict: done.\n") -> ValidationInput {
        ValidationInput(
            task: "a greeting module with tests", intent: Intent(taskType: .code, complexity: 0.5, urgency: 0, creativity: 0, capabilities: []),
            stepID: "validation", phase: .validation, output: output, requirements: [], threshold: 0.7, files: files)
    }

    @Test func testsImportTheOtherFilesAsWritten() async {
        let v = RealValidator(options: .init(useExternalAnalyzers: false))
        let r = await v.analyze(Self.input([
            WorkspaceFile(path: "main.py", content: Self.main), WorkspaceFile(path: "tests.py", content: Self.tests),
            WorkspaceFile(path: "README.md", content: "# Greeting\n"),
        ]))
        // A validation verdict in prose, but the workspace makes it a code check of the files.
        #expect(r.kind == .code)
        #expect(r.code?.blocks.map(\.fileName) == ["main.py", "tests.py"])
        let syntax = r.report.dimensions.first { $0.name == "syntax" }
        #expect(syntax?.detail.contains("workspace: 2 code files") == true)
        #expect(syntax?.detail.contains("1 other file") == true)
        guard Fixture.has("python3") else {
            #expect(r.code?.tests?.status == .notChecked)
            return
        }
        #expect(syntax?.score == 1)
        let t = r.code?.tests
        #expect(t?.status == .passed, "\(t?.detail ?? "") \(t?.outputTail ?? "")")
        #expect(t?.passed == 2)
    }

    @Test func aBrokenFileInTheWorkspaceIsFoundAndCaps() async {
        guard Fixture.has("python3") else { return }
        let v = RealValidator(options: .init(useExternalAnalyzers: false, runTests: false))
        let r = await v.analyze(Self.input([
            WorkspaceFile(path: "main.py", content: Self.main), WorkspaceFile(path: "pkg/broken.py", content: "def f(:\n    pass\n"),
        ]))
        let syntax = r.report.dimensions.first { $0.name == "syntax" }
        #expect(syntax?.score == 0.5)
        #expect(syntax?.detail.contains("pkg/broken.py") == true)
        #expect(r.report.score <= 0.5)
    }

    @Test func withoutFilesTheAnswerIsCheckedAsBefore() async {
        let v = RealValidator(options: .init(useExternalAnalyzers: false, runTests: false))
        let r = await v.analyze(Self.input([]))
        #expect(r.kind == .text)
        #expect(r.code == nil)
    }
}
