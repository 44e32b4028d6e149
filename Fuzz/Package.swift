// swift-tools-version: 6.1
// Fuzz targets for everything YMERA parses from outside (issue 20). Its own package, so the main
// `swift build` never compiles it; built by ../scripts/fuzz.sh with `-sanitize=fuzzer,address`
// (libFuzzer, part of the Swift toolchain on Linux).
//
// One executable holds every target: `ymera-fuzz TARGET [libFuzzer flags] [corpus dirs]`. Each target
// keeps its own corpus (corpus/TARGET) and its own crash directory; one link instead of twelve keeps
// the build affordable on a 2-core machine (a debug link of NIO + GRDB + MCP takes ~30 s each).
import PackageDescription

let package = Package(
    name: "YmeraFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: a path dependency is otherwise known by its folder name, which a clone may change.
        .package(name: "ymera", path: "../"),
        // For NIOHTTP1.HTTPHeaders (the classifier's input) and MCP's message types, as the main package pins them.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
    ],
    targets: [
        .executableTarget(
            name: "ymera-fuzz",
            dependencies: [
                .product(name: "YmeraCore", package: "ymera"),
                .product(name: "YmeraConfig", package: "ymera"),
                .product(name: "YmeraProviders", package: "ymera"),
                .product(name: "YmeraStore", package: "ymera"),
                .product(name: "YmeraTUI", package: "ymera"),
                .product(name: "YmeraMCP", package: "ymera"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "MCP", package: "swift-sdk"),
            ],
            // No top-level code: libFuzzer's driver is started from `ymera_fuzz_main` (see Driver.swift).
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
