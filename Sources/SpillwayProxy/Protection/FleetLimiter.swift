import Logging
import NIOCore
import NIOPosix
import SpillwayConfig
import SpillwayPolicy
import SpillwayS3
import Synchronization

/// Global request rates held across every gateway that shares one Redis. Each gateway leases tokens
/// in batches from a per-second counter in Redis (`INCRBY` on a key per tenant, class and second),
/// and admits from its local lease, so a request never waits for Redis. When Redis cannot be reached
/// the gateway falls back to its local share of the rate, and says so in its log (and in its status).
final class FleetLimiter: Sendable {
    private struct Lease: Sendable {
        var second: Int64 = -1
        var tokens = 0
        var exhausted = false  // Redis said the second's budget is spent
        var fetching = false
        /// Requests admitted on credit while the second's first lease was on its way (repaid from it).
        var borrowed = 0
        var local: TokenBucket?
    }

    private let redis: RedisClient
    private let batch: Int
    private let localShare: Double
    private let leases = Mutex<[String: Lease]>([:])
    private let reachable = Atomic<Bool>(true)
    private let logger: Logger

    init(config: FleetConfig, group: EventLoopGroup, logger: Logger) {
        self.redis = RedisClient(address: config.redis, group: group, logger: logger)
        self.batch = config.batch
        self.localShare = config.localShare
        self.logger = logger
    }

    var isRedisReachable: Bool { reachable.load(ordering: .relaxed) }

    /// Takes one request's worth of `tenant`'s global rate for `operation`, from the local lease.
    func take(tenant: String, operation: S3OperationClass, ratePerSecond: Double, at now: Moment) -> Bool {
        let key = "\(tenant)|\(operation.rawValue)"
        let second = Int64(now.nanoseconds / 1_000_000_000)
        let allowed = Int(ratePerSecond.rounded(.up))
        var fetch: (second: Int64, amount: Int)?
        let admitted = leases.withLock { all -> Bool in
            var lease = all[key] ?? Lease()
            defer { all[key] = lease }
            if !reachable.load(ordering: .relaxed) {
                if lease.local == nil { lease.local = TokenBucket(rate: ratePerSecond * localShare, capacity: max(1, ratePerSecond * localShare), at: now) }
                if !lease.fetching {
                    lease.fetching = true  // probe Redis now and then to notice it is back
                    fetch = (second, 0)
                }
                return lease.local!.take(at: now)
            }
            if lease.second != second {
                lease.second = second
                lease.tokens = 0
                lease.exhausted = false
                lease.borrowed = 0
            }
            if lease.tokens == 0 && !lease.exhausted && !lease.fetching {
                lease.fetching = true
                fetch = (second, min(batch, allowed))
            }
            guard lease.tokens > 0 else {
                // No request waits on Redis: while a lease is on its way, admit up to one batch on credit.
                guard lease.fetching && !lease.exhausted && lease.borrowed < min(batch, allowed) else { return false }
                lease.borrowed += 1
                return true
            }
            lease.tokens -= 1
            // Ask for the next batch before this one runs out.
            if lease.tokens <= batch / 2 && !lease.exhausted && !lease.fetching {
                lease.fetching = true
                fetch = (second, min(batch, allowed))
            }
            return true
        }
        if let fetch { lease(key: key, second: fetch.second, amount: fetch.amount, allowed: allowed) }
        return admitted
    }

    private func lease(key: String, second: Int64, amount: Int, allowed: Int) {
        let redisKey = "spillway:rate:\(key):\(second)"
        redis.incrementWithExpiry(redisKey, by: amount, expirySeconds: 5) { result in
            self.leases.withLock { all in
                var lease = all[key] ?? Lease()
                lease.fetching = false
                switch result {
                case .success(let total):
                    if !self.reachable.exchange(true, ordering: .relaxed) {
                        self.logger.notice("Redis is reachable again; fleet-wide limits restored")
                    }
                    lease.local = nil
                    guard lease.second == second else { break }
                    // Only the part of this batch inside the second's budget is ours.
                    let granted = max(0, min(amount, allowed - (total - amount)))
                    lease.tokens += granted
                    let repaid = min(lease.borrowed, lease.tokens)
                    lease.tokens -= repaid
                    lease.borrowed -= repaid
                    if total >= allowed { lease.exhausted = true }
                case .failure(let error):
                    if self.reachable.exchange(false, ordering: .relaxed) {
                        self.logger.warning(
                            "Redis is unreachable; falling back to this gateway's local share of fleet-wide limits",
                            metadata: ["error": "\(error)", "share": "\(self.localShare)"])
                    }
                }
                all[key] = lease
            }
        }
    }
}
