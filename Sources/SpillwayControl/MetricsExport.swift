import Metrics
import Prometheus
import SpillwayPolicy

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

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// The Prometheus text exposition, with the state gauges brought up to date first.
    public func render(_ status: GatewayStatus) -> [UInt8] {
        for pool in status.pools {
            for node in pool.nodes {
                let labels = [("pool", pool.name), ("node", node.url)]
                registry.makeGauge(name: "spillway_node_up", labels: labels).set(to: node.inRotation ? 1.0 : 0.0)
                registry.makeGauge(name: "spillway_node_healthy", labels: labels).set(to: node.healthy ? 1.0 : 0.0)
                registry.makeGauge(name: "spillway_node_drained", labels: labels).set(to: node.drained ? 1.0 : 0.0)
                registry.makeGauge(name: "spillway_node_ejected", labels: labels).set(to: node.ejectedForSeconds == nil ? 0.0 : 1.0)
                registry.makeGauge(name: "spillway_node_ejections", labels: labels).set(Double(node.ejections))
                registry.makeGauge(name: "spillway_node_in_flight", labels: labels).set(Double(node.inFlight))
                registry.makeGauge(name: "spillway_node_latency_ewma_seconds", labels: labels).set(node.latencyEWMAms / 1000)
                if let limit = node.inFlightLimit {
                    registry.makeGauge(name: "spillway_node_in_flight_limit", labels: labels).set(Double(limit))
                }
            }
            registry.makeGauge(name: "spillway_retry_budget_balance", labels: [("pool", pool.name)]).set(pool.retryBudgetBalance)
            registry.makeGauge(name: "spillway_retry_budget_withdrawn", labels: [("pool", pool.name)]).set(Double(pool.retryBudgetWithdrawn))
            registry.makeGauge(name: "spillway_retry_budget_refused", labels: [("pool", pool.name)]).set(Double(pool.retryBudgetRefused))
            registry.makeGauge(name: "spillway_queue_depth", labels: [("pool", pool.name)]).set(Double(pool.queueDepth))
        }
        for series in status.inFlight {
            registry.makeGauge(
                name: "spillway_in_flight", labels: [("s3_operation", series.operation), ("bucket", series.bucket), ("tenant", series.tenant)]
            ).set(Double(series.count))
        }
        registry.makeGauge(name: "spillway_config_version").set(Double(status.configVersion))
        if let reachable = status.fleetRedisReachable {
            registry.makeGauge(name: "spillway_fleet_redis_reachable").set(to: reachable ? 1.0 : 0.0)
        }
        var out: [UInt8] = []
        registry.emit(into: &out)
        return out
    }
}
