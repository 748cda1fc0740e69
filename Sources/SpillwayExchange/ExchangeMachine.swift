import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3

/// One request's decisions, from admission to its last byte, with no I/O and no clock reads: the
/// data plane feeds it events (client body, node head, a deadline) with the time, and does what the
/// returned action says (async-http-client's `HTTPRequestStateMachine`, Hummingbird's connection
/// state machine). Bytes never pass through it, only their counts, so it costs nothing per byte.
///
/// The stage is an enum, so what cannot happen cannot be represented: no winner before a response,
/// no response without one source, nothing after the end. Invariants:
/// - a retry, hedge or resume is decided by `RecoveryPlanner` alone, from the operation's traits;
/// - once response bytes went to the client, a failure either resumes the same object exactly, or
///   ends the client connection without a clean end of message;
/// - a client that stalls ends its own request; only a stalled node counts against the node.
public struct ExchangeMachine: ~Copyable, Sendable {
    public let plan: ExchangePlan
    public internal(set) var log = ExchangeLog()

    enum Stage: Sendable, Equatable {
        /// Before `start`.
        case created
        /// No response byte has gone to the client: attempts are out, or one is being found.
        case attempting(Attempts)
        /// The response is going to the client.
        case responding(Response)
        case finished

        // Matched, not compared: `==` on the stage would copy its payload at every event.
        var isFinished: Bool { if case .finished = self { true } else { false } }
        var isCreated: Bool { if case .created = self { true } else { false } }
    }

    struct AttemptState: Sendable, Equatable {
        enum Phase: Sendable, Equatable {
            case connecting
            /// Connected; the request body is still arriving from the client.
            case sending
            /// The whole request is out; its head is awaited since this moment.
            case waiting(since: Moment)
            /// The head arrived.
            case answered
        }

        let id: AttemptID
        let kind: AttemptKind
        let cursor: Int
        let node: Int
        let startedAt: Moment
        var phase: Phase
    }

    /// Finding a node for the next attempt: one search at a time.
    enum Search: Sendable, Equatable {
        case none
        /// `acquire` was asked; its answer comes next.
        case acquiring(AttemptKind)
        case queued(AttemptKind, deadline: Moment)
        case backingOff(until: Moment)
    }

    struct Attempts: Sendable, Equatable {
        /// The first attempt (or the retry that replaced it), and a hedge racing it.
        var primary: AttemptState?
        var hedge: AttemptState?
        var search: Search = .none
        var hedgeAt: Moment?
    }

    struct Response: Sendable, Equatable {
        enum Source: Sendable, Equatable {
            /// The body comes from this attempt.
            case streaming(AttemptState)
            /// Its node failed mid-body: a resume is being found, or connecting, or awaiting its head.
            case resuming(Search, AttemptState?)
            /// The node finished; held bytes are still paced out, then the response ends.
            case complete(keepAlive: Bool)
            /// The body comes in ranged parts from several nodes, fetched and put in order by the
            /// runner (a split download); the machine keeps the client's deadlines.
            case split
        }

        var keepAlive: Bool
        /// The object's length, when the download can be resumed exactly (a 200 with a length and an
        /// ETag, for a GET of the whole object); a response of known length must end at exactly it.
        var total: Int?
        var sent = 0
        var source: Source
    }

    /// What a round trip to the planner was asked about.
    enum Pending: Sendable, Equatable {
        case none
        case failed(NodeFailure)
        /// The node answered with an error status; if no retry, it goes to the client.
        case errorHead(AttemptID, NodeResponse)
        case slowRead
        case cutMidBody
    }

