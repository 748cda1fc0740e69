import SpillwayPolicy
import SpillwayS3
import Synchronization

/// The immutable, compiled form of one config version. A request loads one snapshot when its head
/// arrives and keeps it to the end, so a reload never changes the rules under a request in flight.
public final class Snapshot: Sendable {
    public let version: Int
    public let config: GatewayConfig
    public let classifier: RequestClassifier
    public let routes: RouteTable

    public init(config: GatewayConfig, version: Int) {
        self.version = version
        self.config = config
        self.classifier = RequestClassifier(virtualHostDomains: config.virtualHostDomains)
        self.routes = RouteTable(
            routes: config.routes, defaultPool: config.defaultPool, poolNames: config.pools.map(\.name),
            timeouts: config.timeouts)
    }
}

/// Holds the current snapshot; readers take it with one uncontended lock, writers swap it whole.
public final class SnapshotStore: Sendable {
    private let current: Mutex<Snapshot>

    public init(_ first: Snapshot) { current = Mutex(first) }

    public func load() -> Snapshot { current.withLock { $0 } }

    public func publish(_ next: Snapshot) { current.withLock { $0 = next } }
}
