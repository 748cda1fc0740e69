import Logging
import NIOCore
import NIOHTTP1
import SpillwayConfig
import SpillwayS3

/// One client request and its way through the gateway: classify, route, pick a node, forward the
/// head and stream the body up, stream the response down. All of it runs on the client connection's
/// event loop; the node connection shares that loop.
///
/// Invariants:
/// - a node's in-flight count is raised exactly once per attempt and lowered exactly once (`releaseNode`);
/// - a retry happens only before any response byte went to the client and only when the node got none
///   of the request body (or the body never left this process);
/// - once the response head went to the client, any failure ends the client connection without a clean
///   end of message, so a cut-short body is never taken for a complete one.
final class Exchange {
    let downstream: DownstreamHandler
    private let worker: Worker
    let head: HTTPRequestHead
    let request: S3Request
    let route: RouteTable.Entry
    private let pool: PoolRuntime
    private let forwardHead: HTTPRequestHead
    private let requestHasBody: Bool
    private let clientExpectsContinue: Bool

    // Attempt
    private var upstream: UpstreamHandler?
    private var node: BackendRuntime?
    private var nodeIndex = 0
    private var tried: UInt64 = 0
    private var upstreamWasReused = false
    private var upstreamAnswered = false
    private var staleRetryUsed = false

    // Request side
    private var pendingBody = CircularBuffer<ByteBuffer>()
    private(set) var requestEnded = false
    private var requestTrailers: HTTPHeaders?
    private var requestEndSentAt: NIODeadline?
    private var bodyBytesSent = 0
    private var sentContinue = false

    // Response side
    private(set) var responseStarted = false
    private var responseKeepAlive = true
    private var upstreamKeepAlive = true
    private var lastActivity: NIODeadline
    private var finished = false
    private lazy var requestID = worker.nextRequestID()

    init(head: HTTPRequestHead, downstream: DownstreamHandler, state: ProxyState) {
        self.downstream = downstream
        self.worker = downstream.worker
        self.head = head
        let snapshot = state.snapshot
        let method = S3Method(head.method)
        let host = head.headers.first(name: "host").map { Substring($0) }
        request = snapshot.classifier.classify(
            method: method, target: head.uri, host: host, hasCopySource: head.headers.contains(name: "x-amz-copy-source"))
        route = snapshot.routes.route(for: request, method: method)
        pool = state.pools[route.poolIndex]
        forwardHead = HTTPRequestHead(
            version: .http1_1, method: head.method, uri: head.uri, headers: HeaderRewriting.forNode(head.headers))
        requestHasBody = head.hasBody
        clientExpectsContinue = head.headers.first(name: "expect")?.lowercased() == "100-continue"
        lastActivity = .now()
    }

    /// The first deadline the connection timer must honour.
    var initialDeadline: NIODeadline { lastActivity + TimeAmount(route.timeouts.idle) }

    func start() { attempt(after: nil) }

    // MARK: - Attempts

    private func attempt(after failure: UpstreamFailure?) {
        guard !finished else { return }
        guard let index = pool.pick(excluding: tried) else {
            fail(Self.error(noNodeAfter: failure, pool: pool.name))
            return
        }
        tried |= 1 << UInt64(index)
        nodeIndex = index
        let node = pool.backends[index]
        node.inFlight.add(1, ordering: .relaxed)
        self.node = node
        if let connection = worker.upstreams.takeIdle(for: node, now: .now()) {
            upstreamWasReused = true
            attach(connection)
            return
        }
        upstreamWasReused = false
        let (connection, connected) = worker.upstreams.connect(to: node, timeout: TimeAmount(route.timeouts.connect))
        connected.assumeIsolated().whenComplete { result in
            guard !self.finished, self.node === node, self.upstream == nil else {
                connection.close()
                return
            }
            switch result {
            case .success:
                self.attach(connection)
            case .failure(let error):
                self.worker.logger.warning(
                    "cannot connect to storage node",
                    metadata: ["node": "\(node.url)", "pool": "\(self.pool.name)", "error": "\(error)"])
                self.releaseNode()
                self.attempt(after: .connect(error))
            }
        }
    }

    private func attach(_ connection: UpstreamHandler) {
        upstream = connection
        upstreamAnswered = false
        connection.exchange = self
        connection.write(.head(forwardHead))
        while let bytes = pendingBody.popFirst() { sendBody(bytes, to: connection) }
        if requestEnded { sendEnd(to: connection) }
        connection.flush()
        downstream.resumeReads()
    }

    private func sendBody(_ bytes: ByteBuffer, to connection: UpstreamHandler) {
        bodyBytesSent += bytes.readableBytes
        connection.write(.body(.byteBuffer(bytes)))
    }

    private func sendEnd(to connection: UpstreamHandler) {
        connection.write(.end(requestTrailers))
        let now = NIODeadline.now()
        requestEndSentAt = now
        downstream.armTimer(now + TimeAmount(route.timeouts.firstByte))
    }

    // MARK: - Client side

    func clientPart(_ part: HTTPServerRequestPart) {
        guard !finished else { return }
        switch part {
        case .head:
            return  // the downstream handler never routes a second head here
        case .body(let bytes):
            lastActivity = .now()
            if let upstream { sendBody(bytes, to: upstream) } else { pendingBody.append(bytes) }
        case .end(let trailers):
            requestEnded = true
            requestTrailers = trailers
            if let upstream { sendEnd(to: upstream) }
        }
    }

    func clientReadComplete() { upstream?.flush() }

