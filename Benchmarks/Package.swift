// swift-tools-version: 6.1
// Benchmarks live in their own package so `swift build` / `swift test` at the top never compile them.
// Each executable prints figures; none is a timed test. See BENCHMARKS.md.
import PackageDescription

let package = Package(
    name: "YmeraBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: a path dependency is otherwise known by its folder name, which a clone may change.
        .package(name: "ymera", path: "../")
    ],
    targets: [
        // Journal: 100 000 runs / 1 000 000 events; history list, filtered and full-text query times, size.
        .executableTarget(
            name: "JournalBench",
            dependencies: [.product(name: "YmeraCore", package: "ymera"), .product(name: "YmeraStore", package: "ymera")]
        ),
        // Dashboard: frame build + draw at 200x60 with 50 runs; idle CPU; CPU under 1 000 tokens/s.
        .executableTarget(
            name: "DashboardBench",
            dependencies: [.product(name: "YmeraCore", package: "ymera"), .product(name: "YmeraTUI", package: "ymera")]
        ),
        // Engine policies and reducer: breaker/retry decision cost, reducer throughput.
        .executableTarget(
            name: "CoreBench",
            dependencies: [.product(name: "YmeraCore", package: "ymera")]
        ),
    ]
)
