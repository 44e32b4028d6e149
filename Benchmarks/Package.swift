// swift-tools-version: 6.1
// Benchmarks live in their own package so `swift build` / `swift test` at the top never compile them.
// Each program prints figures; none is a timed test. See BENCHMARKS.md.
//
// Two kinds:
//  - ordo-one/benchmark suites under Benchmarks/<Name>/ (`swift package --disable-sandbox benchmark`);
//  - plain executables under Sources/ that print figures, among them the side-by-side comparison
//    driven by ../scripts/bench-compare.sh (StubServer, CompareBench).
import PackageDescription

/// A suite for ordo-one/benchmark: sources in Benchmarks/<name>/, the plugin generates its `main`.
func suite(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: [.product(name: "Benchmark", package: "benchmark")] + dependencies,
        path: "Benchmarks/\(name)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

let core: Target.Dependency = .product(name: "YmeraCore", package: "ymera")
let providers: Target.Dependency = .product(name: "YmeraProviders", package: "ymera")
let store: Target.Dependency = .product(name: "YmeraStore", package: "ymera")
let tui: Target.Dependency = .product(name: "YmeraTUI", package: "ymera")

let package = Package(
    name: "YmeraBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: a path dependency is otherwise known by its folder name, which a clone may change.
        .package(name: "ymera", path: "../"),
        // This trait is required on these machines (resolution fails without it).
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // Journal: 100 000 runs / 1 000 000 events; history list, filtered and full-text query times, size.
        .executableTarget(name: "JournalBench", dependencies: [core, store]),
        // Dashboard: frame build + draw at 200x60 with 50 runs; idle CPU; CPU under 1 000 tokens/s.
        .executableTarget(name: "DashboardBench", dependencies: [core, tui]),
        // Engine policies and reducer: breaker/retry decision cost, reducer throughput.
        .executableTarget(name: "CoreBench", dependencies: [core]),

        // Side by side (scripts/bench-compare.sh): a loopback OpenAI-compatible stub server …
        .executableTarget(
            name: "StubServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // … and the Swift clients measured against it: bare AsyncHTTPClient, YMERA's provider client,
        // YMERA's engine on a one-phase plan with breakers, rate limiter and the SQLite journal.
        .executableTarget(
            name: "CompareBench",
            dependencies: [
                core, providers, store,
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // ordo-one/benchmark suites.
        suite("SSEDecoding", [providers]),
        suite("ReducerRender", [core, tui]),
        suite("Policies", [core]),
        suite("JournalInserts", [core, store]),
    ]
)
