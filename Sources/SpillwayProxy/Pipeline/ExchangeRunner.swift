import Logging
import NIOCore
import SpillwayConfig
import SpillwayExchange
import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3

/// Runs one request's `ExchangeMachine` on its client connection's event loop. The sockets report
/// to it (client body, node head, a deadline); it tells the machine, with the time, and does what
/// the machine says (`ExchangeRunner+Actions`). It holds the bytes, the attempts' connections and
/// the calls into shared state (pools, limits, telemetry), and decides nothing itself.
///
/// Node connections share the client's event loop, so bytes move by function call, as slices of
/// the buffers they arrived in.
final class ExchangeRunner {
    let context: RequestContext
    let worker: Worker
    let sink: ResponseSink
    let source: RequestSource
    var machine: ExchangeMachine
    var upstream: PassThroughRequest
    /// The live attempts' links to their nodes (at most two: an attempt and its hedge).
    var links = AttemptLinks()
    /// Body bytes kept for a resend, and those not yet sent (no attempt could take them yet).
    var replay: CircularBuffer<ByteBuffer>?
    var unsent: CircularBuffer<ByteBuffer>?
    /// Response bytes held by read pacing until their bytes are paid for.
    var held: CircularBuffer<ByteBuffer>?
    /// The response head, written with the first body bytes in one buffer when they are small.
    var pendingHead: ByteBuffer?
    var chain: ChunkSignatureVerifier?
    /// The trailing checksum of an upload decoded for its pool, which Spillway checks itself.
    var checksum: TrailingChecksumCheck?
    /// The data of a `Transfer-Encoding: chunked` body, for the checks above.
    var unframing: ChunkedData?
    /// For routes with pools Spillway signs for: the request as verified, and how its body goes to each.
    var resign: ResignPlan?
    var ticket: Protection.Ticket?
    var queueWait: (pool: PoolRuntime, id: UInt64)?
    /// The node answered with an error: its S3 code is read from the body as it passes.
    var sniffsErrorCode = false
    var nodeErrorCode: String?
    /// Served from a coalesced flight, or trying to be (`ExchangeRunner+Flight`).
    var flightRead: FlightRead?
    /// The body comes in ranged parts from several nodes (`SplitTransfer`).
    var split: SplitTransfer?
    /// The verdict of admission, kept for a request that may yet be fetched on its own.
    var verdict = ExchangeVerdict.admitted(pacesReads: false, pacesWrites: false)
    /// This exchange is a flight's fetch: its readers are the requests, so it records none itself.
    let isFetch: Bool
    /// A fetch's response `Content-Length`: whether a flight of a range can hold its answer whole.
    var fetchedLength: Int?
    var recorded = false
    lazy var requestID = worker.nextRequestID()

    init(context: consuming RequestContext, worker: Worker, sink: ResponseSink, source: RequestSource, isFetch: Bool = false, now: NIODeadline) {
        let plan = context.plan()
        let hedgeDelay = plan.isRead && !plan.hasBody ? context.pools[0].hedgeDelay(at: Moment(now)) : nil
        upstream = PassThroughRequest(forwarded: context.forwardHead)
        self.context = context
        self.worker = worker
        self.sink = sink
        self.source = source
        self.isFetch = isFetch
        machine = ExchangeMachine(plan: plan, hedgeDelay: hedgeDelay, at: Moment(now))
        if machine.keepsBodyForReplay { replay = CircularBuffer(initialCapacity: 4) }
    }

    convenience init(context: consuming RequestContext, worker: Worker, client: ClientConnection, now: NIODeadline) {
        self.init(context: context, worker: worker, sink: client, source: client, now: now)
    }

    var now: NIODeadline { worker.eventLoop.now }

    // MARK: - Start

