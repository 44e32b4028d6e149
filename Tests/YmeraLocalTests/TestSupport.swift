import Foundation
@testable import YmeraLocal

/// A fresh temporary data directory, removed by `cleanup()`.
struct TempDataDir {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("ymera-local-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }

    var runtime: LocalRuntime { LocalRuntime(dataDirectory: path, environment: ProcessInfo.processInfo.environment) }
}

/// The pid of a process that has exited and been reaped: nothing runs under it any more.
func exitedPid() throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/true")
    try p.run()
    p.waitUntilExit()
    return p.processIdentifier
}

/// A system python3 for tests that need one (the feature itself requires it).
func systemPython() -> String? {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let p = dir + "/python3"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

func sampleState(pid: Int32, port: Int = 45678) -> LocalServerState {
    LocalServerState(
        pid: pid, host: "127.0.0.1", port: port, modelID: LocalModelSpec.smolLM2.modelID,
        alias: LocalModelSpec.smolLM2.alias, modelPath: "/nowhere/model.gguf", contextSize: 2048, threads: 1,
        parallel: 1, startedAt: Date(timeIntervalSince1970: 1_790_000_000), startupSeconds: 0.8,
        logPath: "/nowhere/server.log", runtimeVersion: "2026.10.11549")
}

/// Runs a command and returns (exit code, combined output).
func runCommand(_ executable: String, _ args: [String]) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
