// swift-tools-version: 6.1
// YMERA — a terminal dashboard with an embedded multi-model LLM workflow engine.
// Targets follow design.md: one folder per target under Sources/ and Tests/.
import PackageDescription

let package = Package(
    name: "ymera",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ymera", targets: ["ymera"]),
        .library(name: "YmeraCore", targets: ["YmeraCore"]),
        // Libraries exported for the Benchmarks package.
        .library(name: "YmeraStore", targets: ["YmeraStore"]),
        .library(name: "YmeraTUI", targets: ["YmeraTUI"]),
        .library(name: "YmeraProviders", targets: ["YmeraProviders"]),
        // Exported for the Fuzz package (Fuzz/Package.swift).
        .library(name: "YmeraConfig", targets: ["YmeraConfig"]),
        .library(name: "YmeraMCP", targets: ["YmeraMCP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
    ],
    targets: [
        // C shim over libncursesw (Debian: libncursesw5-dev).
        .systemLibrary(
            name: "CNcursesw",
            // No pkgConfig: its -D flags are refused by SwiftPM with a warning; shim.h defines them.
            providers: [.apt(["libncursesw5-dev"])]
        ),
        // Domain, intent, planning, engine, policies. No terminal, HTTP or SQLite code.
        .target(
            name: "YmeraCore",
            dependencies: [
                .product(name: "Collections", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // TOML files (catalog, config, themes) decoded at the edge into Sendable structs.
        .target(
            name: "YmeraConfig",
            dependencies: [
                "YmeraCore",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            resources: [.copy("Resources/catalog.toml")]
        ),
        // HTTP clients for the three wire formats, SSE decoding, failure classification.
        .target(
            name: "YmeraProviders",
            dependencies: [
                "YmeraCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The run journal in SQLite (GRDB).
        .target(
            name: "YmeraStore",
            dependencies: [
                "YmeraCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Real validators: code extraction, toolchain syntax checks, analyzers, text scores.
        .target(
            name: "YmeraQuality",
            dependencies: ["YmeraCore"],
            resources: [.copy("Resources/py_complexity.py")]
        ),
        // A real small local model: llama.cpp's server from PyPI, managed as a child process.
        .target(
            name: "YmeraLocal",
            dependencies: [
                "YmeraCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [.copy("Resources/ymera_llama_server.py")]
        ),
        // Canvas, views, keymap, themes, app state; the one curses Terminal.
        .target(
            name: "YmeraTUI",
            dependencies: [
                "YmeraCore", "YmeraConfig", "CNcursesw",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        // MCP: configured servers' tools for the phases (client), over stdio.
        .target(
            name: "YmeraMCP",
            dependencies: [
                "YmeraCore", "YmeraConfig",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Command line: wires the parts together.
        .executableTarget(
            name: "ymera",
            dependencies: [
                "YmeraCore", "YmeraConfig", "YmeraProviders", "YmeraStore",
                "YmeraQuality", "YmeraLocal", "YmeraTUI", "YmeraMCP",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .testTarget(name: "YmeraCoreTests", dependencies: ["YmeraCore"]),
        .testTarget(name: "YmeraConfigTests", dependencies: ["YmeraConfig", "YmeraCore"]),
        .testTarget(
            name: "YmeraProvidersTests",
            dependencies: [
                "YmeraProviders", "YmeraCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            // Captured server responses, read through #filePath.
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "YmeraStoreTests", dependencies: ["YmeraStore", "YmeraCore"]),
        .testTarget(name: "YmeraQualityTests", dependencies: ["YmeraQuality", "YmeraCore"]),
        .testTarget(name: "YmeraLocalTests", dependencies: ["YmeraLocal", "YmeraCore"]),
        // Golden screens, compared as text.
        .testTarget(name: "YmeraTUITests", dependencies: ["YmeraTUI", "YmeraCore"], exclude: ["Golden"]),
        // Drives the built `ymera` binary as a child process.
        .testTarget(
            name: "ymeraCLITests",
            dependencies: ["ymera", "YmeraCore", "YmeraMCP", "YmeraConfig", .product(name: "MCP", package: "swift-sdk")]
        ),
        .testTarget(
            name: "YmeraMCPTests",
            dependencies: ["YmeraMCP", "YmeraCore", "YmeraConfig", .product(name: "MCP", package: "swift-sdk")]
        ),
    ]
)