    /// Verifies the signature and admits the request, then hands the verdict to the machine.
    func start() {
        let now = self.now
        let verdict = admit(at: Moment(now))
        self.verdict = verdict
        if case .admitted(let pacesReads, _) = verdict {
            context.pools[0].depositRetryBudget(at: Moment(now))
            // A tenant whose reads are paced gets its own fetch, so its pace holds.
            if !pacesReads, let key = flightKey(), readFromFlight(key, at: now) { return }
        }
        run(machine.start(verdict, limited: context.protection.isActive, at: Moment(now)), at: now)
    }

    /// Fetches on its own after all (no flight to join, or the flight went on without it).
    func runAlone(at now: NIODeadline) {
        run(machine.start(verdict, limited: context.protection.isActive, at: Moment(now)), at: now)
    }

    private func admit(at now: Moment) -> ExchangeVerdict {
        if context.ambiguousCredential { return .refused(refusal(.malformed("the credential is given twice"), at: now)) }
        if context.protection.config.identity.verifySignatures {
            switch SignatureCheck.verify(context, at: WallClock.millis() / 1000, keys: &worker.signingKeys) {
            case .success(let (verified, signing)):
                // The tenant charged is the tenant verified.
                guard context.claimedKey.map({ $0 == verified.accessKey }) ?? false else {
                    return .refused(refusal(.malformed("the credential is ambiguous"), at: now))
                }
                chain = verified.streaming
                if let error = AccessCheck.refusal(context) ?? planResigning(signing) { return .refused(refused(error, at: now)) }
            case .failure(let failure):
                return .refused(refusal(failure, at: now))
            }
        } else if let error = AccessCheck.refusal(context) {
            return .refused(refused(error, at: now))
        }
        guard context.protection.isActive else { return .admitted(pacesReads: false, pacesWrites: false) }
        let protection = context.protection
        switch protection.admit(context.identity, operation: context.request.operation.operationClass, bucket: context.request.bucket, at: now) {
        case .shed(let retryAfter, let reason):
            if let held = worker.shedLog.admit(at: now) {
                worker.logger.info(
                    "request shed",
                    metadata: [
                        "request-id": "\(requestID)", "tenant": "\(context.identity.tenant)", "class": "\(context.identity.className)",
                        "why": "\(reason)", "unlogged-since": "\(held)",
                    ])
            }
            let seconds = max(1, Int(retryAfter.seconds.rounded(.up)))
            return .shed(S3Error(.slowDown, "Please reduce your request rate: \(reason).", retryAfterSeconds: seconds))
        case .admitted(let ticket):
            self.ticket = ticket
            return .admitted(pacesReads: protection.paces(ticket, .read), pacesWrites: protection.paces(ticket, .write))
        }
    }

    private func refusal(_ failure: SigV4Verifier.Failure, at now: Moment) -> S3Error { refused(failure.error, why: "\(failure)", at: now) }

    /// `error`, logged at most as often as the refusal log allows.
    private func refused(_ error: S3Error, why: String? = nil, at now: Moment) -> S3Error {
        if let held = worker.refusalLog.admit(at: now) {
            worker.logger.notice(
                "request refused at the edge",
                metadata: [
                    "request-id": "\(requestID)", "tenant": "\(context.identity.tenant)", "why": "\(why ?? error.message)",
                    "unlogged-since": "\(held)",
                ])
        }
        return error
    }

    /// Decides how the request goes to each of its credentialed pools (nil: it can go to all), and
    /// sets the body checks those ways need.
    private func planResigning(_ signing: SigningRequest) -> S3Error? {
        switch ResignPlan.make(signing, context) {
        case .none: return nil
        case .failure(let error): return error
        case .success(let plan):
            resign = plan
            if let first = plan.decisions[0], let policy = context.pools[0].policy.signing {
                switch first.body {
                case .resignedChunks: chain?.limitChunks(to: policy.maxChunkSize)
                case .decoded: checksum = plan.source.trailerChecksum.map { TrailingChecksumCheck(algorithm: $0) }
                case .asSent: break
                }
            }
            return nil
        }
    }

    // MARK: - The client's side

