import Foundation
import Logging
import Metrics
import SpillwayConfig
import SpillwayControl
import SpillwayPolicy
import SpillwayProxy
import Synchronization

/// The one place a config change goes through, whether it comes from SIGHUP, `POST /api/reload` or
/// `POST /api/config`: it validates, numbers the version, and puts it in force. Changes are
/// serialized, so two at once cannot both claim the next version. A refused change leaves the
/// running config, its text and its version as they were.
final class GatewayControl: AdminBackend {
    struct ChangeError: Error, CustomStringConvertible {
        let description: String
    }

    private struct Current {
        var version: Int
        /// Nil in quick mode until a config is applied through the API.
        var text: String?
        var listen: [Listener]
        var reloads = 0
        var refusals = 0
        var lastRefusal: String?
        /// The config file's text as last read (by SIGHUP, the API's reload or the watcher),
        /// whether it was applied or refused: the watcher acts only on a text not yet tried.
        var fileText: String?
    }

    private let applied = Counter(label: MetricCatalog.configReloads.name, dimensions: MetricCatalog.configReloads.dimensions("applied"))
    private let refused = Counter(label: MetricCatalog.configReloads.name, dimensions: MetricCatalog.configReloads.dimensions("refused"))

    private let server: GatewayServer
    private let path: String?
    private let adjust: @Sendable (inout GatewayConfig) -> Void
    private let logger: Logger
    private let current: Mutex<Current>

    /// `adjust` applies the command-line overrides (`--workers`, `--admin`, ...) to every new config too.
    init(server: GatewayServer, path: String?, text: String?, logger: Logger, adjust: @escaping @Sendable (inout GatewayConfig) -> Void) {
        self.server = server
        self.path = path
        self.adjust = adjust
        self.logger = logger
        var first = Current(version: server.currentSnapshot.version, text: text, listen: server.currentSnapshot.config.listeners)
        first.fileText = path == nil ? nil : text
        current = Mutex(first)
    }

    func status() -> GatewayStatus {
        var status = server.status()
        current.withLock { c in
            status.configReloads = c.reloads
            status.configRefusals = c.refusals
            status.lastConfigRefusal = c.lastRefusal
        }
        return status
    }

    func setDrained(pool: String, node: Int, _ drained: Bool) throws { try server.setDrained(pool: pool, node: node, drained) }

    func health() -> (live: [String], ready: [String]) { server.health() }

    func setWeight(pool: String, node: Int, _ weight: Int) throws { try server.setWeight(pool: pool, node: node, weight) }

    func currentConfig() -> (version: Int, text: String?) {
        current.withLock { ($0.version, $0.text) }
    }

    func validate(_ text: String) -> [ConfigIssue] {
        switch parse(text, file: "request body") {
        case .success: []
        case .failure(let error): error.issues
        }
    }

    func apply(_ text: String) throws -> Int {
        try put(parse(text, file: "request body"), text: text, source: "admin API")
    }

    func reload() throws -> Int {
        guard let path else { throw ChangeError(description: "quick mode has no config file to reload; POST the config to /api/config instead") }
        let text = ConfigFile.read(path)
        current.withLock { $0.fileText = text }
        return try reload(text: text, path: path)
    }

    /// Reloads when the file's text is one not tried yet (the watcher's way in: a SIGHUP for the
    /// same change must not apply it twice, nor a refused text be refused every second).
    /// Returns whether it tried.
    func reloadIfChanged() -> Bool {
        guard let path, let text = ConfigFile.read(path) else { return false }
        let fresh = current.withLock { c -> Bool in
            guard c.fileText != text else { return false }
            c.fileText = text
            return true
        }
        guard fresh else { return false }
        _ = try? reload(text: text, path: path)
        return true
    }

    private func reload(text: String?, path: String) throws -> Int {
        guard let text else {
            let problem = ConfigIssue(file: path, line: 1, column: 1, message: "cannot read the file", fix: "check the path and its permissions")
            return try put(.failure(ConfigError(issues: [problem])), text: "", source: path)
        }
        return try put(parse(text, file: path), text: text, source: path)
    }

    /// Parses a config and checks what only a restart can change.
    private func parse(_ text: String, file: String) -> Result<GatewayConfig, ConfigError> {
        let directory = path.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? FileManager.default.currentDirectoryPath
        switch ConfigFile.parse(text: text, file: file, directory: directory) {
        case .failure(let error):
            return .failure(error)
        case .success(var config):
            adjust(&config)
            let listen = current.withLock { $0.listen }
            // Listeners are bound at start: their addresses, and whether each carries TLS, need a
            // restart (its certificate files may change at any reload).
            if config.listen != listen.map(\.address) || zip(config.listeners, listen).contains(where: { ($0.tls == nil) != ($1.tls == nil) }) {
                let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("listen") }.map { $0 + 1 } ?? 1
                return .failure(
                    ConfigError(issues: [
                        ConfigIssue(
                            file: file, line: line, column: 1,
                            message: "listen changed (running: \(listen.map { $0.address.description + ($0.tls == nil ? "" : " with TLS") }.joined(separator: ", ")))",
                            fix: "keep the listen addresses, and TLS on or off on each, as they are; changing them needs a restart")
                    ]))
            }
            return .success(config)
        }
    }

    private func put(_ parsed: Result<GatewayConfig, ConfigError>, text: String, source: String) throws -> Int {
        try current.withLock { current in
            let config: GatewayConfig
            switch parsed {
            case .success(let value): config = value
            case .failure(let error):
                logger.error("config refused; keeping version \(current.version)\n\(error)")
                current.refusals += 1
                current.lastRefusal = error.description
                refused.increment()
                throw ConfigRefused(issues: error.issues)
            }
            let running = server.currentSnapshot.config.observability
            if config.observability.admin != running.admin || config.observability.accessLog != running.accessLog
                || config.observability.tracing != running.tracing
            {
                logger.notice("admin, access_log and tracing settings take effect at the next restart")
            }
            do {
                try server.apply(Snapshot(config: config, version: current.version + 1))
            } catch {
                logger.error("config refused; keeping version \(current.version): \(error)")
                current.refusals += 1
                current.lastRefusal = "\(error)"
                refused.increment()
                throw ChangeError(description: "\(error)")
            }
            current.version += 1
            current.reloads += 1
            applied.increment()
            current.text = text
            logger.notice("config in force", metadata: ["from": "\(source)", "version": "\(current.version)"])
            return current.version
        }
    }
}
