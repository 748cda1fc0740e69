import Logging
import NIOCore
import SpillwayConfig
import SpillwayPolicy
import Synchronization

/// A pool's nodes and the one lock around their shared state (health, load, latency, retry budget).
/// Every decision is made by the pure `PoolHealth` under the lock; anything that talks to the world
/// (logging, for now) happens after it, with the events the decision returned.
final class PoolRuntime: Sendable {
    let name: String
    let config: PoolConfig
    let backends: [BackendRuntime]
    let retryPolicy: RetryPlanner.Policy
    private let health: Mutex<PoolHealth>
    private let logger: Logger

    init(config: PoolConfig, backends: [BackendRuntime], logger: Logger, now: Moment) {
        self.name = config.name
        self.config = config
        self.backends = backends
        self.logger = logger
        let policy = PoolHealth.Policy(
            rise: config.health.rise, fall: config.health.fall,
            outlier: OutlierPolicy(
                consecutiveFailures: config.outlier.consecutiveFailures, baseEjection: config.outlier.baseEjection,
                maxEjection: config.outlier.maxEjection),
            maxEjectedFraction: Double(config.outlier.maxEjectedPercent) / 100,
            retryBudget: .init(ratio: Double(config.retry.budgetPercent) / 100, minPerSecond: Double(config.retry.minPerSecond)),
            hedgePercentile: config.hedge.percentile / 100)
        health = Mutex(
            PoolHealth(
                kind: config.balancer, weights: config.nodes.map(\.weight), drained: config.nodes.map(\.drain),
                policy: policy, at: now, seed: UInt64(truncatingIfNeeded: config.name.hashValue)))
        retryPolicy = RetryPlanner.Policy(
            maxAttempts: config.retry.maxAttempts, backoff: Backoff(base: config.retry.backoffBase, cap: config.retry.backoffMax))
    }

    func pick(excluding: UInt64, at now: Moment) -> PoolHealth.Pick? {
        health.withLock { $0.pick(excluding: excluding, at: now) }
    }

    func release(_ node: Int) { health.withLock { $0.release(node) } }

    func record(_ outcome: AttemptOutcome, node: Int, firstByte: Duration?, at now: Moment) {
        let events = health.withLock { $0.record(outcome, node: node, firstByte: firstByte, at: now) }
        publish(events)
    }

    func probe(_ node: Int, success: Bool, at now: Moment) {
        let events = health.withLock { pool -> [PoolHealth.Event] in
            pool.probe(node, success: success, at: now) + pool.tick(at: now)
        }
        publish(events)
    }

    func depositRetryBudget(at now: Moment) { health.withLock { $0.depositRetryBudget(at: now) } }

    func planRetry(after outcome: AttemptOutcome, attempts: Int, traits: RetryPlanner.Traits, at now: Moment, unit: Double)
        -> RetryPlanner.Decision
    {
        health.withLock { pool in
            RetryPlanner.plan(after: outcome, attempts: attempts, traits: traits, policy: retryPolicy, budget: &pool, at: now, unit: unit)
        }
    }

    func withdrawRetryBudget(at now: Moment) -> Bool { health.withLock { $0.withdrawRetryBudget(at: now) } }

    /// When to hedge a read: the pool's recent time-to-first-byte percentile, never below `hedge.min_delay`.
    func hedgeDelay(at now: Moment) -> Duration? {
        guard config.hedge.enabled else { return nil }
        guard let p = health.withLock({ $0.hedgeDelay(at: now) }) else { return nil }
        return max(p, config.hedge.minDelay)
    }

    func setDrained(_ node: Int, _ drained: Bool) { health.withLock { $0.setDrained(node, drained) } }

    func snapshot() -> PoolHealth { health.withLock { $0 } }

    private func publish(_ events: [PoolHealth.Event]) {
        for event in events {
            switch event {
            case .ejected(let node, let until):
                logger.warning("node ejected", metadata: ["pool": "\(name)", "node": "\(backends[node].url)", "until": "\(until)"])
            case .ejectionRefused(let node):
                logger.warning(
                    "node failing but not ejected: the pool's ejection cap is reached",
                    metadata: ["pool": "\(name)", "node": "\(backends[node].url)"])
            case .readmitted(let node):
                logger.info("node readmitted", metadata: ["pool": "\(name)", "node": "\(backends[node].url)"])
            case .probeDown(let node):
                logger.warning("node failed its health checks", metadata: ["pool": "\(name)", "node": "\(backends[node].url)"])
            case .probeUp(let node):
                logger.info("node passed its health checks", metadata: ["pool": "\(name)", "node": "\(backends[node].url)"])
            case .throttled(let node, let until):
                logger.notice("node throttling (SlowDown)", metadata: ["pool": "\(name)", "node": "\(backends[node].url)", "until": "\(until)"])
            }
        }
    }
}

extension Moment {
    static func now() -> Moment { Moment(nanoseconds: NIODeadline.now().uptimeNanoseconds) }
    init(_ deadline: NIODeadline) { self.init(nanoseconds: deadline.uptimeNanoseconds) }
}
