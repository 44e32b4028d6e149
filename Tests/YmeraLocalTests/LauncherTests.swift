import Foundation
import Testing
@testable import YmeraLocal

@Suite("Launcher: arguments, resource lookup, the script itself")
struct LauncherTests {
    func config(threads: Int = 1, ctx: Int = 4096) -> LaunchConfiguration {
        LaunchConfiguration(
            python: "/d/local/venv/bin/python", launcher: "/d/local/ymera_llama_server.py",
            modelPath: "/d/local/models/m.gguf", alias: "smollm2-135m-instruct", threads: threads, contextSize: ctx,
            parallel: 1, readyFile: "/d/local/server.ready.json")
    }

    @Test func argumentsBindLoopbackOnAFreePortWithOneThread() {
        #expect(config().arguments == [
            "-u", "/d/local/ymera_llama_server.py", "--model", "/d/local/models/m.gguf",
            "--alias", "smollm2-135m-instruct", "--host", "127.0.0.1", "--port", "0", "--threads", "1",
            "--ctx", "4096", "--parallel", "1", "--ready-file", "/d/local/server.ready.json",
        ])
    }

    @Test func environmentCapsOpenMPThreadsAndKeepsTheRest() {
        let env = config(threads: 2).environment(base: ["PATH": "/usr/bin", "OMP_NUM_THREADS": "16"])
        #expect(env["OMP_NUM_THREADS"] == "2")
        #expect(env["PATH"] == "/usr/bin")
        #expect(env["PYTHONUNBUFFERED"] == "1")
    }

    @Test func validationRefusesWhatTheServerCannotHonour() throws {
        try config().validate(trainedContext: 8192)
        for (bad, word) in [(config(threads: 0), "--threads"), (config(ctx: 100), "--ctx"), (config(ctx: 9000), "--ctx")] {
            let error = #expect(throws: LocalRuntimeError.self) { try bad.validate(trainedContext: 8192) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains(word) == true)
            #expect(error?.fix.isEmpty == false)
        }
        var open = config()
        open.host = "0.0.0.0"
        let error = #expect(throws: LocalRuntimeError.self) { try open.validate(trainedContext: 8192) }
        #expect(error?.message.contains("loopback") == true)
    }

    @Test func resourceCandidatesPutTheOverrideFirstThenTheBundleBesideTheExecutable() {
        let list = LauncherResource.candidates(
            environment: ["YMERA_LOCAL_LAUNCHER": "/opt/l.py"], executablePath: "/usr/local/bin/ymera",
            mainBundlePath: nil, sourceFile: "/src/Sources/YmeraLocal/LauncherResource.swift")
        #expect(list == [
            "/opt/l.py",
            "/usr/local/bin/ymera_YmeraLocal.resources/ymera_llama_server.py",
            "/src/Sources/YmeraLocal/Resources/ymera_llama_server.py",
        ])
    }

    @Test func aMissingResourceIsAnErrorListingWhereItLooked() {
        let error = #expect(throws: LocalRuntimeError.self) {
            try LauncherResource.locate(candidates: ["/nonexistent/a.py", "/nonexistent/b.py"])
        }
        #expect(error?.code == .launcherMissing)
        #expect(error?.message.contains("/nonexistent/b.py") == true)
        #expect(error?.fix.contains("YMERA_LOCAL_LAUNCHER") == true)
    }

    @Test func theRealResourceIsFound() throws {
        let path = try LauncherResource.locate()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("xllamacpp.Server(params)"))
    }

    @Test(.enabled(if: systemPython() != nil, "needs python3"))
    func theScriptRefusesNonLoopbackAddresses() throws {
        let script = try LauncherResource.locate()
        let (code, out) = try runCommand(
            try #require(systemPython()),
            ["-S", script, "--model", "/x.gguf", "--alias", "a", "--ready-file", "/tmp/r.json", "--host", "0.0.0.0"])
        #expect(code == 2)
        #expect(out.contains("only loopback addresses are allowed"))
    }

    @Test(.enabled(if: systemPython() != nil, "needs python3"))
    func theScriptSaysToInstallWhenTheRuntimeIsMissing() throws {
        let script = try LauncherResource.locate()
        // -S: no site-packages, so xllamacpp cannot be imported whatever is installed system-wide.
        let (code, out) = try runCommand(
            try #require(systemPython()), ["-S", script, "--model", "/x.gguf", "--alias", "a", "--ready-file", "/tmp/r.json"])
        #expect(code == 3)
        #expect(out.contains("ymera local install"))
    }
}
