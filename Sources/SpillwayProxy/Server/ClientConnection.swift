import NIOCore
#if canImport(Glibc)
import Glibc
#endif
import SpillwayConfig
import SpillwayHTTP1
import SpillwayS3

/// One client connection: the one raw `ByteBuffer` handler of its socket. It frames requests with
/// the shared `MessageFramer`, hands each to an `ExchangeRunner` (the request source), and is where
/// the runner writes the response (the response sink). A keep-alive loop over requests, one at a
/// time; requests pipelined behind are started only while the client reads its answers.
///
/// It owns the connection's single timer (keep-alive idle, the head deadline, then the current
/// exchange's deadlines), re-armed lazily so that a request costs no timer scheduling in the
/// common case.
final class ClientConnection: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let worker: Worker
    private var context: ChannelHandlerContext?
    /// The channel's allocator, fetched once: every response head and error is made with it, and
    /// reaching it through the context costs a retain and a dynamic call per use.
    private(set) var allocator = ByteBufferAllocator()
    /// The channel, held from the handler's addition: asked whether it is writable at every event.
    private var channel: Channel?
    private(set) var exchange: ExchangeRunner?
    /// The telemetry slot of the last request: the next one on this connection usually has the same
    /// operation, bucket and tenant, and then finds it without a lookup.
    var traffic: Telemetry.TrafficSlot?
    /// The HTTP limits in force when the connection opened (a reload applies to new connections).
    private var http = HTTPConfig()
    private var requestHeadTimeout = TimeAmount.seconds(10)
    private var framer = MessageFramer(maxHeadBytes: HTTPConfig().head.maxHeadBytes)
    /// Bytes received but not yet used: part of a head, or requests pipelined behind the current one.
    private var unread: ByteBuffer?
    /// When the first byte of the head now arriving came: the whole head must follow within
    /// `timeouts.request_head`, so a head cannot trickle in for the keep-alive time.
    private var headStartedAt: NIODeadline?
    /// Requests begun since the answers were last known to have left; every `http.max_pipelined`
    /// of them, the connection waits until they have.
    private var pipelinedRun = 0
    private var awaitingFlush = false
    private var readPending = false
    private var closeAfterExchange = false
    private var lastExchangeDone = false
    private var lastActivity = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture
    private(set) var isClosed = false
    /// The client's IP address, for tenants identified by address and per-address connection limits.
    private(set) var remoteIP: String?
    /// This connection is over its address's connection limit: its first request is answered with SlowDown.
    private var overConnectionLimit = false
    private var countedConnection = false

    init(worker: Worker) {
        self.worker = worker
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
        channel = context.channel
        worker.register(self)
        remoteIP = context.channel.remoteAddress?.ipAddress
        let state = worker.state.load()
        if let ip = remoteIP {
            countedConnection = state.protection.connectionOpened(from: ip)
            overConnectionLimit = !countedConnection
        }
        if worker.draining || worker.closing { closeAfterExchange = true }
        http = state.snapshot.config.http
        framer = MessageFramer(maxHeadBytes: http.head.maxHeadBytes)
        requestHeadTimeout = TimeAmount(state.snapshot.config.timeouts.requestHead)
        lastActivity = context.eventLoop.now
        armTimer(lastActivity + state.clientIdle)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        worker.unregister(self)
        if countedConnection, let ip = remoteIP { worker.state.load().protection.connectionClosed(from: ip) }
        timer?.cancel()
        timer = nil
        self.context = nil
        channel = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosed, !lastExchangeDone else { return }
        var input = unwrapInboundIn(data)
        if var pending = unread {
            unread = nil
            pending.writeBuffer(&input)
            input = pending
        }
        ingest(&input)
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
        if context.channel.isWritable {
            if let exchange { exchange.sinkBecameWritable() } else { continuePipeline() }
        }
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
        close()
    }

    // MARK: - Framing requests

    /// Splits arriving bytes into request heads and bodies.
    private func ingest(_ input: inout ByteBuffer) {
        while input.readableBytes > 0 && !isClosed && !lastExchangeDone {
            if !framer.inBody {
                if exchange != nil || awaitingFlush || !isWritable {
                    // A request pipelined behind one still being answered, or behind answers the
                    // client has not read yet: keep it for later, and read nothing more meanwhile.
                    keepUnread(input)
                    return
                }
                if pipelinedRun >= http.maxPipelined {
                    keepUnread(input)
                    awaitFlush()
                    return
                }
            }
            let step: Result<MessageFramer.Step, HTTP1Error> = input.withUnsafeReadableBytes { b in
                Result { () throws(HTTP1Error) in try framer.read(b) }
            }
            switch step {
            case .failure(let error):
                if let exchange {
                    // The client broke its own framing mid-body: nothing after this can be trusted.
                    // The exchange answers 400 if it still can, and the connection closes after it.
                    lastExchangeDone = true
                    let responding = exchange.isResponding
                    exchange.clientBrokeFraming()
                    if responding { close() }
                } else {
                    refuse(error)
                }
                return
            case .success(.needMore):
                if headStartedAt == nil {
                    headStartedAt = context?.eventLoop.now ?? .now()
                    armTimer(headStartedAt! + requestHeadTimeout)
                }
                keepUnread(input)
                return
            case .success(.head(let length)):
                headStartedAt = nil
                let headBytes = input.readSlice(length: length)!
                let limits = http.head
                // Parsed straight into `head`, with no `Result` copy of it in between.
                let head: RequestHead
                do {
                    head = try headBytes.withUnsafeReadableBytes { (b) throws(HTTP1Error) in try RequestHead.parse(b, limits: limits) }
                } catch {
                    refuse(error)
                    return
                }
                begin(head, headBytes)
            case .success(.body(let taken, let complete)):
                let bytes = input.readSlice(length: taken)!
                if taken > 0 { exchange?.clientBody(bytes, last: complete) }
                if complete { exchange?.clientEnd() }
            }
        }
    }

    private func begin(_ head: RequestHead, _ headBytes: ByteBuffer) {
        let now = context?.eventLoop.now ?? .now()
        lastActivity = now
        pipelinedRun += 1
        if overConnectionLimit {
            let error = S3Error(.slowDown, "Too many connections from \(remoteIP ?? "this address"); please reduce them.", retryAfterSeconds: 1)
            writeError(error, resource: "/", requestID: worker.nextRequestID(), close: true)
            return
        }
        let state = worker.state.load()
        let request = RequestContext(
            head: head, headBytes: headBytes, state: state, remoteIP: remoteIP, telemetry: worker.telemetry, cachedSlot: traffic,
            allocator: allocator, now: now)
        traffic = request.traffic
        let exchange = ExchangeRunner(context: request, worker: worker, client: self, now: now)
        self.exchange = exchange
        framer.expectBody(head.bodyFraming)
        exchange.start()
    }

    private func keepUnread(_ input: ByteBuffer) {
        unread = input.readableBytes > 0 ? input : nil
    }

    /// Answers a request that could not be parsed, then closes: its framing is lost.
    private func refuse(_ error: HTTP1Error) {
        let code: S3Error.Code =
            switch error.status {
            case 431: .requestHeaderTooLarge
            case 414: .requestURITooLong
            case 501: .notImplemented
            case 505: .httpVersionNotSupported
            default: .badRequest
            }
        writeError(S3Error(code, error.message), resource: "/", requestID: worker.nextRequestID(), close: true)
    }

    /// The exchange is over: next request, or close.
    private func exchangeFinished(_ finished: ExchangeRunner, keepAlive: Bool) {
        guard finished === exchange else { return }
        exchange = nil
        framer.reset()
        lastActivity = context?.eventLoop.now ?? .now()
        if !keepAlive || closeAfterExchange {
            // The exchange wrote its last bytes with a close promise; accept nothing more.
            lastExchangeDone = true
            return
        }
        armTimer(lastActivity + worker.state.load().clientIdle)
        continuePipeline()
    }

    /// Waits until the kernel took the answers so far, so a client that pipelines and never reads
    /// holds a bounded number of answers here (the write buffer's watermark bounds their bytes).
    /// For a client that reads, the wait ends at once.
    private func awaitFlush() {
        guard let context else { return }
        awaitingFlush = true
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { _ in
            self.awaitingFlush = false
            self.pipelinedRun = 0
            self.continuePipeline()
        }
    }

    /// Takes up requests already read: only while the client reads its answers.
    private func continuePipeline() {
        guard !awaitingFlush, exchange == nil, !isClosed, !lastExchangeDone, isWritable else { return }
        if var pipelined = unread {
            unread = nil
            ingest(&pipelined)
        }
        resumeReads()
    }

    private var wantsClientBytes: Bool {
        guard unread == nil || exchange == nil else { return false }
        guard !awaitingFlush else { return false }
        if let exchange { return exchange.wantsClientBytes }
        return unread == nil || isWritable
    }

    // MARK: - Closing

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

    /// Flushes what was written; when the connection will not be reused, closes it once that is on the wire.
    private func finishWriting(keepAlive: Bool) {
        guard let context else { return }
        if keepAlive {
            context.flush()
        } else {
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
            promise.futureResult.assumeIsolated().whenComplete { _ in self.close() }
        }
    }

    private func writeError(_ error: S3Error, resource: String, requestID: String, close: Bool) {
        guard let context else { return }
        write(ErrorResponse.render(error, resource: resource, requestID: requestID, close: close, allocator: context.channel.allocator))
        if close { lastExchangeDone = true }
        finishWriting(keepAlive: !close)
    }

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
        guard !isClosed, let context else { return }
        let now = context.eventLoop.now
        if let exchange {
            if let next = exchange.checkDeadlines() { armTimer(next) }
        } else if let started = headStartedAt {
            let deadline = started + requestHeadTimeout
            if now >= deadline {
                headStartedAt = nil
                let error = S3Error(.requestTimeout, "Your socket connection to the server was not read from or written to within the timeout period.")
                writeError(error, resource: "/", requestID: worker.nextRequestID(), close: true)
            } else {
                armTimer(deadline)
            }
        } else {
            let deadline = lastActivity + worker.state.load().clientIdle
            if now >= deadline { close() } else { armTimer(deadline) }
        }
    }
}