    var stage = Stage.created
    var pending = Pending.none
    var upload: Upload
    /// The route's pool attempts go to now (reads fail over along the route), and the nodes of it tried.
    var cursor = 0
    var tried: UInt64 = 0
    var attemptsMade = 0
    var lastFailure: NodeFailure?
    public internal(set) var pacesReads = false
    public internal(set) var pacesWrites = false
    /// Reads on both sides pause until then (bandwidth pacing).
    var pausedUntil: Moment?
    /// When each held response piece may go, in order (only under read pacing).
    var held: [Moment] = []
    var lastActivity: Moment
    var rateWindowStart: Moment
    var rateWindowBytes = 0
    /// When the read gets a hedge, if it has not answered by then (the pool's recent percentile).
    let hedgeDelay: Nanos?
    /// Never read. An existential makes the machine an address-only type, so every question the
    /// runner asks it (its next deadline, the body's target, may a node read: several per event)
    /// takes the machine where it lies in the runner. A loadable struct this size (about 700
    /// bytes) stored in a class is copied to the stack for each such call instead, which was most
    /// of the `memmove` in a small request's profile.
    private let passedByAddress: (any Sendable)? = nil

    struct Upload: Sendable, Equatable {
        var ended: Bool
        var received = 0
        /// Every body byte so far is held, so the request can be sent again in full.
        var replay: Bool
        /// Some body bytes were written to a node.
        var leftGateway = false
        var sentContinue = false
    }

    public init(plan: ExchangePlan, hedgeDelay: Duration? = nil, at now: Moment) {
        self.plan = plan
        self.hedgeDelay = plan.isRead && !plan.hasBody ? hedgeDelay.map(Nanos.init) : nil
        upload = Upload(ended: !plan.hasBody, replay: plan.bodyFitsReplay)
        lastActivity = now
        rateWindowStart = now
    }

    // MARK: - Queries

    public var isFinished: Bool { stage.isFinished }

    /// The response head went to the client (an error now can only cut the connection).
    public var isResponding: Bool {
        if case .responding = stage { return true }
        return false
    }

    /// The object's length, once the response is one that can be resumed exactly (a `200` with a
    /// length and an ETag, for a GET of the whole object).
    public var resumableLength: Int? {
        if case .responding(let r) = stage { return r.total }
        return nil
    }

    /// The pool (by route position) and node of the attempt streaming the response.
    public var streamingTarget: (cursor: Int, node: Int)? {
        guard case .responding(let r) = stage, case .streaming(let a) = r.source else { return nil }
        return (a.cursor, a.node)
    }

    /// Whether client body bytes are being kept for a resend (the runner drops its copy when not).
    public var keepsBodyForReplay: Bool { upload.replay }

    /// The attempt that client body bytes go to now: the newest one that is connected and sending.
    public var bodyTarget: AttemptID? {
        guard case .attempting(let a) = stage else { return nil }
        if let hedge = a.hedge, hedge.phase == .sending { return hedge.id }
        if let primary = a.primary, primary.phase == .sending { return primary.id }
        return nil
    }

    /// Whether the client connection should read now, given whether the body target's connection
    /// can take bytes. After the request ended it keeps reading, so a client that goes away is
    /// noticed at once.
    public func wantsClientBytes(targetWritable: Bool) -> Bool {
        if upload.ended || stage.isFinished { return true }
        if pausedUntil != nil { return false }
        return bodyTarget != nil && targetWritable
    }

    /// Whether the attempt's node connection may read now. Only the attempt streaming to the client
    /// waits for the client (and for pacing); the others read their heads at once.
    public func nodeMayRead(_ id: AttemptID, clientWritable: Bool) -> Bool {
        guard case .responding(let r) = stage, case .streaming(let a) = r.source, a.id == id else { return true }
        return clientWritable && pausedUntil == nil
    }

    /// The pool (by its place in the route) and node of a live attempt.
    public func target(of id: AttemptID) -> (cursor: Int, node: Int, kind: AttemptKind)? {
        live(id).map { ($0.cursor, $0.node, $0.kind) }
    }

