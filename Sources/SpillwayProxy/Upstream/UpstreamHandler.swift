import NIOCore
import NIOHTTP1

/// The end of one keep-alive connection to a storage node. Between exchanges it sits in the worker's
/// `UpstreamPool`; during one it feeds response parts to its `Exchange` and holds reads while the
/// client cannot take more (outbound `read()` is NIO's backpressure lever).
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let backend: BackendRuntime
    private unowned let pool: UpstreamPool
    private var context: ChannelHandlerContext?
    /// The exchange this connection serves now; nil while parked in the pool.
    var exchange: Exchange?
    var idleSince = NIODeadline.now()
    private var readPending = false
    private var closed = false

    init(backend: BackendRuntime, pool: UpstreamPool) {
        self.backend = backend
        self.pool = pool
    }

    var isUsable: Bool { !closed && context?.channel.isActive == true }
    var isWritable: Bool { context?.channel.isWritable ?? false }

    // MARK: - Outbound, called by the exchange

    func write(_ part: HTTPClientRequestPart) {
        context?.write(wrapOutboundOut(part), promise: nil)
    }

    func flush() { context?.flush() }

    func close() {
        guard !closed else { return }
        closed = true
        exchange = nil
        context?.close(promise: nil)
    }

    /// The client can take bytes again: release a held read.
    func resumeReads() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else {
            // A node must not speak unasked; the connection's framing can no longer be trusted.
            close()
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head): exchange.upstreamHead(head)
        case .body(let bytes): exchange.upstreamBody(bytes)
        case .end(let trailers): exchange.upstreamEnd(trailers)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { exchange?.upstreamBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if let exchange, !exchange.clientCanTakeBytes {
            readPending = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(.upstream(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if exchange != nil {
            fail(.closedByNode)
        } else {
            pool.forget(self)
        }
    }

    private func fail(_ failure: UpstreamFailure) {
        closed = true
        guard let exchange else { return }
        self.exchange = nil
        exchange.upstreamFailed(failure)
    }
}

enum UpstreamFailure: Error {
    case connect(Error)
    case closedByNode
    case upstream(Error)
}
