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
    private let health: Mutex<Shared>
    private let journal = Mutex<[HealthEvent]>([])
    private let logger: Logger
    static let journalLength = 100

    /// A request waiting for a node with room; `resume` is called with the node reserved for it, or
    /// with nil when it was pushed out of the queue by a more important one.
    struct Waiter: Sendable {
        let resume: @Sendable (Int?) -> Void
    }

    /// The pool's health and, under the same lock, the requests waiting for a node with room.
    private struct Shared: Sendable {
        var pool: PoolHealth
        var queue: AdmissionQueue
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
    }

    enum Acquired {
        case node(Int, panic: Bool)
        case queued(UInt64)
        /// Every healthy node is at its limit and the queue could not take the request.
        case shed
        case none
    }

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
        let pool = PoolHealth(
            kind: config.balancer, weights: config.nodes.map(\.weight), drained: config.nodes.map(\.drain), policy: policy,
            maxInFlight: config.protection.maxInFlightPerNode, adaptive: config.protection.adaptive, at: now,
            seed: UInt64(truncatingIfNeeded: config.name.hashValue))
        health = Mutex(Shared(pool: pool, queue: AdmissionQueue(capacity: config.protection.queueCapacity)))
        retryPolicy = RetryPlanner.Policy(
            maxAttempts: config.retry.maxAttempts, backoff: Backoff(base: config.retry.backoffBase, cap: config.retry.backoffMax))
    }

    func pick(excluding: UInt64, at now: Moment) -> PoolHealth.Pick? {
        health.withLock { $0.pool.pick(excluding: excluding, at: now) }
    }

    /// A node for a new attempt; or, when every healthy node is at its in-flight limit and `waiter` is
    /// given, a place in the queue (ordered by class, fair across tenants) until one has room.
    func acquire(excluding: UInt64, at now: Moment, queueAs who: Identity?, deadline: Moment, waiter: Waiter?) -> Acquired {
        var displaced: Waiter?
        let result = health.withLock { s -> Acquired in
            if let pick = s.pool.pick(excluding: excluding, at: now) { return .node(pick.node, panic: pick.panic) }
            guard s.pool.isFull(excluding: excluding, at: now) else { return .none }
            guard let who, let waiter, s.queue.capacity > 0 else { return .shed }
            s.nextWaiter += 1
            let entry = AdmissionQueue.Entry(
                id: s.nextWaiter, tenant: who.tenant, priority: who.priority, weight: who.weight, deadline: deadline)
            switch s.queue.enqueue(entry) {
            case .full:
                return .shed
            case .queuedDisplacing(let victim):
                displaced = s.waiters.removeValue(forKey: victim.id)
                fallthrough
            case .queued:
                s.waiters[entry.id] = waiter
                return .queued(entry.id)
            }
        }
        displaced?.resume(nil)
        return result
    }

    /// Leaves the queue; false when the waiter was already given a node (its resume is on its way).
    func cancelWait(_ id: UInt64) -> Bool {
        health.withLock { s in
            guard s.waiters.removeValue(forKey: id) != nil else { return false }
            s.queue.remove(id: id)
            return true
        }
    }

    /// The attempt on `node` is over. A node with room goes to the most important waiter.
    func release(_ node: Int) {
        var dispatches: [(Waiter, Int)] = []
        health.withLock { s in
            s.pool.release(node)
            let now = Moment.now()
            while !s.queue.isEmpty, let pick = s.pool.pick(at: now) {
                guard let entry = s.queue.dequeue(), let waiter = s.waiters.removeValue(forKey: entry.id) else {
                    s.pool.release(pick.node)
                    break
                }
                dispatches.append((waiter, pick.node))
            }
        }
        for (waiter, node) in dispatches { waiter.resume(node) }
    }

    var queueDepth: Int { health.withLock { $0.queue.count } }

    func record(_ outcome: AttemptOutcome, node: Int, firstByte: Duration?, at now: Moment) {
        let events = health.withLock { $0.pool.record(outcome, node: node, firstByte: firstByte, at: now) }
        publish(events)
    }

    func probe(_ node: Int, success: Bool, at now: Moment) {
        let events = health.withLock { s -> [PoolHealth.Event] in
            s.pool.probe(node, success: success, at: now) + s.pool.tick(at: now)
        }
        publish(events)
    }

    func depositRetryBudget(at now: Moment) { health.withLock { $0.pool.depositRetryBudget(at: now) } }

    func planRetry(after outcome: AttemptOutcome, attempts: Int, traits: RetryPlanner.Traits, at now: Moment, unit: Double)
        -> RetryPlanner.Decision
    {
        health.withLock { s in
            RetryPlanner.plan(after: outcome, attempts: attempts, traits: traits, policy: retryPolicy, budget: &s.pool, at: now, unit: unit)
        }
    }

    func withdrawRetryBudget(at now: Moment) -> Bool { health.withLock { $0.pool.withdrawRetryBudget(at: now) } }

    /// When to hedge a read: the pool's recent time-to-first-byte percentile, never below `hedge.min_delay`.
    func hedgeDelay(at now: Moment) -> Duration? {
        guard config.hedge.enabled else { return nil }
        guard let p = health.withLock({ $0.pool.hedgeDelay(at: now) }) else { return nil }
        return max(p, config.hedge.minDelay)
    }

    func setDrained(_ node: Int, _ drained: Bool) {
        health.withLock { $0.pool.setDrained(node, drained) }
        note(node, drained ? "drained" : "undrained")
    }

    func setWeight(_ node: Int, _ weight: Int) {
        health.withLock { $0.pool.setWeight(node, weight) }
        note(node, "weight", detail: "\(weight)")
    }

    func snapshot() -> PoolHealth { health.withLock { $0.pool } }

    /// The recent health changes and operator actions, oldest first.
    var events: [HealthEvent] { journal.withLock { $0 } }

    private func publish(_ events: [PoolHealth.Event]) {
        for event in events {
            switch event {
            case .ejected(let node, let until):
                let seconds = until.since(.now()).seconds
                logger.warning("node ejected", metadata: ["pool": "\(name)", "node": "\(backends[node].url)", "seconds": "\(seconds)"])
                note(node, "ejected", detail: "for \(Int(seconds.rounded())) s")
            case .ejectionRefused(let node):
                logger.warning(
                    "node failing but not ejected: the pool's ejection cap is reached",
                    metadata: ["pool": "\(name)", "node": "\(backends[node].url)"])
                note(node, "ejection_refused", detail: "the pool's ejection cap is reached")
            case .readmitted(let node):
                logger.info("node readmitted", metadata: ["pool": "\(name)", "node": "\(backends[node].url)"])
                note(node, "readmitted")
            case .probeDown(let node):
                logger.warning("node failed its health checks", metadata: ["pool": "\(name)", "node": "\(backends[node].url)"])
                note(node, "probe_down")
            case .probeUp(let node):
                logger.info("node passed its health checks", metadata: ["pool": "\(name)", "node": "\(backends[node].url)"])
                note(node, "probe_up")
            case .throttled(let node, let until):
                logger.notice("node throttling (SlowDown)", metadata: ["pool": "\(name)", "node": "\(backends[node].url)", "until": "\(until)"])
                note(node, "throttled", detail: "Retry-After \(until.since(.now()).seconds) s")
            }
        }
    }

    /// Keeps the last `journalLength` events; a burst of SlowDowns from one node is one entry.
    private func note(_ node: Int, _ kind: String, detail: String? = nil) {
        let event = HealthEvent(atUnixMillis: WallClock.millis(), node: node, url: backends[node].url, kind: kind, detail: detail)
        journal.withLock { journal in
            if let last = journal.last, last.node == node, last.kind == kind, kind == "throttled", event.atUnixMillis - last.atUnixMillis < 1000 {
                journal[journal.count - 1] = event
                return
            }
            journal.append(event)
            if journal.count > Self.journalLength { journal.removeFirst(journal.count - Self.journalLength) }
        }
    }
}

extension Moment {
    static func now() -> Moment { Moment(nanoseconds: NIODeadline.now().uptimeNanoseconds) }
    init(_ deadline: NIODeadline) { self.init(nanoseconds: deadline.uptimeNanoseconds) }
}
