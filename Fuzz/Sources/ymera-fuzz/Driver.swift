// The libFuzzer entry points. SwiftPM links an executable's entry point as `<module>_main`; with
// -parse-as-library there is none, so this file provides it and hands argv (minus the target name)
// to libFuzzer's own driver, `LLVMFuzzerRunDriver` (libFuzzer ≥ 11, linked by -sanitize=fuzzer).

#if canImport(Glibc)
import Glibc
#endif

typealias FuzzTarget = (UnsafeRawBufferPointer) -> Void

/// Every target, by the name given on the command line and used for corpus/NAME.
let targets: [(String, FuzzTarget)] = [
    ("sse", fuzzSSE),
    ("json", fuzzJSON),
    ("openai", fuzzOpenAI),
    ("anthropic", fuzzAnthropic),
    ("gemini", fuzzGemini),
    ("classifier", fuzzClassifier),
    ("config", fuzzConfig),
    ("catalog", fuzzCatalog),
    ("theme", fuzzTheme),
    ("workspace", fuzzWorkspace),
    ("mcp", fuzzMCP),
    ("sanitizer", fuzzSanitizer),
]

nonisolated(unsafe) var selected: FuzzTarget = { _ in }

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("ymera_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    let names = targets.map(\.0).joined(separator: " ")
    guard argc >= 2, let raw = argv[1], let target = targets.first(where: { $0.0 == String(cString: raw) }) else {
        print("usage: ymera-fuzz TARGET [libFuzzer options] [corpus directories]\ntargets: \(names)")
        return argc >= 2 && argv[1].map({ String(cString: $0) == "--list" }) == true ? 0 : 2
    }
    selected = target.1
    // argv without the target name (libFuzzer reads argv[0] and then its own flags and directories).
    argv[1] = argv[0]
    var count = argc - 1
    var rest: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv + 1
    return LLVMFuzzerRunDriver(&count, &rest) { data, size in
        selected(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}

/// A property the target checks failed: crash, so libFuzzer saves the input as crash-….
func require(_ condition: Bool, _ what: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError("property violated: " + what(), file: file, line: line) }
}

/// Bytes from the fuzzer, consumed from the front (for targets that need several inputs).
struct Input {
    var bytes: ArraySlice<UInt8>
    init(_ raw: UnsafeRawBufferPointer) { bytes = Array(raw)[...] }
    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        let v = Int(byte()) << 8 | Int(byte())
        return range.lowerBound + v % (range.count)
    }
    var rest: [UInt8] { Array(bytes) }
}
