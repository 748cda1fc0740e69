import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3

/// The validated content of a config file (or of quick-mode arguments), as plain values.
/// Every field here is documented in `config/spillway.example.yaml`.
public struct GatewayConfig: Sendable, Equatable {
    public var listeners: [Listener]
    /// Event-loop threads; nil means one per core.
    public var workers: Int?
    public var virtualHostDomains: [String]
    public var timeouts: Timeouts
    public var drainTimeout: Duration
    public var shutdownDelay = ConfigKeys.shutdownDelay.duration
    /// All coalescing flights' rings together.
    public var coalesceMemory = ConfigKeys.coalesceMemory.size
    /// All split downloads' parts together.
    public var splitMemory = ConfigKeys.splitMemory.size
    public var pools: [PoolConfig]
    public var routes: [RouteConfig]
    public var defaultPool: String
    public var protection: ProtectionConfig
    public var observability = ObservabilityConfig()
    public var http = HTTPConfig()

    public init(
        listen: [HostPort], workers: Int? = nil, virtualHostDomains: [String] = [], timeouts: Timeouts = .init(),
        drainTimeout: Duration = ConfigKeys.drainTimeout.duration, pools: [PoolConfig], routes: [RouteConfig] = [], defaultPool: String,
        protection: ProtectionConfig = .init()
    ) {
        self.protection = protection
        self.listeners = listen.map { Listener(address: $0) }
        self.workers = workers
        self.virtualHostDomains = virtualHostDomains
        self.timeouts = timeouts
        self.drainTimeout = drainTimeout
        self.pools = pools
        self.routes = routes
        self.defaultPool = defaultPool
    }

    /// The listen addresses, plain and TLS alike.
    public var listen: [HostPort] { listeners.map(\.address) }
}

public struct HostPort: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Time limits for one exchange with a node. Route-level values override the global ones field by field.
public struct Timeouts: Sendable, Equatable {
    /// TCP connect to a node.
    public var connect: Duration
    /// From the last request byte sent to the first response byte received.
    public var firstByte: Duration
    /// No body byte moving in either direction for this long: the stream has stalled.
    public var idle: Duration
    /// A client keep-alive connection with no request in progress is closed after this long.
    public var clientIdle: Duration
    /// One attempt on one node, from its start to the end of its response.
    public var attempt: Duration
    /// From a request head's first byte to its last: a head may not trickle in.
    public var requestHead: Duration

    public init(
        connect: Duration = ConfigKeys.Timeouts.connect.duration, firstByte: Duration = ConfigKeys.Timeouts.firstByte.duration,
        idle: Duration = ConfigKeys.Timeouts.idle.duration, clientIdle: Duration = ConfigKeys.Timeouts.clientIdle.duration,
        attempt: Duration = ConfigKeys.Timeouts.attempt.duration, requestHead: Duration = ConfigKeys.Timeouts.requestHead.duration
    ) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.clientIdle = clientIdle
        self.attempt = attempt
        self.requestHead = requestHead
    }
}

/// How much of HTTP/1.1 a peer may use, so that no head, pipeline or trickle can hold the
/// gateway's memory or a connection without bound.
public struct HTTPConfig: Sendable, Equatable {
    /// Head size, field count and target length, for client requests and node responses alike.
    public var head = HeadLimits(
        maxHeadBytes: ConfigKeys.HTTP.maxHeadSize.size, maxHeaders: ConfigKeys.HTTP.maxHeaders.int,
        maxTargetBytes: ConfigKeys.HTTP.maxTargetLength.size)
    /// Responses to pipelined requests that may wait unsent before the next pipelined request is read.
    public var maxPipelined = ConfigKeys.HTTP.maxPipelined.int
    /// A client sending a body or reading a response, while the gateway waits on it, must move at
    /// least this many bytes a second, averaged over `minRateWindow`.
    public var minClientRate = ConfigKeys.HTTP.minClientRate.size
    public var minRateWindow = ConfigKeys.HTTP.minRateWindow.duration
    /// Interim (1xx) responses accepted from a node for one request.
    public static let maxInterimResponses = 8

    public init() {}
}

/// A partial `Timeouts`, as a route states it.
public struct TimeoutOverrides: Sendable, Equatable {
    public var connect: Duration?
    public var firstByte: Duration?
    public var idle: Duration?
    public var attempt: Duration?

