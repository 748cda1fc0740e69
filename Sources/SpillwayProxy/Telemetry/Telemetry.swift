import Metrics
import SpillwayPolicy
import Synchronization
import SpillwayExchange
import Tracing

/// Counts what the data plane does, for three readers: Prometheus (through swift-metrics: the
/// composition root bootstraps the backend), the admin status (cumulative counters per node, tenant
/// and bucket), and the access log. Label values for buckets and tenants are limited to the first
/// `topN` seen, the rest count as `other`, so a flood of bucket names cannot explode the metrics.
///
/// The request path hashes no strings in the common case: a request's (operation, bucket, tenant)
/// resolves to a `TrafficSlot` once, the client connection keeps the slot for its next request, and
/// the slot keeps the metric handles and status counters its requests add to.
final class Telemetry: Sendable {
    /// A node by pool and URL: a reload may put another node at an index, and counts follow the node.
    struct NodeKey: Hashable, Sendable {
        let pool: String
        let url: String
    }

    fileprivate struct Handles: Sendable {
        let requests: Counter
        let bytesIn: Counter
        let bytesOut: Counter
        let total: Metrics.Timer
        let firstByte: Metrics.Timer
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
        var recovery = RecoveryCounters()
        var decision: Counter?
        var connections: [Counter] = []
    }

    private struct RecoveryCounters {
        var retries: Counter?
        var hedge: Counter?
        var hedgeWin: Counter?
        var resumes: Counter?
        var resumedBytes: Counter?

        func incrementRecovery(_ s: RequestSummary) {
            retries?.increment(by: s.retries)
            hedge?.increment()
            hedgeWin?.increment()
            resumes?.increment(by: s.resumes)
            resumedBytes?.increment(by: s.resumedBytes)
        }
    }

    /// A node's counters for the status, and its connection counters for the metrics.
    fileprivate final class NodeBox: @unchecked Sendable {  // mutated only under `state`'s lock
        var status: NodeStatus
        let opened: Counter
        let reused: Counter

        init(pool: String, index: Int, url: String) {
            status = NodeStatus(
                index: index, url: url, weight: 1, drained: false, healthy: true, ejectedForSeconds: nil, ejections: 0, throttled: false,
                inFlight: 0, inFlightLimit: nil, latencyEWMAms: 0)
            let dimensions = [("pool", pool), ("node", url)]
            opened = Counter(label: MetricCatalog.connectionsOpened.name, dimensions: dimensions)
            reused = Counter(label: MetricCatalog.connectionsReused.name, dimensions: dimensions)
        }
    }

    fileprivate final class TrafficBox: @unchecked Sendable {  // mutated only under `state`'s lock
        var status: TrafficStatus
        init(_ status: TrafficStatus) { self.status = status }
    }

    /// One metric series of a slot: the node that answered and the status class.
    fileprivate struct SeriesEntry {
        let pool: String
        let url: String
        let statusClass: Int
        let node: NodeBox
        let handles: Handles
    }

    /// What requests of one (operation, bucket, tenant) add to. Found again by identity, so the
    /// request path compares a few strings instead of hashing them.
    final class TrafficSlot: @unchecked Sendable {  // the `var`s change only under `state`'s lock
        let operation: String
        let bucket: String?
        let tenant: String
        let bucketLabel: String
        let tenantLabel: String
        fileprivate let tenantBox: TrafficBox
        fileprivate let bucketBox: TrafficBox?
        fileprivate var inFlight = 0
        fileprivate var series: [SeriesEntry] = []

        fileprivate init(
            operation: String, bucket: String?, tenant: String, bucketLabel: String, tenantLabel: String, tenantBox: TrafficBox,
            bucketBox: TrafficBox?
        ) {
            self.operation = operation
            self.bucket = bucket
            self.tenant = tenant
            self.bucketLabel = bucketLabel
            self.tenantLabel = tenantLabel
            self.tenantBox = tenantBox
            self.bucketBox = bucketBox
        }

        func matches(operation: String, bucket: Substring?, tenant: String) -> Bool {
            self.operation == operation && self.tenant == tenant && (self.bucket.map { bucket == Substring($0) } ?? (bucket == nil))
        }
    }

