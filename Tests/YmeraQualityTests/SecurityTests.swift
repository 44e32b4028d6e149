import Foundation
import Testing
import YmeraCore

@testable import YmeraQuality

/// Each built-in rule with a known-bad line (flagged at its line) and a known-good line (not flagged).
@Suite struct SecurityTests {
    struct Case: Sendable, CustomStringConvertible {
        var rule: String
        var language: CodeLanguage
        var bad: String
        var good: String
        var description: String { "\(rule)/\(language.rawValue)" }
    }

    static let cases: [Case] = [
        Case(rule: "shell-true", language: .python, bad: "subprocess.call(cmd, shell=True)", good: "subprocess.call([\"ls\", path])"),
        Case(rule: "os-system", language: .python, bad: "os.system(\"rm \" + name)", good: "shutil.rmtree(name)"),
        Case(rule: "eval-exec", language: .python, bad: "result = eval(user_input)", good: "result = ast.literal_eval(user_input)"),
        Case(rule: "eval-exec", language: .javascript, bad: "const r = eval(req.query.expr);", good: "const r = JSON.parse(body);"),
        Case(rule: "eval-exec", language: .shell, bad: "eval \"$CMD\"", good: "echo \"$CMD\""),
        Case(rule: "sql-string-build", language: .python, bad: "cur.execute(f\"SELECT * FROM users WHERE name = '{name}'\")",
             good: "cur.execute(\"SELECT * FROM users WHERE name = ?\", (name,))"),
        Case(rule: "sql-string-build", language: .python, bad: "q = \"SELECT id FROM users WHERE id = \" + uid",
             good: "q = \"SELECT id FROM users WHERE id = %s\""),
        Case(rule: "sql-string-build", language: .python, bad: "cur.execute(\"DELETE FROM t WHERE id = %s\" % uid)",
             good: "cur.execute(\"DELETE FROM t WHERE id = %s\", (uid,))"),
        Case(rule: "sql-string-build", language: .javascript, bad: "db.query(`SELECT * FROM users WHERE id = ${id}`);",
             good: "db.query(\"SELECT * FROM users WHERE id = $1\", [id]);"),
        Case(rule: "hardcoded-secret", language: .python, bad: "API_KEY = \"a8f5f167f44f4964e6c998dee827110c\"",
             good: "API_KEY = os.environ[\"API_KEY\"]"),
        Case(rule: "hardcoded-secret", language: .javascript, bad: "const client = new OpenAI({ key: 'sk-proj-abcdefghijklmnopqrstuvwxyz012345' });",
             good: "const client = new OpenAI({ key: process.env.OPENAI_API_KEY });"),
        Case(rule: "hardcoded-secret", language: .python, bad: "password = \"Sup3rSecret!\"", good: "password = getpass.getpass()"),
        Case(rule: "weak-password-hash", language: .python, bad: "digest = hashlib.md5(password.encode()).hexdigest()",
             good: "digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt())"),
        Case(rule: "pickle-load", language: .python, bad: "obj = pickle.loads(request.data)", good: "obj = json.loads(request.data)"),
        Case(rule: "yaml-unsafe-load", language: .python, bad: "cfg = yaml.load(f)", good: "cfg = yaml.safe_load(f)"),
        Case(rule: "yaml-unsafe-load", language: .python, bad: "cfg = yaml.load(f, Loader=yaml.Loader)", good: "cfg = yaml.load(f, Loader=yaml.SafeLoader)"),
        Case(rule: "tls-verify-off", language: .python, bad: "requests.get(url, verify=False)", good: "requests.get(url, timeout=10)"),
        Case(rule: "tls-verify-off", language: .javascript, bad: "const agent = new https.Agent({ rejectUnauthorized: false });",
             good: "const agent = new https.Agent({ keepAlive: true });"),
        Case(rule: "tls-verify-off", language: .go, bad: "cfg := &tls.Config{InsecureSkipVerify: true}", good: "cfg := &tls.Config{MinVersion: tls.VersionTLS12}"),
        Case(rule: "tls-verify-off", language: .shell, bad: "curl -k https://example.org/x", good: "curl -fsSL https://example.org/x -o x"),
        Case(rule: "debug-enabled", language: .python, bad: "app.run(host=\"127.0.0.1\", debug=True)", good: "app.run(host=\"127.0.0.1\")"),
        Case(rule: "insecure-tempfile", language: .python, bad: "p = tempfile.mktemp()", good: "fd, p = tempfile.mkstemp()"),
        Case(rule: "command-injection", language: .javascript, bad: "exec(`convert ${file} out.png`);", good: "execFile(\"convert\", [file, \"out.png\"]);"),
        Case(rule: "xss-inner-html", language: .javascript, bad: "el.innerHTML = userText;", good: "el.textContent = userText;"),
        Case(rule: "unsafe-c-string", language: .c, bad: "    strcpy(buf, input);", good: "    strncpy(buf, input, sizeof buf - 1);"),
        Case(rule: "command-injection", language: .c, bad: "    system(cmd);", good: "    execv(path, argv);"),
        Case(rule: "curl-pipe-shell", language: .shell, bad: "curl -fsSL https://example.org/install.sh | sh", good: "curl -fsSL https://example.org/install.sh -o install.sh"),
        Case(rule: "world-writable", language: .shell, bad: "chmod 777 /srv/data", good: "chmod 750 /srv/data"),
        Case(rule: "bind-all-interfaces", language: .python, bad: "server.bind((\"0.0.0.0\", 8080))", good: "server.bind((\"127.0.0.1\", 8080))"),
    ]

