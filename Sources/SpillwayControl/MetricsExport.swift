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
        func set(_ metric: Metric, _ labels: [(String, String)], _ value: Double) {
            let gauge = registry.makeGauge(name: metric.name, labels: labels)
            gauge.set(value)
            gauges[([metric.name] + labels.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{0}")] = gauge
        }
        let c = MetricCatalog.self
        for pool in status.pools {
            for node in pool.nodes {
                let labels = c.nodeUp.dimensions(pool.name, node.url)
                set(c.nodeUp, labels, node.inRotation ? 1 : 0)
                set(c.nodeHealthy, labels, node.healthy ? 1 : 0)
                set(c.nodeDrained, labels, node.drained ? 1 : 0)
                set(c.nodeEjected, labels, node.ejectedForSeconds == nil ? 0 : 1)
                set(c.nodeEjections, labels, Double(node.ejections))
                set(c.nodeInFlight, labels, Double(node.inFlight))
                set(c.nodeLatency, labels, node.latencyEWMAms / 1000)
                if let limit = node.inFlightLimit { set(c.nodeInFlightLimit, labels, Double(limit)) }
            }
            let labels = c.budgetBalance.dimensions(pool.name)
            set(c.budgetBalance, labels, pool.retryBudgetBalance)
            set(c.budgetWithdrawn, labels, Double(pool.retryBudgetWithdrawn))
            set(c.budgetRefused, labels, Double(pool.retryBudgetRefused))
            set(c.queueDepth, labels, Double(pool.queueDepth))
        }
        for series in status.inFlight {
            set(c.inFlight, c.inFlight.dimensions(series.operation, series.bucket, series.tenant), Double(series.count))
        }
        for listener in status.tls {
            set(c.tlsCertificateExpiry, c.tlsCertificateExpiry.dimensions(listener.address), Double(listener.notValidAfter))
        }
        set(c.configVersion, [], Double(status.configVersion))
        if let reachable = status.fleetRedisReachable { set(c.redisReachable, [], reachable ? 1 : 0) }
        let withdrawn = lastScrape.withLock { last -> [Prometheus.Gauge] in
            defer { last = gauges }
            return last.filter { gauges[$0.key] == nil }.map(\.value)
        }
        for gauge in withdrawn { registry.unregisterGauge(gauge) }
        var out: [UInt8] = []
        registry.emit(into: &out)
        return Self.withHelp(out)
    }

    /// Puts each metric's `# HELP` line (from its declaration) before its `# TYPE` line.
    static func withHelp(_ exposition: [UInt8]) -> [UInt8] {
        var out = ""
        for line in String(decoding: exposition, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.split(separator: " ").dropFirst(2).first, let help = MetricCatalog.help(for: String(name)) {
                out += "# HELP \(name) \(help.replacingOccurrences(of: "`", with: ""))\n"
            }
            out += line + "\n"
        }
        return Array(out.dropLast().utf8)
    }
}
