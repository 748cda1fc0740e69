/// Which pool of a route takes the next attempt: the first pool, from `cursor` on, that has a
/// healthy node; when none has, the first that has any undrained node at all (the panic rule: a
/// node that may have recovered is better than refusing). Reads fail over along the route's pools;
/// writes pass `count: 1`.
public enum RouteFailover {
    public struct Choice: Sendable, Equatable {
        public var cursor: Int
        public var node: Int
        public var panic: Bool

        public init(cursor: Int, node: Int, panic: Bool) {
            self.cursor = cursor
            self.node = node
            self.panic = panic
        }
    }

    /// `pick(cursor, excluding)` reserves a node of that pool (counting it in flight) or returns
    /// nil; `release(cursor, node)` gives a reservation back. Every reservation but the returned
    /// one is given back before this returns. `tried` excludes nodes of the pool at `cursor` only:
    /// the others are fresh.
    public static func choose(
        from cursor: Int, count: Int, tried: UInt64, pick: (Int, UInt64) -> PoolHealth.Pick?, release: (Int, Int) -> Void
    ) -> Choice? {
        var fallback: Choice?
        for c in cursor..<max(cursor, count) {
            guard let p = pick(c, c == cursor ? tried : 0) else { continue }
            if !p.panic {
                if let fallback { release(fallback.cursor, fallback.node) }
                return Choice(cursor: c, node: p.node, panic: false)
            }
            if fallback == nil { fallback = Choice(cursor: c, node: p.node, panic: true) } else { release(c, p.node) }
        }
        return fallback
    }
}
