import Logging
import NIOCore
import NIOPosix
import SpillwayConfig
import SpillwayPolicy
import SpillwayS3
import Synchronization

/// Global request rates held across every gateway that shares one Redis. Each gateway leases tokens
/// in batches from a per-second counter in Redis (`INCRBY` on a key per tenant, class and wall-clock
/// second, so gateways on different hosts count into the same key), and admits from its local lease
/// (`FleetLease`), so a request never waits for Redis. When Redis cannot be reached the gateway falls
/// back to its local share of the rate, and says so in its log (and in its status).
final class FleetLimiter: Sendable {
    private struct Entry: Sendable {
        var lease: FleetLease
        /// While Redis is unreachable: this gateway's local share of the rate.
        var local: TokenBucket?
        var probing = false
        /// At most one probe a second while Redis is away.
        var probedSecond: Int64 = .min
    }

    private let redis: RedisClient
    private let batch: Int
    private let localShare: Double
    private let entries = Mutex<[String: Entry]>([:])
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
        // Wall-clock seconds: every gateway of the fleet must name the same second alike.
        let second = WallClock.millis() / 1000
        let allowed = Int(ratePerSecond.rounded(.up))
        var send: FleetLease.Increment?
        let admitted = entries.withLock { all -> Bool in
            var entry = all[key] ?? Entry(lease: FleetLease(batch: batch))
            defer { all[key] = entry }
            if !reachable.load(ordering: .relaxed) {
                if entry.local == nil { entry.local = TokenBucket(rate: ratePerSecond * localShare, capacity: max(1, ratePerSecond * localShare), at: now) }
                if !entry.probing && entry.probedSecond != second {
                    entry.probing = true  // ask Redis once a second whether it is back
                    entry.probedSecond = second
                    send = FleetLease.Increment(second: second, amount: 0, owed: 0)
                }
                return entry.local!.take(at: now)
            }
            let (admitted, increment) = entry.lease.take(second: second, allowed: allowed)
            send = increment
            return admitted
        }
        if let send { increment(key: key, send, allowed: allowed) }
        return admitted
    }

    private func increment(key: String, _ sent: FleetLease.Increment, allowed: Int) {
        let redisKey = "spillway:rate:\(key):\(sent.second)"
        redis.incrementWithExpiry(redisKey, by: sent.amount, expirySeconds: 5) { result in
            let next = self.entries.withLock { all -> FleetLease.Increment? in
                var entry = all[key] ?? Entry(lease: FleetLease(batch: self.batch))
                defer { all[key] = entry }
                switch result {
                case .success(let total):
                    if !self.reachable.exchange(true, ordering: .relaxed) {
                        self.logger.notice("Redis is reachable again; fleet-wide limits restored")
                    }
                    if entry.probing {
                        entry.probing = false
                        entry.local = nil
                        return nil
                    }
                    return entry.lease.answered(sent, total: total, allowed: allowed)
                case .failure(let error):
                    entry.probing = false
                    entry.lease.failed()
                    if self.reachable.exchange(false, ordering: .relaxed) {
                        self.logger.warning(
                            "Redis is unreachable; falling back to this gateway's local share of fleet-wide limits",
                            metadata: ["error": "\(error)", "share": "\(self.localShare)"])
                    }
                    return nil
                }
            }
            if let next { self.increment(key: key, next, allowed: allowed) }
        }
    }
}
