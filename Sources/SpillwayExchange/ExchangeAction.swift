import SpillwayPolicy
import SpillwayS3

/// An attempt of one exchange: its number in the exchange (0, 1, …), never reused.
public struct AttemptID: Hashable, Sendable, CustomStringConvertible {
    public let number: Int
    public init(_ number: Int) { self.number = number }
    public var description: String { "#\(number)" }
}

public enum AttemptKind: Sendable, Equatable {
    case first
    case retry
    /// A second read racing the first; whichever answers first wins.
    case hedge
    /// The rest of a download whose node failed mid-body, from byte `offset` of `total`.
    case resume(offset: Int, total: Int)

    /// How traces and logs name it.
    public var name: String {
        switch self {
        case .first: "first"
        case .retry: "retry"
        case .hedge: "hedge"
        case .resume: "resume"
        }
    }
}

/// What the data plane must do after an event. One value per event, with one slot per side, so a
/// step costs no allocation: at most one thing happens to an attempt, one upstream, one toward the
/// client, and the exchange may finish. The runner does them in that order.
public struct ExchangeAction: Sendable, Equatable {
    /// An outcome for the node's health (passive ejection, latency, throttling), reported first.
    public var health: HealthReport?
    public var attempt: AttemptAction = .none
    public var upstream: UpstreamAction = .none
    public var client: ClientAction = .none
    /// The exchange is over: record it (`ExchangeMachine.log`) and let the connection go on.
    public var finished = false
    /// Something an operator would want in the log.
    public var note: ExchangeNote?

    public init(
        health: HealthReport? = nil, attempt: AttemptAction = .none, upstream: UpstreamAction = .none, client: ClientAction = .none,
        finished: Bool = false, note: ExchangeNote? = nil
    ) {
        self.health = health
        self.attempt = attempt
        self.upstream = upstream
        self.client = client
        self.finished = finished
        self.note = note
    }

    public static let none = ExchangeAction()
}

/// How an attempt went, for its node's health.
public struct HealthReport: Sendable, Equatable {
    public var attempt: AttemptID
    public var outcome: AttemptOutcome
    /// Time from the request sent to the response head (for the latency estimate), when it answered.
    public var firstByte: Duration?

    public init(attempt: AttemptID, outcome: AttemptOutcome, firstByte: Duration? = nil) {
        self.attempt = attempt
        self.outcome = outcome
        self.firstByte = firstByte
    }
}

/// What the exchange did that an operator would look for in the log.
public indirect enum ExchangeNote: Sendable, Equatable {
    case retrying(after: NodeFailure?, status: Int?)
    case hedging
    case resuming(from: Int)
    case resumed(from: Int)
    case cannotResume(status: Int)
    case cutMidResponse(NodeFailure)
    case failedOver(from: Int, to: Int)
    case clientStalled(String)
    case failed(S3Error)
}

public enum AttemptAction: Sendable, Equatable {
    case none
    /// Close the attempt's connection (it cannot be reused mid-exchange) and give its node back.
    case drop(AttemptID)
    /// The attempt ended cleanly: its connection goes back to the pool, its node is given back.
    case park(AttemptID)
    /// Every live attempt is dropped.
    case dropAll
}

public enum UpstreamAction: Sendable, Equatable {
    case none
    /// Find a node for `attempt`, from pool `cursor` on along the route, not one in `excluding`
    /// (a bit per node of the pool at `cursor`). With `mayQueue`, wait in the first pool's queue
    /// if every node is at its in-flight cap. Answer with `ExchangeMachine.acquired`.
    case acquire(AttemptID, AttemptKind, cursor: Int, excluding: UInt64, mayQueue: Bool)
    /// Connect to (or reuse a connection to) the node chosen for the attempt; answer with
    /// `connected` or `attemptFailed`.
    case connect(AttemptID)
    /// Write the attempt's request head (`UpstreamRequest` makes it for the attempt's kind), then
    /// the body bytes held (`replay`: all of them; otherwise those not yet sent); flush when
    /// `complete` (the whole request is written).
    case send(AttemptID, replay: Bool, complete: Bool)
    /// The client body bytes of this event go to this attempt.
    case forward(AttemptID)
    /// The client body bytes of this event wait (no attempt can take them yet); `replay` says
    /// whether they are kept for a resend.
    case hold
    /// The request is all there: flush the attempt that carries it.
    case flush(AttemptID)
    /// Ask the recovery planner (under the pool's lock, with its retry budget) and answer with `planned`.
    // Indirect (like `respond` and the notes): rare, and large next to the common actions, which
    // are copied at every event.
    indirect case plan(RecoveryPlanner.Situation, RecoveryPlanner.Traits, cursor: Int)
    /// The queue wait ran out: withdraw it, and answer with `queueTimedOut` if it was still waiting
    /// (if not, a node is already on its way, and `dispatched` follows).
    case abandonQueue
}

public enum ClientAction: Sendable, Equatable {
    case none
    case sendContinue
    /// Relay the node's interim response (without its hop-by-hop lines).
    case forwardInterim
    /// The response head goes to the client (with the first body bytes, if they came with it).
    /// `close`: announce `Connection: close`; `dechunk`: the client speaks HTTP/1.0 and gets the
    /// data of a chunked body without its framing.
    case writeHead(close: Bool, dechunk: Bool)
    /// The body bytes of this event go to the client.
    case deliver
    /// The body bytes of this event wait until `until` (bandwidth pacing), after those already held.
    case hold(until: Moment)
    /// The first `count` held body pieces are due: they go to the client. With `thenEnd`, the
    /// response then ends (keep-alive or not), since the node had finished.
    case releaseHeld(count: Int, thenEnd: Bool?)
    /// Answer with an S3 error; `close` when the connection cannot be used again.
    indirect case respond(S3Error, close: Bool)
    /// The response is complete.
    case end(keepAlive: Bool)
    /// Cut the connection without a clean end of message: a short body must read as an error.
    case abort
    /// Reads on the client connection may go on again (a pause for pacing is over).
    case resumeReads
}

/// How the limiter judged the request: one of these for every request, in the metrics and the access log.
public enum LimiterDecision: String, Sendable, Equatable, CaseIterable {
    /// No limits are configured.
    case none
    case admitted
    /// Waited in a pool's queue, then admitted.
    case queued
    case shed
    /// Refused at the edge (signature or credential).
    case refused
}

/// Everything the exchange did, for the access log, the metrics and the trace: one value, filled
/// as the exchange goes, read once when it finishes.
public struct ExchangeLog: Sendable, Equatable {
    public struct Attempt: Sendable, Equatable {
        public var cursor: Int
        public var node: Int
        public var kind: AttemptKind
        /// Whether it reused a parked connection (nil: it never got one).
        public var reused: Bool?

        public init(cursor: Int, node: Int, kind: AttemptKind, reused: Bool?) {
            self.cursor = cursor
            self.node = node
            self.kind = kind
            self.reused = reused
        }
    }

    public var attempts: [Attempt] = []
    public var status = 0
    public var bytesIn = 0
    public var bytesOut = 0
    public var firstByteAt: Moment?
    public var retries = 0
    public var hedged = false
    public var hedgeWon = false
    public var resumes = 0
    public var resumedBytes = 0
    public var decision = LimiterDecision.none
    /// The response started and then failed: the client connection was cut.
    public var aborted = false
    /// The S3 error Spillway answered with itself (the node's own codes are read by the runner).
    public var errorCode: String?
    /// The pool (by route position) the exchange ended on.
    public var cursor = 0

    public init() {}
}
