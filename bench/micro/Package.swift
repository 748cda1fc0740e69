// swift-tools-version:6.1
import Foundation
import PackageDescription

// A path dependency is known by its directory's name, which depends on where the repository was cloned.
let spillwayRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let spillwayIdentity = spillwayRoot.lastPathComponent.lowercased()

// Micro-benchmarks for the data plane's hot pure functions (ordo-one/benchmark), kept in their own
// package so the gateway's build and CI do not pay for the benchmark tooling.
//   cd bench/micro && swift package benchmark
let package = Package(
    name: "SpillwayMicro",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: spillwayRoot.path),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPaths",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SpillwayHotPaths", package: spillwayIdentity),
            ],
            path: "Benchmarks/HotPaths",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
