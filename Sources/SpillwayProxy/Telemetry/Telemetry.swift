import Metrics
import SpillwayPolicy
import Synchronization
import Tracing

/// Counts what the data plane does, for three readers: Prometheus (through swift-metrics: the
/// composition root bootstraps the backend), the admin status (cumulative counters per node, tenant
/// and bucket), and the access log. One call per finished request; label values for buckets and
/// tenants are limited to the first `topN` seen, the rest count as `other`, so a flood of bucket
/// names cannot explode the metrics.
final class Telemetry: Sendable {
    /// A node by pool and URL: a reload may put another node at an index, and counts follow the node.
    struct NodeKey: Hashable, Sendable {
        let pool: String
        let url: String
    }

    private struct Handles: Sendable {
        let requests: Counter
        let bytesIn: Counter
        let bytesOut: Counter
        let total: Metrics.Timer
        let firstByte: Metrics.Timer
    }

    /// One set of metric series: the labels a finished request is counted under.
    private struct SeriesKey: Hashable, Sendable {
        let operation: String
        let bucket: String
        let tenant: String
        let pool: String
        /// The URL, not the index: a reload may put another node at an index.
        let node: String
        let statusClass: Int
    }

    /// A counter by its name and up to three label values (the names are fixed per counter).
    private struct CounterKey: Hashable, Sendable {
        let label: String
        let a: String
        let b: String
        let c: String
    }

    /// The counters one finished request adds to, besides its series' handles.
    private struct EventCounters {
        var error: Counter?
        var retries: Counter?
        var hedge: Counter?
        var hedgeWin: Counter?
        var resumes: Counter?
        var resumedBytes: Counter?
        var decision: Counter?
    }

    private struct ConnectionCounters: Sendable {
        let opened: Counter
        let reused: Counter
    }

    private struct State: Sendable {
        var nodes: [NodeKey: NodeStatus] = [:]
        var tenants: [String: TrafficStatus] = [:]
        var buckets: [String: TrafficStatus] = [:]
        var totals = GatewayStatus.Totals()
        var tenantLabels: Set<String> = []
        var bucketLabels: Set<String> = []
        // Metric handles are made once per series and kept: making one is a registry lookup.
        var handles: [SeriesKey: Handles] = [:]
        var connectionCounters: [NodeKey: ConnectionCounters] = [:]
        var counters: [CounterKey: Counter] = [:]

        mutating func counter(_ label: String, _ labels: KeyValuePairs<String, String>) -> Counter {
            let values = labels.map(\.value)
            let key = CounterKey(
                label: label, a: values.first ?? "", b: values.count > 1 ? values[1] : "", c: values.count > 2 ? values[2] : "")
            if let known = counters[key] { return known }
            let made = Counter(label: label, dimensions: labels.map { ($0.key, $0.value) })
            counters[key] = made
            return made
        }
    }

    let topN: Int
    let accessLog: AccessLog?
    /// Nil: no spans at all (not even no-op ones), so tracing costs nothing when it is off.
    let tracer: (any Tracer)?
    private let state = Mutex(State())

    init(topN: Int, accessLog: AccessLog?, tracer: (any Tracer)?) {
        self.topN = topN
        self.accessLog = accessLog
        self.tracer = tracer
    }

    /// A span for a request that just arrived, when tracing is on.
    func startSpan(operation: String, traceparent: String?) -> RequestSpan? {
        tracer.map { RequestSpan(tracer: $0, operation: operation, traceparent: traceparent) }
    }