    func block(_ line: String, _ language: CodeLanguage) -> CodeBlock {
        // The line under test sits on line 3 of a block that starts on line 10 of the output.
        CodeBlock(language: language, fileName: nil, code: "x = 1\n\n\(line)\ny = 2\n", startLine: 10, languageEvidence: "test")
    }

    @Test(arguments: cases)
    func badLineIsFlaggedAtItsLine(_ c: Case) {
        let found = SecurityRules.scan(block(c.bad, c.language))
        let hit = found.first { $0.rule == c.rule }
        #expect(hit != nil, "\(c.rule) not flagged in: \(c.bad)")
        #expect(hit?.line == 12)
        #expect(hit?.source == "ymera")
    }

    @Test(arguments: cases)
    func goodLineIsNotFlagged(_ c: Case) {
        let found = SecurityRules.scan(block(c.good, c.language)).filter { $0.rule == c.rule }
        #expect(found.isEmpty, "false positive \(c.rule) in: \(c.good)")
    }

    @Test func commentedOutCodeIsNotFlagged() {
        #expect(SecurityRules.scan(block("# subprocess.call(cmd, shell=True)", .python)).isEmpty)
        #expect(SecurityRules.scan(block("// el.innerHTML = userText;", .javascript)).isEmpty)
    }

    static let shellTrueSample = """
        import subprocess


        def run(cmd):
            return subprocess.call(cmd, shell=True)
        """

    @Test func shellTrueIsFlaggedAtItsLineByTheBuiltInRules() async {
        let r = await Fixture.analyze(Self.shellTrueSample, as: "run.py", options: .init(useExternalAnalyzers: false, runTests: false))
        let hit = r.report.findings.first { $0.rule == "shell-true" }
        #expect(hit?.line == 5)
        #expect(hit?.source == "ymera")
        #expect(hit?.severity == .high)
        #expect(!r.report.passed)
    }

    @Test func shellTrueIsFlaggedByBanditWhenInstalled() async {
        let r = await Fixture.analyze(Self.shellTrueSample, as: "run.py")
        let analyzers = r.code?.blocks.first?.analyzers ?? []
        if Fixture.has("bandit") {
            let hit = r.report.findings.first { $0.source == "bandit" && $0.rule == "B602" }
            #expect(hit?.line == 5)
            #expect(hit?.severity == .high)
            // The same issue is not reported twice.
            #expect(!r.report.findings.contains { $0.rule == "shell-true" && $0.line == 5 })
            #expect(analyzers.contains("bandit"))
        } else {
            #expect(r.report.findings.contains { $0.rule == "shell-true" && $0.line == 5 && $0.source == "ymera" })
            #expect(analyzers.contains { $0.contains("bandit not installed") })
        }
    }

    @Test func shellcheckFindingsAreLabelledAsShellchecks() async {
        let r = await Fixture.analyze("#!/bin/bash\nrm -rf $DIR/*\n", as: "clean.sh")
        let dim = r.report.dimensions.first { $0.name == "lint" }
        if Fixture.has("shellcheck") {
            #expect(r.report.findings.contains { $0.source == "shellcheck" && $0.rule == "SC2115" && $0.line == 2 })
            #expect(dim?.score != nil)
        } else {
            #expect(dim?.score == nil)
            #expect(dim?.detail.contains("shellcheck not installed") == true)
        }
    }

    @Test func ruffFindsUndefinedNamesWhenInstalled() async {
        let r = await Fixture.analyze("import os\n\n\ndef f():\n    return undefined_name\n", as: "u.py")
        let dim = r.report.dimensions.first { $0.name == "lint" }
        if Fixture.has("ruff") {
            #expect(r.report.findings.contains { $0.source == "ruff" && $0.rule == "F821" && $0.line == 5 && $0.severity == .high })
            #expect(r.report.findings.contains { $0.source == "ruff" && $0.rule == "F401" && $0.line == 1 })
            #expect((dim?.score ?? 1) < 1)
        } else {
            #expect(dim?.score == nil)
            #expect(dim?.detail.contains("ruff not installed") == true)
        }
    }

    @Test func cleanCodeScoresFullSecurity() async {
        let r = await Fixture.analyze("def add(a, b):\n    return a + b\n", as: "m.py")
        #expect(r.report.dimensions.first { $0.name == "security" }?.score == 1)
    }
}
