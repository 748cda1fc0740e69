import Foundation

/// Tests/clients/otlp_receiver.py as a child process: an OTLP/HTTP endpoint that keeps what it is sent.
final class OTLPReceiver: @unchecked Sendable {
    private let process = Process()
    private let stdin = Pipe()
    private let output: LineReader
    let port: Int

    init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Paths.root.appendingPathComponent("Tests/clients/otlp_receiver.py").path]
        let out = Pipe()
        process.standardInput = stdin
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        output = LineReader(out.fileHandleForReading)
        try process.run()
        guard let line = output.waitForLine(containing: "port", timeout: 10), let port = try JSON(parsing: line)["port"].int else {
            throw GatewayError.didNotStart("otlp_receiver.py")
        }
        self.port = port
    }

    /// Every span received so far.
    func spans() throws -> [JSON] {
        let r = try run("python3", ["-c", "import urllib.request,sys;print(urllib.request.urlopen(sys.argv[1]).read().decode())",
                                    "http://127.0.0.1:\(port)/spans"])
        return try JSON(parsing: r.stdout)["spans"].array
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
