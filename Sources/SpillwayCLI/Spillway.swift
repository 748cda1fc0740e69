import ArgumentParser
import Foundation
import Logging
import SpillwayConfig
import SpillwayProxy

@main
struct Spillway: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "spillway",
        abstract: "A failure-aware S3 gateway: point any S3 client at it, and it spreads requests over your storage nodes.",
        discussion: """
            Quick start (no config file): forward 127.0.0.1:9000 to three storage nodes
              spillway serve --listen 127.0.0.1:9000 http://127.0.0.1:9001 http://127.0.0.1:9002 http://127.0.0.1:9003
            then point a client at it, changing nothing else:
              aws --endpoint-url http://127.0.0.1:9000 s3 ls

            With a config file (pools, routes, timeouts; see config/spillway.example.yaml):
              spillway check --config spillway.yaml
              spillway serve --config spillway.yaml
            """,
        version: version,
        subcommands: [Serve.self, Check.self]
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway.",
        discussion: """
            Either --config FILE, or quick mode: --listen HOST:PORT followed by node URLs.
            SIGTERM or SIGINT stops accepting, lets requests in flight finish (drain_timeout), then exits.
            """
    )

    @Option(name: .long, help: "YAML config file (see config/spillway.example.yaml).")
    var config: String?

    @Option(name: .long, help: "Quick mode: address to listen on, e.g. 127.0.0.1:9000.")
    var listen: String?

    @Option(name: .long, help: "Quick mode: round_robin or least_outstanding (default).")
    var balancer: String?

    @Option(name: .long, help: "Event-loop threads (default: one per core; overrides the config).")
    var workers: Int?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Argument(help: "Quick mode: storage node URLs, e.g. http://127.0.0.1:9001.")
    var nodes: [String] = []

    func validate() throws {
        if config != nil && (listen != nil || !nodes.isEmpty) {
            throw ValidationError("use either --config FILE or quick mode (--listen and node URLs), not both")
        }
        if config == nil && listen == nil {
            throw ValidationError("give --config FILE, or --listen HOST:PORT followed by node URLs")
        }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("unknown --log-level '\(logLevel)'")
        }
    }

    func run() async throws {
        var logger = Logger(label: "spillway")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let loaded: Result<GatewayConfig, ConfigError>
        if let config {
            loaded = ConfigFile.load(path: config)
        } else {
            loaded = QuickConfig.make(listen: listen ?? "", nodes: nodes, balancer: balancer)
        }
        var gatewayConfig: GatewayConfig
        switch loaded {
        case .success(let value): gatewayConfig = value
        case .failure(let error):
            FileHandle.standardError.write(Data("spillway: config refused\n\(error)\n".utf8))
            throw ExitCode(1)
        }
        if let workers { gatewayConfig.workers = workers }
        let descriptors = FileDescriptorLimit.raiseToHardLimit()
        logger.debug("file descriptor limit", metadata: ["limit": "\(descriptors)"])
        let server = try GatewayServer(snapshot: Snapshot(config: gatewayConfig, version: 1), logger: logger)
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT, SIGHUP])
        let bound = try await server.start()
        for address in bound {
            // Unbuffered, so scripts waiting for this line see it at once.
            let line = "spillway \(Spillway.version) listening on http://\(address.ipAddress ?? "?"):\(address.port ?? 0)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        var version = 1
        while true {
            let signal = await signals.next()
            guard signal == SIGHUP else {
                logger.info("signal received; shutting down", metadata: ["signal": "\(signal)"])
                break
            }
            guard let config else {
                logger.notice("SIGHUP ignored: quick mode has no config file to reload")
                continue
            }
            // A bad file is refused with its problems, and the running config stays.
            switch ConfigFile.load(path: config) {
            case .failure(let error):
                logger.error("config refused; keeping version \(version)\n\(error)")
            case .success(var next):
                if let workers { next.workers = workers }
                do {
                    try server.apply(Snapshot(config: next, version: version + 1))
                    version += 1
                    logger.notice("config reloaded", metadata: ["file": "\(config)", "version": "\(version)"])
                } catch {
                    logger.error("config refused; keeping version \(version): \(error)")
                }
            }
        }
        await server.shutdown(drainTimeout: gatewayConfig.drainTimeout)
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a config file: print every problem with file, line and fix. Exit status 0 or 1.")

    @Option(name: .long, help: "YAML config file to check.")
    var config: String

    func run() throws {
        switch ConfigFile.load(path: config) {
        case .success(let value):
            let nodes = value.pools.reduce(0) { $0 + $1.nodes.count }
            print("\(config): OK (\(value.pools.count) pool(s), \(nodes) node(s), \(value.routes.count) route(s))")
        case .failure(let error):
            print(error.description)
            print("\(config): \(error.issues.count) problem(s)")
            throw ExitCode(1)
        }
    }
}