    /// Body bytes from the client; `last` when they end the request's framing.
    func clientBody(_ bytes: ByteBuffer, last: Bool) {
        let now = self.now
        let check = chain == nil && checksum == nil ? .ok : checkBody(bytes, last: last)
        var pace: Duration?
        if machine.pacesWrites, let ticket {
            pace = context.protection.pace(ticket, .write, bytes: bytes.readableBytes, at: Moment(now))
        }
        let action = machine.clientBody(bytes.readableBytes, last: last, chain: check, paceDelay: pace, at: Moment(now))
        run(action, at: now, body: bytes)
    }

    /// The verified chunk chain and the trailing checksum, over these bytes of the body (its data,
    /// when the client framed it with `Transfer-Encoding: chunked`).
    private func checkBody(_ bytes: ByteBuffer, last: Bool) -> ExchangeMachine.ChainCheck {
        do throws(AwsChunkedParser.Problem) {
            if case .chunked = context.head.bodyFraming, unframing == nil { unframing = ChunkedData() }
            for piece in try unframing?.data(in: bytes) ?? [bytes] {
                let problem = piece.withUnsafeReadableBytes { b -> AwsChunkedParser.Problem? in
                    do throws(AwsChunkedParser.Problem) {
                        try chain?.consume(b)
                        try checksum?.consume(b)
                        return nil
                    } catch {
                        return error
                    }
                }
                if let problem { throw problem }
            }
        } catch {
            return .init(error)
        }
        let incomplete = chain.map { !$0.isComplete } ?? false || checksum.map { !$0.isComplete } ?? false
        return last && incomplete ? .cutShort : .ok
    }

    func clientEnd() { run(machine.clientEnd(at: Moment(now)), at: now) }

    func clientReadComplete() {
        if let target = machine.bodyTarget { links[target]?.connection?.flush() }
    }

    func clientBrokeFraming() { run(machine.clientBrokeFraming(at: Moment(now)), at: now) }

    func clientClosed() {
        if flightClientClosed() { return }
        run(machine.clientClosed(at: Moment(now)), at: now)
    }

    func sinkBecameWritable() {
        flightRead?.ack()
        split?.deliver()
        links.forEach { $0.connection?.resumeReads() }
    }

    /// Whether the client connection should read now.
    var wantsClientBytes: Bool {
        machine.wantsClientBytes(targetWritable: machine.bodyTarget.flatMap { links[$0]?.connection?.isWritable } ?? false)
    }

    var isResponding: Bool { machine.isResponding || flightRead?.headWritten == true }

    // MARK: - The node's side

    func nodeInterim(_ link: AttemptLink, _ head: ResponseHead, _ bytes: ByteBuffer) {
        run(machine.nodeInterim(link.id, status: head.status, at: Moment(now)), at: now, response: (head, bytes))
    }

    func nodeHead(_ link: AttemptLink, _ head: ResponseHead, _ bytes: ByteBuffer, framing: BodyFraming) {
        let now = self.now
        let response = NodeResponse(
            status: head.status, framing: framing, contentLength: head.contentLength, hasETag: head.etag != nil,
            contentRange: head.contentRange, retryAfterSeconds: head.retryAfterSeconds)
        run(machine.nodeHead(link.id, response, at: Moment(now)), at: now, response: (head, bytes))
    }

    func nodeBody(_ link: AttemptLink, _ bytes: ByteBuffer) {
        let now = self.now
        var pace: Duration?
        if machine.pacesReads, let ticket {
            pace = context.protection.pace(ticket, .read, bytes: bytes.readableBytes, at: Moment(now))
        }
        if sniffsErrorCode {
            // One look, at the first piece of the body: S3 puts the code in its first bytes.
            nodeErrorCode = bytes.withUnsafeReadableBytes { ErrorCodeSniffer.code(in: $0) }
            sniffsErrorCode = false
        }
        run(machine.nodeBody(link.id, bytes.readableBytes, paceDelay: pace, at: Moment(now)), at: now, body: bytes)
    }

    func nodeEnd(_ link: AttemptLink) { run(machine.nodeEnd(link.id, at: Moment(now)), at: now) }

