/// Reads HTTP/1.1 messages from bytes as they arrive, one message at a time: finds where a head
/// ends (held to the head-size limit, so an endless head is refused, not buffered), then follows
/// the body by its framing. The one framer of the gateway: client requests, node responses and
/// health probes all pass through it; the caller parses the head (`RequestHead`/`ResponseHead`)
/// and says how its body is framed.
public struct MessageFramer: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        /// The bytes end inside a head: keep them and call again with more.
        case needMore
        /// A complete head: the first `length` bytes. Parse it, then call `expectBody`.
        case head(length: Int)
        /// `taken` bytes of the body (the rest, if any, belongs to the next message); `complete`
        /// when they ended the body.
        case body(taken: Int, complete: Bool)
    }

    public let maxHeadBytes: Int
    /// Where the search for the end of the head resumes.
    private var scanned = 0
    private var tracker: BodyTracker?

    public init(maxHeadBytes: Int) { self.maxHeadBytes = maxHeadBytes }

    /// Inside a body (after `expectBody`, until it completes).
    public var inBody: Bool { tracker != nil }
    /// The body now being read ends only when the peer closes.
    public var endsAtClose: Bool { tracker?.endsAtClose ?? false }
    /// Some bytes of a head are in hand (the caller holds them).
    public var inHead: Bool { tracker == nil && scanned > 0 }

    /// Reads from `bytes`, which start where the last call's unused bytes started (a caller that
    /// kept a partial head passes it again with the new bytes appended). `data` is told where body
    /// data lies (for a chunked body, without its framing), for a caller that re-frames it.
    public mutating func read(_ bytes: UnsafeRawBufferPointer, data: (Range<Int>) -> Void = { _ in }) throws(HTTP1Error) -> Step {
        if var body = tracker {
            let n = try body.consume(bytes, data: data)
            let complete = body.isComplete
            tracker = complete ? nil : body
            return .body(taken: n, complete: complete)
        }
        guard let end = HeadScanner.endOfHead(bytes, from: max(0, scanned - 3)) else {
            guard bytes.count <= maxHeadBytes else { throw .headTooLarge }
            scanned = bytes.count
            return .needMore
        }
        scanned = 0
        guard end <= maxHeadBytes else { throw .headTooLarge }
        return .head(length: end)
    }

    /// The head just read frames its body so; `.none` means the message is already complete.
    public mutating func expectBody(_ framing: BodyFraming) {
        let body = BodyTracker(framing)
        tracker = body.isComplete ? nil : body
    }

    /// Forgets any partial message (the connection starts over, or is done).
    public mutating func reset() {
        scanned = 0
        tracker = nil
    }
}
