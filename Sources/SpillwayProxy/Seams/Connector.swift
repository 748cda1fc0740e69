import NIOCore
import NIOPosix

/// Every outbound connection to a storage node is dialled here: the data plane's node pools and
/// the active prober alike, so both meet a node the same way (TLS will be added here, once per
/// pool and config generation). The channel options live in `ChannelTuning`.
protocol NodeConnector: Sendable {
    /// Connects to `backend` on `loop` and puts `handler` in the channel's pipeline.
    func connect(
        to backend: BackendRuntime, on loop: EventLoop, timeout: TimeAmount, handler: @escaping @Sendable () -> ChannelHandler
    ) -> EventLoopFuture<Channel>
}

/// Plain TCP, with the data plane's buffer sizes and watermarks.
struct PlainConnector: NodeConnector {
    func connect(
        to backend: BackendRuntime, on loop: EventLoop, timeout: TimeAmount, handler: @escaping @Sendable () -> ChannelHandler
    ) -> EventLoopFuture<Channel> {
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: ChannelTuning.upstreamRead)
            .channelOption(.writeBufferWaterMark, value: ChannelTuning.writeWatermarks)
            .channelOption(.maxMessagesPerRead, value: ChannelTuning.maxMessagesPerRead)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler()) }
            }
            .connect(to: backend.address)
    }
}
