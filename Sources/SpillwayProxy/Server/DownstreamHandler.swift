import NIOCore
import NIOHTTP1
import SpillwayS3

/// One client connection: a keep-alive loop over requests, one `Exchange` at a time.
///
/// It owns the connection's single timer (keep-alive idle, then the current exchange's deadlines),
/// re-armed lazily so that a request costs no timer scheduling in the common case.
final class DownstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let worker: Worker
    private var context: ChannelHandlerContext?
    private(set) var exchange: Exchange?
    /// Parts of requests the client pipelined behind the current one; replayed when it ends.
    private var pipelined = CircularBuffer<HTTPServerRequestPart>()
    /// Body parts of a request already answered (by an error): they are read and dropped.
    private var discardingRequestBody = false
    private var readPending = false
    private var closeAfterExchange = false
    private var lastExchangeDone = false
    private var lastActivity = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture
    private(set) var isClosed = false

    init(worker: Worker) {
        self.worker = worker
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }
    var remoteAddress: SocketAddress? { context?.channel.remoteAddress }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        worker.register(self)
        if worker.draining { closeAfterExchange = true }
        armTimer(NIODeadline.now() + worker.state.load().clientIdle)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        worker.unregister(self)
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if exchange == nil && pipelined.isEmpty {
            accept(part)
        } else if let exchange, pipelined.isEmpty, !exchange.requestEnded {
            exchange.clientPart(part)
        } else {
            pipelined.append(part)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.clientReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if wantsClientBytes {
            context.read()
        } else {
            readPending = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { exchange?.clientBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        if let exchange {
            self.exchange = nil
            exchange.clientClosed()
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is HTTPParserError, exchange == nil || exchange?.responseStarted == false {
            // Unparseable bytes: answer once in S3's language, then close (framing is lost).
            let tooLarge = "\(error)".contains("headerOverflow") || "\(error)".contains("HeaderTooLarge")
            let s3Error =
                tooLarge
                ? S3Error(.requestHeaderTooLarge, "The request head exceeds the gateway's limit.")
                : S3Error(.badRequest, "The request is not valid HTTP/1.1: \(error)")
            if let exchange {
                self.exchange = nil
                exchange.clientClosed()
            }
            writeError(s3Error, resource: "/", requestID: worker.nextRequestID(), version: .http1_1, close: true)
            return
        }
        close()
    }

    // MARK: - Requests

    private func accept(_ part: HTTPServerRequestPart) {
        guard !lastExchangeDone, !isClosed else { return }
        switch part {
        case .head(let head):
            discardingRequestBody = false
            lastActivity = .now()
            let exchange = Exchange(head: head, downstream: self, state: worker.state.load())
            self.exchange = exchange
            armTimer(exchange.initialDeadline)
            exchange.start()
        case .body, .end:
            // The rest of a request that was already answered; nothing to forward it to.
            guard discardingRequestBody else { return close() }
            if case .end = part { discardingRequestBody = false }
        }
    }

    /// The exchange is over: next request, or close.
    func exchangeFinished(_ finished: Exchange, keepAlive: Bool) {
        guard finished === exchange else { return }
        exchange = nil
        lastActivity = .now()
        if !keepAlive || closeAfterExchange {
            // The exchange wrote its last part with a close promise; accept nothing more.
            lastExchangeDone = true
            return
        }
        armTimer(lastActivity + worker.state.load().clientIdle)
        while exchange == nil, let part = pipelined.popFirst() { accept(part) }
        if let exchange, !exchange.requestEnded {
            while !exchange.requestEnded, let part = pipelined.popFirst() { exchange.clientPart(part) }
        }
        resumeReads()
    }

    /// A request answered before its body arrived: its remaining parts are dropped, not parsed as a new request.
    func discardRestOfRequest() { discardingRequestBody = true }

    private var wantsClientBytes: Bool {
        guard pipelined.isEmpty else { return false }
        return exchange?.wantsClientBytes ?? true
    }

    func resumeReads() {
        guard readPending, wantsClientBytes, let context else { return }
        readPending = false
        context.read()
    }

    // MARK: - Writing

    func write(_ part: HTTPServerResponsePart) {
        context?.write(wrapOutboundOut(part), promise: nil)
    }

    func flush() { context?.flush() }

    func writeError(_ error: S3Error, resource: String, requestID: String, version: HTTPVersion, close: Bool) {
        guard let context else { return }
        let body = error.xmlBody(resource: resource, requestID: requestID)
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        var headers = HTTPHeaders()
        headers.reserveCapacity(6)
        headers.add(name: "Content-Type", value: "application/xml")
        headers.add(name: "Content-Length", value: String(buffer.readableBytes))
        headers.add(name: "x-amz-request-id", value: requestID)
        if let retryAfter = error.retryAfterSeconds { headers.add(name: "Retry-After", value: String(retryAfter)) }
        if close { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(
            version: version, status: HTTPResponseStatus(statusCode: error.code.status, reasonPhrase: error.code.reason),
            headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        endResponse(nil, keepAlive: !close)
    }

    /// Writes the end of a response; when the connection will not be reused, closes it once the end is on the wire.
    func endResponse(_ trailers: HTTPHeaders?, keepAlive: Bool) {
        guard let context else { return }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
        } else {
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: promise)
            promise.futureResult.assumeIsolated().whenComplete { _ in self.close() }
        }
    }

    // MARK: - Closing

    /// Ends the connection without a clean end of message: the client must see a truncated body
    /// as an error, never as a complete object.
    func abort() {
        exchange = nil
        close()
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        context?.close(promise: nil)
    }

    func drain() {
        closeAfterExchange = true
        if exchange == nil { close() }
    }

    func forceClose() {
        if let exchange {
            self.exchange = nil
            exchange.clientClosed()
        }
        close()
    }

    /// Whether responses should announce `Connection: close`.
    var willCloseAfterExchange: Bool { closeAfterExchange || worker.draining }

    // MARK: - Timer

    /// Ensures the timer fires no later than `deadline`. Later deadlines are handled when it fires.
    func armTimer(_ deadline: NIODeadline) {
        guard let context, deadline < timerDeadline || timer == nil else { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            self.timer = nil
            self.timerDeadline = .distantFuture
            self.timerFired()
        }
    }

    private func timerFired() {
        guard !isClosed else { return }
        let now = NIODeadline.now()
        if let exchange {
            if let next = exchange.checkDeadlines(now: now) { armTimer(next) }
        } else {
            let deadline = lastActivity + worker.state.load().clientIdle
            if now >= deadline { close() } else { armTimer(deadline) }
        }
    }
}

extension ProxyState {
    var clientIdle: TimeAmount { TimeAmount(snapshot.config.timeouts.clientIdle) }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
