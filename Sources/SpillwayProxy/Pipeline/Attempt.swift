import NIOCore

/// One try of a request against one node. An exchange makes one, or more when it retries, hedges a
/// read or resumes a broken download; the node connection reports to its exchange through it.
final class Attempt {
    enum Kind: Equatable {
        case first
        case retry
        /// A second read racing the first; whichever answers first wins.
        case hedge
        /// The rest of a download whose node failed mid-body, from byte `offset` of an object of `total` bytes.
        case resume(offset: Int, total: Int)
    }

    let exchange: Exchange
    let pool: PoolRuntime
    let node: Int
    let kind: Kind
    /// The request head this attempt sends (a resume adds Range and If-Match).
    let head: ByteBuffer
    let startedAt: NIODeadline
    var connection: NodeConnection?
    var requestSentAt: NIODeadline?
    var answeredAt: NIODeadline?
    /// The node's in-flight count was lowered for this attempt (exactly once).
    var released = false

    init(exchange: Exchange, pool: PoolRuntime, node: Int, kind: Kind, head: ByteBuffer, at now: NIODeadline) {
        self.exchange = exchange
        self.pool = pool
        self.node = node
        self.kind = kind
        self.head = head
        self.startedAt = now
    }

    var backend: BackendRuntime { pool.backends[node] }
}

/// A capped copy of a request body, kept so that the request can be sent again to another node.
/// The bytes are slices of the buffers they arrived in: holding them costs no copy. Past the cap it
/// gives up and the request is no longer replayable (linkerd's lesson: never buffer what you cannot
/// retry, and never buffer without a limit).
struct ReplayBuffer {
    let cap: Int
    private(set) var parts = CircularBuffer<ByteBuffer>()
    private(set) var bytes = 0

    init(cap: Int) { self.cap = cap }

    /// False when `part` would exceed the cap (the caller drops the buffer).
    mutating func append(_ part: ByteBuffer) -> Bool {
        guard bytes + part.readableBytes <= cap else { return false }
        bytes += part.readableBytes
        parts.append(part)
        return true
    }
}
