import Logging
import NIOCore
import SpillwayConfig
import SpillwayHTTP1
import SpillwayS3

/// One client request and its way through the gateway: classify, route, pick a node, forward the
/// head and stream the body up, stream the response down. All of it runs on the client connection's
/// event loop; the node connection shares that loop, so bytes move by function call.
///
/// Invariants:
/// - a node's in-flight count is raised exactly once per attempt and lowered exactly once (`releaseNode`);
/// - a retry happens only before any response byte went to the client and only when the node got none
///   of the request body (or the body never left this process);
/// - once the response head went to the client, any failure ends the client connection without a clean
///   end of message, so a cut-short body is never taken for a complete one.
final class Exchange {
    let client: ClientConnection
    private let worker: Worker
    let head: RequestHead
    let request: S3Request
    let route: RouteTable.Entry
    private let pool: PoolRuntime
    /// The head as it goes to the node: the client's bytes, minus hop-by-hop lines.
    private let forwardHead: ByteBuffer
    private let target: String

    // Attempt
    private var node: NodeConnection?
    private var backend: BackendRuntime?
    private var backendIndex = 0
    private var tried: UInt64 = 0
    private var nodeWasReused = false
    private var nodeAnswered = false
    private var staleRetryUsed = false

    // Request side
    private var pendingBody = CircularBuffer<ByteBuffer>()
    private(set) var requestEnded: Bool
    private var requestEndSentAt: NIODeadline?
    private var bodyBytesSent = 0
    private var sentContinue = false

    // Response side
    private(set) var responseStarted = false
    private var responseKeepAlive = true
    private var lastActivity: NIODeadline
    private var finished = false
    private lazy var requestID = worker.nextRequestID()

    init(head: RequestHead, headBytes: ByteBuffer, client: ClientConnection, state: ProxyState) {
        self.client = client
        self.worker = client.worker
        self.head = head
        let snapshot = state.snapshot
        let base = headBytes.readerIndex
        target = headBytes.getString(at: base + head.targetRange.lowerBound, length: head.targetRange.count) ?? "/"
        let host = head.hostRange.flatMap { headBytes.getString(at: base + $0.lowerBound, length: $0.count) }.map { Substring($0) }
        let method = S3Method(head.method)
        request = snapshot.classifier.classify(method: method, target: target, host: host, hasCopySource: head.hasCopySource)
        route = snapshot.routes.route(for: request, method: method)
        pool = state.pools[route.poolIndex]
        forwardHead = HeadWriter.rebuilt(headBytes, dropping: head.dropLines, allocator: client.allocator)
        requestEnded = head.bodyFraming == .none
        lastActivity = .now()
    }

    /// The first deadline the connection timer must honour.
    var initialDeadline: NIODeadline { lastActivity + TimeAmount(route.timeouts.idle) }

    func start() { attempt(after: nil) }

    // MARK: - Attempts

    private func attempt(after failure: NodeFailure?) {
        guard !finished else { return }
        guard let index = pool.pick(excluding: tried) else {
            fail(Self.error(noNodeAfter: failure, pool: pool.name))
            return
        }
        tried |= 1 << UInt64(index)
        backendIndex = index
        let backend = pool.backends[index]
        backend.inFlight.add(1, ordering: .relaxed)
        self.backend = backend
        if let connection = worker.nodes.takeIdle(for: backend, now: .now()) {
            nodeWasReused = true
            attach(connection)
            return
        }
        nodeWasReused = false
        let (connection, connected) = worker.nodes.connect(to: backend, timeout: TimeAmount(route.timeouts.connect))
        connected.assumeIsolated().whenComplete { result in
            guard !self.finished, self.backend === backend, self.node == nil else {
                connection.close()
                return
            }
            switch result {
            case .success:
                self.attach(connection)
            case .failure(let error):
                self.worker.logger.warning(
                    "cannot connect to storage node",
                    metadata: ["node": "\(backend.url)", "pool": "\(self.pool.name)", "error": "\(error)"])
                self.releaseNode()
                self.attempt(after: .connect(error))
            }
        }
    }

