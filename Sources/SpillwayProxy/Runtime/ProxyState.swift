import Logging
import NIOCore
import NIOSSL
import SpillwayPolicy
import SpillwayConfig
import Synchronization

/// A config snapshot joined with the live runtime objects its pools need (resolved addresses, counters).
final class ProxyState: Sendable {
    let snapshot: Snapshot
    let pools: [PoolRuntime]
    let protection: Protection

    init(snapshot: Snapshot, pools: [PoolRuntime], protection: Protection) {
        self.snapshot = snapshot
        self.pools = pools
        self.protection = protection
    }

    /// Resolves every node address. Fails with a message that names the node when one cannot be resolved.
    /// Builds the runtime for `snapshot`. Pools whose config did not change are carried over from
    /// `previous` whole (health, latency, in-flight counts, queue), so a reload loses nothing it need not.
    static func build(
        snapshot: Snapshot, slots: SlotAllocator, protection: Protection, telemetry: Telemetry, logger: Logger, previous: ProxyState? = nil
    ) throws -> ProxyState {
        var pools: [PoolRuntime] = []
        let now = Moment.now()
        for poolConfig in snapshot.config.pools {
            let policy = PoolPolicy(poolConfig)
            // A context per pool and generation: a reload re-reads its CA and certificate files.
            var context: NIOSSLContext?
            if policy.hasTLSNodes {
                do { context = try TLSMaterial.client(policy.tls) } catch {
                    throw StartupError("pool '\(poolConfig.name)': TLS file \(error.file.path) (config line \(error.file.line)): \(error.message)")
                }
            }
            if let kept = previous?.pools.first(where: { $0.policy == policy }) {
                if let context { kept.tls?.install(context) }
                pools.append(kept)
                continue
            }
            let tls = context.map(PoolTLS.init)
            if policy.hasTLSNodes, !policy.tls.verifyHostname {
                logger.warning("TLS hostname verification is off for a pool: its nodes' certificates are checked against the CA, not their names",
                               metadata: ["pool": "\(poolConfig.name)"])
            }
            var backends: [BackendRuntime] = []
            for node in poolConfig.nodes {
                let address: SocketAddress
                do {
                    address = try SocketAddress.makeAddressResolvingHost(node.address.host, port: node.address.port)
                } catch {
                    throw StartupError("cannot resolve node \(node.url) in pool '\(poolConfig.name)': \(error)")
                }
                let backendTLS = node.secure ? tls.map { BackendTLS(pool: $0, poolName: poolConfig.name, config: policy.tls, host: node.address.host) } : nil
                backends.append(
                    BackendRuntime(slot: slots.next(), url: node.url, address: address, authority: node.address.description, tls: backendTLS))
            }
            let journal = HealthJournal(logger: logger) { pool, url, kind in telemetry.countHealthEvent(pool: pool, node: url, kind: kind) }
            pools.append(PoolRuntime(policy: policy, backends: backends, journal: journal, tls: tls, now: now))
        }
        return ProxyState(snapshot: snapshot, pools: pools, protection: protection)
    }
}

final class ProxyStateStore: Sendable {
    private let current: Mutex<ProxyState>
    init(_ first: ProxyState) { current = Mutex(first) }
    func load() -> ProxyState { current.withLock { $0 } }
    func publish(_ next: ProxyState) { current.withLock { $0 = next } }
}

final class SlotAllocator: Sendable {
    private let counter = Atomic<Int>(0)
    func next() -> Int { counter.wrappingAdd(1, ordering: .relaxed).oldValue }
}

public struct StartupError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
