import Logging
import SpillwayConfig
import SpillwayPolicy
import SpillwayS3
import Synchronization

/// Who sends a request, and what it may use: the tenant's class and weight (for queueing) and its limits.
struct Identity: Sendable {
    let tenant: String
    let className: String
    let priority: Int
    let weight: Int
    let limits: LimitsConfig
    /// The tenant's access policy (empty: everything is allowed).
    let allow: [AccessRule]
}

/// Per-tenant and per-bucket limits for the whole gateway (shared by all workers): request rates per
/// operation class, bandwidth, requests in flight, connections per client address. Decisions are made
/// under one lock with the pure limiters of `SpillwayPolicy`; a request over any limit is shed before
/// any byte reaches storage, with the time after which it would fit.
final class Protection: Sendable {
    enum Direction { case read, write }

    enum Admission {
        case admitted(Ticket)
        case shed(retryAfter: Duration, reason: String)
    }

    /// What an admitted request holds, to be given back when it ends.
    struct Ticket: Sendable {
        let tenant: String
        let bucketRule: String?
    }

    /// Carries this protection's usage over to a new config.
    func reconfigured(_ config: ProtectionConfig, fleet: FleetLimiter?) -> Protection {
        Protection(config: config, fleet: fleet, logger: logger, state: shared)
    }

    fileprivate struct Usage: Sendable {
        var limits: LimitsConfig
        var rates: [S3OperationClass: TokenBucket] = [:]
        var read: TokenBucket?
        var write: TokenBucket?
        var inFlight = 0

        init(limits: LimitsConfig, at now: Moment) {
            self.limits = limits
            for (cls, rate) in limits.requestsPerSecond {
                rates[cls] = TokenBucket(rate: rate, capacity: max(1, rate * limits.burst.seconds), at: now)
            }
            // A small burst (20 ms of the rate): the stream keeps to the rate from its first bytes.
            read = limits.readBytesPerSecond.map { TokenBucket(rate: $0, capacity: max(16 * 1024, $0 * 0.02), at: now) }
            write = limits.writeBytesPerSecond.map { TokenBucket(rate: $0, capacity: max(16 * 1024, $0 * 0.02), at: now) }
        }
    }

    fileprivate struct State: Sendable {
        var tenants: [String: Usage] = [:]
        var buckets: [String: Usage] = [:]  // by bucket pattern, so a reload keeps them
        var connections: [String: Int] = [:]
    }

    /// The usage, in-flight counts and counters: shared with the `Protection` a reload replaces, so
    /// requests admitted under the old config give back what they hold to the same place.
    final class SharedState: Sendable {
        fileprivate let mutex = Mutex(State())
        init() {}
    }

    let config: ProtectionConfig
    private let keyToTenant: [String: Int]
    private let shared: SharedState
    let fleet: FleetLimiter?
    private let logger: Logger

    init(config: ProtectionConfig, fleet: FleetLimiter?, logger: Logger, state: SharedState = SharedState()) {
        self.config = config
        self.fleet = fleet
        self.logger = logger
        self.shared = state
        var map: [String: Int] = [:]
        for (i, tenant) in config.tenants.enumerated() { for key in tenant.accessKeys { map[key] = i } }
        keyToTenant = map
    }

    /// Whether any limit is configured at all (if not, requests skip the lock entirely).
    var isActive: Bool { !config.isEmpty }

    func identify(accessKey: Substring?, address: String?, routeClass: String?) -> Identity {
        if let accessKey, let i = keyToTenant[String(accessKey)] {
            let t = config.tenants[i]
            let cls = routeClass ?? t.priorityClass ?? config.defaultClass
            return Identity(tenant: t.name, className: cls, priority: config.priority(of: cls), weight: t.weight, limits: t.limits, allow: t.allow)
        }
        let name = accessKey.map { "key:\($0)" } ?? "addr:\(address ?? "unknown")"
        let cls = routeClass ?? config.defaultClass
        return Identity(tenant: name, className: cls, priority: config.priority(of: cls), weight: 1, limits: config.defaultLimits, allow: [])
    }