    private struct SlotKey: Hashable {
        let operation: String
        let bucket: String?
        let tenant: String
    }

    private struct State: Sendable {
        var nodes: [NodeKey: NodeBox] = [:]
        var tenants: [String: TrafficBox] = [:]
        var buckets: [String: TrafficBox] = [:]
        var slots: [SlotKey: TrafficSlot] = [:]
        var totals = GatewayStatus.Totals()
        var tenantLabels: Set<String> = []
        var bucketLabels: Set<String> = []
        var counters: [CounterKey: Counter] = [:]

        mutating func counter(_ metric: Metric, _ values: String...) -> Counter {
            let key = CounterKey(
                label: metric.name, a: values.first ?? "", b: values.count > 1 ? values[1] : "", c: values.count > 2 ? values[2] : "")
            if let known = counters[key] { return known }
            let made = Counter(label: metric.name, dimensions: Array(zip(metric.labels, values)))
            counters[key] = made
            return made
        }

        mutating func node(pool: String, index: Int, url: String) -> NodeBox {
            let key = NodeKey(pool: pool, url: url)
            if let known = nodes[key] { return known }
            let made = NodeBox(pool: pool, index: index, url: url)
            nodes[key] = made
            return made
        }
    }

    /// Slots are kept for this many distinct (operation, bucket, tenant); beyond it, requests get a
    /// slot of their own that is not kept (their counts still go to the status and metrics, but not
    /// to the in-flight gauge). Tenants and buckets in the status are capped alike.
    static let maxSlots = 10_000

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

    /// A request arrived: it counts as in flight until `record` is called with the slot returned
    /// here. `cached` is the slot of the connection's previous request, taken when it matches.
    func began(operation: String, bucket: Substring?, tenant: String, className: String, cached: TrafficSlot?) -> TrafficSlot {
        let hit = cached.flatMap { $0.matches(operation: operation, bucket: bucket, tenant: tenant) ? $0 : nil }
        return state.withLock { st in
            let slot = hit ?? Self.slot(operation: operation, bucket: bucket.map(String.init), tenant: tenant, className: className, in: &st, topN: topN)
            slot.inFlight += 1
            return slot
        }
    }

    private static func slot(operation: String, bucket: String?, tenant: String, className: String, in st: inout State, topN: Int) -> TrafficSlot {
        let key = SlotKey(operation: operation, bucket: bucket, tenant: tenant)
        if let known = st.slots[key] { return known }
        let tenantBox = box(tenant, in: &st.tenants) { TrafficStatus(name: $0, className: className) }
        let bucketBox = bucket.map { box($0, in: &st.buckets) { TrafficStatus(name: $0) } }
        let slot = TrafficSlot(
            operation: operation, bucket: bucket, tenant: tenant,
            bucketLabel: bucket.map { fold($0, into: &st.bucketLabels, limit: topN) } ?? "",
            tenantLabel: fold(tenant, into: &st.tenantLabels, limit: topN), tenantBox: tenantBox, bucketBox: bucketBox)
        if st.slots.count < maxSlots { st.slots[key] = slot }
        return slot
    }

    /// The status counters of a tenant or bucket. Beyond `maxSlots` names, the rest share one entry,
    /// `other`, so a client inventing bucket names cannot grow the gateway's memory.
    private static func box(_ name: String, in boxes: inout [String: TrafficBox], make: (String) -> TrafficStatus) -> TrafficBox {
        if let known = boxes[name] { return known }
        let key = boxes.count < maxSlots ? name : "other"
        if let other = boxes[key] { return other }
        let made = TrafficBox(make(key))
        boxes[key] = made
        return made
    }

