import NIOCore

/// One storage node as the data plane sees it: where it is. Its health and load live in its pool's
/// `PoolHealth`, under the pool's lock.
final class BackendRuntime: Sendable {
    /// Dense process-wide index; workers keep per-node state (idle connections) in arrays indexed by it.
    let slot: Int
    let url: String
    let address: SocketAddress
    /// `host:port` as written in the config, for the probe's Host header.
    let authority: String
    /// How an `https://` node is reached over TLS (nil: plain TCP).
    let tls: BackendTLS?

    init(slot: Int, url: String, address: SocketAddress, authority: String, tls: BackendTLS? = nil) {
        self.slot = slot
        self.url = url
        self.address = address
        self.authority = authority
        self.tls = tls
    }
}
