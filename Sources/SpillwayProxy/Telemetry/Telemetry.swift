import Metrics
import SpillwayPolicy
import Synchronization

/// Counts what the data plane does, for three readers: Prometheus (through swift-metrics: the
/// composition root bootstraps the backend), the admin status (cumulative counters per node, tenant
/// and bucket), and the access log. One call per finished request; label values for buckets and
/// tenants are limited to the first `topN` seen, the rest count as `other`, so a flood of bucket
/// names cannot explode the metrics.
final class Telemetry: Sendable {
    struct NodeKey: Hashable, Sendable {
        let pool: String
        let node: Int
    }

    private struct Handles: Sendable {
        let requests: Counter
        let bytesIn: Counter
        let bytesOut: Counter
        let total: Metrics.Timer
        let firstByte: Metrics.Timer
    }

    private struct State: Sendable {
        var nodes: [NodeKey: NodeStatus] = [:]
        var tenants: [String: TrafficStatus] = [:]
        var buckets: [String: TrafficStatus] = [:]
        var totals = GatewayStatus.Totals()
        var tenantLabels: Set<String> = []
        var bucketLabels: Set<String> = []
        var handles: [String: Handles] = [:]
    }

    let topN: Int
    let accessLog: AccessLog?
    private let state = Mutex(State())

    init(topN: Int, accessLog: AccessLog?) {
        self.topN = topN
        self.accessLog = accessLog
    }

    func record(_ s: RequestSummary) {
        accessLog?.write(s)
        let failed = s.status >= 500 || s.aborted
        let (tenantLabel, bucketLabel, handles) = state.withLock { st -> (String, String, Handles) in
            st.totals.requests += 1
            st.totals.errors += failed ? 1 : 0
            st.totals.bytesIn += s.bytesIn
            st.totals.bytesOut += s.bytesOut
            st.totals.retries += s.retries
            st.totals.hedges += s.hedged ? 1 : 0
            st.totals.hedgeWins += s.hedgeWon ? 1 : 0
            st.totals.resumes += s.resumes
            st.totals.resumedBytes += s.resumedBytes
            switch s.decision {
            case "admitted": st.totals.admitted += 1
            case "queued":
                st.totals.admitted += 1
                st.totals.queued += 1
            case "shed": st.totals.shed += 1
            case "refused": st.totals.refused += 1
            default: break
            }
            if let last = s.attempts.last {
                let key = NodeKey(pool: s.pool, node: last.node)
                var n = st.nodes[key] ?? NodeStatus(
                    index: last.node, url: last.url, weight: 1, drained: false, healthy: true, ejectedForSeconds: nil, ejections: 0,
                    throttled: false, inFlight: 0, inFlightLimit: nil, latencyEWMAms: 0)
                n.requests += 1
                n.errors += failed ? 1 : 0
                n.bytesIn += s.bytesIn
                n.bytesOut += s.bytesOut
                n.firstByteMsTotal += Double(s.firstByteNanos ?? 0) / 1e6
                st.nodes[key] = n
            }
            var t = st.tenants[s.tenant] ?? TrafficStatus(name: s.tenant, className: s.className)
            Self.add(s, failed: failed, to: &t)
            st.tenants[s.tenant] = t
            if let bucket = s.bucket {
                var b = st.buckets[bucket] ?? TrafficStatus(name: bucket)
                Self.add(s, failed: failed, to: &b)
                st.buckets[bucket] = b
            }
            let tenantLabel = Self.fold(s.tenant, into: &st.tenantLabels, limit: topN)
            let bucketLabel = s.bucket.map { Self.fold($0, into: &st.bucketLabels, limit: topN) } ?? ""
            let key = "\(s.operation)|\(bucketLabel)|\(tenantLabel)|\(s.pool)|\(s.attempts.last?.url ?? "")|\(s.status / 100)xx"
            let handles = st.handles[key] ?? Self.makeHandles(s, tenant: tenantLabel, bucket: bucketLabel)
            st.handles[key] = handles
            return (tenantLabel, bucketLabel, handles)
        }
        handles.requests.increment()
        if s.bytesIn > 0 { handles.bytesIn.increment(by: s.bytesIn) }
        if s.bytesOut > 0 { handles.bytesOut.increment(by: s.bytesOut) }
        handles.total.recordNanoseconds(Int64(s.totalNanos))
        if let ttfb = s.firstByteNanos { handles.firstByte.recordNanoseconds(Int64(ttfb)) }
        if let code = s.errorCode ?? (s.status >= 400 ? "http_\(s.status)" : nil) {
            Counter(label: "spillway_errors_total", dimensions: [("s3_operation", s.operation), ("pool", s.pool), ("code", code)]).increment()
        }
        if s.retries > 0 { Counter(label: "spillway_retries_total", dimensions: [("pool", s.pool)]).increment(by: s.retries) }
        if s.hedged { Counter(label: "spillway_hedges_total", dimensions: [("pool", s.pool)]).increment() }
        if s.hedgeWon { Counter(label: "spillway_hedge_wins_total", dimensions: [("pool", s.pool)]).increment() }
        if s.resumes > 0 {
            Counter(label: "spillway_resumes_total", dimensions: [("pool", s.pool)]).increment(by: s.resumes)
            Counter(label: "spillway_resumed_bytes_total", dimensions: [("pool", s.pool)]).increment(by: s.resumedBytes)
        }
        if s.decision != "none" {
            Counter(label: "spillway_limiter_decisions_total", dimensions: [("tenant", tenantLabel), ("class", s.className), ("decision", s.decision)])
                .increment()
        }
        _ = bucketLabel
    }

