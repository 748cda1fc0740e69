import NIOCore
import NIOSSL
import NIOTLS
import SpillwayConfig
import Synchronization

/// The TLS context toward one pool's `https://` nodes. Made anew at every config generation (so a
/// reload re-reads the CA and client certificate files); connections already open keep theirs.
final class PoolTLS: Sendable {
    private let current: Mutex<NIOSSLContext>

    init(_ context: NIOSSLContext) { current = Mutex(context) }

    var context: NIOSSLContext { current.withLock { $0 } }

    func install(_ context: NIOSSLContext) { current.withLock { $0 = context } }
}

/// How one node is reached over TLS: its pool's context, and the name sent as SNI and checked in
/// its certificate (nil for a node addressed by IP: its certificate must name that IP).
struct BackendTLS: Sendable {
    let pool: PoolTLS
    /// The pool's name, for the handshake count.
    let poolName: String
    let serverName: String?

    init(pool: PoolTLS, poolName: String, config: NodeTLSConfig, host: String) {
        self.pool = pool
        self.poolName = poolName
        let isIP = host.contains(":") || host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
        serverName = config.serverName ?? (isIP ? nil : host)
    }
}

/// Counts a node connection's completed handshake; a failed one reaches `NodeConnection` as an error.
final class HandshakeCounter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let count: () -> Void

    init(count: @escaping () -> Void) { self.count = count }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            count()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}

extension Error {
    /// A TLS failure (handshake, certificate, close without `close_notify`), as opposed to TCP.
    var isTLS: Bool { self is NIOSSLError || self is BoringSSLError || self is NIOSSLExtraError }
}
