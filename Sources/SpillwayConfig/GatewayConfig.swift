import SpillwayPolicy
import SpillwayS3

/// The validated content of a config file (or of quick-mode arguments), as plain values.
/// Every field here is documented in `config/spillway.example.yaml`.
public struct GatewayConfig: Sendable, Equatable {
    public var listen: [HostPort]
    /// Event-loop threads; nil means one per core.
    public var workers: Int?
    public var virtualHostDomains: [String]
    public var timeouts: Timeouts
    public var drainTimeout: Duration
    public var pools: [PoolConfig]
    public var routes: [RouteConfig]
    public var defaultPool: String

    public init(
        listen: [HostPort], workers: Int? = nil, virtualHostDomains: [String] = [], timeouts: Timeouts = .init(),
        drainTimeout: Duration = .seconds(30), pools: [PoolConfig], routes: [RouteConfig] = [], defaultPool: String
    ) {
        self.listen = listen
        self.workers = workers
        self.virtualHostDomains = virtualHostDomains
        self.timeouts = timeouts
        self.drainTimeout = drainTimeout
        self.pools = pools
        self.routes = routes
        self.defaultPool = defaultPool
    }
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

    public init(
        connect: Duration = .seconds(3), firstByte: Duration = .seconds(60), idle: Duration = .seconds(60),
        clientIdle: Duration = .seconds(120)
    ) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.clientIdle = clientIdle
    }
}

/// A partial `Timeouts`, as a route states it.
public struct TimeoutOverrides: Sendable, Equatable {
    public var connect: Duration?
    public var firstByte: Duration?
    public var idle: Duration?

    public init(connect: Duration? = nil, firstByte: Duration? = nil, idle: Duration? = nil) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
    }

    public func applied(to base: Timeouts) -> Timeouts {
        var t = base
        if let connect { t.connect = connect }
        if let firstByte { t.firstByte = firstByte }
        if let idle { t.idle = idle }
        return t
    }
}

public struct NodeConfig: Sendable, Equatable {
    public var url: String
    public var address: HostPort
    public var weight: Int

    public init(url: String, address: HostPort, weight: Int = 1) {
        self.url = url
        self.address = address
        self.weight = weight
    }
}

public struct PoolConfig: Sendable, Equatable {
    public var name: String
    public var balancer: BalancerKind
    public var nodes: [NodeConfig]
    /// Idle keep-alive connections kept per node by each worker thread.
    public var maxIdlePerNode: Int

    public init(name: String, balancer: BalancerKind = .leastOutstanding, nodes: [NodeConfig], maxIdlePerNode: Int = 256) {
        self.name = name
        self.balancer = balancer
        self.nodes = nodes
        self.maxIdlePerNode = maxIdlePerNode
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
    public var pool: String
    public var timeouts: TimeoutOverrides

    public init(name: String, match: RouteMatch, pool: String, timeouts: TimeoutOverrides = .init()) {
        self.name = name
        self.match = match
        self.pool = pool
        self.timeouts = timeouts
    }
}