    func record(_ s: RequestSummary) {
        accessLog?.write(s)
        let failed = s.status >= 500 || s.aborted
        let (handles, events) = state.withLock { st -> (Handles, EventCounters) in
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
            // Updated in place (`[key, default:]` is one lookup, no copy of the value).
            if let last = s.attempts.last {
                Self.add(s, failed: failed, to: &st.nodes[NodeKey(pool: s.pool, url: last.url), default: Self.node(last.node, last.url)])
            }
            Self.add(s, failed: failed, to: &st.tenants[s.tenant, default: TrafficStatus(name: s.tenant, className: s.className)])
            if let bucket = s.bucket { Self.add(s, failed: failed, to: &st.buckets[bucket, default: TrafficStatus(name: bucket)]) }
            let tenantLabel = Self.fold(s.tenant, into: &st.tenantLabels, limit: topN)
            let bucketLabel = s.bucket.map { Self.fold($0, into: &st.bucketLabels, limit: topN) } ?? ""
            let key = SeriesKey(
                operation: s.operation, bucket: bucketLabel, tenant: tenantLabel, pool: s.pool, node: s.attempts.last?.url ?? "",
                statusClass: s.status / 100)
            let handles = st.handles[key] ?? Self.makeHandles(s, tenant: tenantLabel, bucket: bucketLabel)
            st.handles[key] = handles
            var events = EventCounters()
            if let code = s.errorCode ?? (s.status >= 400 ? "http_\(s.status)" : nil) {
                events.error = st.counter("spillway_errors_total", ["s3_operation": s.operation, "pool": s.pool, "code": code])
            }
            if s.retries > 0 { events.retries = st.counter("spillway_retries_total", ["pool": s.pool]) }
            if s.hedged { events.hedge = st.counter("spillway_hedges_total", ["pool": s.pool]) }
            if s.hedgeWon { events.hedgeWin = st.counter("spillway_hedge_wins_total", ["pool": s.pool]) }
            if s.resumes > 0 {
                events.resumes = st.counter("spillway_resumes_total", ["pool": s.pool])
                events.resumedBytes = st.counter("spillway_resumed_bytes_total", ["pool": s.pool])
            }
            if s.decision != "none" {
                events.decision = st.counter(
                    "spillway_limiter_decisions_total", ["tenant": tenantLabel, "class": s.className, "decision": s.decision])
            }
            return (handles, events)
        }
        handles.requests.increment()
        if s.bytesIn > 0 { handles.bytesIn.increment(by: s.bytesIn) }
        if s.bytesOut > 0 { handles.bytesOut.increment(by: s.bytesOut) }
        handles.total.recordNanoseconds(Int64(s.totalNanos))
        if let ttfb = s.firstByteNanos { handles.firstByte.recordNanoseconds(Int64(ttfb)) }
        events.error?.increment()
        events.retries?.increment(by: s.retries)
        events.hedge?.increment()
        events.hedgeWin?.increment()
        events.resumes?.increment(by: s.resumes)
        events.resumedBytes?.increment(by: s.resumedBytes)
        events.decision?.increment()
    }

    /// A node connection was opened, or a parked one reused.
    func nodeConnection(pool: String, node: Int, url: String, reused: Bool) {
        let counter = state.withLock { st -> Counter in
            let key = NodeKey(pool: pool, url: url)
            if reused { st.nodes[key, default: Self.node(node, url)].connectionsReused += 1 } else {
                st.nodes[key, default: Self.node(node, url)].connectionsOpened += 1
            }
            if let known = st.connectionCounters[key] { return reused ? known.reused : known.opened }
            let dimensions = [("pool", pool), ("node", url)]
            let counters = ConnectionCounters(
                opened: Counter(label: "spillway_node_connections_opened_total", dimensions: dimensions),
                reused: Counter(label: "spillway_node_connections_reused_total", dimensions: dimensions))
            st.connectionCounters[key] = counters
            return reused ? counters.reused : counters.opened
        }
        counter.increment()
    }

    func counters() -> (nodes: [NodeKey: NodeStatus], tenants: [TrafficStatus], buckets: [TrafficStatus], totals: GatewayStatus.Totals) {
        state.withLock { st in (st.nodes, Array(st.tenants.values), Array(st.buckets.values), st.totals) }
    }

    private static func node(_ index: Int, _ url: String) -> NodeStatus {
        NodeStatus(
            index: index, url: url, weight: 1, drained: false, healthy: true, ejectedForSeconds: nil, ejections: 0, throttled: false,
            inFlight: 0, inFlightLimit: nil, latencyEWMAms: 0)
    }

    private static func add(_ s: RequestSummary, failed: Bool, to n: inout NodeStatus) {
        n.requests += 1
        n.errors += failed ? 1 : 0
        n.bytesIn += s.bytesIn
        n.bytesOut += s.bytesOut
        n.firstByteMsTotal += Double(s.firstByteNanos ?? 0) / 1e6
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
