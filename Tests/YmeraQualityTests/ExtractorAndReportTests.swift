import Foundation
import Testing
import YmeraCore

@testable import YmeraQuality

@Suite struct ExtractorTests {
    @Test func fencedBlocksWithTagsAndFileNames() {
        let out = """
            Intro text.

            **server.js**
            ```javascript
            const x = 1;
            ```

            ```python title="app/main.py"
            print(1)
            ```

            ```bash:deploy.sh
            echo hi
            ```

            ```
            #include <stdio.h>
            int main(void) { return 0; }
            ```
            """
        let b = CodeExtractor.extract(out)
        #expect(b.map(\.language) == [.javascript, .python, .shell, .c])
        #expect(b.map(\.fileName) == ["server.js", "app/main.py", "deploy.sh", nil])
        #expect(b.map(\.startLine) == [5, 9, 13, 17])
        #expect(b[3].languageEvidence == "content")
    }

    @Test func wholeOutputWhenUnfenced() {
        let code = "import os\n\ndef main():\n    print(os.getcwd())\n"
        #expect(CodeExtractor.extract(code).first?.language == .python)
        #expect(CodeExtractor.extract("Just a sentence about cats and dogs.").isEmpty)
        #expect(CodeExtractor.extract("x", fileName: "a.swift").first?.language == .swift)
    }
}

@Suite struct ValidateFileTests {
    static let sample = """
        import hashlib
        import subprocess


        def run(cmd):
            return subprocess.call(cmd, shell=True)


        def store(user, password):
            if not user or not password:
                raise ValueError("missing")
            return hashlib.md5(password.encode()).hexdigest()
        """

    @Test func validatingAPythonFilePrintsSyntaxComplexityAndFindingsWithLines() async throws {
        let url = try Fixture.writeTemp("tool.py", Self.sample)
        let v = RealValidator(options: .init(runTests: false))
        let result = try await v.analyze(fileURL: url, task: "run commands and store passwords")
        let text = result.renderText()
        if Fixture.has("python3") {
            #expect(text.contains("syntax: PASSED"))
            #expect(text.contains("line 5: run = 1"))
            #expect(text.contains("line 9: store = 3"))  // 1 + if + `or`
        } else {
            #expect(text.contains("syntax: NOT CHECKED"))
        }
        #expect(text.range(of: #"line 6: HIGH (shell-true|B602)"#, options: .regularExpression) != nil, "\(text)")
        #expect(text.range(of: #"line 12: HIGH (weak-password-hash|B324)"#, options: .regularExpression) != nil, "\(text)")
        #expect(text.contains("score:"))
        #expect(!result.report.passed)

        // JSON carries the same facts.
        let data = try JSONEncoder().encode(result)
        let back = try JSONDecoder().decode(RealValidator.Result.self, from: data)
        #expect(back.code?.blocks.first?.securityFindings.contains { $0.line == 6 } == true)
        #expect(back.report == result.report)

        // The convenience used by the CLI and the engine returns the same report.
        let report = await v.validate(fileURL: url, task: "run commands and store passwords")
        #expect(report.score == result.report.score)
    }

    @Test func terminalOutputIsSanitized() {
        #expect(sanitizeForTerminal("a\u{1B}[31mred\u{07}\u{9B}2Jx\u{202E}") == "aredx")
    }
}
