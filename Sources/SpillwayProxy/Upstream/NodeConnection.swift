import NIOCore
import NIOTLS
import SpillwayConfig
import SpillwayExchange
import SpillwayHTTP1
import SpillwayPolicy

/// One keep-alive connection to a storage node: the one raw `ByteBuffer` handler of its socket.
/// Between exchanges it is parked in the worker's `NodePool`; during an attempt it frames the
/// node's response with the shared `MessageFramer` and hands head and body bytes to the attempt's
/// runner as they come, holding reads while the client cannot take more.
final class NodeConnection: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let backend: BackendRuntime
    private unowned let pool: NodePool
    private var context: ChannelHandlerContext?
    /// The attempt this connection serves now; nil while parked.
    private(set) var link: AttemptLink?
    var idleSince = NIODeadline.now()
    private var framer = MessageFramer(maxHeadBytes: HeadLimits().maxHeadBytes)
    private var unread: ByteBuffer?
    private var requestWasHEAD = false
    /// The client speaks HTTP/1.0: a chunked body reaches it as plain data, ended by the close.
    private var dechunk = false
    private var limits = HeadLimits()
    private var interimResponses = 0
    private var readPending = false
    private var closed = false
    /// False once the node broke framing or asked to close: the connection must not serve another exchange.
    private(set) var reusable = true
    /// Its TLS handshake is over (a plain connection has none to wait for).
    private var handshaken: Bool

    init(backend: BackendRuntime, pool: NodePool) {
        self.backend = backend
        self.pool = pool
        handshaken = backend.tls == nil
    }

    var isUsable: Bool { !closed && reusable && channel?.isActive == true }
    var isWritable: Bool { channel?.isWritable ?? false }

    /// The channel, held from the handler's addition: asked whether it is writable at every event,
    /// and reaching it through the context costs a retain each time.
    private var channel: Channel?
    /// The channel's options, for the connector's check of unread bytes before reuse.
    private(set) var socketOptions: NIOSynchronousChannelOptions?

    // MARK: - Called by the runner

    func begin(_ link: AttemptLink, requestIsHEAD: Bool, dechunk: Bool, limits: HeadLimits) {
        self.link = link
        requestWasHEAD = requestIsHEAD
        self.dechunk = dechunk
        self.limits = limits
        interimResponses = 0
        framer = MessageFramer(maxHeadBytes: limits.maxHeadBytes)
        unread = nil
    }

    func detach() { link = nil }

    func write(_ bytes: ByteBuffer) {
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    func flush() { context?.flush() }

    func close() {
        guard !closed else { return }
        closed = true
        link = nil
        context?.close(promise: nil)
    }

    /// The client can take bytes again: release a held read, unless something else still holds it
    /// (bandwidth pacing, or a client that is full again).
    func resumeReads() {
        guard readPending, let context else { return }
        if let link, !link.runner.nodeMayRead(link) { return }
        readPending = false
        context.read()
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        channel = context.channel
        socketOptions = context.channel.syncOptions
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        channel = nil
        socketOptions = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        guard link != nil else {
            // A node must not speak unasked; this connection's framing can no longer be trusted.
            close()
            return
        }
        if var pending = unread {
            unread = nil
            pending.writeBuffer(&input)
            input = pending
        }
        while input.readableBytes > 0, let link {
            var pieces: [Range<Int>] = []
            let dechunking = dechunk
            let step: Result<MessageFramer.Step, HTTP1Error> = input.withUnsafeReadableBytes { b in
                Result { () throws(HTTP1Error) in try framer.read(b) { if dechunking { pieces.append($0) } } }
            }
            switch step {
            case .failure:
                fail(.malformedResponse)
                return
            case .success(.needMore):
                unread = input
                return
            case .success(.body(let taken, let complete)):
                deliver(&input, taken: taken, pieces: pieces, to: link)
                if complete {
                    // Bytes beyond the response: the node broke framing; do not reuse the connection.
                    if input.readableBytes > 0 { reusable = false }
                    if self.link === link { link.runner.nodeEnd(link) }
                    return
                }
            case .success(.head(let length)):
                let headBytes = input.readSlice(length: length)!
                switch readHead(headBytes, link: link) {
                case .failed:
                    return
                case .interim:
                    continue  // the final head follows
                case .final:
                    guard !framer.inBody else { continue }
                    // No body (HEAD, 204, 304, a zero length): the response is complete.
                    if input.readableBytes > 0 { reusable = false }
                    if self.link === link { link.runner.nodeEnd(link) }
                    return
                }
            }
        }
    }

    private enum HeadRead { case failed, interim, final }

    /// Parses a head and tells the runner.
    private func readHead(_ headBytes: ByteBuffer, link: AttemptLink) -> HeadRead {
        let limits = self.limits
        // Parsed straight into `head`, with no `Result` copy of it in between.
        let head: ResponseHead
        do {
            head = try headBytes.withUnsafeReadableBytes { (b) throws(HTTP1Error) in try ResponseHead.parse(b, limits: limits) }
        } catch {
            fail(.malformedResponse)
            return .failed
        }
        guard !head.isSwitchingProtocols else {
            fail(.malformedResponse)
            return .failed
        }
        if head.isInterim {
            interimResponses += 1
            guard interimResponses <= HTTPConfig.maxInterimResponses else {
                fail(.malformedResponse)
                return .failed
            }
            link.runner.nodeInterim(link, head, headBytes)
            return self.link === link ? .interim : .failed
        }
        if !head.keepAlive { reusable = false }
        let framing = head.bodyFraming(requestWasHEAD: requestWasHEAD)
        if framing == .untilClose { reusable = false }
        framer.expectBody(framing)
        link.runner.nodeHead(link, head, headBytes, framing: framing)
        return self.link === link ? .final : .failed
    }

    /// Body bytes of the response go to the runner: as they came, or (for an HTTP/1.0 client)
    /// only the data of a chunked body, without its framing.
    private func deliver(_ input: inout ByteBuffer, taken: Int, pieces: [Range<Int>], to link: AttemptLink) {
        guard taken > 0 else { return }
        if dechunk {
            let start = input.readerIndex
            for piece in pieces where self.link === link && !piece.isEmpty {
                link.runner.nodeBody(link, input.getSlice(at: start + piece.lowerBound, length: piece.count)!)
            }
            input.moveReaderIndex(forwardBy: taken)
            return
        }
        link.runner.nodeBody(link, input.readSlice(length: taken)!)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        link?.runner.nodeReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { link?.runner.nodeBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if let link, !link.runner.nodeMayRead(link) {
            readPending = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A failed TLS handshake is a failed connect: nothing of the request reached the node. A
        // TLS connection closed without `close_notify` is a failure, never a clean end of message.
        fail(error.isTLS && !handshaken ? .connect("TLS handshake: \(error)") : .io("\(error)"))
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { handshaken = true }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if let link, framer.endsAtClose {
            // A response framed by the end of the connection has ended cleanly.
            framer.reset()
            link.runner.nodeEnd(link)
        } else if link != nil {
            fail(.closedByNode)
        } else {
            pool.forget(self)
        }
    }

    private func fail(_ failure: NodeFailure) {
        reusable = false
        guard let link else { return }
        self.link = nil
        link.runner.nodeFailed(link, failure)
        close()
    }
}
