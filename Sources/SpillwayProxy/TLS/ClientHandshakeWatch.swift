import NIOCore
import NIOTLS

/// Sits behind a listener's TLS handler until the handshake is over: a client that never finishes
/// its handshake is closed after the request-head time limit (a handshake is head bytes too), and
/// a failed handshake (no client certificate, no common version) is counted. Then it leaves the
/// pipeline, so requests never pass through it.
final class ClientHandshakeWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let timeout: TimeAmount
    private let countFailure: () -> Void
    private var deadline: Scheduled<Void>?
    private var done = false

    init(timeout: TimeAmount, countFailure: @escaping () -> Void) {
        self.timeout = timeout
        self.countFailure = countFailure
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            guard !done else { return }
            done = true
            countFailure()
            bound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event, !done {
            done = true
            deadline?.cancel()
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !done else { return context.fireErrorCaught(error) }
        // The handshake failed: the connection never carried a request.
        done = true
        deadline?.cancel()
        countFailure()
        context.close(promise: nil)
    }
}
