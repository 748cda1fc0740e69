import NIOCore
import NIOPosix
import NIOSSL

/// Every outbound connection to a storage node is dialled here: the data plane's node pools and
/// the active prober alike, so both meet a node the same way, TLS included. The channel options
/// live in `ChannelTuning`.
protocol NodeConnector: Sendable {
    /// Connects to `backend` on `loop` and puts `handler` in the channel's pipeline.
    func connect(
        to backend: BackendRuntime, on loop: EventLoop, timeout: TimeAmount, handler: @escaping @Sendable () -> ChannelHandler
    ) -> EventLoopFuture<Channel>

    /// Whether the peer sent bytes on the channel of `options` that nobody has read yet: a parked
    /// connection with any is poisoned (they would be taken for the next response) and must not be
    /// reused. It takes the channel's options, fetched once per connection: fetching them costs a
    /// generic metadata lookup, on every reuse of a connection.
    func hasUnreadBytes(_ options: NIOSynchronousChannelOptions) -> Bool
}

/// TCP, with the data plane's buffer sizes and watermarks, and TLS for `https://` nodes (their
/// pool's context, SNI, certificate checks; each completed handshake is counted).
struct NodeDialer: NodeConnector {
    /// Called once per completed TLS handshake with a node.
    let countHandshake: @Sendable (BackendRuntime) -> Void

    init(countHandshake: @escaping @Sendable (BackendRuntime) -> Void = { _ in }) { self.countHandshake = countHandshake }

    func connect(
        to backend: BackendRuntime, on loop: EventLoop, timeout: TimeAmount, handler: @escaping @Sendable () -> ChannelHandler
    ) -> EventLoopFuture<Channel> {
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: ChannelTuning.upstreamRead)
            .channelOption(.writeBufferWaterMark, value: ChannelTuning.writeWatermarks)
            .channelOption(.maxMessagesPerRead, value: ChannelTuning.maxMessagesPerRead)
            .channelInitializer { [countHandshake] channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls = backend.tls {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls.pool.context, serverHostname: tls.serverName))
                        try pipeline.addHandler(HandshakeCounter { countHandshake(backend) })
                    }
                    try pipeline.addHandler(handler())
                }
            }
            .connect(to: backend.address)
    }

    func hasUnreadBytes(_ options: NIOSynchronousChannelOptions) -> Bool {
        #if os(Linux)
        // SO_MEMINFO's first 32-bit word is the receive queue's memory: nonzero while data (or a
        // FIN) waits. NIO reads the option into a word wider than 32 bits, so the second word (the
        // receive buffer's size) comes with it and must not be read as part of the first.
        guard let meminfo = try? options.getOption(.socketOption(.init(rawValue: 55 /* SO_MEMINFO */)))
        else { return false }
        return withUnsafeBytes(of: meminfo) { $0.load(as: UInt32.self) } != 0
        #else
        return false
        #endif
    }
}
