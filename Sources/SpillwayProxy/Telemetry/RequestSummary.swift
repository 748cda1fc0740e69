import NIOCore
import SpillwayExchange

/// One finished request as the access log, the metrics, the status counters and the trace see it:
/// the exchange's own log (`ExchangeLog`), with the names that go with it.
struct RequestSummary: Sendable {
    let log: ExchangeLog
    let requestID: String
    let startedAtUnixMillis: Int64
    let tenant: String
    let className: String
    let clientAddress: String?
    let operation: String
    let bucket: String?
    let key: String?
    /// The S3 error code: Spillway's own, or the node's (read from its error body).
    let errorCode: String?
    let totalNanos: UInt64
    let firstByteNanos: UInt64?
    let pool: String
    /// Every attempt: the pool's node index and URL, and whether it reused a parked connection.
    let attempts: [(node: Int, url: String, reused: Bool?)]

    var status: Int { log.status }
    var bytesIn: Int { log.bytesIn }
    var bytesOut: Int { log.bytesOut }
    var retries: Int { log.retries }
    var hedged: Bool { log.hedged }
    var hedgeWon: Bool { log.hedgeWon }
    var resumes: Int { log.resumes }
    var resumedBytes: Int { log.resumedBytes }
    var decision: LimiterDecision { log.decision }
    let traceID: String?
    /// The response started and then failed: the client connection was cut.
    var aborted: Bool { log.aborted }

    init(context: borrowing RequestContext, log: ExchangeLog, pools: RoutePools, requestID: String, errorCode: String?, poolName: String, now: NIODeadline) {
        self.log = log
        self.requestID = requestID
        startedAtUnixMillis = context.startedAtWallMillis
        tenant = context.identity.tenant
        className = context.identity.className
        clientAddress = context.remoteIP
        operation = context.request.operation.name
        bucket = context.request.bucket.map(String.init)
        key = context.request.key
        self.errorCode = errorCode
        totalNanos = now.uptimeNanoseconds - context.startedAt.uptimeNanoseconds
        firstByteNanos = log.firstByteAt.map { $0.nanoseconds &- context.startedAt.uptimeNanoseconds }
        pool = poolName
        attempts = log.attempts.map { a in (a.node, pools[a.cursor].backends[a.node].url, a.reused) }
        traceID = context.traceID
    }
}
