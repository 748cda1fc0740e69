/// How a pool spreads requests over its nodes.
public enum BalancerKind: String, Sendable, CaseIterable {
    /// Weighted round-robin (nginx's smooth variant): spreads evenly, blind to load.
    case roundRobin = "round_robin"
    /// The node with the fewest requests in flight per unit of weight; ties rotate.
    case leastOutstanding = "least_outstanding"
    /// Power of two choices over a peak-EWMA of time to first byte times requests in flight
    /// (Finagle, Linkerd): a slow node loses traffic within seconds and earns it back as it recovers.
    case peakEWMA = "peak_ewma"
}

/// What a balancer may read about the nodes of one pool at the moment of a pick.
public protocol BackendLoadView {
    var backendCount: Int { get }
    /// False for nodes that must not get this request (down, draining, or already tried).
    func isEligible(_ index: Int) -> Bool
    func inFlight(_ index: Int) -> Int
    func weight(_ index: Int) -> Int
}
