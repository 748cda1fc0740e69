import NIOCore
import SpillwayConfig
import SpillwayHTTP1
import SpillwayPolicy

/// One keep-alive connection to a storage node. Between exchanges it is parked in the worker's
/// `NodePool`; during an attempt it frames the node's response (head, then body by its framing) and
/// hands the bytes to the attempt's `Exchange` as they come, holding reads while the client cannot
/// take more.
final class NodeConnection: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let backend: BackendRuntime
    private unowned let pool: NodePool
    private var context: ChannelHandlerContext?
    /// The attempt this connection serves now; nil while parked.
    private(set) var attempt: Attempt?
    var idleSince = NIODeadline.now()
    private var unread: ByteBuffer?
    private var scannedTo = 0
    private var responseBody: BodyTracker?
    private var requestWasHEAD = false
    /// The client speaks HTTP/1.0: a chunked body reaches it as plain data, ended by the close.
    private var dechunk = false
    private var limits = HeadLimits()
    private var interimResponses = 0
    private var readPending = false
    private var closed = false
    /// False once the node broke framing or asked to close: the connection must not serve another exchange.
    private(set) var reusable = true

    init(backend: BackendRuntime, pool: NodePool) {
        self.backend = backend
        self.pool = pool
    }

    var isUsable: Bool { !closed && reusable && context?.channel.isActive == true }
    var isWritable: Bool { context?.channel.isWritable ?? false }
    var allocator: ByteBufferAllocator { context?.channel.allocator ?? ByteBufferAllocator() }

    // MARK: - Called by the exchange

    func begin(_ attempt: Attempt, requestIsHEAD: Bool, dechunk: Bool, limits: HeadLimits) {
        self.attempt = attempt
        requestWasHEAD = requestIsHEAD
        self.dechunk = dechunk
        self.limits = limits
        interimResponses = 0
        responseBody = nil
        unread = nil
        scannedTo = 0
    }

    func detach() { attempt = nil }

    /// Bytes the node sent after its last response that NIO has not read yet: a parked connection
    /// with any is poisoned (they would be taken for the next response) and must not be reused.
    var hasUnreadBytes: Bool {
        #if os(Linux)
        // SO_MEMINFO's first word is the receive queue's memory: nonzero while data (or a FIN) waits.
        guard let options = context?.channel.syncOptions,
            let queued = try? options.getOption(.socketOption(.init(rawValue: 55 /* SO_MEMINFO */)))
        else { return false }
        return queued != 0
        #else
        return false
        #endif
    }

    func write(_ bytes: ByteBuffer) {
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    func flush() { context?.flush() }

    func close() {
        guard !closed else { return }
        closed = true
        attempt = nil
        context?.close(promise: nil)
    }

    /// The client can take bytes again: release a held read, unless something else still holds it
    /// (bandwidth pacing, or a client that is full again).
    func resumeReads() {
        guard readPending, let context else { return }
        if let attempt, !attempt.exchange.clientCanTakeBytes(from: attempt) { return }
        readPending = false
        context.read()
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        guard attempt != nil else {
            // A node must not speak unasked; this connection's framing can no longer be trusted.
            close()
            return
        }
        if var pending = unread {
            unread = nil
            pending.writeBuffer(&input)
            input = pending
        }
        while input.readableBytes > 0, let attempt {
            let exchange = attempt.exchange
            if var tracker = responseBody {
                guard let n = take(&tracker, from: &input, to: attempt) else { return }
                responseBody = tracker
                _ = n
                if tracker.isComplete {
                    responseBody = nil
                    // Bytes beyond the response: the node broke framing; do not reuse the connection.
                    if input.readableBytes > 0 { reusable = false }
                    exchange.nodeEnd(attempt)
                    return
                }
                continue
            }
            let end = input.withUnsafeReadableBytes { HeadScanner.endOfHead($0, from: max(0, scannedTo - 3)) }
            guard let end else {
                guard input.readableBytes <= limits.maxHeadBytes else {
                    fail(.malformedResponse)
                    return
                }
                scannedTo = input.readableBytes
                unread = input
                return
            }
            scannedTo = 0
            guard end <= limits.maxHeadBytes else {
                fail(.malformedResponse)
                return
            }
            let headBytes = input.readSlice(length: end)!
            let limits = self.limits
            let parsed: Result<ResponseHead, HTTP1Error> = headBytes.withUnsafeReadableBytes { b in
                Result { () throws(HTTP1Error) in try ResponseHead.parse(b, limits: limits) }
            }
            guard case .success(let head) = parsed, !head.isSwitchingProtocols else {
                fail(.malformedResponse)
                return
            }
            if head.isInterim {
                interimResponses += 1
                guard interimResponses <= HTTPConfig.maxInterimResponses else {
                    fail(.malformedResponse)
                    return
                }
                exchange.nodeInterim(attempt, head, headBytes)
                continue
            }
            if !head.keepAlive { reusable = false }
            let framing = head.bodyFraming(requestWasHEAD: requestWasHEAD)
            if framing == .untilClose { reusable = false }
            // The start of the body usually came in the same read: hand it over with the head, so the
            // exchange can send both in one write.
            var tracker = BodyTracker(framing)
            var firstBody: ByteBuffer?
            let dechunking = dechunk && framing == .chunked
            if input.readableBytes > 0 && !tracker.isComplete && !dechunking {
                let taken: Result<Int, HTTP1Error> = input.withUnsafeReadableBytes { b in
                    Result { () throws(HTTP1Error) in try tracker.consume(b) }
                }
                guard case .success(let n) = taken else {
                    fail(.malformedResponse)
                    return
                }
                if n > 0 { firstBody = input.readSlice(length: n)! }
            }
            exchange.nodeHead(attempt, head, headBytes, framing: framing, firstBody: firstBody)
            if dechunking, self.attempt === attempt, input.readableBytes > 0 {
                guard take(&tracker, from: &input, to: attempt) != nil else { return }
            }
            if tracker.isComplete {
                if input.readableBytes > 0 { reusable = false }
                if self.attempt === attempt { exchange.nodeEnd(attempt) }
                return
            }
            responseBody = tracker
        }
    }

    /// Body bytes of the response (de-chunked for an HTTP/1.0 client) go to the exchange; nil when
    /// the framing broke (the attempt has failed).
    private func take(_ tracker: inout BodyTracker, from input: inout ByteBuffer, to attempt: Attempt) -> Int? {
        let exchange = attempt.exchange
        if dechunk {
            let start = input.readerIndex
            var pieces: [Range<Int>] = []
            let taken: Result<Int, HTTP1Error> = input.withUnsafeReadableBytes { b in
                Result { () throws(HTTP1Error) in try tracker.consume(b) { pieces.append($0) } }
            }
            guard case .success(let n) = taken else {
                fail(.malformedResponse)
                return nil
            }
            for piece in pieces where self.attempt === attempt {
                exchange.nodeBody(attempt, input.getSlice(at: start + piece.lowerBound, length: piece.count)!)
            }
            input.moveReaderIndex(forwardBy: n)
            return n
        }
        let taken: Result<Int, HTTP1Error> = input.withUnsafeReadableBytes { b in
            Result { () throws(HTTP1Error) in try tracker.consume(b) }
        }
        guard case .success(let n) = taken else {
            fail(.malformedResponse)
            return nil
        }
        if n > 0 { exchange.nodeBody(attempt, input.readSlice(length: n)!) }
        return n
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        attempt?.exchange.nodeReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { attempt?.exchange.nodeBecameWritable() }
    }

    func read(context: ChannelHandlerContext) {
        if let attempt, !attempt.exchange.clientCanTakeBytes(from: attempt) {
            readPending = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(.io(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if let attempt, responseBody?.endsAtClose == true {
            // A response framed by the end of the connection has ended cleanly.
            responseBody = nil
            attempt.exchange.nodeEnd(attempt)
        } else if attempt != nil {
            fail(.closedByNode)
        } else {
            pool.forget(self)
        }
    }

    private func fail(_ failure: NodeFailure) {
        reusable = false
        guard let attempt else { return }
        self.attempt = nil
        attempt.exchange.nodeFailed(attempt, failure)
        close()
    }
}

enum NodeFailure: Error, CustomStringConvertible {
    case connect(Error)
    case closedByNode
    case malformedResponse
    case io(Error)
    case timeout(String)

    var description: String {
        switch self {
        case .connect(let e): "connect: \(e)"
        case .closedByNode: "the node closed the connection"
        case .malformedResponse: "the node's response was not valid HTTP/1.1"
        case .io(let e): "\(e)"
        case .timeout(let what): what
        }
    }

    /// How health and retry policy see this failure.
    var outcome: AttemptOutcome {
        switch self {
        case .connect: .connectFailed
        case .timeout: .timeout
        case .closedByNode, .malformedResponse, .io: .reset
        }
    }
}
