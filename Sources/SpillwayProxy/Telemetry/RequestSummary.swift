/// Everything worth knowing about one finished request: what the access log writes and what the
/// metrics and status counters add up.
struct RequestSummary: Sendable {
    var requestID: String
    var startedAtUnixMillis: Int64
    var tenant: String
    var className: String
    var clientAddress: String?
    var operation: String
    var bucket: String?
    var key: String?
    var status: Int
    var errorCode: String?
    var bytesIn: Int
    var bytesOut: Int
    var firstByteNanos: UInt64?
    var totalNanos: UInt64
    var pool: String
    /// Every attempt: the pool's node index and URL, in order, and whether it reused a parked
    /// connection (nil: it never got one).
    var attempts: [(node: Int, url: String, reused: Bool?)]
    var retries: Int
    var hedged: Bool
    var hedgeWon: Bool
    var resumes: Int
    var resumedBytes: Int
    /// admitted, queued (then admitted), shed, refused (auth), or none (no limits configured).
    var decision: String
    var traceID: String?
    /// The response started and then failed: the client connection was cut.
    var aborted: Bool
}
