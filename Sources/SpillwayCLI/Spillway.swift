import ArgumentParser
import Foundation
import Logging
import SpillwayConfig
import SpillwayControl
import SpillwayPolicy
import SpillwayProxy
import SpillwayTracing
import Tracing

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
        subcommands: [Serve.self, Check.self, Top.self, ConfigReferenceCommand.self, MetricsReferenceCommand.self]
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

    @Option(name: .long, help: "Quick mode: peak_ewma (the default), least_outstanding or round_robin.")
    var balancer: String?

    @Flag(name: .long, help: "Quick mode: identical concurrent GETs of one object share one fetch from storage (see docs/throughput.md).")
    var coalesce = false

    @Option(name: .long, help: "Quick mode: GETs of objects larger than SIZE (e.g. 64MiB) are fetched as ranged parts from several nodes.")
    var splitAbove: String?

    @Option(name: .long, help: "Event-loop threads (default: one per core; overrides the config).")
    var workers: Int?

    @Option(name: .long, help: "Admin listener (dashboard, /metrics, admin API), e.g. 127.0.0.1:9901 (overrides the config).")
    var admin: String?

    @Option(name: .long, help: "Access log: 'stdout' or a file path, one JSON line per request (overrides the config).")
    var accessLog: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Argument(help: "Quick mode: storage node URLs, e.g. http://127.0.0.1:9001.")
    var nodes: [String] = []

    func validate() throws {
        if config != nil && (listen != nil || !nodes.isEmpty) {
            throw ValidationError("use either --config FILE or quick mode (--listen and node URLs), not both")
        }
        if config != nil && (coalesce || splitAbove != nil) {
            throw ValidationError("--coalesce and --split-above are for quick mode; in a config file use routes[].coalesce and routes[].split")
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
        let adjust = try commandLineOverrides()
        var text: String?
        let loaded: Result<GatewayConfig, ConfigError>
        if let config {
            text = ConfigFile.read(config)
            loaded = ConfigFile.load(path: config)
        } else {
            loaded = QuickConfig.make(listen: listen ?? "", nodes: nodes, balancer: balancer, coalesce: coalesce, splitAbove: splitAbove)
        }
        var gatewayConfig: GatewayConfig
        switch loaded {
        case .success(let value): gatewayConfig = value
        case .failure(let error): throw refuse(error)
        }
        adjust(&gatewayConfig)
        let descriptors = FileDescriptorLimit.raiseToHardLimit()
        logger.debug("file descriptor limit", metadata: ["limit": "\(descriptors)"])
        // swift-metrics is bootstrapped before the data plane makes its first counter.
        let metrics = gatewayConfig.observability.admin == nil ? nil : MetricsExport.bootstrap()
        let exporter = gatewayConfig.observability.tracing.map { tracing in
            OTLPExporter(
                endpoint: .init(host: tracing.endpoint.host, port: tracing.endpoint.port), serviceName: tracing.serviceName,
                version: Spillway.version, logger: logger)
        }
        let tracer = exporter.map { exporter -> OTLPTracer in
            let tracer = OTLPTracer(exporter: exporter, samplePercent: Double(gatewayConfig.observability.tracing?.samplePercent ?? 100))
            // Libraries that trace through swift-distributed-tracing find the same tracer.
            InstrumentationSystem.bootstrap(tracer)
            return tracer
        }
        let server = try GatewayServer(snapshot: Snapshot(config: gatewayConfig, version: 1), tracer: tracer, logger: logger)
        let control = GatewayControl(server: server, path: config, text: text, logger: logger, adjust: adjust)
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT, SIGHUP])
        var adminServer: AdminServer?
        if let admin = gatewayConfig.observability.admin {
            let token = admin.token ?? ProcessInfo.processInfo.environment[admin.tokenEnvironment ?? "SPILLWAY_ADMIN_TOKEN"]
            let started = AdminServer(config: admin, token: token, backend: control, metrics: metrics, logger: logger)
            let address = try await started.start()
            say("spillway admin on http://\(address?.ipAddress ?? "?"):\(address?.port ?? 0)/ (dashboard, /metrics, /api)")
            if let generated = started.generatedToken {
                // No token configured: reading stays open, changing or validating config needs this one.
                say("spillway admin token (for POST /api/...): \(generated)")
            }
            adminServer = started
        }
        for (address, tls) in try await server.start() {
            say("spillway \(Spillway.version) listening on \(tls ? "https" : "http")://\(address.ipAddress ?? "?"):\(address.port ?? 0)")
        }
        // A ConfigMap edit arrives as a swapped directory, not a signal.
        let watcher: Task<Void, Never>? = config.map { path in
            let watch = ConfigWatcher(path: path, control: control, logger: logger)
            return Task { await watch.run() }
        }
        var stopSignal: Int32 = SIGTERM
        while true {
            let signal = await signals.next()
            guard signal == SIGHUP else {
                logger.info("signal received; shutting down", metadata: ["signal": "\(signal)"])
                stopSignal = signal
                break
            }
            // SIGHUP is what log rotation sends: reopen the access log, then reload the config file.
            server.reopenAccessLog()
            guard config != nil else {
                logger.notice("SIGHUP: access log reopened; quick mode has no config file to reload")
                continue
            }
            // A refused file is logged with its problems by the control, and the running config stays.
            _ = try? control.reload()
        }
        // Behind a Service, endpoints keep sending new connections for a few seconds after SIGTERM:
        // fail /readyz and close connections after their responses, but keep accepting for the
        // delay (SIGINT, someone at a terminal, skips it; so does a second signal).
        watcher?.cancel()
        server.beginShutdown()
        let delay = server.currentSnapshot.config.shutdownDelay
        if stopSignal == SIGTERM && delay > .zero {
            logger.info("shutting down: not ready, still accepting", metadata: ["delay": "\(delay)"])
            await signals.next(orAfter: delay)
        }
        await server.shutdown(drainTimeout: server.currentSnapshot.config.drainTimeout)
        await adminServer?.stop()
        await exporter?.shutdown()
    }

    /// What the command line changes in every config, the first and each reloaded one.
    private func commandLineOverrides() throws -> @Sendable (inout GatewayConfig) -> Void {
        var adminAddress: HostPort?
        if let admin {
            switch QuickConfig.adminAddress(admin) {
            case .success(let address): adminAddress = address
            case .failure(let error): throw refuse(error)
            }
        }
        let workers = self.workers
        let accessLog = self.accessLog
        return { [adminAddress] config in
            if let workers { config.workers = workers }
            if let adminAddress {
                var settings = config.observability.admin ?? AdminConfig(listen: adminAddress)
                settings.listen = adminAddress
                config.observability.admin = settings
            }
            if let accessLog {
                var settings = config.observability.accessLog ?? AccessLogConfig()
                settings.path = accessLog
                config.observability.accessLog = settings
            }
        }
    }

    private func refuse(_ error: ConfigError) -> ExitCode {
        FileHandle.standardError.write(Data("spillway: config refused\n\(error)\n".utf8))
        return ExitCode(1)
    }

    /// Unbuffered, so scripts waiting for this line see it at once.
    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
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

/// Prints the configuration reference from the key declarations (it is the table in docs/configuration.md).
struct ConfigReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config-reference", abstract: "Print the table of every config key (docs/configuration.md holds it).",
        shouldDisplay: false)

    func run() { print(ConfigReference.markdown()) }
}

/// Prints the metrics table from the metric declarations (it is the table in docs/observability.md).
struct MetricsReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics-reference", abstract: "Print the table of every metric (docs/observability.md holds it).",
        shouldDisplay: false)

    func run() { print(MetricCatalog.markdown()) }
}