    public init(connect: Duration? = nil, firstByte: Duration? = nil, idle: Duration? = nil, attempt: Duration? = nil) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.attempt = attempt
    }

    public func applied(to base: Timeouts) -> Timeouts {
        var t = base
        if let connect { t.connect = connect }
        if let firstByte { t.firstByte = firstByte }
        if let idle { t.idle = idle }
        if let attempt { t.attempt = attempt }
        return t
    }
}

public struct NodeConfig: Sendable, Equatable {
    public var url: String
    public var address: HostPort
    /// An `https://` node: reached over TLS with its pool's `tls` settings.
    public var secure: Bool
    public var weight: Int
    /// Out of rotation: takes no new requests; requests in flight finish.
    public var drain: Bool

    public init(url: String, address: HostPort, secure: Bool = false, weight: Int = 1, drain: Bool = false) {
        self.url = url
        self.address = address
        self.secure = secure
        self.weight = weight
        self.drain = drain
    }
}

/// The active probe of every node in a pool.
public struct HealthCheckConfig: Sendable, Equatable {
    public enum Preset: String, Sendable, CaseIterable {
        /// Any S3 server: `HEAD /` answered with any status below 500 (an anonymous request gets 403).
        case s3
        /// MinIO's readiness endpoint.
        case minio
        /// Dell ObjectScale / ECS: `GET /?ping`.
        case objectscale
        /// Ceph RGW: `HEAD /` (anonymous ListBuckets).
        case ceph
        /// No active probes; passive outlier detection only.
        case none
    }

    public var enabled: Bool
    public var method: String
    public var path: String
    /// Statuses that mean "alive", as inclusive ranges.
    public var expect: [ClosedRange<Int>]
    public var interval: Duration
    /// Each wait is `interval` plus a random share of this, so probes from many gateways spread out.
    public var jitter: Duration
    public var timeout: Duration
    public var rise: Int
    public var fall: Int

    public init(preset: Preset = .s3) {
        enabled = preset != .none
        method = "HEAD"
        path = "/"
        expect = [100...499]
        interval = ConfigKeys.Pool.healthInterval.duration
        jitter = ConfigKeys.Pool.healthJitter.duration
        timeout = ConfigKeys.Pool.healthTimeout.duration
        rise = ConfigKeys.Pool.healthRise.int
        fall = ConfigKeys.Pool.healthFall.int
        switch preset {
        case .minio:
            method = "GET"
            path = "/minio/health/ready"
            expect = [200...200]
        case .objectscale:
            method = "GET"
            path = "/?ping"
            expect = [200...200]
        case .s3, .ceph, .none:
            break
        }
    }
}

/// Passive health: how real traffic ejects a failing node.
public struct OutlierConfig: Sendable, Equatable {
    public var consecutiveFailures = ConfigKeys.Pool.consecutiveFailures.int
    public var baseEjection = ConfigKeys.Pool.baseEjection.duration
    public var maxEjection = ConfigKeys.Pool.maxEjection.duration
    public var maxEjectedPercent = ConfigKeys.Pool.maxEjectedPercent.int

    public init() {}
}

/// Retries: how many, how spaced, within what budget, with how much request body held for replay.
public struct RetryConfig: Sendable, Equatable {
    public var maxAttempts = ConfigKeys.Pool.maxAttempts.int
    /// Times one download may be continued from another node after its node failed mid-body.
    public var maxResumes = ConfigKeys.Pool.maxResumes.int
    public var budgetPercent = ConfigKeys.Pool.budgetPercent.int
    public var minPerSecond = ConfigKeys.Pool.minPerSecond.int
    public var backoffBase = ConfigKeys.Pool.backoffBase.duration
    public var backoffMax = ConfigKeys.Pool.backoffMax.duration
    /// Request bodies up to this size are held so a write can be retried; larger ones are not replayable.
    public var replayBufferBytes = ConfigKeys.Pool.replayBuffer.size

    public init() {}
}

/// Hedged reads: a second attempt for a GET or HEAD that has not answered by a latency percentile.
public struct HedgeConfig: Sendable, Equatable {
    public var enabled = ConfigKeys.Pool.hedgeEnabled.bool
    public var percentile = Double(ConfigKeys.Pool.hedgePercentile.int)
    /// Never hedge sooner than this, whatever the percentile says.
    public var minDelay = ConfigKeys.Pool.hedgeMinDelay.duration

    public init() {}
}