// MARK: - The seams an exchange sees

extension ClientConnection: ResponseSink, RequestSource {
    var isWritable: Bool { channel?.isWritable ?? false }
    /// Whether responses should announce `Connection: close`.
    var willCloseAfterExchange: Bool { closeAfterExchange || worker.draining || worker.closing }

    func write(_ bytes: ByteBuffer) {
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    var takesHeadApart: Bool { false }
    func writeHead(_ head: ByteBuffer) { write(head) }

    func flush() { context?.flush() }

    func finish(_ exchange: ExchangeRunner, keepAlive: Bool) {
        finishWriting(keepAlive: keepAlive)
        exchangeFinished(exchange, keepAlive: keepAlive)
    }

    func respond(_ exchange: ExchangeRunner, _ error: S3Error, resource: String, requestID: String, close: Bool) {
        writeError(error, resource: resource, requestID: requestID, close: close)
        exchangeFinished(exchange, keepAlive: !close)
    }

    /// Ends the connection without a clean end of message: the client must see a truncated body
    /// as an error, never as a complete object.
    /// Cuts the connection with a reset, not a FIN: a body framed by the end of the connection
    /// would otherwise read as complete, and a client must see that it is not.
    func abort() {
        exchange = nil
        if !isClosed, let channel = context?.channel {
            // Set on the event loop, so it is in force before the close below.
            _ = (channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        }
        close()
    }

    func resumeReads() {
        guard readPending, wantsClientBytes, let context else { return }
        readPending = false
        context.read()
    }
}

extension ProxyState {
    var clientIdle: TimeAmount { TimeAmount(snapshot.config.timeouts.clientIdle) }
}

extension TimeAmount {
    /// Saturating: a duration too long for a `TimeAmount` becomes the longest one.
    init(_ duration: Duration) { self = .nanoseconds(duration.nanoseconds) }
}
