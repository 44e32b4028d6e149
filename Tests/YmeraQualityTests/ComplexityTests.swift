import Foundation
import Testing
import YmeraCore

@testable import YmeraQuality

@Suite struct ComplexityTests {
    static let python = """
        class Shop:
            def price(self, item, member):
                if item.sale and member:
                    return item.base * 0.8
                elif item.sale or member:
                    return item.base * 0.9
                return item.base


        def total(items):
            s = 0
            for i in items:
                if i:
                    s += i
            return s


        def simple():
            return 1
        """

    @Test func pythonComplexityPerFunctionFromTheAST() async {
        // Our helper over Python's ast, with radon switched off.
        let r = await Fixture.analyze(Self.python, as: "shop.py", options: .init(useExternalAnalyzers: false, runTests: false))
        let fns = r.code?.blocks.first?.functions ?? []
        guard Fixture.has("python3") else {
            #expect(fns.allSatisfy { $0.source == "ymera-approx" })
            return
        }
        #expect(fns.map(\.name) == ["Shop.price", "total", "simple"])
        #expect(fns.map(\.line) == [2, 10, 18])
        // price: 1 + if + `and` + elif + `or` = 5; total: 1 + for + if = 3; simple: 1.
        #expect(fns.map(\.complexity) == [5, 3, 1])
        #expect(fns.allSatisfy { $0.source == "python-ast" })
    }

    @Test func radonAgreesWithTheHelperWhenInstalled() async {
        let r = await Fixture.analyze(Self.python, as: "shop.py")
        let fns = r.code?.blocks.first?.functions ?? []
        if Fixture.has("radon") {
            #expect(fns.allSatisfy { $0.source == "radon" })
            #expect(fns.map(\.complexity) == [5, 3, 1])
        } else if Fixture.has("python3") {
            #expect(fns.allSatisfy { $0.source == "python-ast" })
            #expect(r.code?.blocks.first?.analyzers.contains { $0.contains("radon not installed") } == true)
        }
    }

    @Test func complexFunctionIsReportedAndLowersTheScore() async {
        var body = "def branchy(x):\n"
        for i in 0..<24 { body += "    if x == \(i):\n        return \(i)\n" }
        body += "    return -1\n"
        let r = await Fixture.analyze(body, as: "b.py", options: .init(useExternalAnalyzers: false, runTests: false))
        guard Fixture.has("python3") else { return }
        #expect(r.code?.blocks.first?.functions.first?.complexity == 25)
        #expect(r.report.findings.contains { $0.rule == "high-complexity" && $0.line == 1 && $0.severity == .medium })
        let dim = r.report.dimensions.first { $0.name == "complexity" }
        #expect((dim?.score ?? 1) < 0.6)
    }

    @Test func approximationForOtherLanguages() {
        let js = """
            function pick(a, b) {
              if (a && b) { return 1; }
              for (const x of a) { if (x) return x; }
              return a ? a : b;
            }
            const arrow = (x) => {
              return x || 0;
            };
            """
        let fns = ComplexityApproximation.functions(in: js, language: .javascript)
        #expect(fns.map(\.name) == ["pick", "arrow"])
        #expect(fns.map(\.complexity) == [6, 2])  // pick: 1 + if + && + for + if + ?: ; arrow: 1 + ||

        let c = """
            #include <stdio.h>
            int clamp(int v, int lo, int hi) {
                // if this were a comment it would not count: if if if
                if (v < lo) return lo;
                else if (v > hi) return hi;
                return v;
            }
            int proto(int x);
            """
        let cf = ComplexityApproximation.functions(in: c, language: .c)
        #expect(cf.map(\.name) == ["clamp"])
        #expect(cf.first?.complexity == 3)

        let swift = "func sign(_ x: Int) -> Int {\n    guard x != 0 else { return 0 }\n    return x > 0 ? 1 : -1\n}\n"
        let sf = ComplexityApproximation.functions(in: swift, language: .swift)
        #expect(sf.first?.complexity == 3)

        let sh = "greet() {\n  case \"$1\" in\n    a) echo a ;;\n    b) echo b ;;\n  esac\n  if [ -n \"$2\" ] && [ -n \"$3\" ]; then echo x; fi\n}\n"
        let shf = ComplexityApproximation.functions(in: sh, language: .shell)
        #expect(shf.map(\.name) == ["greet"])
        #expect(shf.first?.complexity == 5)  // 1 + two case arms + if + &&
    }

    @Test func oneLineArrowsAndExportedFunctionsAreFound() {
        let js = "exports.sum = (a, b) => a + b;\nexports.pick = (a, b) => a || b;\nconst api = {\n  get: function (k) { if (k) { return 1; } return 0; },\n};\n"
        let fns = ComplexityApproximation.functions(in: js, language: .javascript)
        #expect(fns.map(\.name) == ["sum", "pick", "get"])
        #expect(fns.map(\.complexity) == [1, 2, 2])
    }

    @Test func stringsDoNotCountAsDecisions() {
        let js = "function f() {\n  return \"if for while && ||\";\n}\n"
        #expect(ComplexityApproximation.functions(in: js, language: .javascript).first?.complexity == 1)
    }
}
