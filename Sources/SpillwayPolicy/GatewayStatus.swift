/// A point-in-time picture of the gateway for the admin API, the dashboard and `spillway top`:
/// plain values, cumulative counters, no references into the running system.
public struct GatewayStatus: Codable, Sendable, Equatable {
    public var configVersion: Int
    public var uptimeSeconds: Double
    public var pools: [PoolStatus]
    public var tenants: [TrafficStatus]
    public var buckets: [TrafficStatus]
    public var totals: Totals
    /// Nil when no fleet is configured.
    public var fleetRedisReachable: Bool?
    /// Requests in the gateway now (waiting in a queue or at a node), by the labels of their metric
    /// series; only series that have had a request, so an idle gateway has zeros, not gaps.
    public var inFlight: [InFlightSeries]
    /// Config changes put in force (SIGHUP, a watched file, the admin API) and refused since start,
    /// and why the last refusal was (with its file and line).
    public var configReloads = 0
    public var configRefusals = 0
    public var lastConfigRefusal: String?
    /// The certificate of each TLS listener.
    public var tls: [ListenerTLSStatus] = []
    /// Certificate reloads (a watched file changed) put in force and refused since start.
    public var tlsReloads = 0
    public var tlsReloadRefusals = 0

    public init(
        configVersion: Int, uptimeSeconds: Double, pools: [PoolStatus], tenants: [TrafficStatus], buckets: [TrafficStatus],
        totals: Totals, fleetRedisReachable: Bool?, inFlight: [InFlightSeries] = []
    ) {
        self.inFlight = inFlight
        self.configVersion = configVersion
        self.uptimeSeconds = uptimeSeconds
        self.pools = pools
        self.tenants = tenants
        self.buckets = buckets
        self.totals = totals
        self.fleetRedisReachable = fleetRedisReachable
    }

    public struct Totals: Codable, Sendable, Equatable {
        public var requests = 0
        public var errors = 0
        public var bytesIn = 0
        public var bytesOut = 0
        public var retries = 0
        public var hedges = 0
        public var hedgeWins = 0
        public var resumes = 0
        public var resumedBytes = 0
        public var admitted = 0
        public var queued = 0
        public var shed = 0
        public var refused = 0
        public var inFlight = 0
        public init() {}
    }
}

/// Requests in flight for one S3 operation, bucket and tenant (bucket and tenant as their metric labels:
/// beyond the top N they are `other`).
public struct InFlightSeries: Codable, Sendable, Equatable {
    public var operation: String
    public var bucket: String
    public var tenant: String
    public var count: Int

    public init(operation: String, bucket: String, tenant: String, count: Int) {
        self.operation = operation
        self.bucket = bucket
        self.tenant = tenant
        self.count = count
    }
}

public struct PoolStatus: Codable, Sendable, Equatable {
    public var name: String
    public var balancer: String
    public var retryBudgetBalance: Double
    public var retryBudgetWithdrawn: Int
    public var retryBudgetRefused: Int
    public var queueDepth: Int
    public var nodes: [NodeStatus]
    /// The pool's recent health changes and operator actions, oldest first (ejection history among them).
    public var events: [HealthEvent]

    public init(
        name: String, balancer: String, retryBudgetBalance: Double, retryBudgetWithdrawn: Int, retryBudgetRefused: Int,
        queueDepth: Int, nodes: [NodeStatus], events: [HealthEvent] = []
    ) {
        self.name = name
        self.balancer = balancer
        self.retryBudgetBalance = retryBudgetBalance
        self.retryBudgetWithdrawn = retryBudgetWithdrawn
        self.retryBudgetRefused = retryBudgetRefused
        self.queueDepth = queueDepth
        self.nodes = nodes
        self.events = events
    }
}

/// Something that happened to a node, from its health or from an operator.
public struct HealthEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case ejected
        case ejectionRefused = "ejection_refused"
        case readmitted
        case probeDown = "probe_down"
        case probeUp = "probe_up"
        case throttled
        case drained
        case undrained
        case weight
    }

    public var atUnixMillis: Int64
    public var node: Int
    public var url: String
    public var kind: Kind
    public var detail: String?

    public init(atUnixMillis: Int64, node: Int, url: String, kind: Kind, detail: String? = nil) {
        self.atUnixMillis = atUnixMillis
        self.node = node
        self.url = url
        self.kind = kind
        self.detail = detail
    }
}

public struct NodeStatus: Codable, Sendable, Equatable {
    public var index: Int
    public var url: String
    public var weight: Int
    public var drained: Bool
    /// Active probes say it is up.
    public var healthy: Bool
    /// Seconds left of its current ejection, if it is ejected.
    public var ejectedForSeconds: Double?
    public var ejections: Int
    public var throttled: Bool
    public var inFlight: Int
    public var inFlightLimit: Int?
    public var latencyEWMAms: Double
    public var requests = 0
    public var errors = 0
    public var bytesIn = 0
    public var bytesOut = 0
    public var firstByteMsTotal = 0.0
    public var connectionsOpened = 0
    public var connectionsReused = 0
    /// TLS handshakes with the node (an `https://` node): one per connection opened, so reuse keeps it low.
    public var tlsHandshakes = 0

    /// Healthy, not drained, not ejected, not throttled.
    public var inRotation: Bool { healthy && !drained && ejectedForSeconds == nil && !throttled }

    public init(
        index: Int, url: String, weight: Int, drained: Bool, healthy: Bool, ejectedForSeconds: Double?, ejections: Int,
        throttled: Bool, inFlight: Int, inFlightLimit: Int?, latencyEWMAms: Double
    ) {
        self.index = index
        self.url = url
        self.weight = weight
        self.drained = drained
        self.healthy = healthy
        self.ejectedForSeconds = ejectedForSeconds
        self.ejections = ejections
        self.throttled = throttled
        self.inFlight = inFlight
        self.inFlightLimit = inFlightLimit
        self.latencyEWMAms = latencyEWMAms
    }
}

/// Traffic of one tenant or bucket.
public struct TrafficStatus: Codable, Sendable, Equatable {
    public var name: String
    public var className: String?
    public var requests = 0
    public var errors = 0
    public var bytesIn = 0
    public var bytesOut = 0
    public var admitted = 0
    public var queued = 0
    public var shed = 0

    public init(name: String, className: String? = nil) {
        self.name = name
        self.className = className
    }
}

/// What a TLS listener serves now.
public struct ListenerTLSStatus: Codable, Sendable, Equatable {
    public var address: String
    /// The leaf certificate's subject.
    public var subject: String
    /// Seconds since 1970 when the certificate stops being valid.
    public var notValidAfter: Int
    /// Clients must present a certificate.
    public var mutualTLS: Bool
    /// Why the last reload of its files was refused (the previous certificate stays), if it was.
    public var lastReloadProblem: String?

    public init(address: String, subject: String, notValidAfter: Int, mutualTLS: Bool, lastReloadProblem: String?) {
        self.address = address
        self.subject = subject
        self.notValidAfter = notValidAfter
        self.mutualTLS = mutualTLS
        self.lastReloadProblem = lastReloadProblem
    }
}
