import SpillwayS3

/// Limits that apply to one tenant, or to one bucket (then shared by everyone using it).
/// Absent values mean "no limit".
public struct LimitsConfig: Sendable, Equatable {
    /// Requests per second, per operation class (read, write, list, delete, other).
    public var requestsPerSecond: [S3OperationClass: Double] = [:]
    /// The burst: a bucket holds `rate × burst` requests (at least one).
    public var burst: Duration = ConfigKeys.Limits.burst.duration
    /// Bytes per second: `read` paces response bodies, `write` paces request bodies.
    public var readBytesPerSecond: Double?
    public var writeBytesPerSecond: Double?
    /// Requests in flight at once.
    public var concurrency: Int?
    /// The request rates hold across every gateway sharing the fleet's Redis.
    public var global = false

    public init() {}

    public var isEmpty: Bool {
        requestsPerSecond.isEmpty && readBytesPerSecond == nil && writeBytesPerSecond == nil && concurrency == nil
    }
}

/// A named tenant: who it is (access keys), how important (class), and what it may use.
public struct TenantConfig: Sendable, Equatable {
    public var name: String
    public var accessKeys: [String]
    public var priorityClass: String?
    /// Its share, relative to other tenants of the same class, when requests queue.
    public var weight: Int
    public var limits: LimitsConfig
    /// Its access policy; empty: it may do anything.
    public var allow: [AccessRule] = []

    public init(name: String, accessKeys: [String] = [], priorityClass: String? = nil, weight: Int = 1, limits: LimitsConfig = .init()) {
        self.name = name
        self.accessKeys = accessKeys
        self.priorityClass = priorityClass
        self.weight = weight
        self.limits = limits
    }
}

public struct BucketLimitsConfig: Sendable, Equatable {
    /// A bucket name, or a glob.
    public var bucket: String
    public var limits: LimitsConfig

    public init(bucket: String, limits: LimitsConfig) {
        self.bucket = bucket
        self.limits = limits
    }
}

/// How a pool protects its nodes: an in-flight cap per node (fixed, or adaptive below it) and a
/// bounded queue for requests that find every node full.
public struct NodeProtectionConfig: Sendable, Equatable {
    public var maxInFlightPerNode: Int?
    public var adaptive = ConfigKeys.Pool.adaptive.bool
    public var queueCapacity = ConfigKeys.Pool.queueMax.int
    public var queueTimeout = ConfigKeys.Pool.queueTimeout.duration

    public init() {}
}

/// Who sends each request, and how Spillway checks it.
public struct IdentityConfig: Sendable, Equatable {
    /// Verify SigV4 signatures at the edge against `credentials`.
    public var verifySignatures = false
    /// Access key id → secret, from the credentials file.
    public var credentials: [String: String] = [:]
    public var credentialsFile: String?
    public var maxClockSkew = ConfigKeys.Auth.maxClockSkew.duration

    public init() {}
}

/// A Redis shared by several gateways, through which global limits hold across the fleet.
public struct FleetConfig: Sendable, Equatable {
    public var redis: HostPort
    /// Tokens leased from Redis at a time (so a request never waits on Redis).
    public var batch = ConfigKeys.Fleet.batch.int
    /// This gateway's share of a global limit while Redis is unreachable.
    public var localShare = Double(ConfigKeys.Fleet.localSharePercent.int) / 100

    public init(redis: HostPort) { self.redis = redis }
}

/// Everything about storage protection and QoS, compiled for lookups.
public struct ProtectionConfig: Sendable, Equatable {
    /// Priority classes, most important first.
    public var classes: [String] = ["interactive", "standard", "batch"]
    public var defaultClass = "standard"
    public var tenants: [TenantConfig] = []
    /// Limits for each tenant not named (every access key, and every anonymous address, is its own tenant).
    public var defaultLimits = LimitsConfig()
    public var buckets: [BucketLimitsConfig] = []
    public var maxConnectionsPerAddress: Int?
    public var identity = IdentityConfig()
    public var fleet: FleetConfig?

    public init() {}

    public func priority(of className: String?) -> Int {
        classes.firstIndex(of: className ?? defaultClass) ?? classes.firstIndex(of: defaultClass) ?? 0
    }

    public var isEmpty: Bool {
        tenants.isEmpty && defaultLimits.isEmpty && buckets.isEmpty && maxConnectionsPerAddress == nil && !identity.verifySignatures
    }
}
