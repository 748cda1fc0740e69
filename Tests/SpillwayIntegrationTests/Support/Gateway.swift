import Foundation

/// A `spillway serve` child process on a free port.
final class Gateway: @unchecked Sendable {
    let process: Process
    let port: Int
    private let output: LineReader
    private let errors: LineReader

    /// The first plain listener's URL.
    var endpoint: String { listeners.first { $0.hasPrefix("http://") } ?? "http://127.0.0.1:\(port)" }
    /// Every listener's URL, in the config's order (`http://…` or `https://…`).
    private(set) var listeners: [String] = []
    /// The first TLS listener's URL.
    var tlsEndpoint: String? { listeners.first { $0.hasPrefix("https://") } }
    /// The admin listener's base URL, when one is configured (`admin:` or `--admin`).
    private(set) var adminEndpoint: String?
    /// The admin token the gateway made up and printed, when none was configured.
    private(set) var generatedAdminToken: String?
    var log: String { output.all + errors.all }

    /// Quick mode: `spillway serve --listen 127.0.0.1:0 <nodes>`.
    convenience init(nodes: [String], extraArguments: [String] = []) throws {
        try self.init(arguments: ["serve", "--listen", "127.0.0.1:0", "--workers", "2"] + extraArguments + nodes)
    }

    /// Config mode: the YAML is written to a temporary file.
    convenience init(config yaml: String, environment: [String: String] = [:]) throws {
        let path = try Paths.temporaryFile("spillway.yaml", contents: yaml)
        try self.init(arguments: ["serve", "--config", path], environment: environment)
        configPath = path
    }

    private(set) var configPath: String?

    /// Rewrites the config file and sends SIGHUP.
    func reload(with yaml: String) throws {
        guard let configPath else { throw GatewayError.didNotStart("not started from a config file") }
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        signal(SIGHUP)
    }

    init(arguments: [String], environment: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: Paths.spillway) else {
            throw CommandError.missingTool(Paths.spillway, "swift build (or set SPILLWAY_BIN)")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.spillway)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        output = LineReader(out.fileHandleForReading)
        errors = LineReader(err.fileHandleForReading)
        try process.run()
        guard let line = output.waitForLine(containing: "listening on http", timeout: 20),
            let portText = line.split(separator: ":").last, let port = Int(portText)
        else {
            process.terminate()
            throw GatewayError.didNotStart(errors.all)
        }
        self.port = port
        // Every listener prints its line in order, one after the other.
        usleep(100_000)
        listeners = output.all.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "listening on ") else { return nil }
            return String(line[range.upperBound...])
        }
        // Printed before the S3 listener's line, so it is already here when there is one.
        if let line = output.all.split(separator: "\n").first(where: { $0.hasPrefix("spillway admin on ") }),
            let url = line.split(separator: " ").first(where: { $0.hasPrefix("http://") })
        {
            adminEndpoint = String(url.dropLast(url.hasSuffix("/") ? 1 : 0))
        }
        if let line = output.all.split(separator: "\n").first(where: { $0.hasPrefix("spillway admin token") }) {
            generatedAdminToken = line.split(separator: " ").last.map(String.init)
        }
    }

    func signal(_ signo: Int32) { kill(process.processIdentifier, signo) }

    /// Waits for the process to exit; nil if it is still running after `timeout`.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit {
        if process.isRunning {
            // SIGINT: the shutdown without SIGTERM's delay for a Service's endpoints to move away.
            kill(process.processIdentifier, SIGINT)
            _ = waitForExit(timeout: 5)
        }
    }
}

enum GatewayError: Error, CustomStringConvertible {
    case didNotStart(String)
    var description: String {
        switch self {
        case .didNotStart(let stderr): "spillway did not start:\n\(stderr)"
        }
    }
}