    /// Whether the client connection should read now. After the request ended it keeps reading, so a
    /// client that goes away is noticed (and its node request cancelled) at once.
    var wantsClientBytes: Bool {
        if requestEnded || finished { return true }
        return upstream?.isWritable ?? false
    }

    var clientCanTakeBytes: Bool { downstream.isWritable }

    func clientBecameWritable() { upstream?.resumeReads() }

    func upstreamBecameWritable() { downstream.resumeReads() }

    /// The client went away: cancel the node request (its connection cannot be reused mid-exchange).
    func clientClosed() {
        guard !finished else { return }
        finished = true
        if let upstream {
            self.upstream = nil
            upstream.close()
        }
        releaseNode()
    }

    // MARK: - Node side

    func upstreamHead(_ response: HTTPResponseHead) {
        guard !finished else { return }
        upstreamAnswered = true
        lastActivity = .now()
        let code = response.status.code
        if code >= 100 && code < 200 && code != 101 {
            if code == 100, clientExpectsContinue, !sentContinue {
                sentContinue = true
                downstream.write(.head(HTTPResponseHead(version: head.version, status: .continue)))
                downstream.flush()
            }
            return
        }
        responseStarted = true
        upstreamKeepAlive = response.isKeepAlive
        var headers = HeaderRewriting.forClient(response.headers)
        let framed = head.version.minor >= 1 || headers.contains(name: "content-length") || head.method == .HEAD
        responseKeepAlive = head.isKeepAlive && framed && !downstream.willCloseAfterExchange
        if !responseKeepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if head.version.minor == 0 {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        downstream.write(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers)))
    }

    func upstreamBody(_ bytes: ByteBuffer) {
        guard !finished else { return }
        lastActivity = .now()
        downstream.write(.body(.byteBuffer(bytes)))
    }

    func upstreamReadComplete() { downstream.flush() }

    func upstreamEnd(_ trailers: HTTPHeaders?) {
        guard !finished, let connection = upstream else { return }
        upstream = nil
        connection.exchange = nil
        if upstreamKeepAlive && requestEndSentAt != nil {
            worker.upstreams.release(connection, maxIdle: pool.maxIdlePerNode, now: .now())
        } else {
            connection.close()
        }
        releaseNode()
        // A response that ends before its request did leaves the client mid-body: close after it.
        finish(keepAlive: responseKeepAlive && requestEnded, trailers: trailers)
    }

    func upstreamFailed(_ failure: UpstreamFailure) {
        guard !finished else { return }
        upstream = nil
        let failedNode = node
        releaseNode()
        if responseStarted {
            worker.logger.warning(
                "storage node failed mid-response; closing the client connection",
                metadata: ["request-id": "\(requestID)", "node": "\(failedNode?.url ?? "?")", "error": "\(failure)"])
            abortClient()
            return
        }
        guard bodyBytesSent == 0, request.operation.isIdempotent else {
            fail(S3Error(.badGateway, "The storage node closed the connection before answering."))
            return
        }
        if upstreamWasReused && !upstreamAnswered && !staleRetryUsed {
            // A parked connection the node had already closed: the node itself may be fine.
            staleRetryUsed = true
            tried &= ~(1 << UInt64(nodeIndex))
        }
        attempt(after: failure)
    }

    // MARK: - Deadlines

    /// Enforces the time-to-first-byte and idle limits; returns the next deadline, or nil when one expired.
    func checkDeadlines(now: NIODeadline) -> NIODeadline? {
        guard !finished else { return nil }
        if !responseStarted, upstream != nil, let sentAt = requestEndSentAt {
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
        if let upstream {
            self.upstream = nil
            upstream.close()
        }
        releaseNode()
        if responseStarted { abortClient() } else { fail(S3Error(.gatewayTimeout, message)) }
    }

    // MARK: - Endings

    private func finish(keepAlive: Bool, trailers: HTTPHeaders?) {
        finished = true
        downstream.endResponse(trailers, keepAlive: keepAlive)
        downstream.exchangeFinished(self, keepAlive: keepAlive)
    }

    /// Answers with an S3 error. Only valid before the response head went out.
    private func fail(_ error: S3Error) {
        guard !finished else { return }
        if let upstream {
            self.upstream = nil
            upstream.close()
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
        let keepAlive = requestEnded && head.isKeepAlive && !downstream.willCloseAfterExchange
        let path = String(RequestClassifier.split(head.uri).path)
        downstream.writeError(error, resource: path, requestID: requestID, version: head.version, close: !keepAlive)
        downstream.exchangeFinished(self, keepAlive: keepAlive)
    }

    private func abortClient() {
        finished = true
        if let upstream {
            self.upstream = nil
            upstream.close()
        }
        releaseNode()
        downstream.abort()
    }

    private func releaseNode() {
        guard let node else { return }
        node.inFlight.subtract(1, ordering: .relaxed)
        self.node = nil
    }

    private static func error(noNodeAfter failure: UpstreamFailure?, pool: String) -> S3Error {
        switch failure {
        case .closedByNode?, .upstream?:
            S3Error(.badGateway, "Every storage node in pool '\(pool)' that was tried failed before answering.")
        case .connect?, nil:
            S3Error(.serviceUnavailable, "No storage node in pool '\(pool)' could take the request.", retryAfterSeconds: 1)
        }
    }
}

extension S3Method {
    init(_ method: HTTPMethod) {
        switch method {
        case .GET: self = .get
        case .HEAD: self = .head
        case .PUT: self = .put
        case .POST: self = .post
        case .DELETE: self = .delete
        default: self = .other
        }
    }
}
