import Logging
import NIOCore
import SpillwayConfig
import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3

/// One client request and its way through the gateway: classify, route, pick a node, forward the head
/// and stream the body up, stream the response down; and when a node fails, retry, hedge or resume.
/// Everything runs on the client connection's event loop; node connections share that loop, so bytes
/// move by function call.
///
/// Invariants:
/// - every attempt lowers its node's in-flight count exactly once (`release`);
/// - a retry is planned by `RetryPlanner` alone: before any response byte went to the client, only
///   when the request can be sent again in full, and within the pool's retry budget;
/// - once response bytes went to the client, a failure either resumes the same object from another
///   node (`Range` + `If-Match`, validated against `Content-Range`) or ends the client connection
///   without a clean end of message, so a cut-short or spliced body is never taken for a complete one.
final class Exchange {
    let client: ClientConnection
    private let worker: Worker
    let head: RequestHead
    let request: S3Request
    let route: RouteTable.Entry
    /// The HTTP limits of the snapshot this request started under.
    let http: HTTPConfig
    /// The route's pools in order of preference; reads fail over along them.
    private let pools: RoutePools
    private var poolCursor = 0
    /// The head as it goes to the node: the client's bytes, minus hop-by-hop lines.
    private let forwardHead: ByteBuffer
    private let target: String
    private let requestHasBody: Bool
    private let authorization: Substring?
    /// The access key the request claims; limits are charged to it, so it must be the one verified.
    private let claimedKey: Substring?
    /// The request names its credential twice: refused, since a node might read the other one.
    private let ambiguousCredential: Bool

    // Attempts
    private var live: [Attempt] = []
    private var winner: Attempt?
    private var attemptsMade = 0
    /// Nodes already tried in `pools[poolCursor]`, a bit each.
    private var tried: UInt64 = 0
    private var retryAt: NIODeadline?
    private var hedgeAt: NIODeadline?
    private var hedged = false

    // Request side
    private var replay: ReplayBuffer?
    private var unsent = CircularBuffer<ByteBuffer>()
    private var bodyLeftGateway = false
    private(set) var requestEnded: Bool
    private var sentContinue = false

    // Response side
    private(set) var responseStarted = false
    private var responseKeepAlive = true
    private var clientBodyBytes = 0
    private var resumable: (etag: ByteBuffer, total: Int)?
    /// A download may be resumed this many times (each from the retry budget).
    private var resumesLeft = 3
    private var lastActivity: NIODeadline
    /// The minimum-rate window: when it began, and the client's bytes moved by then.
    private var rateWindowStart: NIODeadline
    private var rateWindowBytes = 0
    private var finished = false
    private lazy var requestID = worker.nextRequestID()

    // Protection
    private let protection: Protection
    private let identity: Identity
    private var ticket: Protection.Ticket?
    private var queued: (pool: PoolRuntime, id: UInt64, deadline: NIODeadline)?
    private var pacedUntil: NIODeadline?
    /// Response bytes held back by read-bandwidth pacing; once they are out, the response ends (with
    /// this keep-alive) if the node had finished.
    private var pacedOut = PacedBytes()
    private var endAfterPacedOut: Bool?
    private var pacesReads = false
    private var pacesWrites = false
    private var chunkChain: ChunkSignatureVerifier?

