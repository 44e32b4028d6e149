import Foundation
import Testing
import YmeraCore
@testable import YmeraLocal

@Suite("SHA-256")
struct SHA256Tests {
    // FIPS 180-4 / NIST example vectors.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func knownVectors(input: String, digest: String) {
        #expect(SHA256.hex(of: Array(input.utf8)) == digest)
    }

    @Test func millionAs() {
        let data = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hex(of: data) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func chunkedUpdatesMatchOneShot() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = SHA256.hex(of: bytes)
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 500, 999, 1000] {
            var h = SHA256()
            h.update(bytes[0..<split])
            h.update(bytes[split...])
            #expect(SHA256.hex(h.finalize()) == whole, "split at \(split)")
        }
    }

    @Test func fileHashMatchesMemoryHash() throws {
        let dir = try TempDataDir()
        defer { dir.cleanup() }
        let path = dir.path + "/f.bin"
        let bytes = (0..<(3 << 20) + 17).map { UInt8(truncatingIfNeeded: $0 >> 3) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        #expect(try SHA256.hex(ofFileAt: path) == SHA256.hex(of: bytes))
    }
}