public struct PoolConfig: Sendable, Equatable {
    public var name: String
    public var balancer: BalancerKind
    public var nodes: [NodeConfig]
    /// Idle keep-alive connections kept per node by each worker thread.
    public var maxIdlePerNode: Int
    public var health: HealthCheckConfig
    public var outlier: OutlierConfig
    public var retry: RetryConfig
    public var hedge: HedgeConfig
    public var protection: NodeProtectionConfig
    /// TLS toward the pool's `https://` nodes (defaults when the section is absent).
    public var tls = NodeTLSConfig()
    /// The pool's own identity; nil: requests pass under the client's signature.
    public var credentials: PoolCredentials?
    public var signing: SigningConfig?

    public init(
        name: String, balancer: BalancerKind = .peakEWMA, nodes: [NodeConfig], maxIdlePerNode: Int = ConfigKeys.Pool.maxIdlePerNode.int,
        health: HealthCheckConfig = .init(), outlier: OutlierConfig = .init(), retry: RetryConfig = .init(),
        hedge: HedgeConfig = .init(), protection: NodeProtectionConfig = .init()
    ) {
        self.protection = protection
        self.name = name
        self.balancer = balancer
        self.nodes = nodes
        self.maxIdlePerNode = maxIdlePerNode
        self.health = health
        self.outlier = outlier
        self.retry = retry
        self.hedge = hedge
    }
}

/// Which requests a route takes. Every stated condition must hold; an absent one matches all.
public struct RouteMatch: Sendable, Equatable {
    /// Bucket name, or a glob with `*` and `?`.
    public var bucket: String?
    /// Key prefix, compared with the decoded key.
    public var prefix: String?
    /// S3 operations, as a mask of `S3Operation.bit`; nil means any.
    public var operations: UInt64?
    /// HTTP methods, as a mask of `S3Method.bit`; nil means any.
    public var methods: UInt8?

    public init(bucket: String? = nil, prefix: String? = nil, operations: UInt64? = nil, methods: UInt8? = nil) {
        self.bucket = bucket
        self.prefix = prefix
        self.operations = operations
        self.methods = methods
    }
}

public struct RouteConfig: Sendable, Equatable {
    public var name: String
    public var match: RouteMatch
    /// Pools in order of preference: reads fail over to the next when a pool has no healthy node.
    public var pools: [String]
    public var timeouts: TimeoutOverrides
    /// The priority class of requests this route takes (overrides the tenant's).
    public var priorityClass: String?
    /// Identical concurrent GETs share one fetch (nil: off).
    public var coalesce: CoalesceConfig?
    /// Large GETs are fetched in ranged parts from several nodes (nil: off).
    public var split: SplitConfig?

    public init(name: String, match: RouteMatch, pools: [String], timeouts: TimeoutOverrides = .init(), priorityClass: String? = nil,
                coalesce: CoalesceConfig? = nil, split: SplitConfig? = nil) {
        self.priorityClass = priorityClass
        self.coalesce = coalesce
        self.split = split
        self.name = name
        self.match = match
        self.pools = pools
        self.timeouts = timeouts
    }

    public init(name: String, match: RouteMatch, pool: String, timeouts: TimeoutOverrides = .init()) {
        self.init(name: name, match: match, pools: [pool], timeouts: timeouts)
    }

    public var pool: String { pools[0] }
}

/// `routes[].coalesce`: GETs of one object in flight at once share one fetch.
public struct CoalesceConfig: Sendable, Equatable {
    /// Bytes of a flight kept for its readers (`routes[].coalesce.ring`).
    public var ring: Int
    /// Verified followers join without a check of their own (`routes[].coalesce.trust_verified`).
    public var trustVerified: Bool

    public init(ring: Int = ConfigKeys.Route.coalesceRing.size, trustVerified: Bool = ConfigKeys.Route.coalesceTrustVerified.bool) {
        self.ring = ring
        self.trustVerified = trustVerified
    }
}

/// `routes[].split`: large whole-object GETs fetched as ranged parts from several nodes.
public struct SplitConfig: Sendable, Equatable {
    public var above: Int
    public var part: Int
    public var parallel: Int

    public init(above: Int = ConfigKeys.Route.splitAbove.size, part: Int = ConfigKeys.Route.splitPart.size,
                parallel: Int = ConfigKeys.Route.splitParallel.int) {
        self.above = above
        self.part = part
        self.parallel = parallel
    }
}