    func admit(_ who: Identity, operation: S3OperationClass, bucket: Substring?, at now: Moment) -> Admission {
        let ruleIndex = bucket.flatMap { b in config.buckets.firstIndex { ValueParsers.globMatches($0.bucket[...], b) } }
        let rule = ruleIndex.map { config.buckets[$0].bucket }
        let globalRate = who.limits.global ? who.limits.requestsPerSecond[operation] : nil
        if let globalRate, let fleet, !fleet.take(tenant: who.tenant, operation: operation, ratePerSecond: globalRate, at: now) {
            return .shed(retryAfter: .seconds(1), reason: "tenant \(who.tenant) is over its fleet-wide \(operation.rawValue) rate")
        }
        let decision: Admission = shared.mutex.withLock { s in
            var tenant = s.tenants[who.tenant] ?? Usage(limits: who.limits, at: now)
            if tenant.limits != who.limits { tenant = Usage(limits: who.limits, at: now) }  // the config changed
            var bucketUsage = ruleIndex.map { i -> Usage in
                let limits = config.buckets[i].limits
                if let usage = s.buckets[config.buckets[i].bucket], usage.limits == limits { return usage }
                return Usage(limits: limits, at: now)
            }
            if let limit = tenant.limits.concurrency, tenant.inFlight >= limit {
                s.tenants[who.tenant] = tenant
                return .shed(retryAfter: .seconds(1), reason: "tenant \(who.tenant) has \(limit) requests in flight")
            }
            if let b = bucketUsage, let limit = b.limits.concurrency, b.inFlight >= limit {
                return .shed(retryAfter: .seconds(1), reason: "bucket limit: \(limit) requests in flight")
            }
            // The fleet already counted a global rate; the local bucket is for local-only limits.
            if globalRate == nil, var rate = tenant.rates[operation] {
                guard rate.take(at: now) else {
                    let wait = rate.wait(at: now)
                    s.tenants[who.tenant] = tenant
                    return .shed(retryAfter: wait, reason: "tenant \(who.tenant) is over its \(operation.rawValue) rate")
                }
                tenant.rates[operation] = rate
            }
            if var b = bucketUsage, var rate = b.rates[operation] {
                guard rate.take(at: now) else {
                    if globalRate == nil { tenant.rates[operation]?.refund() }
                    s.tenants[who.tenant] = tenant
                    return .shed(retryAfter: rate.wait(at: now), reason: "bucket \(bucket ?? "") is over its \(operation.rawValue) rate")
                }
                b.rates[operation] = rate
                bucketUsage = b
            }
            tenant.inFlight += 1
            bucketUsage?.inFlight += 1
            s.tenants[who.tenant] = tenant
            if let rule, let bucketUsage { s.buckets[rule] = bucketUsage }
            return .admitted(Ticket(tenant: who.tenant, bucketRule: rule))
        }
        return decision
    }

    func finish(_ ticket: Ticket) {
        shared.mutex.withLock { s in
            s.tenants[ticket.tenant]?.inFlight -= 1
            if let rule = ticket.bucketRule { s.buckets[rule]?.inFlight -= 1 }
        }
    }

    /// Spends `bytes` of the tenant's (and bucket's) bandwidth; returns how long the stream should pause.
    func pace(_ ticket: Ticket, _ direction: Direction, bytes: Int, at now: Moment) -> Duration {
        shared.mutex.withLock { s in
            var delay = Duration.zero
            let amount = Double(bytes)
            switch direction {
            case .read:
                if let d = s.tenants[ticket.tenant]?.read?.spend(amount, at: now) { delay = max(delay, d) }
                if let rule = ticket.bucketRule, let d = s.buckets[rule]?.read?.spend(amount, at: now) { delay = max(delay, d) }
            case .write:
                if let d = s.tenants[ticket.tenant]?.write?.spend(amount, at: now) { delay = max(delay, d) }
                if let rule = ticket.bucketRule, let d = s.buckets[rule]?.write?.spend(amount, at: now) { delay = max(delay, d) }
            }
            return delay
        }
    }

    func paces(_ ticket: Ticket, _ direction: Direction) -> Bool {
        shared.mutex.withLock { s in
            switch direction {
            case .read: s.tenants[ticket.tenant]?.read != nil || ticket.bucketRule.flatMap { s.buckets[$0]?.read } != nil
            case .write: s.tenants[ticket.tenant]?.write != nil || ticket.bucketRule.flatMap { s.buckets[$0]?.write } != nil
            }
        }
    }

    /// A new client connection from `address`; false if that address is at its limit.
    func connectionOpened(from address: String) -> Bool {
        guard let limit = config.maxConnectionsPerAddress else { return true }
        return shared.mutex.withLock { s in
            let n = s.connections[address, default: 0]
            guard n < limit else { return false }
            s.connections[address] = n + 1
            return true
        }
    }

    func connectionClosed(from address: String) {
        guard config.maxConnectionsPerAddress != nil else { return }
        shared.mutex.withLock { s in
            let n = (s.connections[address] ?? 1) - 1
            s.connections[address] = n > 0 ? n : nil
        }
    }
}
