import Foundation
import Testing
import YmeraCore

@testable import YmeraQuality

/// Syntax through the real toolchains: a known-good and a known-bad sample per language. Where the
/// toolchain is not installed, the test asserts "not checked" instead of passing silently.
@Suite struct SyntaxTests {
    struct Sample: Sendable, CustomStringConvertible {
        var file: String
        var tool: String
        var good: String
        var bad: String
        /// Line of the error in `bad`.
        var badLine: Int
        var description: String { file }
    }

    static let samples: [Sample] = [
        Sample(file: "app.py", tool: "python3",
               good: "def add(a, b):\n    return a + b\n",
               bad: "def add(a, b):\n    x = 1\n    return a + * b\n", badLine: 3),
        Sample(file: "app.js", tool: "node",
               good: "function add(a, b) {\n  return a + b;\n}\nconsole.log(add(1, 2));\n",
               bad: "function add(a, b) {\n  return a + ;\n}\n", badLine: 2),
        Sample(file: "main.swift", tool: "swiftc",
               good: "func add(_ a: Int, _ b: Int) -> Int {\n    return a + b\n}\nprint(add(1, 2))\n",
               bad: "func add(_ a: Int, _ b: Int) -> Int {\n    return a +\n}\nlet x = [1, 2\n", badLine: 3),
        Sample(file: "main.c", tool: "cc",
               good: "#include <stdio.h>\nint add(int a, int b) {\n    return a + b;\n}\nint main(void) { printf(\"%d\\n\", add(1, 2)); return 0; }\n",
               bad: "#include <stdio.h>\nint add(int a, int b) {\n    return a + b\n}\n", badLine: 3),
        Sample(file: "main.cpp", tool: "c++",
               good: "#include <vector>\nint total(const std::vector<int>& v) {\n    int s = 0;\n    for (int x : v) s += x;\n    return s;\n}\n",
               bad: "#include <vector>\nint total(const std::vector<int>& v) {\n    int s = 0\n    return s;\n}\n", badLine: 3),
        Sample(file: "run.sh", tool: "bash",
               good: "#!/bin/bash\nset -euo pipefail\nif [ -n \"${1:-}\" ]; then\n  echo \"$1\"\nfi\n",
               bad: "#!/bin/bash\nif [ -n \"$1\" ]; then\n  echo hi\n", badLine: 4),
        Sample(file: "Main.java", tool: "javac",
               good: "import com.example.Missing;\npublic class Main {\n    public static void main(String[] a) { System.out.println(1); }\n}\n",
               bad: "public class Main {\n    int f() { return 1 + ; }\n}\n", badLine: 2),
        Sample(file: "main.rs", tool: "rustfmt",
               good: "use serde::Deserialize;\nfn main() {   let x=1; println!(\"{}\", x); }\n",
               bad: "fn main() {\n    let x = 1 +;\n}\n", badLine: 2),
        Sample(file: "app.ts", tool: "tsc",
               good: "import { x } from \"not-installed\";\nexport const f = (n: number): number => n + x;\n",
               bad: "export const f = (n: number): number => {\n  return n + ;\n};\n", badLine: 2),
        Sample(file: "data.json", tool: "python3",
               good: "{\"a\": [1, 2, 3]}\n", bad: "{\"a\": [1, 2,\n 3,]\n}\n", badLine: 2),
    ]

    @Test(arguments: samples)
    func goodSampleParses(_ s: Sample) async {
        let r = await Fixture.analyze(s.good, as: s.file)
        let block = r.code?.blocks.first
        if Fixture.has(s.tool) {
            #expect(block?.syntax.status == .passed, "\(block?.syntax.detail ?? "no block")")
            #expect(r.report.dimensions.first { $0.name == "syntax" }?.score == 1)
        } else {
            #expect(block?.syntax.status == .notChecked)
        }
    }

    @Test(arguments: samples)
    func badSampleIsRefusedByTheRealToolchainAtItsLine(_ s: Sample) async {
        let r = await Fixture.analyze(s.bad, as: s.file)
        guard let block = r.code?.blocks.first else {
            Issue.record("no block")
            return
        }
        guard Fixture.has(s.tool) else {
            #expect(block.syntax.status == .notChecked)
            return
        }
        #expect(block.syntax.status == .failed, "\(block.syntax.detail)")
        let lines = block.syntaxFindings.compactMap(\.line)
        #expect(!lines.isEmpty)
        // Compilers point at the line where the error becomes certain; allow one line of slack.
        #expect(lines.contains { abs($0 - s.badLine) <= 1 }, "lines \(lines), expected about \(s.badLine)")
        #expect(block.syntaxFindings.allSatisfy { $0.rule == "syntax-error" && $0.source != "ymera" })
        #expect(r.report.score <= 0.5, "a syntax error caps the score")
        #expect(!r.report.passed)
    }

    @Test func missingToolchainIsNotCheckedNeverPassed() async {
        let r = await Fixture.analyze("def f(:\n  pass\n", as: "app.py", options: .init(searchPath: "", runTests: false))
        let block = r.code?.blocks.first
        #expect(block?.syntax.status == .notChecked)
        #expect(block?.syntax.detail.contains("not found") == true)
        let syntax = r.report.dimensions.first { $0.name == "syntax" }
        #expect(syntax?.score == nil)
        #expect(syntax?.detail.contains("not checked") == true)
    }

    @Test func overrideCanHideOneTool() async {
        let r = await Fixture.analyze("echo hi\n", as: "x.sh", options: .init(toolOverrides: ["bash": ""], runTests: false))
        #expect(r.code?.blocks.first?.syntax.status == .notChecked)
    }

    @Test func missingHeaderIsNotCheckedRatherThanASyntaxError() async {
        guard Fixture.has("cc") else { return }
        let r = await Fixture.analyze("#include <ymera_no_such_header.h>\nint main(void) { return 0; }\n", as: "x.c")
        let block = r.code?.blocks.first
        #expect(block?.syntax.status == .notChecked)
        #expect(block?.syntax.detail.contains("header") == true)
    }

    @Test func languagesWithoutAParseOnlyCheckerSayNotChecked() async {
        let r = await Fixture.analyze("SELECT 1;\n", as: "q.sql")
        #expect(r.code?.blocks.first?.syntax.status == .notChecked)
        #expect(r.report.dimensions.first { $0.name == "syntax" }?.score == nil)
    }
}
