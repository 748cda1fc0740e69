// swift-tools-version:6.1
import PackageDescription

// Dependencies point inward: SpillwayPolicy and SpillwayS3 are pure (no NIO, no clock, no files),
// SpillwayConfig turns text into values, SpillwayProxy is the only target that touches a data socket,
// and SpillwayCLI is the composition root.
// The data plane's per-request code is built without Swift's run-time exclusivity checks in release:
// every event of an exchange mutates the runner's machine and connections (class properties), and
// each such access cost a `swift_beginAccess` call (about 1 % of a small request's CPU in
// `bench/profile.py`). The checks stay on in debug builds, so the whole test suite runs with them;
// the targets in SpillwayHotPaths are left alone so bench/micro can depend on them.
let dataPlane: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Spillway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "spillway", targets: ["SpillwayCLI"]),
        // The pure per-request code, for bench/micro.
        .library(name: "SpillwayHotPaths", targets: ["SpillwayHTTP1", "SpillwayS3", "SpillwayPolicy", "SpillwayConfig", "SpillwayRESP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        .target(name: "SpillwayPolicy"),
        .target(name: "SpillwayS3", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "SpillwayHTTP1"),
        // One request's decisions as a pure state machine: the data plane runs its actions.
        // With cross-module optimization, so the runner inlines the machine's small questions (is it
        // finished, which attempt takes the body, may a node read) asked several times per event.
        .target(
            name: "SpillwayExchange", dependencies: ["SpillwayPolicy", "SpillwayS3", "SpillwayHTTP1"],
            swiftSettings: dataPlane + [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]),
        // Redis's reply format, for the fleet limiter: pure, so it can be fuzzed on its own.
        .target(name: "SpillwayRESP"),
        .target(
            name: "SpillwayConfig",
            dependencies: ["SpillwayPolicy", "SpillwayS3", "SpillwayHTTP1", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "SpillwayProxy",
            dependencies: [
                "SpillwayConfig", "SpillwayPolicy", "SpillwayS3", "SpillwayHTTP1", "SpillwayRESP", "SpillwayExchange",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: dataPlane
        ),
        // A swift-distributed-tracing Tracer with its own OTLP/HTTP JSON exporter: spans reach any
        // OpenTelemetry collector without swift-otel's gRPC and protobuf in the build.
        .target(
            name: "SpillwayTracing",
            dependencies: [
                "SpillwayS3",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SpillwayControl",
            dependencies: [
                "SpillwayConfig", "SpillwayPolicy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "SpillwayCLI",
            dependencies: [
                "SpillwayConfig", "SpillwayProxy", "SpillwayControl", "SpillwayPolicy", "SpillwayTracing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SpillwayPolicyTests", dependencies: ["SpillwayPolicy"]),
        .testTarget(name: "SpillwayS3Tests", dependencies: ["SpillwayS3", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "SpillwayHTTP1Tests", dependencies: ["SpillwayHTTP1", "SpillwayRESP"]),
        .testTarget(name: "SpillwayConfigTests", dependencies: ["SpillwayConfig", "SpillwayHTTP1", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "SpillwayControlTests", dependencies: ["SpillwayControl", "SpillwayPolicy"]),
        .testTarget(
            name: "SpillwayTracingTests",
            dependencies: ["SpillwayTracing", .product(name: "Tracing", package: "swift-distributed-tracing")]),
        // The data plane: the exchange's machine event by event, and its runner on EmbeddedChannels.
        .testTarget(
            name: "SpillwayProxyTests",
            dependencies: [
                "SpillwayExchange", "SpillwayProxy", "SpillwayConfig", "SpillwayPolicy", "SpillwayHTTP1", "SpillwayS3",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "SpillwayIntegrationTests", dependencies: [], resources: []),
    ]
)
