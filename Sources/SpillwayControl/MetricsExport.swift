import Metrics
import Prometheus
import SpillwayPolicy
import Synchronization

/// Prometheus as the swift-metrics backend, plus the gauges read from the gateway's status at each
/// scrape (health, in-flight, latency, budget, queue): those are states, not events, so they are
/// sampled rather than counted on the request path.
public final class MetricsExport: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// Bootstraps swift-metrics with Prometheus. Call once, before the gateway starts.
    public static func bootstrap() -> MetricsExport {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
            .seconds(5), .seconds(10), .seconds(30),
        ]
        MetricsSystem.bootstrap(factory)
        return MetricsExport(registry: registry)
    }

    /// The state gauges set by the last scrape, so that those of a node or pool that a reload
    /// removed are withdrawn instead of repeating their last value forever.
    private let lastScrape = Mutex<[String: Prometheus.Gauge]>([:])

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// The Prometheus text exposition, with the state gauges brought up to date first.
    public func render(_ status: GatewayStatus) -> [UInt8] {
        var gauges: [String: Prometheus.Gauge] = [:]
        func set(_ name: String, _ labels: [(String, String)], _ value: Double) {
            let gauge = registry.makeGauge(name: name, labels: labels)
            gauge.set(value)
            gauges[([name] + labels.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{0}")] = gauge
        }
        for pool in status.pools {
            for node in pool.nodes {
                let labels = [("pool", pool.name), ("node", node.url)]
                set("spillway_node_up", labels, node.inRotation ? 1 : 0)
                set("spillway_node_healthy", labels, node.healthy ? 1 : 0)
                set("spillway_node_drained", labels, node.drained ? 1 : 0)
                set("spillway_node_ejected", labels, node.ejectedForSeconds == nil ? 0 : 1)
                set("spillway_node_ejections", labels, Double(node.ejections))
                set("spillway_node_in_flight", labels, Double(node.inFlight))
                set("spillway_node_latency_ewma_seconds", labels, node.latencyEWMAms / 1000)
                if let limit = node.inFlightLimit { set("spillway_node_in_flight_limit", labels, Double(limit)) }
            }
            let labels = [("pool", pool.name)]
            set("spillway_retry_budget_balance", labels, pool.retryBudgetBalance)
            set("spillway_retry_budget_withdrawn", labels, Double(pool.retryBudgetWithdrawn))
            set("spillway_retry_budget_refused", labels, Double(pool.retryBudgetRefused))
            set("spillway_queue_depth", labels, Double(pool.queueDepth))
        }
        for series in status.inFlight {
            set("spillway_in_flight", [("s3_operation", series.operation), ("bucket", series.bucket), ("tenant", series.tenant)], Double(series.count))
        }
        set("spillway_config_version", [], Double(status.configVersion))
        if let reachable = status.fleetRedisReachable { set("spillway_fleet_redis_reachable", [], reachable ? 1 : 0) }
        let withdrawn = lastScrape.withLock { last -> [Prometheus.Gauge] in
            defer { last = gauges }
            return last.filter { gauges[$0.key] == nil }.map(\.value)
        }
        for gauge in withdrawn { registry.unregisterGauge(gauge) }
        var out: [UInt8] = []
        registry.emit(into: &out)
        return out
    }
}
