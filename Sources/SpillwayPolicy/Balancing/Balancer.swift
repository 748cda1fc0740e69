/// Picks a node for one request. Pure: the caller passes the current load and a `ticket`, a number
/// that grows by one per pick (round-robin position, and the tie-break rotation for least-outstanding).
public struct Balancer: Sendable {
    public let kind: BalancerKind
    /// For round-robin: one cycle of node indices, weights interleaved smoothly.
    private let schedule: [Int]

    public init(kind: BalancerKind, weights: [Int]) {
        self.kind = kind
        self.schedule = kind == .roundRobin ? Self.smoothSchedule(weights: weights) : []
    }

    public func pick(_ view: some BackendLoadView, ticket: UInt64) -> Int? {
        let count = view.backendCount
        guard count > 0 else { return nil }
        switch kind {
        case .roundRobin:
            let n = schedule.count
            let start = Int(ticket % UInt64(n))
            for step in 0..<n {
                let candidate = schedule[(start + step) % n]
                if view.isEligible(candidate) { return candidate }
            }
            return nil
        case .leastOutstanding, .peakEWMA:
            // (PoolHealth runs peak-EWMA itself; here it falls back to least outstanding.)
            // Compare inFlight/weight by cross-multiplying: no division, exact.
            var best: Int?
            var bestLoad = 0
            var bestWeight = 1
            let start = Int(ticket % UInt64(count))
            for step in 0..<count {
                let i = (start + step) % count
                guard view.isEligible(i) else { continue }
                let load = view.inFlight(i)
                let weight = max(1, view.weight(i))
                if best == nil || load * bestWeight < bestLoad * weight {
                    best = i
                    bestLoad = load
                    bestWeight = weight
                }
            }
            return best
        }
    }

    /// nginx's smooth weighted round-robin: each step every node gains its weight, the richest is
    /// picked and pays the total. Weights 5,1,1 give a,a,b,a,c,a,a rather than a,a,a,a,a,b,c.
    static func smoothSchedule(weights: [Int]) -> [Int] {
        let w = weights.map { max(1, $0) }
        let total = w.reduce(0, +)
        guard total > 0 else { return [] }
        var current = Array(repeating: 0, count: w.count)
        var out: [Int] = []
        out.reserveCapacity(total)
        for _ in 0..<total {
            var best = 0
            for i in w.indices {
                current[i] += w[i]
                if current[i] > current[best] { best = i }
            }
            current[best] -= total
            out.append(best)
        }
        return out
    }
}