    func record(_ s: RequestSummary, slot: TrafficSlot) {
        accessLog?.write(s)
        let failed = s.status >= 500 || s.aborted
        let (handles, events) = state.withLock { st -> (Handles, EventCounters) in
            slot.inFlight -= 1
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
            case .admitted: st.totals.admitted += 1
            case .queued:
                st.totals.admitted += 1
                st.totals.queued += 1
            case .shed: st.totals.shed += 1
            case .refused: st.totals.refused += 1
            case .none: break
            }
            let statusClass = s.status / 100
            let last = s.attempts.last
            let url = last?.url ?? ""
            let entry: SeriesEntry
            if let known = slot.series.first(where: { $0.statusClass == statusClass && $0.url == url && $0.pool == s.pool }) {
                entry = known
            } else {
                entry = SeriesEntry(
                    pool: s.pool, url: url, statusClass: statusClass, node: st.node(pool: s.pool, index: last?.node ?? 0, url: url),
                    handles: Self.makeHandles(s, tenant: slot.tenantLabel, bucket: slot.bucketLabel))
                slot.series.append(entry)
            }
            if last != nil { Self.add(s, failed: failed, to: &entry.node.status) }
            Self.add(s, failed: failed, to: &slot.tenantBox.status)
            if let bucketBox = slot.bucketBox { Self.add(s, failed: failed, to: &bucketBox.status) }
            var events = EventCounters()
            for (i, attempt) in s.attempts.enumerated() {
                guard let reused = attempt.reused else { continue }
                let node = i == s.attempts.count - 1 ? entry.node : st.node(pool: s.pool, index: attempt.node, url: attempt.url)
                if reused { node.status.connectionsReused += 1 } else { node.status.connectionsOpened += 1 }
                events.connections.append(reused ? node.reused : node.opened)
            }
            if let code = s.errorCode ?? (s.status >= 400 ? "http_\(s.status)" : nil) {
                events.error = st.counter(MetricCatalog.errors, s.operation, s.pool, code)
            }
            events.recovery = Self.recoveryEvents(s, in: &st)
            if s.decision != .none {
                events.decision = st.counter(MetricCatalog.limiterDecisions, slot.tenantLabel, s.className, s.decision.rawValue)
            }
            return (entry.handles, events)
        }
        handles.requests.increment()
        if s.bytesIn > 0 { handles.bytesIn.increment(by: s.bytesIn) }
        if s.bytesOut > 0 { handles.bytesOut.increment(by: s.bytesOut) }
        handles.total.recordNanoseconds(Int64(s.totalNanos))
        if let ttfb = s.firstByteNanos { handles.firstByte.recordNanoseconds(Int64(ttfb)) }
        for counter in events.connections { counter.increment() }
        events.error?.increment()
        events.recovery.incrementRecovery(s)
        events.decision?.increment()
    }

    /// The counters of a request's retries, hedges and resumes (taken under the lock, bumped after).
    private static func recoveryEvents(_ s: RequestSummary, in st: inout State) -> RecoveryCounters {
        var events = RecoveryCounters()
        if s.retries > 0 { events.retries = st.counter(MetricCatalog.retries, s.pool) }
        if s.hedged { events.hedge = st.counter(MetricCatalog.hedges, s.pool) }
        if s.hedgeWon { events.hedgeWin = st.counter(MetricCatalog.hedgeWins, s.pool) }
        if s.resumes > 0 {
            events.resumes = st.counter(MetricCatalog.resumes, s.pool)
            events.resumedBytes = st.counter(MetricCatalog.resumedBytes, s.pool)
        }
        return events
    }

    /// A node's health changed, or an operator acted on it.
    /// A TLS handshake with an `https://` node completed (a connection was opened).
    func countHandshake(_ backend: BackendRuntime) {
        guard let pool = backend.tls?.poolName else { return }
        let counter = state.withLock { st in
            st.node(pool: pool, index: 0, url: backend.url).status.tlsHandshakes += 1
            return st.counter(MetricCatalog.tlsHandshakes, pool, backend.url)
        }
        counter.increment()
    }

    /// A coalesced fetch is over: it leaves the in-flight count. Its readers are the requests that
    /// count; the fetch's own attempts already reported to the pool's health.
    func fetched(_ s: RequestSummary, slot: TrafficSlot) {
        let events = state.withLock { st -> RecoveryCounters in
            slot.inFlight -= 1
            st.totals.retries += s.retries
            st.totals.hedges += s.hedged ? 1 : 0
            st.totals.hedgeWins += s.hedgeWon ? 1 : 0
            st.totals.resumes += s.resumes
            st.totals.resumedBytes += s.resumedBytes
            return Self.recoveryEvents(s, in: &st)
        }
        events.incrementRecovery(s)
    }

    enum CoalesceCount {
        case flights, followers, detached, storageBytes, clientBytes

        var metric: Metric {
            switch self {
            case .flights: MetricCatalog.coalesceFlights
            case .followers: MetricCatalog.coalesceFollowers
            case .detached: MetricCatalog.coalesceDetached
            case .storageBytes: MetricCatalog.coalesceStorageBytes
            case .clientBytes: MetricCatalog.coalesceClientBytes
            }
        }
    }

    func countCoalesce(_ what: CoalesceCount, pool: String, by amount: Int = 1) {
        guard amount > 0 else { return }
        state.withLock { $0.counter(what.metric, pool) }.increment(by: amount)
    }

    enum SplitCount {
        case transfers, parts, partRetries

        var metric: Metric {
            switch self {
            case .transfers: MetricCatalog.splitTransfers
            case .parts: MetricCatalog.splitParts
            case .partRetries: MetricCatalog.splitPartRetries
            }
        }
    }

    func countSplit(_ what: SplitCount, pool: String) {
        state.withLock { $0.counter(what.metric, pool) }.increment()
    }

    func countHandshakeFailure(listener: String) {
        state.withLock { $0.counter(MetricCatalog.tlsHandshakeFailures, listener) }.increment()
    }

    func countTLSReload(applied: Bool) {
        state.withLock { $0.counter(MetricCatalog.tlsReloads, applied ? "applied" : "refused") }.increment()
    }

    func countHealthEvent(pool: String, node: String, kind: HealthEvent.Kind) {
        let counter = state.withLock { $0.counter(MetricCatalog.healthEvents, pool, node, kind.rawValue) }
        counter.increment()
    }

    func counters() -> (
        nodes: [NodeKey: NodeStatus], tenants: [TrafficStatus], buckets: [TrafficStatus], totals: GatewayStatus.Totals,
        inFlight: [InFlightSeries]
    ) {
        state.withLock { st in
            // Slots sharing labels (beyond the top N) add up into one series.
            var inFlight: [SlotKey: Int] = [:]
            for slot in st.slots.values {
                inFlight[SlotKey(operation: slot.operation, bucket: slot.bucketLabel, tenant: slot.tenantLabel), default: 0] += slot.inFlight
            }
            return (
                st.nodes.mapValues(\.status), st.tenants.values.map(\.status), st.buckets.values.map(\.status), st.totals,
                inFlight.map { InFlightSeries(operation: $0.key.operation, bucket: $0.key.bucket ?? "", tenant: $0.key.tenant, count: $0.value) }
            )
        }
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
        case .admitted: t.admitted += 1
        case .queued:
            t.admitted += 1
            t.queued += 1
        case .shed: t.shed += 1
        case .refused, .none: break
        }
    }

    private static func fold(_ value: String, into seen: inout Set<String>, limit: Int) -> String {
        if seen.contains(value) { return value }
        guard seen.count < limit else { return "other" }
        seen.insert(value)
        return value
    }

    private static func makeHandles(_ s: RequestSummary, tenant: String, bucket: String) -> Handles {
        let node = s.attempts.last?.url ?? ""
        let catalog = MetricCatalog.self
        return Handles(
            requests: Counter(
                label: catalog.requests.name,
                dimensions: catalog.requests.dimensions(s.operation, bucket, tenant, s.pool, node, "\(s.status / 100)xx")),
            bytesIn: Counter(label: catalog.bytesReceived.name, dimensions: catalog.bytesReceived.dimensions(s.operation, bucket, tenant)),
            bytesOut: Counter(label: catalog.bytesSent.name, dimensions: catalog.bytesSent.dimensions(s.operation, bucket, tenant)),
            total: Metrics.Timer(label: catalog.duration.name, dimensions: catalog.duration.dimensions(s.operation, s.pool, node)),
            firstByte: Metrics.Timer(label: catalog.firstByte.name, dimensions: catalog.firstByte.dimensions(s.operation, s.pool, node)))
    }
}
