import Logging
import NIOCore
import SpillwayConfig
import SpillwayPolicy
import Synchronization

/// A pool's nodes and the one lock around their shared state (health, load, latency, retry budget,
/// the queue). Every decision is made by pure code (`PoolHealth`, `AdmissionQueue`,
/// `RecoveryPlanner`) under the lock; anything that talks to the world (the log, the journal,
/// the metrics) happens after it, with the events the decision returned.
final class PoolRuntime: Sendable {
    let name: String
    let policy: PoolPolicy
    let backends: [BackendRuntime]
    private let health: Mutex<Shared>
    let journal: HealthJournal
    /// The TLS context toward its `https://` nodes (replaced at each config generation).
    let tls: PoolTLS?

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

    init(policy: PoolPolicy, backends: [BackendRuntime], journal: HealthJournal, tls: PoolTLS? = nil, now: Moment) {
        self.name = policy.name
        self.tls = tls
        self.policy = policy
        self.backends = backends
        self.journal = journal
        let pool = PoolHealth(
            kind: policy.balancer, weights: policy.nodes.map(\.weight), drained: policy.nodes.map(\.drain), policy: policy.health,
            maxInFlight: policy.queue?.maxInFlightPerNode, adaptive: policy.adaptiveLimit, at: now,
            seed: UInt64(truncatingIfNeeded: policy.name.hashValue))
        health = Mutex(Shared(pool: pool, queue: AdmissionQueue(capacity: policy.queue?.capacity ?? 0)))
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
    func release(_ node: Int, at now: Moment) {
        var first: (Waiter, Int)?
        var more: [(Waiter, Int)] = []
        health.withLock { s in
            s.pool.release(node)
            while !s.queue.isEmpty, let pick = s.pool.pick(at: now) {
                guard let entry = s.queue.dequeue(), let waiter = s.waiters.removeValue(forKey: entry.id) else {
                    s.pool.release(pick.node)
                    break
                }
                if first == nil { first = (waiter, pick.node) } else { more.append((waiter, pick.node)) }
            }
        }
        if let (waiter, node) = first { waiter.resume(node) }
        for (waiter, node) in more { waiter.resume(node) }
    }

    var queueDepth: Int { health.withLock { $0.queue.count } }

    func record(_ outcome: AttemptOutcome, node: Int, firstByte: Duration?, at now: Moment) {
        let events = health.withLock { $0.pool.record(outcome, node: node, firstByte: firstByte, at: now) }
        if !events.isEmpty { journal.publish(events, pool: self, at: now) }
    }

    func probe(_ node: Int, success: Bool, at now: Moment) {
        let events = health.withLock { s -> [PoolHealth.Event] in
            s.pool.probe(node, success: success, at: now) + s.pool.tick(at: now)
        }
        if !events.isEmpty { journal.publish(events, pool: self, at: now) }
    }

    func depositRetryBudget(at now: Moment) { health.withLock { $0.pool.depositRetryBudget(at: now) } }

    /// Whether and how to try again: the planner decides under the lock, with the pool's budget.
    func plan(_ situation: RecoveryPlanner.Situation, traits: RecoveryPlanner.Traits, at now: Moment, unit: Double) -> RecoveryPlanner.Decision {
        health.withLock { s in
            RecoveryPlanner.plan(situation, traits: traits, policy: policy.recovery, budget: &s.pool, at: now, unit: unit)
        }
    }

    /// When to hedge a read: the pool's recent time-to-first-byte percentile, never below `hedge.min_delay`.
    func hedgeDelay(at now: Moment) -> Duration? {
        guard let hedge = policy.hedge else { return nil }
        guard let p = health.withLock({ $0.pool.hedgeDelay(at: now) }) else { return nil }
        return max(p, hedge.minDelay)
    }

    func setDrained(_ node: Int, _ drained: Bool) {
        health.withLock { $0.pool.setDrained(node, drained) }
        journal.note(node, drained ? .drained : .undrained, pool: self)
    }

    func setWeight(_ node: Int, _ weight: Int) {
        health.withLock { $0.pool.setWeight(node, weight) }
        journal.note(node, .weight, detail: "\(weight)", pool: self)
    }

    func snapshot() -> PoolHealth { health.withLock { $0.pool } }
}

extension Moment {
    static func now() -> Moment { Moment(nanoseconds: NIODeadline.now().uptimeNanoseconds) }
    init(_ deadline: NIODeadline) { self.init(nanoseconds: deadline.uptimeNanoseconds) }
}