    /// A node connection was opened, or a parked one reused.
    func nodeConnection(pool: String, node: Int, url: String, reused: Bool) {
        state.withLock { st in
            let key = NodeKey(pool: pool, node: node)
            var n = st.nodes[key] ?? NodeStatus(
                index: node, url: url, weight: 1, drained: false, healthy: true, ejectedForSeconds: nil, ejections: 0,
                throttled: false, inFlight: 0, inFlightLimit: nil, latencyEWMAms: 0)
            if reused { n.connectionsReused += 1 } else { n.connectionsOpened += 1 }
            st.nodes[key] = n
        }
        Counter(label: reused ? "spillway_node_connections_reused_total" : "spillway_node_connections_opened_total",
                dimensions: [("pool", pool), ("node", url)]).increment()
    }

    func counters() -> (nodes: [NodeKey: NodeStatus], tenants: [TrafficStatus], buckets: [TrafficStatus], totals: GatewayStatus.Totals) {
        state.withLock { st in (st.nodes, Array(st.tenants.values), Array(st.buckets.values), st.totals) }
    }

    private static func add(_ s: RequestSummary, failed: Bool, to t: inout TrafficStatus) {
        t.requests += 1
        t.errors += failed ? 1 : 0
        t.bytesIn += s.bytesIn
        t.bytesOut += s.bytesOut
        switch s.decision {
        case "admitted": t.admitted += 1
        case "queued":
            t.admitted += 1
            t.queued += 1
        case "shed": t.shed += 1
        default: break
        }
    }

    private static func fold(_ value: String, into seen: inout Set<String>, limit: Int) -> String {
        if seen.contains(value) { return value }
        guard seen.count < limit else { return "other" }
        seen.insert(value)
        return value
    }

    private static func makeHandles(_ s: RequestSummary, tenant: String, bucket: String) -> Handles {
        let labels = [
            ("s3_operation", s.operation), ("bucket", bucket), ("tenant", tenant), ("pool", s.pool),
            ("node", s.attempts.last?.url ?? ""), ("status", "\(s.status / 100)xx"),
        ]
        let short = [("s3_operation", s.operation), ("pool", s.pool), ("node", s.attempts.last?.url ?? "")]
        let traffic = [("s3_operation", s.operation), ("bucket", bucket), ("tenant", tenant)]
        return Handles(
            requests: Counter(label: "spillway_requests_total", dimensions: labels),
            bytesIn: Counter(label: "spillway_bytes_received_total", dimensions: traffic),
            bytesOut: Counter(label: "spillway_bytes_sent_total", dimensions: traffic),
            total: Metrics.Timer(label: "spillway_request_duration_seconds", dimensions: short),
            firstByte: Metrics.Timer(label: "spillway_first_byte_seconds", dimensions: short))
    }
}
