import Foundation

/// cluster/bulknode.py: a node that serves and swallows any number of bytes, for volume tests.
final class BulkNode: @unchecked Sendable {
    private let process = Process()
    private let stdin = Pipe()
    let port: Int

    init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Paths.root.appendingPathComponent("cluster/bulknode.py").path]
        let out = Pipe()
        process.standardInput = stdin
        process.standardOutput = out
        let reader = LineReader(out.fileHandleForReading)
        try process.run()
        guard let line = reader.waitForLine(containing: "port", timeout: 20), let port = try JSON(parsing: line)["port"].int else {
            throw GatewayError.didNotStart("bulk node")
        }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)" }

    deinit {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
    }
}
