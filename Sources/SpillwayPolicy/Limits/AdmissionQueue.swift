/// Requests waiting for a node with room, in priority order: a higher class always goes first; within
/// a class, tenants take turns in proportion to their weight (deficit round-robin), so one tenant's
/// flood queues behind everyone else's share instead of in front of it. Bounded: when full, a new
/// request either displaces the newest waiter of a lower class (which is shed) or is shed itself.
public struct AdmissionQueue: Sendable {
    public struct Entry: Sendable, Equatable {
        public let id: UInt64
        public let tenant: String
        /// Lower is more important (the class's position in the config).
        public let priority: Int
        public let weight: Int
        public let deadline: Moment

        public init(id: UInt64, tenant: String, priority: Int, weight: Int = 1, deadline: Moment) {
            self.id = id
            self.tenant = tenant
            self.priority = priority
            self.weight = max(1, weight)
            self.deadline = deadline
        }
    }

    public enum Enqueued: Sendable, Equatable {
        case queued
        /// Queued, and this lower-class waiter was pushed out to make room (shed it).
        case queuedDisplacing(Entry)
        /// Full of equal or higher classes: shed the newcomer.
        case full
    }

    private struct TenantQueue: Sendable {
        var entries: [Entry] = []
        var deficit = 0
    }

    private struct ClassQueue: Sendable {
        var tenants: [String: TenantQueue] = [:]
        var order: [String] = []  // round-robin order of tenants with waiters
        var cursor = 0
    }

    public let capacity: Int
    private var classes: [Int: ClassQueue] = [:]
    public private(set) var count = 0

    public init(capacity: Int) { self.capacity = max(0, capacity) }

    public var isEmpty: Bool { count == 0 }

    public mutating func enqueue(_ entry: Entry) -> Enqueued {
        var displaced: Entry?
        if count >= capacity {
            guard let lowest = classes.keys.max(), lowest > entry.priority, let victim = removeNewest(priority: lowest) else {
                return .full
            }
            displaced = victim
        }
        var cq = classes[entry.priority] ?? ClassQueue()
        if cq.tenants[entry.tenant] == nil { cq.order.append(entry.tenant) }
        cq.tenants[entry.tenant, default: TenantQueue()].entries.append(entry)
        classes[entry.priority] = cq
        count += 1
        return displaced.map { .queuedDisplacing($0) } ?? .queued
    }

    /// The next waiter: most important class first, tenants of a class by weighted turns.
    public mutating func dequeue() -> Entry? {
        guard let priority = classes.keys.min(), var cq = classes[priority] else { return nil }
        while true {
            if cq.cursor >= cq.order.count { cq.cursor = 0 }
            let tenant = cq.order[cq.cursor]
            var tq = cq.tenants[tenant]!
            if tq.deficit <= 0 { tq.deficit += tq.entries[0].weight }
            if tq.deficit > 0 {
                let entry = tq.entries.removeFirst()
                tq.deficit -= 1
                count -= 1
                if tq.entries.isEmpty {
                    cq.tenants[tenant] = nil
                    cq.order.remove(at: cq.cursor)
                } else {
                    cq.tenants[tenant] = tq
                    if tq.deficit <= 0 { cq.cursor += 1 }
                }
                classes[priority] = cq.order.isEmpty ? nil : cq
                return entry
            }
            cq.tenants[tenant] = tq
            cq.cursor += 1
        }
    }

    /// Takes a waiter out (it gave up, or its client left). True if it was there.
    @discardableResult
    public mutating func remove(id: UInt64) -> Bool {
        for (priority, var cq) in classes {
            for (tenant, var tq) in cq.tenants {
                guard let i = tq.entries.firstIndex(where: { $0.id == id }) else { continue }
                tq.entries.remove(at: i)
                count -= 1
                if tq.entries.isEmpty {
                    cq.tenants[tenant] = nil
                    if let j = cq.order.firstIndex(of: tenant) {
                        cq.order.remove(at: j)
                        if cq.cursor > j { cq.cursor -= 1 }
                    }
                } else {
                    cq.tenants[tenant] = tq
                }
                classes[priority] = cq.order.isEmpty ? nil : cq
                return true
            }
        }
        return false
    }

    /// Waiters whose deadline has passed, removed.
    public mutating func expire(at now: Moment) -> [Entry] {
        var out: [Entry] = []
        for (_, cq) in classes {
            for (_, tq) in cq.tenants { out += tq.entries.filter { $0.deadline <= now } }
        }
        for entry in out { remove(id: entry.id) }
        return out
    }

    private mutating func removeNewest(priority: Int) -> Entry? {
        guard let cq = classes[priority] else { return nil }
        let newest = cq.tenants.values.compactMap(\.entries.last).max { $0.id < $1.id }
        if let newest { remove(id: newest.id) }
        return newest
    }
}
