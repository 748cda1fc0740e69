import SpillwayPolicy

/// A pool's config compiled into the policies the data plane runs: health, balancing, recovery,
/// hedging, queueing, probing. Built once per config version; the data plane reads only this,
/// never the raw `PoolConfig` values.
public struct PoolPolicy: Sendable, Equatable {
    public var name: String
    public var balancer: BalancerKind
    public var nodes: [NodeConfig]
    public var health: PoolHealth.Policy
    public var recovery: RecoveryPlanner.Policy
    /// Request bodies up to this many bytes are held so a write can be retried (0: never).
    public var replayLimit: Int
    /// Hedged reads: after the pool's recent percentile time to first byte, never sooner than `minDelay`.
    public var hedge: Hedge?
    /// An in-flight cap per node, and the queue behind it.
    public var queue: Queue?
    public var adaptiveLimit: Bool
    public var maxIdlePerNode: Int
    /// Active health checks (nil: none).
    public var probe: Probe?
    /// TLS toward the pool's `https://` nodes, and the identity its requests are signed with (nil:
    /// requests pass under the client's own signature).
    public var tls: NodeTLSConfig
    public var credentials: PoolCredentials?
    public var signing: SigningConfig?
    public var hasTLSNodes: Bool { nodes.contains(where: \.secure) }

    public struct Hedge: Sendable, Equatable {
        public var minDelay: Duration
    }

    public struct Queue: Sendable, Equatable {
        public var maxInFlightPerNode: Int
        public var capacity: Int
        public var timeout: Duration
    }

    public struct Probe: Sendable, Equatable {
        public var method: String
        public var path: String
        public var expect: [ClosedRange<Int>]
        public var interval: Duration
        public var jitter: Duration
        public var timeout: Duration

        public func accepts(_ status: Int) -> Bool { expect.contains { $0.contains(status) } }
    }

    public var queueTimeout: Duration { queue?.timeout ?? .zero }

    public init(_ config: PoolConfig) {
        name = config.name
        balancer = config.balancer
        nodes = config.nodes
        health = PoolHealth.Policy(
            rise: config.health.rise, fall: config.health.fall,
            outlier: OutlierPolicy(
                consecutiveFailures: config.outlier.consecutiveFailures, baseEjection: config.outlier.baseEjection,
                maxEjection: config.outlier.maxEjection),
            maxEjectedFraction: Double(config.outlier.maxEjectedPercent) / 100,
            retryBudget: .init(ratio: Double(config.retry.budgetPercent) / 100, minPerSecond: Double(config.retry.minPerSecond)),
            hedgePercentile: config.hedge.percentile / 100)
        recovery = RecoveryPlanner.Policy(
            maxAttempts: config.retry.maxAttempts, backoff: Backoff(base: config.retry.backoffBase, cap: config.retry.backoffMax),
            maxResumes: config.retry.maxResumes)
        replayLimit = config.retry.replayBufferBytes
        hedge = config.hedge.enabled ? Hedge(minDelay: config.hedge.minDelay) : nil
        queue = config.protection.maxInFlightPerNode.map {
            Queue(maxInFlightPerNode: $0, capacity: config.protection.queueCapacity, timeout: config.protection.queueTimeout)
        }
        adaptiveLimit = config.protection.adaptive
        maxIdlePerNode = config.maxIdlePerNode
        let h = config.health
        probe = h.enabled ? Probe(method: h.method, path: h.path, expect: h.expect, interval: h.interval, jitter: h.jitter, timeout: h.timeout) : nil
        tls = config.tls
        credentials = config.credentials
        signing = config.signing
    }
}
