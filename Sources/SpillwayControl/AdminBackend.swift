import SpillwayConfig
import SpillwayPolicy

/// What the admin API can see and do. The composition root implements it over the running gateway,
/// so the control plane never touches the data plane's types (and never a data socket).
public protocol AdminBackend: Sendable {
    func status() -> GatewayStatus
    func setDrained(pool: String, node: Int, _ drained: Bool) throws
    func setWeight(pool: String, node: Int, _ weight: Int) throws
    /// The config in force: its version, and its text when it came from a file or the API.
    func currentConfig() -> (version: Int, text: String?)
    /// Problems with a config text; empty when it would be accepted.
    func validate(_ text: String) -> [ConfigIssue]
    /// Puts a config text in force; returns its version.
    func apply(_ text: String) throws -> Int
    /// Reads the config file again and puts it in force; returns its version.
    func reload() throws -> Int
    /// Why the gateway is not alive (`/livez`) and why it is not ready for traffic (`/readyz`).
    func health() -> (live: [String], ready: [String])
}

/// A config change was refused: every problem, with its file and line. The running config stays.
public struct ConfigRefused: Error, CustomStringConvertible {
    public let issues: [ConfigIssue]
    public init(issues: [ConfigIssue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
