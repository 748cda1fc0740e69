import SpillwayPolicy

/// The balancer's window onto live counters: reads atomics, allocates nothing.
struct LiveLoadView: BackendLoadView {
    let pool: PoolRuntime
    let excluded: UInt64

    var backendCount: Int { pool.backends.count }
    func isEligible(_ index: Int) -> Bool { excluded & (1 << UInt64(index)) == 0 }
    func inFlight(_ index: Int) -> Int { pool.backends[index].inFlight.load(ordering: .relaxed) }
    func weight(_ index: Int) -> Int { pool.backends[index].weight }
}
