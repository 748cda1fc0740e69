import SpillwayPolicy
import SpillwayS3

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
