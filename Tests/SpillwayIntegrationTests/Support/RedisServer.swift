import Foundation

/// A redis-server child process on a free port, for the fleet-limit tests.
final class RedisServer: @unchecked Sendable {
    private let process = Process()
    let port: Int

    init() throws {
        try requireTool("redis-server", install: "apt-get install redis-server")
        port = try freeLoopbackPort()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["redis-server", "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let up = waitFor(10) { (try? run("redis-cli", ["-p", "\(port)", "ping"]).stdout.contains("PONG")) ?? false }
        guard up else { throw GatewayError.didNotStart("redis-server") }
    }

    /// Stops it for good (a test process may run children with SIGTERM blocked, so ask Redis itself,
    /// then insist).
    func stop() {
        guard process.isRunning else { return }
        _ = try? run("redis-cli", ["-p", "\(port)", "shutdown", "nosave"])
        if !waitFor(3, { !process.isRunning }) {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