    /// The next moment `tick` must be called; nil when no deadline is armed.
    public var nextDeadline: Moment? {
        var next: Moment?
        func consider(_ m: Moment?) { if let m { next = next.map { min($0, m) } ?? m } }
        switch stage {
        case .created, .finished:
            return nil
        case .attempting(let a):
            consider(a.search.deadline)
            consider(a.hedgeAt)
            if let primary = a.primary { consider(deadline(of: primary)) }
            if let hedge = a.hedge { consider(deadline(of: hedge)) }
        case .responding(let r):
            switch r.source {
            case .streaming(let attempt): consider(deadline(of: attempt))
            case .resuming(let search, let attempt):
                consider(search.deadline)
                if let attempt { consider(deadline(of: attempt)) }
            case .complete: break
            case .split: consider(lastActivity + plan.timeouts.idle)
            }
        }
        consider(held.first)
        consider(pausedUntil)
        if hasLiveAttempt { consider(lastActivity + plan.timeouts.idle) }
        if plan.minClientRate > 0 { consider(rateWindowStart + plan.minRateWindow) }
        return next
    }

    // MARK: - Helpers

    func deadline(of attempt: AttemptState) -> Moment {
        let total = attempt.startedAt + plan.timeouts.attempt
        if case .waiting(let since) = attempt.phase { return min(total, since + plan.timeouts.firstByte) }
        return total
    }

    func live(_ id: AttemptID) -> AttemptState? {
        switch stage {
        case .attempting(let a):
            if a.primary?.id == id { return a.primary }
            if a.hedge?.id == id { return a.hedge }
        case .responding(let r):
            if case .streaming(let s) = r.source, s.id == id { return s }
            if case .resuming(_, let s) = r.source, let s, s.id == id { return s }
        default: break
        }
        return nil
    }

    var hasLiveAttempt: Bool {
        switch stage {
        case .attempting(let a): return a.primary != nil || a.hedge != nil
        case .responding(let r):
            switch r.source {
            case .streaming: return true
            case .resuming(_, let attempt): return attempt != nil
            case .complete, .split: return false
            }
        default: return false
        }
    }

    /// The traits the planner judges this request by, now.
    var traits: RecoveryPlanner.Traits {
        RecoveryPlanner.Traits(
            idempotent: plan.idempotent, isRead: plan.isRead,
            canResend: !plan.hasBody || upload.replay || !upload.leftGateway, responseCommitted: isResponding)
    }
}

extension ExchangeMachine.Search {
    var deadline: Moment? {
        switch self {
        case .queued(_, let deadline): deadline
        case .backingOff(let until): until
        case .none, .acquiring: nil
        }
    }
}

/// What the machine needs of a node's response head.
public struct NodeResponse: Sendable, Equatable {
    public var status: Int
    public var framing: BodyFraming
    public var contentLength: Int?
    public var hasETag: Bool
    public var contentRange: (first: Int, last: Int, total: Int?)?
    public var retryAfterSeconds: Int?

    public init(
        status: Int, framing: BodyFraming, contentLength: Int? = nil, hasETag: Bool = false,
        contentRange: (first: Int, last: Int, total: Int?)? = nil, retryAfterSeconds: Int? = nil
    ) {
        self.status = status
        self.framing = framing
        self.contentLength = contentLength
        self.hasETag = hasETag
        self.contentRange = contentRange
        self.retryAfterSeconds = retryAfterSeconds
    }

    public init(_ head: ResponseHead, requestWasHEAD: Bool) {
        self.init(
            status: head.status, framing: head.bodyFraming(requestWasHEAD: requestWasHEAD), contentLength: head.contentLength,
            hasETag: head.etag != nil, contentRange: head.contentRange, retryAfterSeconds: head.retryAfterSeconds)
    }

    public static func == (a: NodeResponse, b: NodeResponse) -> Bool {
        a.status == b.status && a.framing == b.framing && a.contentLength == b.contentLength && a.hasETag == b.hasETag
            && a.contentRange?.first == b.contentRange?.first && a.contentRange?.last == b.contentRange?.last
            && a.contentRange?.total == b.contentRange?.total && a.retryAfterSeconds == b.retryAfterSeconds
    }
}