    func nodeFailed(_ link: AttemptLink, _ failure: NodeFailure) {
        if case .connect = failure {
            worker.logger.warning(
                "cannot connect to storage node",
                metadata: ["node": "\(link.backend.url)", "pool": "\(link.pool.name)", "error": "\(failure)"])
        }
        run(machine.attemptFailed(link.id, failure, at: Moment(now)), at: now)
    }

    func nodeReadComplete() {
        flushPendingHead()
        sink.flush()
    }

    func nodeBecameWritable() { source.resumeReads() }

    /// Whether `link`'s node connection may read now (only the attempt streaming to the client
    /// waits for it).
    func nodeMayRead(_ link: AttemptLink) -> Bool { machine.nodeMayRead(link.id, clientWritable: sink.isWritable) }

    // MARK: - Deadlines

    /// Enforces every deadline that is due, and returns the next one (nil: none armed).
    func checkDeadlines() -> NIODeadline? {
        var rounds = 0
        while rounds < 16 {
            rounds += 1
            let now = self.now
            let target = machine.bodyTarget.flatMap { links[$0]?.connection?.isWritable } ?? false
            let action = machine.tick(at: Moment(now), sockets: .init(clientWritable: sink.isWritable, targetWritable: target))
            if action == .none { break }
            run(action, at: now)
        }
        return machine.nextDeadline.map { NIODeadline.uptimeNanoseconds($0.nanoseconds) }
    }

    // MARK: - The end

    /// Reports the request to metrics, status counters, the access log and the trace, exactly once.
    func record(at now: NIODeadline) {
        // A follower's passed trial is not the request; what follows it is.
        if let read = flightRead, read.phase == .probing, read.passedTrial { return }
        record(machine.log, at: now)
    }

    func record(_ log: ExchangeLog, at now: NIODeadline) {
        guard !recorded else { return }
        recorded = true
        if let ticket { context.protection.finish(ticket) }
        ticket = nil
        let pool = context.pools[log.cursor]
        let summary = RequestSummary(context: context, log: log, pools: context.pools, requestID: requestID,
                                     errorCode: log.errorCode ?? nodeErrorCode, poolName: pool.name, now: now)
        if isFetch {
            worker.telemetry.fetched(summary, slot: context.traffic)
        } else {
            worker.telemetry.record(summary, slot: context.traffic)
        }
        context.span?.finish(summary)
    }
}

/// One attempt's hold on a node: which pool and node it reserved (given back exactly once), and
/// the connection it uses. The node connection reports to the runner through it.
final class AttemptLink {
    let id: AttemptID
    let runner: ExchangeRunner
    let pool: PoolRuntime
    let node: Int
    var connection: NodeConnection?
    /// What the attempt does to the body on its way (re-signing or decoding for a credentialed pool).
    var transform: BodyTransform?
    /// The node's in-flight count was lowered for this attempt.
    var released = false

    init(id: AttemptID, runner: ExchangeRunner, pool: PoolRuntime, node: Int) {
        self.id = id
        self.runner = runner
        self.pool = pool
        self.node = node
    }

    var backend: BackendRuntime { pool.backends[node] }
}

/// The live links of an exchange: at most two, kept in two slots so a request builds no array.
struct AttemptLinks {
    private var a: AttemptLink?
    private var b: AttemptLink?

    subscript(id: AttemptID) -> AttemptLink? { a?.id == id ? a : b?.id == id ? b : nil }

    mutating func insert(_ link: AttemptLink) {
        if a == nil { a = link } else { b = link }
    }

    mutating func remove(_ id: AttemptID) -> AttemptLink? {
        if a?.id == id { defer { a = nil }; return a }
        if b?.id == id { defer { b = nil }; return b }
        return nil
    }

    mutating func removeAll() -> (AttemptLink?, AttemptLink?) {
        defer { a = nil; b = nil }
        return (a, b)
    }

    func forEach(_ body: (AttemptLink) -> Void) {
        if let a { body(a) }
        if let b { body(b) }
    }
}
