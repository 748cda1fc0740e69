/// Whether a gateway should get traffic, and whether it is alive, as the words a probe's body
/// carries (empty: ready, or alive). Pure: the caller brings the facts and the time.
public enum Readiness {
    /// Why the gateway is not ready: it is shutting down (endpoints must stop sending to it
    /// first), its listeners are not bound yet, or its default pool has no node to send to.
    public static func problems(listening: Bool, shuttingDown: Bool, defaultPool: PoolStatus?) -> [String] {
        var out: [String] = []
        if shuttingDown { out.append("shutting down: draining, send new requests elsewhere") }
        if !listening { out.append("the listeners are not bound yet") }
        if let pool = defaultPool {
            if !pool.nodes.contains(where: { $0.healthy && !$0.drained }) {
                out.append("no healthy node in the default pool '\(pool.name)'")
            }
        } else {
            out.append("no default pool")
        }
        return out
    }

    /// Why the gateway is not alive: an event loop whose heartbeat is older than `limit` is stuck.
    /// `heartbeats`: each loop's last beat, in nanoseconds of the monotonic clock.
    public static func liveness(heartbeats: [UInt64], now: UInt64, limit: Duration) -> [String] {
        let limitNanos = UInt64(limit.components.seconds) * 1_000_000_000 + UInt64(limit.components.attoseconds / 1_000_000_000)
        return heartbeats.enumerated().compactMap { loop, beat in
            now > beat && now - beat > limitNanos ? "event loop \(loop) has not answered for \((now - beat) / 1_000_000) ms" : nil
        }
    }
}
