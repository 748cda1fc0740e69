// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for every parser that reads bytes from outside: built with
// `swift build -Xswiftc -sanitize=fuzzer,address` by fuzz/run.sh, never by the main build.
let targets = ["FuzzRequestHead", "FuzzResponseHead", "FuzzBodyFraming", "FuzzSigV4", "FuzzChunkChain", "FuzzRESP", "FuzzConfig"]

let package = Package(
    name: "SpillwayFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Spillway", path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
    ] + targets.map { name in
        .executableTarget(
            name: name,
            dependencies: ["FuzzDriver", .product(name: "SpillwayHotPaths", package: "Spillway")])
    }
)
