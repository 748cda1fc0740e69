import Logging
import SpillwayPolicy
import Synchronization

/// What happened to a pool's nodes, for the three who want to know: the log, the admin status
/// (the last `length` events, oldest first) and the metrics (`spillway_health_events_total`).
final class HealthJournal: Sendable {
    static let length = 100
    private let events = Mutex<[HealthEvent]>([])
    private let logger: Logger
    private let count: @Sendable (_ pool: String, _ url: String, HealthEvent.Kind) -> Void

    init(logger: Logger, count: @escaping @Sendable (_ pool: String, _ url: String, HealthEvent.Kind) -> Void) {
        self.logger = logger
        self.count = count
    }

    /// The recent events, oldest first.
    var recent: [HealthEvent] { events.withLock { $0 } }

    func publish(_ changes: [PoolHealth.Event], pool: PoolRuntime, at now: Moment) {
        for change in changes {
            switch change {
            case .ejected(let node, let until):
                let seconds = until.since(now).seconds
                logger.warning("node ejected", metadata: ["pool": "\(pool.name)", "node": "\(pool.backends[node].url)", "seconds": "\(seconds)"])
                note(node, .ejected, detail: "for \(Int(seconds.rounded())) s", pool: pool)
            case .ejectionRefused(let node):
                logger.warning(
                    "node failing but not ejected: the pool's ejection cap is reached",
                    metadata: ["pool": "\(pool.name)", "node": "\(pool.backends[node].url)"])
                note(node, .ejectionRefused, detail: "the pool's ejection cap is reached", pool: pool)
            case .readmitted(let node):
                logger.info("node readmitted", metadata: ["pool": "\(pool.name)", "node": "\(pool.backends[node].url)"])
                note(node, .readmitted, pool: pool)
            case .probeDown(let node):
                logger.warning("node failed its health checks", metadata: ["pool": "\(pool.name)", "node": "\(pool.backends[node].url)"])
                note(node, .probeDown, pool: pool)
            case .probeUp(let node):
                logger.info("node passed its health checks", metadata: ["pool": "\(pool.name)", "node": "\(pool.backends[node].url)"])
                note(node, .probeUp, pool: pool)
            case .throttled(let node, let until):
                logger.notice("node throttling (SlowDown)", metadata: ["pool": "\(pool.name)", "node": "\(pool.backends[node].url)"])
                note(node, .throttled, detail: "Retry-After \(until.since(now).seconds) s", pool: pool)
            }
        }
    }

    /// Keeps the last `length` events; a burst of SlowDowns from one node is one entry.
    func note(_ node: Int, _ kind: HealthEvent.Kind, detail: String? = nil, pool: PoolRuntime) {
        let url = pool.backends[node].url
        count(pool.name, url, kind)
        let event = HealthEvent(atUnixMillis: WallClock.millis(), node: node, url: url, kind: kind, detail: detail)
        events.withLock { journal in
            if let last = journal.last, last.node == node, last.kind == kind, kind == .throttled, event.atUnixMillis - last.atUnixMillis < 1000 {
                journal[journal.count - 1] = event
                return
            }
            journal.append(event)
            if journal.count > Self.length { journal.removeFirst(journal.count - Self.length) }
        }
    }
}
