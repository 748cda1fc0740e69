import SpillwayPolicy
import SpillwayS3

/// What an exchange knows about its request before it starts, and the policies it runs under:
/// everything the machine decides from that does not change while it runs. Built by the data
/// plane from the request head, the route and the pool (all compiled from the config once).
public struct ExchangePlan: Sendable, Equatable {
    /// The S3 operation's traits (retry, hedge and resume safety are judged from these).
    public var idempotent: Bool
    public var isRead: Bool
    public var isHEAD: Bool
    /// The request has a body; its declared length when it has one (nil for chunked).
    public var hasBody: Bool
    public var bodyLength: Int?
    /// Request bodies up to this many bytes are held so the request can be sent again.
    public var replayLimit: Int
    /// The client asked for `100 Continue`.
    public var expectsContinue: Bool
    /// The client may keep its connection: HTTP/1.1 without `Connection: close`, or HTTP/1.0 with keep-alive.
    public var clientKeepAlive: Bool
    public var clientIsHTTP10: Bool
    /// A download of the whole object: a GET without its own `Range` or conditions (a resume must
    /// add them, and a client's own ones may be signed).
    public var wholeObjectGET: Bool
    /// Pools of the route a request may fail over along (reads: all of them; writes: the first).
    public var poolCount: Int
    /// The first pool caps requests in flight per node: a request may wait in its queue.
    public var mayQueue: Bool
    public var queueTimeout: Nanos
    public var timeouts: Deadlines
    public var recovery: RecoveryPlanner.Policy
    /// The client must move at least this many bytes a second over `minRateWindow` while the
    /// exchange waits on it (0: no minimum).
    public var minClientRate: Int
    public var minRateWindow: Nanos

    public typealias Deadlines = AttemptDeadlines

    public init(
        idempotent: Bool = true, isRead: Bool = true, isHEAD: Bool = false, hasBody: Bool = false, bodyLength: Int? = nil,
        replayLimit: Int = 8 << 20, expectsContinue: Bool = false, clientKeepAlive: Bool = true, clientIsHTTP10: Bool = false,
        wholeObjectGET: Bool = false, poolCount: Int = 1, mayQueue: Bool = false, queueTimeout: Duration = .seconds(2),
        timeouts: Deadlines = .init(), recovery: RecoveryPlanner.Policy = .init(), minClientRate: Int = 0,
        minRateWindow: Duration = .seconds(30)
    ) {
        self.idempotent = idempotent
        self.isRead = isRead
        self.isHEAD = isHEAD
        self.hasBody = hasBody
        self.bodyLength = bodyLength
        self.replayLimit = replayLimit
        self.expectsContinue = expectsContinue
        self.clientKeepAlive = clientKeepAlive
        self.clientIsHTTP10 = clientIsHTTP10
        self.wholeObjectGET = wholeObjectGET
        self.poolCount = max(1, poolCount)
        self.mayQueue = mayQueue
        self.queueTimeout = Nanos(queueTimeout)
        self.timeouts = timeouts
        self.recovery = recovery
        self.minClientRate = minClientRate
        self.minRateWindow = Nanos(minRateWindow)
    }

    /// Whether the body can be held whole for a resend (chunked bodies are held until they outgrow the limit).
    var bodyFitsReplay: Bool { hasBody && replayLimit > 0 && (bodyLength.map { $0 <= replayLimit } ?? true) }
}

/// What the data plane decided before the machine starts: the signature check and admission.
public enum ExchangeVerdict: Sendable, Equatable {
    /// No limits apply, or they were checked and the request is admitted. `pacesReads`/`pacesWrites`:
    /// the tenant's bandwidth is limited in that direction, so bytes are paid for as they pass.
    case admitted(pacesReads: Bool, pacesWrites: Bool)
    /// Refused at the edge (signature, credential): answered with this error.
    case refused(S3Error)
    /// Over a limit: answered with `503 SlowDown`.
    case shed(S3Error)
}

/// Why an attempt ended without a usable answer, as the node's connection reported it.
public enum NodeFailure: Sendable, Equatable, CustomStringConvertible {
    case connect(String)
    case closedByNode
    case malformedResponse
    case io(String)
    case timeout(String)

    public var description: String {
        switch self {
        case .connect(let e): "connect: \(e)"
        case .closedByNode: "the node closed the connection"
        case .malformedResponse: "the node's response was not valid HTTP/1.1"
        case .io(let e): e
        case .timeout(let what): what
        }
    }

    /// How health and retry policy see this failure.
    public var outcome: AttemptOutcome {
        switch self {
        case .connect: .connectFailed
        case .timeout: .timeout
        case .closedByNode, .malformedResponse, .io: .reset
        }
    }
}
