import SpillwayPolicy
import NIOCore
import Synchronization

/// One storage node as the data plane sees it: a resolved address and live load shared by all workers.
final class BackendRuntime: Sendable {
    /// Dense process-wide index; workers keep per-node state in arrays indexed by it.
    let slot: Int
    let url: String
    let address: SocketAddress
    let weight: Int
    let inFlight = Atomic<Int>(0)

    init(slot: Int, url: String, address: SocketAddress, weight: Int) {
        self.slot = slot
        self.url = url
        self.address = address
        self.weight = weight
    }
}

/// The nodes of one pool and the balancer that spreads requests over them.
final class PoolRuntime: Sendable {
    let name: String
    let backends: [BackendRuntime]
    let maxIdlePerNode: Int
    private let balancerTicket = Atomic<UInt64>(0)
    private let balancer: Balancer

    init(name: String, backends: [BackendRuntime], maxIdlePerNode: Int, balancer: Balancer) {
        self.name = name
        self.backends = backends
        self.maxIdlePerNode = maxIdlePerNode
        self.balancer = balancer
    }

    /// A node not in `excluded` (a bit per node index), or nil when none is left.
    func pick(excluding excluded: UInt64) -> Int? {
        let ticket = balancerTicket.wrappingAdd(1, ordering: .relaxed).oldValue
        return balancer.pick(LiveLoadView(pool: self, excluded: excluded), ticket: ticket)
    }
}