    private func attach(_ connection: NodeConnection) {
        node = connection
        nodeAnswered = false
        connection.begin(self, requestIsHEAD: head.method == .head)
        connection.write(forwardHead)
        while let bytes = pendingBody.popFirst() { sendBody(bytes, to: connection) }
        if requestEnded { markRequestSent() }
        connection.flush()
        client.resumeReads()
    }

    private func sendBody(_ bytes: ByteBuffer, to connection: NodeConnection) {
        bodyBytesSent += bytes.readableBytes
        connection.write(bytes)
    }

    private func markRequestSent() {
        let now = NIODeadline.now()
        requestEndSentAt = now
        client.armTimer(now + TimeAmount(route.timeouts.firstByte))
    }

    // MARK: - Client side

    func clientBody(_ bytes: ByteBuffer) {
        guard !finished else { return }
        lastActivity = .now()
        if let node { sendBody(bytes, to: node) } else { pendingBody.append(bytes) }
    }

    func clientEnd() {
        guard !finished, !requestEnded else { return }
        requestEnded = true
        if let node {
            node.flush()
            markRequestSent()
        }
    }

    func clientReadComplete() { node?.flush() }

    /// The client's chunked framing broke mid-body: the node got part of a request it cannot finish.
    func clientBrokeFraming() {
        guard !finished else { return }
        finished = true
        if let node {
            self.node = nil
            node.close()
        }
        releaseNode()
    }

    /// Whether the client connection should read now. After the request ended it keeps reading, so a
    /// client that goes away is noticed (and its node request cancelled) at once.
    var wantsClientBytes: Bool {
        if requestEnded || finished { return true }
        return node?.isWritable ?? false
    }

    var clientCanTakeBytes: Bool { client.isWritable }

    func clientBecameWritable() { node?.resumeReads() }

    func nodeBecameWritable() { client.resumeReads() }

    /// The client went away: cancel the node request (its connection cannot be reused mid-exchange).
    func clientClosed() {
        guard !finished else { return }
        finished = true
        if let node {
            self.node = nil
            node.close()
        }
        releaseNode()
    }

    // MARK: - Node side

    func nodeInterim(_ response: ResponseHead, _ bytes: ByteBuffer) {
        guard !finished else { return }
        nodeAnswered = true
        lastActivity = .now()
        if response.status == 100 {
            guard head.expectsContinue, !sentContinue else { return }
            sentContinue = true
            client.write(StaticBytes.continue100)
            client.flush()
        } else if head.minorVersion >= 1 {
            client.write(bytes)  // e.g. 103 Early Hints, for HTTP/1.1 clients only
        }
    }

    /// Responses whose head and first body bytes fit in this many bytes go to the client in one
    /// buffer: copying a few KiB costs less than several writes through the channel.
    static let coalesceLimit = 32 * 1024

    func nodeHead(_ response: ResponseHead, _ bytes: ByteBuffer, framing: BodyFraming, firstBody: ByteBuffer?) {
        guard !finished else { return }
        nodeAnswered = true
        responseStarted = true
        lastActivity = .now()
        // A body that ends only when the node closes cannot be delimited for a keep-alive client.
        let delimited = framing != .untilClose
        responseKeepAlive = head.keepAlive && delimited && !client.willCloseAfterExchange
        let extra: ByteBuffer? =
            !responseKeepAlive ? StaticBytes.connectionClose
            : head.minorVersion == 0 ? StaticBytes.connectionKeepAlive : nil
        let bodyBytes = firstBody?.readableBytes ?? 0
        if bytes.readableBytes + bodyBytes <= Self.coalesceLimit {
            var out = client.allocator.buffer(capacity: bytes.readableBytes + (extra?.readableBytes ?? 0) + bodyBytes)
            HeadWriter.write(bytes, dropping: response.dropLines, adding: extra) { piece in
                var piece = piece
                out.writeBuffer(&piece)
            }
            if var firstBody { out.writeBuffer(&firstBody) }
            client.write(out)
        } else {
            HeadWriter.write(bytes, dropping: response.dropLines, adding: extra) { client.write($0) }
            if let firstBody { client.write(firstBody) }
        }
    }

    func nodeBody(_ bytes: ByteBuffer) {
        guard !finished else { return }
        lastActivity = .now()
        client.write(bytes)
    }

    func nodeReadComplete() { client.flush() }

