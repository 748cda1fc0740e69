/// How a pool spreads requests over its nodes.
public enum BalancerKind: String, Sendable, CaseIterable {
    /// Weighted round-robin (nginx's smooth variant): spreads evenly, blind to load.
    case roundRobin = "round_robin"
    /// The node with the fewest requests in flight per unit of weight; ties rotate.
    /// The default: a slow or stuck node accumulates in-flight requests and so receives fewer new ones.
    case leastOutstanding = "least_outstanding"
}

/// What a balancer may read about the nodes of one pool at the moment of a pick.
/// The data plane implements it over live counters; tests implement it over arrays.
public protocol BackendLoadView {
    var backendCount: Int { get }
    /// False for nodes that must not get this request (down, draining, or already tried).
    func isEligible(_ index: Int) -> Bool
    func inFlight(_ index: Int) -> Int
    func weight(_ index: Int) -> Int
}