    // Telemetry
    private let startedAt: NIODeadline
    private let startedAtWallMillis: Int64
    private var bytesFromClient = 0
    private var responseStatus = 0
    private var errorCode: String?
    /// The node answered with an error: read its code from the body as it passes.
    private var sniffsErrorCode = false
    private var firstByteAt: NIODeadline?
    private var attemptLog: [(node: Int, url: String, reused: Bool?)] = []
    private var retryCount = 0
    private var wasHedged = false
    private var hedgeWon = false
    private var resumeCount = 0
    private var resumedBytes = 0
    private var decision = "none"
    private let traceID: String?
    private let span: RequestSpan?
    private var aborted = false
    private var recorded = false
    /// What this request counts toward; it is in flight there from arrival until it is recorded.
    private let traffic: Telemetry.TrafficSlot
    private var responseEndedCleanly = false

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
        http = snapshot.config.http
        let operationClass = request.operation.operationClass
        let isRead = operationClass == .read || operationClass == .list
        pools = RoutePools(all: state.pools, order: route.poolIndices, count: isRead ? route.poolIndices.count : 1)
        forwardHead = HeadWriter.rebuilt(headBytes, dropping: head.dropLines, allocator: client.allocator)
        requestHasBody = head.bodyFraming != .none
        requestEnded = !requestHasBody
        lastActivity = .now()
        protection = state.protection
        let authorization = head.authorizationRange.flatMap {
            headBytes.getString(at: base + $0.lowerBound, length: $0.count)
        }.map { Substring($0) }
        let claim = SignedRequest.claim(authorization: authorization, query: RequestClassifier.split(target).query)
        claimedKey = if case .key(let key) = claim { key } else { nil }
        ambiguousCredential = claim == .ambiguous
        identity = state.protection.identify(accessKey: claimedKey, address: client.remoteIP, routeClass: route.priorityClass)
        traffic = client.worker.telemetry.began(
            operation: request.operation.name, bucket: request.bucket, tenant: identity.tenant, className: identity.className,
            cached: client.traffic)
        client.traffic = traffic
        self.authorization = authorization
        startedAt = lastActivity
        rateWindowStart = lastActivity
        startedAtWallMillis = WallClock.millis()
        let traceparent = head.traceparentRange.flatMap { headBytes.getString(at: base + $0.lowerBound, length: $0.count) }
        span = client.worker.telemetry.startSpan(operation: request.operation.name, traceparent: traceparent)
        traceID = span?.traceID ?? traceparent.flatMap { text -> String? in
            // version "-" trace-id (32 hex) "-" parent-id "-" flags
            let parts = text.split(separator: "-")
            return parts.count >= 4 && parts[1].count == 32 ? String(parts[1]) : nil
        }
        if requestHasBody {
            let cap = pools[0].config.retry.replayBufferBytes
            if cap > 0 && (head.contentLength.map { $0 <= cap } ?? head.isChunked) { replay = ReplayBuffer(cap: cap) }
        }
    }

    /// The first deadline the connection timer must honour.
    var initialDeadline: NIODeadline {
        let idle = lastActivity + TimeAmount(route.timeouts.idle)
        return http.minClientRate > 0 ? min(idle, rateWindowStart + TimeAmount(http.minRateWindow)) : idle
    }

    func start() {
        let now = Moment(lastActivity)
        if ambiguousCredential {
            refuse(.malformed("the credential is given twice"))
            return
        }
        if protection.config.identity.verifySignatures, let refusal = verifySignature() {
            fail(refusal)
            return
        }
        if protection.isActive {
            switch protection.admit(identity, operation: request.operation.operationClass, bucket: request.bucket, at: now) {
            case .shed(let retryAfter, let reason):
                shed(reason, retryAfter: retryAfter)
                return
            case .admitted(let ticket):
                self.ticket = ticket
                decision = "admitted"
                pacesReads = protection.paces(ticket, .read)
                pacesWrites = protection.paces(ticket, .write)
            }
        }
        pools[0].depositRetryBudget(at: now)
        launch(.first)
    }

    /// SigV4 at the edge: a forged or expired request is refused here and never reaches storage.
    /// Canonicalised from the request's raw bytes, and the head is indexed once, so a head with
    /// thousands of fields costs one pass.
    private func verifySignature() -> S3Error? {
        let head = forwardHead
        let secrets = protection.config.identity.credentials
        let parsed = self.head
        let request = head.withUnsafeReadableBytes { b -> SigningRequest in
            let target = Array(UnsafeRawBufferPointer(rebasing: b[parsed.targetRange]))
            let q = target.firstIndex(of: 63)
            return SigningRequest(
                method: Array(UnsafeRawBufferPointer(rebasing: b[parsed.methodRange])), path: Array(target[..<(q ?? target.count)]),
                query: q.map { Array(target[($0 + 1)...]) } ?? [], headers: RequestHead.fieldIndex(in: b), authorization: authorization)
        }
        let result = SigV4Verifier.verify(
            request, secret: { secrets[$0] }, now: Int(WallClock.millis() / 1000),
            maxSkewSeconds: Int(protection.config.identity.maxClockSkew.seconds))
        switch result {
        case .success(let verified):
            // The tenant charged is the tenant verified.
            guard claimedKey.map({ $0 == verified.accessKey }) ?? false else { return refusal(.malformed("the credential is ambiguous")) }
            chunkChain = verified.streaming
            return nil
        case .failure(let failure):
            return refusal(failure)
        }
    }

    private func refusal(_ failure: SigV4Verifier.Failure) -> S3Error {
        decision = "refused"
        if let held = worker.refusalLog.admit(at: Moment(lastActivity)) {
            worker.logger.notice(
                "request refused at the edge",
                metadata: ["request-id": "\(requestID)", "tenant": "\(identity.tenant)", "why": "\(failure)", "unlogged-since": "\(held)"])
        }
        return failure.error
    }

    private func refuse(_ failure: SigV4Verifier.Failure) { fail(refusal(failure)) }

    /// Over a limit: `503 SlowDown`, which every S3 SDK backs off from, before any byte reaches storage.
    private func shed(_ reason: String, retryAfter: Duration) {
        decision = "shed"
        let seconds = max(1, Int((retryAfter.seconds).rounded(.up)))
        if let held = worker.shedLog.admit(at: Moment(lastActivity)) {
            worker.logger.info(
                "request shed",
                metadata: [
                    "request-id": "\(requestID)", "tenant": "\(identity.tenant)", "class": "\(identity.className)", "why": "\(reason)",
                    "unlogged-since": "\(held)",
                ])
        }
        fail(S3Error(.slowDown, "Please reduce your request rate: \(reason).", retryAfterSeconds: seconds))
    }

    // MARK: - Attempts

    private func launch(_ kind: Attempt.Kind, head attemptHead: ByteBuffer? = nil) {
        guard !finished else { return }
        let now = NIODeadline.now()
        guard let (pool, node) = choose(at: Moment(now), kind: kind) else {
            if queued == nil, live.isEmpty && winner == nil && !responseStarted {
                fail(Self.noNodeError(pool: pools[0].name, after: lastFailure))
            }
            return
        }
        start(kind, on: pool, node: node, head: attemptHead, at: now)
    }

    private func start(_ kind: Attempt.Kind, on pool: PoolRuntime, node: Int, head attemptHead: ByteBuffer?, at now: NIODeadline) {
        attemptsMade += 1
        attemptLog.append((node, pool.backends[node].url, nil))
        switch kind {
        case .retry: retryCount += 1
        case .hedge: wasHedged = true
        case .resume: resumeCount += 1
        case .first: break
        }
        tried |= 1 << UInt64(node)
        span?.attempt(node: pool.backends[node].url, kind: "\(kind)")
        let attempt = Attempt(exchange: self, pool: pool, node: node, kind: kind, head: attemptHead ?? forwardHead, at: now)
        live.append(attempt)
        if let connection = worker.nodes.takeIdle(for: attempt.backend, now: now) {
            attemptLog[attemptLog.count - 1].reused = true
            attach(attempt, connection)
            return
        }
        attemptLog[attemptLog.count - 1].reused = false
        let (connection, connected) = worker.nodes.connect(to: attempt.backend, timeout: TimeAmount(route.timeouts.connect))
        connected.assumeIsolated().whenComplete { result in
            guard !self.finished, self.live.contains(where: { $0 === attempt }), attempt.connection == nil else {
                connection.close()
                return
            }
            switch result {
            case .success: self.attach(attempt, connection)
            case .failure(let error):
                self.worker.logger.warning(
                    "cannot connect to storage node",
                    metadata: ["node": "\(attempt.backend.url)", "pool": "\(pool.name)", "error": "\(error)"])
                self.attemptFailed(attempt, .connect(error))
            }
        }
    }

    /// The pool and node for the next attempt: the first healthy node along the route's pools, else
    /// (the panic rule) any undrained node of the first pool that has one.
    private func choose(at now: Moment, kind: Attempt.Kind) -> (PoolRuntime, Int)? {
        // The first pool's nodes may all be at their in-flight limit: then the request waits its turn.
        if poolCursor == 0, pools[0].config.protection.maxInFlightPerNode != nil {
            let pool = pools[0]
            let deadline = NIODeadline.now() + TimeAmount(pool.config.protection.queueTimeout)
            let bound = NIOLoopBound(self, eventLoop: worker.eventLoop)
            let loop = worker.eventLoop
            let waiter = PoolRuntime.Waiter { node in loop.execute { bound.value.dispatched(node, kind: kind) } }
            switch pool.acquire(excluding: tried, at: now, queueAs: identity, deadline: Moment(deadline), waiter: waiter) {
            case .node(let node, _):
                return (pool, node)
            case .queued(let id):
                queued = (pool, id, deadline)
                decision = "queued"
                protection.countQueued(identity)
                client.armTimer(deadline)
                return nil
            case .shed:
                protection.countShed(identity)
                shed("every node of pool \(pool.name) is at its in-flight limit", retryAfter: .seconds(1))
                return nil
            case .none:
                break
            }
        }
        var fallback: (cursor: Int, pick: PoolHealth.Pick)?
        for cursor in poolCursor..<pools.count {
            guard let pick = pools[cursor].pick(excluding: cursor == poolCursor ? tried : 0, at: now) else { continue }
            if !pick.panic {
                if let fallback { pools[fallback.cursor].release(fallback.pick.node) }
                moveTo(cursor)
                return (pools[cursor], pick.node)
            }
            if fallback == nil { fallback = (cursor, pick) } else { pools[cursor].release(pick.node) }
        }
        guard let fallback else { return nil }
        moveTo(fallback.cursor)
        return (pools[fallback.cursor], fallback.pick.node)
    }

    /// A node with room was reserved for this queued request (nil: pushed out by a more important one).
    private func dispatched(_ node: Int?, kind: Attempt.Kind) {
        guard let wait = queued else {
            if let node { pools[0].release(node) }  // the wait had already ended
            return
        }
        queued = nil
        guard !finished else {
            if let node { wait.pool.release(node) }
            return
        }
        guard let node else {
            shed("a more important request took this one's place in the queue", retryAfter: .seconds(1))
            return
        }
        start(kind, on: wait.pool, node: node, head: nil, at: .now())
    }

    private func moveTo(_ cursor: Int) {
        guard cursor != poolCursor else { return }
        worker.logger.notice(
            "failing over to another pool", metadata: ["from": "\(pools[poolCursor].name)", "to": "\(pools[cursor].name)"])
        poolCursor = cursor
        tried = 0
    }

    private func attach(_ attempt: Attempt, _ connection: NodeConnection) {
        attempt.connection = connection
        connection.begin(attempt, requestIsHEAD: head.method == .head, dechunk: head.minorVersion == 0, limits: http.head)
        connection.write(attempt.head)
        if let replay {
            for part in replay.parts { connection.write(part) }
            if replay.bytes > 0 { bodyLeftGateway = true }
        } else {
            while let part = unsent.popFirst() {
                connection.write(part)
                bodyLeftGateway = true
            }
        }
        if requestEnded { requestSent(attempt) }
        connection.flush()
        client.resumeReads()
    }

    private func requestSent(_ attempt: Attempt) {
        let now = NIODeadline.now()
        attempt.requestSentAt = now
        client.armTimer(now + TimeAmount(route.timeouts.firstByte))
        // A read that has not answered by the pool's recent p95 gets a second chance on another node.
        if attempt.kind == .first, !requestHasBody, head.method == .get || head.method == .head,
            let delay = attempt.pool.hedgeDelay(at: Moment(now))
        {
            hedgeAt = now + TimeAmount(delay)
            client.armTimer(hedgeAt!)
        }
    }

    /// The attempt's node connection, if it may still send body bytes (the newest live attempt).
    private var bodyConnection: NodeConnection? { live.last?.connection }

    // MARK: - Client side

    /// Body bytes from the client; `last` when they end the request's HTTP framing.
    func clientBody(_ bytes: ByteBuffer, last: Bool) {
        guard !finished else { return }
        lastActivity = .now()
        bytesFromClient += bytes.readableBytes
        if chunkChain != nil {
            let ok = bytes.withUnsafeReadableBytes { b in (try? chunkChain!.consume(b)) != nil }
            guard ok else {
                worker.logger.notice("a chunk signature did not match; the upload is cut", metadata: ["request-id": "\(requestID)"])
                closeAll()  // the node never gets a complete body
                fail(S3Error(.signatureDoesNotMatch, "A chunk signature does not match its data."))
                return
            }
            if last, !chunkChain!.isComplete {
                // The body ends before the chain does: its last bytes never reach the node, so no
                // node can take the cut upload for a complete one.
                closeAll()
                fail(S3Error(.incompleteBody, "The aws-chunked body ended before its final chunk."))
                return
            }
        }
        if pacesWrites, let ticket { pace(protection.pace(ticket, .write, bytes: bytes.readableBytes, at: Moment(lastActivity))) }
        if replay != nil, !(replay!.append(bytes)) {
            // Past the replay cap: this request can no longer be sent again once its body is out.
            if bodyConnection == nil { unsent = replay!.parts }
            replay = nil
        }
        if let connection = bodyConnection {
            connection.write(bytes)
            bodyLeftGateway = true
        } else if replay == nil {
            unsent.append(bytes)
        }
    }

    func clientEnd() {
        guard !finished, !requestEnded else { return }
        requestEnded = true
        if let attempt = live.last, let connection = attempt.connection {
            connection.flush()
            requestSent(attempt)
        }
    }

    func clientReadComplete() { bodyConnection?.flush() }

    /// The client's chunked framing broke mid-body: no node can be given a complete request. The
    /// node connections close (a node never sees the end of the body), and the client gets a 400
    /// if no response has started.
    func clientBrokeFraming() {
        guard !finished else { return }
        closeAll()
        fail(S3Error(.badRequest, "The request body's chunked framing is not valid HTTP/1.1."))
    }

    /// Whether the client connection should read now. After the request ended it keeps reading, so a
    /// client that goes away is noticed (and its node request cancelled) at once.
    var wantsClientBytes: Bool {
        if requestEnded || finished { return true }
        if pacedUntil != nil { return false }
        return bodyConnection?.isWritable ?? false
    }

    /// Whether `attempt`'s node connection may read now. Only the attempt streaming to the client waits
    /// for the client; the others read their heads at once (a resume or a hedge must not wait for a
    /// client that is full of the bytes before it).
    func clientCanTakeBytes(from attempt: Attempt) -> Bool { attempt !== winner || (client.isWritable && pacedUntil == nil) }

    func clientBecameWritable() {
        for attempt in live { attempt.connection?.resumeReads() }
    }

    func nodeBecameWritable() { client.resumeReads() }

    /// The client went away: cancel every node request (their connections cannot be reused mid-exchange).
    func clientClosed() {
        guard !finished else { return }
        settle()
    }

    // MARK: - Node side

    func nodeInterim(_ attempt: Attempt, _ response: ResponseHead, _ bytes: ByteBuffer) {
        guard !finished, winner == nil else { return }
        lastActivity = .now()
        if response.status == 100 {
            guard head.expectsContinue, !sentContinue else { return }
            sentContinue = true
            client.write(StaticBytes.continue100)
            client.flush()
        } else if head.minorVersion >= 1 {
            // e.g. 103 Early Hints, for HTTP/1.1 clients only, without the node's hop-by-hop lines.
            HeadWriter.write(bytes, dropping: response.dropLines, adding: nil) { client.write($0) }
            client.flush()
        }
    }

    /// Responses whose head and first body bytes fit in this many bytes go to the client in one
    /// buffer: copying a few KiB costs less than several writes through the channel.
    static let coalesceLimit = 32 * 1024

    func nodeHead(_ attempt: Attempt, _ response: ResponseHead, _ bytes: ByteBuffer, framing: BodyFraming, firstBody: ByteBuffer?) {
        guard !finished, live.contains(where: { $0 === attempt }) else { return }
        let now = NIODeadline.now()
        attempt.answeredAt = now
        lastActivity = now
        let firstByte = Duration.nanoseconds(Int64(now.uptimeNanoseconds - (attempt.requestSentAt ?? attempt.startedAt).uptimeNanoseconds))
        if case .resume(let offset, let total) = attempt.kind {
            continueResumed(attempt, response, framing: framing, offset: offset, total: total, firstBody: firstBody)
            return
        }
        let outcome = AttemptOutcome.response(status: response.status, retryAfter: RetryAfter.delay(header: response.retryAfterSeconds))
        attempt.pool.record(outcome, node: attempt.node, firstByte: firstByte, at: Moment(now))
        if winner == nil, outcome != .success {
            if live.count > 1 {
                // Another attempt (a hedge) is still running: let it answer instead of this one.
                drop(attempt)
                return
            }
            if case .retry(let delay) = plan(after: outcome) {
                worker.logger.info(
                    "node answered \(response.status); retrying on another node",
                    metadata: ["request-id": "\(requestID)", "node": "\(attempt.backend.url)"])
                drop(attempt)
                scheduleRetry(after: delay)
                return
            }
        }
        win(attempt)
        responseStarted = true
        responseStatus = response.status
        firstByteAt = now
        if attempt.kind == .hedge { hedgeWon = true }
        sniffsErrorCode = response.status >= 400 && head.method != .head
        if sniffsErrorCode, let firstBody { sniffErrorCode(firstBody) }
        if head.method == .get, response.status == 200, !head.hasRangeOrCondition, let total = response.contentLength,
            let etag = response.etag, let etagBytes = bytes.getSlice(at: bytes.readerIndex + etag.lowerBound, length: etag.count)
        {
            resumable = (etagBytes, total)
        }
        // A body that ends only when the node closes cannot be delimited for a keep-alive client;
        // nor can a chunked one for an HTTP/1.0 client (it gets the data, ended by the close).
        let dechunked = head.minorVersion == 0 && framing == .chunked
        responseKeepAlive = head.keepAlive && framing != .untilClose && !dechunked && !client.willCloseAfterExchange
        let extra: ByteBuffer? =
            !responseKeepAlive ? StaticBytes.connectionClose
            : head.minorVersion == 0 ? StaticBytes.connectionKeepAlive : nil
        var drop = response.dropLines
        if dechunked, let line = response.transferEncodingLine {
            drop.append(line)
            drop.sort()
        }
        if pacesReads, let firstBody {
            HeadWriter.write(bytes, dropping: drop, adding: extra) { client.write($0) }
            deliver(firstBody)
            return
        }
        let bodyBytes = firstBody?.readableBytes ?? 0
        clientBodyBytes += bodyBytes
        if bytes.readableBytes + bodyBytes <= Self.coalesceLimit {
            var out = client.allocator.buffer(capacity: bytes.readableBytes + (extra?.readableBytes ?? 0) + bodyBytes)
            HeadWriter.write(bytes, dropping: drop, adding: extra) { piece in
                var piece = piece
                out.writeBuffer(&piece)
            }
            if var firstBody { out.writeBuffer(&firstBody) }
            client.write(out)
        } else {
            HeadWriter.write(bytes, dropping: drop, adding: extra) { client.write($0) }
            if let firstBody { client.write(firstBody) }
        }
    }

    /// The head of a resumed download: it must be the same object, from exactly where the client is.
    private func continueResumed(
        _ attempt: Attempt, _ response: ResponseHead, framing: BodyFraming, offset: Int, total: Int, firstBody: ByteBuffer?
    ) {
        // Exactly the missing bytes, framed so that their end can be told from a cut: a part of
        // another length would leave the client short, or hand it bytes of the next message.
        let framedExactly = framing == .length(total - offset) || framing == .chunked
        guard response.status == 206, let range = response.contentRange, range.first == offset, range.last == total - 1,
            range.total == nil || range.total == total, framedExactly
        else {
            worker.logger.warning(
                "cannot resume download: the object changed or the node refused the range; closing the client connection",
                metadata: ["request-id": "\(requestID)", "status": "\(response.status)", "node": "\(attempt.backend.url)"])
            abortClient()
            return
        }
        attempt.pool.record(.success, node: attempt.node, firstByte: nil, at: .now())
        worker.logger.info(
            "download resumed on another node",
            metadata: ["request-id": "\(requestID)", "from-byte": "\(offset)", "node": "\(attempt.backend.url)"])
        win(attempt)
        if let firstBody { nodeBody(attempt, firstBody) }
    }

    func nodeBody(_ attempt: Attempt, _ bytes: ByteBuffer) {
        guard !finished, attempt === winner else { return }
        if case .resume = attempt.kind { resumedBytes += bytes.readableBytes }
        if sniffsErrorCode { sniffErrorCode(bytes) }
        deliver(bytes)
    }

    /// Response body bytes to the client: at once, or when the tenant's read bandwidth has paid for them.
    private func deliver(_ bytes: ByteBuffer) {
        lastActivity = .now()
        clientBodyBytes += bytes.readableBytes
        if pacesReads, let ticket {
            let delay = protection.pace(ticket, .read, bytes: bytes.readableBytes, at: Moment(lastActivity))
            if delay > .milliseconds(1) || !pacedOut.isEmpty {
                let due = lastActivity + TimeAmount(delay)
                pacedOut.hold(bytes, until: due)
                pause(until: due)
                return
            }
        }
        client.write(bytes)
    }

    /// Sends the held response bytes whose time has come; ends the response once the last is out.
    /// Returns when the next one is due.
    private func releasePacedOut(at now: NIODeadline) -> NIODeadline? {
        var wrote = false
        while let piece = pacedOut.popDue(at: now) {
            client.write(piece)
            wrote = true
        }
        if wrote { client.flush() }
        if pacedOut.isEmpty, let keepAlive = endAfterPacedOut {
            endAfterPacedOut = nil
            endResponse(keepAlive: keepAlive)
        }
        return pacedOut.nextDue
    }

    private func sniffErrorCode(_ bytes: ByteBuffer) {
        errorCode = bytes.withUnsafeReadableBytes { ErrorCodeSniffer.code(in: $0) }
        // One look, at the first piece of the body: S3 puts the code in its first bytes.
        sniffsErrorCode = false
    }

    /// Bandwidth pacing: hold reads on the sending side for `delay`, so the stream keeps to the rate.
    private func pace(_ delay: Duration) {
        guard delay > .milliseconds(1) else { return }
        pause(until: NIODeadline.now() + TimeAmount(delay))
    }

    private func pause(until: NIODeadline) {
        pacedUntil = max(pacedUntil ?? until, until)
        client.armTimer(until)
    }

    func nodeReadComplete() { client.flush() }

    func nodeEnd(_ attempt: Attempt) {
        guard !finished, attempt === winner, let connection = attempt.connection else { return }
        attempt.connection = nil
        connection.detach()
        if attempt.requestSentAt != nil {
            worker.nodes.release(connection, maxIdle: attempt.pool.config.maxIdlePerNode, now: .now())
        } else {
            connection.close()  // the node answered before the request body was all there
        }
        release(attempt)
        if let resumable, clientBodyBytes != resumable.total {
            // A download whose length is known ends cleanly only when exactly that many bytes went out.
            worker.logger.warning(
                "a resumed download did not add up to the object's length; closing the client connection",
                metadata: ["request-id": "\(requestID)", "sent": "\(clientBodyBytes)", "length": "\(resumable.total)"])
            abortClient()
            return
        }
        // A response that ends before its request did leaves the client mid-body: close after it.
        let keepAlive = responseKeepAlive && requestEnded
        if !pacedOut.isEmpty {
            endAfterPacedOut = keepAlive
            return
        }
        endResponse(keepAlive: keepAlive)
    }

    private func endResponse(keepAlive: Bool) {
        responseEndedCleanly = true
        settle()
        client.finishWriting(keepAlive: keepAlive)
        client.exchangeFinished(self, keepAlive: keepAlive)
    }

    func nodeFailed(_ attempt: Attempt, _ failure: NodeFailure) {
        attemptFailed(attempt, failure)
    }

    private func attemptFailed(_ attempt: Attempt, _ failure: NodeFailure) {
        guard !finished, live.contains(where: { $0 === attempt }) else { return }
        live.removeAll { $0 === attempt }
        if let connection = attempt.connection {
            attempt.connection = nil
            connection.close()
        }
        attempt.pool.record(failure.outcome, node: attempt.node, firstByte: nil, at: .now())
        release(attempt)
        lastFailure = failure
        if attempt === winner || responseStarted {
            // Mid-body (the winner), or a resume that did not get going: resume from yet another node.
            if attempt === winner { winner = nil }
            resumeOrAbort(after: failure, from: attempt)
            return
        }
        guard live.isEmpty else { return }  // a hedge may still answer
        switch plan(after: failure.outcome) {
        case .retry(let delay):
            worker.logger.info(
                "attempt failed; retrying on another node",
                metadata: ["request-id": "\(requestID)", "node": "\(attempt.backend.url)", "error": "\(failure)"])
            scheduleRetry(after: delay)
        case .giveUp(let reason):
            fail(Self.error(for: failure, reason: reason))
        }
    }

    private var lastFailure: NodeFailure?

    private func plan(after outcome: AttemptOutcome) -> RetryPlanner.Decision {
        let traits = RetryPlanner.Traits(
            idempotent: request.operation.isIdempotent,
            canResend: !requestHasBody || replay != nil || !bodyLeftGateway,
            responseCommitted: responseStarted)
        return pools[poolCursor].planRetry(
            after: outcome, attempts: attemptsMade, traits: traits, at: .now(), unit: worker.random())
    }

    private func scheduleRetry(after delay: Duration) {
        if delay <= .zero {
            launch(.retry)
        } else {
            let at = NIODeadline.now() + TimeAmount(delay)
            retryAt = at
            client.armTimer(at)
        }
    }

    /// The node serving the response failed mid-body. Continue the same client response from another
    /// node, or end the client connection so the short body shows as an error.
    private func resumeOrAbort(after failure: NodeFailure, from attempt: Attempt) {
        guard let resumable, clientBodyBytes < resumable.total, resumesLeft > 0, pools[poolCursor].withdrawRetryBudget(at: .now())
        else {
            worker.logger.warning(
                "storage node failed mid-response; closing the client connection",
                metadata: ["request-id": "\(requestID)", "node": "\(attempt.backend.url)", "error": "\(failure)"])
            abortClient()
            return
        }
        resumesLeft -= 1
        var resumeHead = client.allocator.buffer(capacity: forwardHead.readableBytes + 128)
        var prefix = forwardHead.getSlice(at: forwardHead.readerIndex, length: forwardHead.readableBytes - 2)!
        resumeHead.writeBuffer(&prefix)
        resumeHead.writeString("Range: bytes=\(clientBodyBytes)-\(resumable.total - 1)\r\nIf-Match: ")
        var etag = resumable.etag
        resumeHead.writeBuffer(&etag)
        resumeHead.writeString("\r\n\r\n")
        worker.logger.info(
            "node failed mid-download; resuming from another node",
            metadata: [
                "request-id": "\(requestID)", "node": "\(attempt.backend.url)", "sent": "\(clientBodyBytes)",
                "error": "\(failure)",
            ])
        launch(.resume(offset: clientBodyBytes, total: resumable.total), head: resumeHead)
        if live.isEmpty { abortClient() }  // no node left to resume from
    }

    private func win(_ attempt: Attempt) {
        winner = attempt
        hedgeAt = nil
        for other in live where other !== attempt { drop(other) }
        live = [attempt]
    }

    /// Abandons an attempt whose answer is not wanted: its connection closes, its node is released.
    private func drop(_ attempt: Attempt) {
        live.removeAll { $0 === attempt }
        if let connection = attempt.connection {
            attempt.connection = nil
            connection.close()
        }
        release(attempt)
    }

    private func release(_ attempt: Attempt) {
        guard !attempt.released else { return }
        attempt.released = true
        attempt.pool.release(attempt.node)
    }

    private func closeAll() {
        for attempt in live { drop(attempt) }
        live.removeAll()
    }

    /// The exchange is over. Attempts hold their exchange strongly (a node connection reaches it
    /// through them), so the references back are cut here; nothing may keep the pair alive.
    private func settle() {
        finished = true
        closeAll()
        winner = nil
        retryAt = nil
        hedgeAt = nil
        if let wait = queued, wait.pool.cancelWait(wait.id) { queued = nil }
        if let ticket {
            protection.finish(ticket)
            self.ticket = nil
        }
        record()
    }

    /// Reports the request to metrics, status counters and the access log, exactly once.
    private func record() {
        guard !recorded else { return }
        recorded = true
        let now = NIODeadline.now()
        let summary =
            RequestSummary(
                requestID: requestID, startedAtUnixMillis: startedAtWallMillis, tenant: identity.tenant, className: identity.className,
                clientAddress: client.remoteIP, operation: request.operation.name, bucket: request.bucket.map(String.init),
                key: request.key, status: responseStatus, errorCode: errorCode, bytesIn: bytesFromClient, bytesOut: clientBodyBytes,
                firstByteNanos: firstByteAt.map { UInt64($0.uptimeNanoseconds - startedAt.uptimeNanoseconds) },
                totalNanos: now.uptimeNanoseconds - startedAt.uptimeNanoseconds, pool: pools[poolCursor].name, attempts: attemptLog,
                retries: retryCount, hedged: wasHedged, hedgeWon: hedgeWon, resumes: resumeCount, resumedBytes: resumedBytes,
                decision: decision, traceID: traceID, aborted: aborted || (responseStarted && !responseEndedCleanly))
        worker.telemetry.record(summary, slot: traffic)
        span?.finish(summary)
    }

    // MARK: - Deadlines

    /// Enforces every time limit of the live attempts and fires due retries and hedges; returns the
    /// next deadline, or nil when nothing is left to watch.
    func checkDeadlines(now: NIODeadline) -> NIODeadline? {
        guard !finished else { return nil }
        var next: NIODeadline?
        func consider(_ d: NIODeadline) { next = next.map { min($0, d) } ?? d }
        if let wait = queued {
            if now >= wait.deadline {
                if wait.pool.cancelWait(wait.id) {
                    queued = nil
                    protection.countShed(identity)
                    shed("no node of pool \(wait.pool.name) had room within \(wait.pool.config.protection.queueTimeout)", retryAfter: .seconds(1))
                    return nil
                }
            } else {
                consider(wait.deadline)
            }
        }
        if !pacedOut.isEmpty {
            if let due = releasePacedOut(at: now) { consider(due) }
            guard !finished else { return nil }
        }
        if let until = pacedUntil {
            if now >= until {
                pacedUntil = nil
                lastActivity = now
                winner?.connection?.resumeReads()
                client.resumeReads()
            } else {
                consider(until)
                lastActivity = now  // pausing on purpose is not a stall
            }
        }
        let t = route.timeouts
        for attempt in live where attempt.connection != nil {
            if attempt.answeredAt == nil, let sent = attempt.requestSentAt {
                let d = sent + TimeAmount(t.firstByte)
                if now >= d {
                    attemptFailed(attempt, .timeout("the node sent no response within \(t.firstByte)"))
                    continue
                }
                consider(d)
            }
            let total = attempt.startedAt + TimeAmount(t.attempt)
            if now >= total {
                attemptFailed(attempt, .timeout("the attempt took longer than \(t.attempt)"))
                continue
            }
            consider(total)
        }
        guard !finished else { return nil }
        let idle = lastActivity + TimeAmount(t.idle)
        if now >= idle, !live.isEmpty {
            // Whoever the gateway is waiting on has stalled: a client that stopped sending or
            // reading ends its own request; only a node that stopped counts against the node.
            if let stall = clientStall {
                endForClient(stall)
                return nil
            }
            if let attempt = winner ?? live.last {
                attemptFailed(attempt, .timeout("no data moved for \(t.idle)"))
            }
            guard !finished else { return nil }
        } else {
            consider(idle)
        }
        if http.minClientRate > 0 {
            let windowEnd = rateWindowStart + TimeAmount(http.minRateWindow)
            if now >= windowEnd {
                let moved = bytesFromClient + clientBodyBytes - rateWindowBytes
                if let stall = clientStall, Double(moved) < Double(http.minClientRate) * http.minRateWindow.seconds {
                    endForClient(stall + " (below \(http.minClientRate) bytes a second)")
                    return nil
                }
                rateWindowStart = now
                rateWindowBytes = bytesFromClient + clientBodyBytes
                consider(now + TimeAmount(http.minRateWindow))
            } else {
                consider(windowEnd)
            }
        }
        if let at = retryAt {
            if now >= at {
                retryAt = nil
                launch(.retry)
            } else {
                consider(at)
            }
        }
        if let at = hedgeAt, winner == nil, !hedged {
            if now >= at {
                hedgeAt = nil
                hedged = true
                if live.count == 1, pools[poolCursor].withdrawRetryBudget(at: Moment(now)) {
                    worker.logger.debug("hedging a slow read", metadata: ["request-id": "\(requestID)"])
                    launch(.hedge)
                }
            } else {
                consider(at)
            }
        }
        return finished ? nil : next
    }

    // MARK: - Endings

    /// What the client is failing to do, when the gateway is waiting on the client right now.
    private var clientStall: String? {
        if !requestEnded, pacedUntil == nil, let connection = bodyConnection, connection.isWritable {
            return "the client stopped sending its body"
        }
        if winner != nil, responseStarted, pacedOut.isEmpty, !client.isWritable { return "the client stopped reading the response" }
        return nil
    }

    /// The client stalled: its request ends, without touching node health or the retry budget.
    private func endForClient(_ why: String) {
        worker.logger.info("client stalled; ending its request", metadata: ["request-id": "\(requestID)", "why": "\(why)"])
        if responseStarted {
            abortClient()
        } else {
            closeAll()
            fail(S3Error(.requestTimeout, "Your socket connection to the server was not read from or written to within the timeout period: \(why)."))
        }
    }

    /// Answers with an S3 error. Only valid before the response head went out.
    private func fail(_ error: S3Error) {
        guard !finished else { return }
        guard !responseStarted else {
            abortClient()  // the client is mid-body: an error response now would corrupt it
            return
        }
        responseStarted = true
        responseStatus = error.code.status
        errorCode = error.code.rawValue
        firstByteAt = .now()
        responseEndedCleanly = true
        settle()
        // Sheds and refusals were logged (throttled) where they were decided.
        if decision != "shed" && decision != "refused" {
            worker.logger.warning(
                "request failed",
            metadata: [
                "request-id": "\(requestID)", "code": "\(error.code.rawValue)", "operation": "\(request.operation)",
                "pool": "\(pools[poolCursor].name)", "message": "\(error.message)",
            ])
        }
        let keepAlive = requestEnded && head.keepAlive && !client.willCloseAfterExchange
        let path = String(RequestClassifier.split(target).path)
        client.writeError(error, resource: path, requestID: requestID, close: !keepAlive)
        client.exchangeFinished(self, keepAlive: keepAlive)
    }

    private func abortClient() {
        aborted = true
        settle()
        client.abort()
    }

    private static func noNodeError(pool: String, after failure: NodeFailure?) -> S3Error {
        if let failure { return error(for: failure, reason: .attemptsExhausted) }
        return S3Error(.serviceUnavailable, "No storage node in pool '\(pool)' could take the request.", retryAfterSeconds: 1)
    }

    private static func error(for failure: NodeFailure, reason: RetryPlanner.Reason) -> S3Error {
        let why = "(\(reason.rawValue.replacingOccurrences(of: "_", with: " ")))"
        switch failure {
        case .connect:
            return S3Error(.serviceUnavailable, "No storage node could take the request \(why).", retryAfterSeconds: 1)
        case .timeout(let what):
            return S3Error(.gatewayTimeout, "The storage node did not answer in time: \(what) \(why).")
        case .closedByNode, .io, .malformedResponse:
            return S3Error(.badGateway, "The storage node failed before answering: \(failure) \(why).")
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

/// A route's pools in order of preference, read through the state's pool list, so that a request
/// builds no array of its own.
struct RoutePools {
    let all: [PoolRuntime]
    let order: [Int]
    /// Writes use the first pool only.
    let count: Int

    subscript(i: Int) -> PoolRuntime { all[order[i]] }
}