    func nodeEnd() {
        guard !finished, let connection = node else { return }
        node = nil
        connection.detach()
        if requestEndSentAt != nil {
            worker.nodes.release(connection, maxIdle: pool.maxIdlePerNode, now: .now())
        } else {
            connection.close()  // the node answered before the request body was all there
        }
        releaseNode()
        // A response that ends before its request did leaves the client mid-body: close after it.
        let keepAlive = responseKeepAlive && requestEnded
        finished = true
        client.finishWriting(keepAlive: keepAlive)
        client.exchangeFinished(self, keepAlive: keepAlive)
    }

    func nodeFailed(_ failure: NodeFailure) {
        guard !finished else { return }
        node = nil
        let failedBackend = backend
        releaseNode()
        if responseStarted {
            worker.logger.warning(
                "storage node failed mid-response; closing the client connection",
                metadata: ["request-id": "\(requestID)", "node": "\(failedBackend?.url ?? "?")", "error": "\(failure)"])
            abortClient()
            return
        }
        guard bodyBytesSent == 0, request.operation.isIdempotent else {
            fail(S3Error(.badGateway, "The storage node closed the connection before answering."))
            return
        }
        if nodeWasReused && !nodeAnswered && !staleRetryUsed {
            // A parked connection the node had already closed: the node itself may be fine.
            staleRetryUsed = true
            tried &= ~(1 << UInt64(backendIndex))
        }
        attempt(after: failure)
    }

    // MARK: - Deadlines

    /// Enforces the time-to-first-byte and idle limits; returns the next deadline, or nil when one expired.
    func checkDeadlines(now: NIODeadline) -> NIODeadline? {
        guard !finished else { return nil }
        if !responseStarted, node != nil, let sentAt = requestEndSentAt {
            let deadline = sentAt + TimeAmount(route.timeouts.firstByte)
            guard now < deadline else {
                timedOut("The storage node sent no response within \(route.timeouts.firstByte).")
                return nil
            }
            return deadline
        }
        let deadline = lastActivity + TimeAmount(route.timeouts.idle)
        guard now < deadline else {
            timedOut("No data moved for \(route.timeouts.idle).")
            return nil
        }
        return deadline
    }

    private func timedOut(_ message: String) {
        if let node {
            self.node = nil
            node.close()
        }
        releaseNode()
        if responseStarted { abortClient() } else { fail(S3Error(.gatewayTimeout, message)) }
    }

    // MARK: - Endings

    /// Answers with an S3 error. Only valid before the response head went out.
    private func fail(_ error: S3Error) {
        guard !finished else { return }
        if let node {
            self.node = nil
            node.close()
        }
        releaseNode()
        finished = true
        responseStarted = true
        worker.logger.warning(
            "request failed",
            metadata: [
                "request-id": "\(requestID)", "code": "\(error.code.rawValue)", "operation": "\(request.operation)",
                "pool": "\(pool.name)", "message": "\(error.message)",
            ])
        let keepAlive = requestEnded && head.keepAlive && !client.willCloseAfterExchange
        let path = String(RequestClassifier.split(target).path)
        client.writeError(error, resource: path, requestID: requestID, close: !keepAlive)
        client.exchangeFinished(self, keepAlive: keepAlive)
    }

    private func abortClient() {
        finished = true
        if let node {
            self.node = nil
            node.close()
        }
        releaseNode()
        client.abort()
    }

    private func releaseNode() {
        guard let backend else { return }
        backend.inFlight.subtract(1, ordering: .relaxed)
        self.backend = nil
    }

    private static func error(noNodeAfter failure: NodeFailure?, pool: String) -> S3Error {
        switch failure {
        case .closedByNode?, .io?, .malformedResponse?:
            S3Error(.badGateway, "Every storage node in pool '\(pool)' that was tried failed before answering.")
        case .connect?, nil:
            S3Error(.serviceUnavailable, "No storage node in pool '\(pool)' could take the request.", retryAfterSeconds: 1)
        }
    }
}

extension S3Method {
    init(_ method: HTTPMethodKind) {
        switch method {
        case .get: self = .get
        case .head: self = .head
        case .put: self = .put
        case .post: self = .post
        case .delete: self = .delete
        case .other: self = .other
        }
    }
}
