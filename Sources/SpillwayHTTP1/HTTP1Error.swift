/// Why a message head or body could not be accepted. Each maps to one status the gateway answers with.
public enum HTTP1Error: Error, Sendable, Equatable {
    /// Malformed syntax: bad request line, bad header line, obsolete line folding, bad chunk framing.
    case malformed(String)
    /// Framing that could smuggle a second message: Content-Length with Transfer-Encoding, two
    /// lengths, or a Connection header that would remove a framing header.
    case ambiguousFraming(String)
    /// A transfer coding other than chunked.
    case unsupportedTransferEncoding
    /// Not HTTP/1.0 or HTTP/1.1.
    case unsupportedVersion
    /// The head is larger than the limit.
    case headTooLarge
    /// More header fields than the limit.
    case tooManyHeaders
    /// The request target is longer than the limit.
    case targetTooLong

    public var status: Int {
        switch self {
        case .malformed, .ambiguousFraming: 400
        case .unsupportedTransferEncoding: 501
        case .unsupportedVersion: 505
        case .headTooLarge, .tooManyHeaders: 431
        case .targetTooLong: 414
        }
    }

    public var message: String {
        switch self {
        case .malformed(let why): "The request is not valid HTTP/1.1: \(why)."
        case .ambiguousFraming(let why): "The request framing is ambiguous: \(why)."
        case .unsupportedTransferEncoding: "Only the chunked transfer coding is supported."
        case .unsupportedVersion: "Only HTTP/1.0 and HTTP/1.1 are supported."
        case .headTooLarge: "The request head is larger than the gateway accepts."
        case .tooManyHeaders: "The request has more header fields than the gateway accepts."
        case .targetTooLong: "The request target is longer than the gateway accepts."
        }
    }
}

/// The size limits every head is read under. Hostile peers send endless heads, thousands of tiny
/// header fields or megabyte targets; each limit turns that into a clear refusal.
public struct HeadLimits: Sendable, Equatable {
    /// The request or status line and every header field, with their line endings.
    public var maxHeadBytes: Int
    public var maxHeaders: Int
    public var maxTargetBytes: Int

    public init(maxHeadBytes: Int = 64 * 1024, maxHeaders: Int = 128, maxTargetBytes: Int = 16 * 1024) {
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaders = maxHeaders
        self.maxTargetBytes = maxTargetBytes
    }

    /// A `Connection` header may name at most this many options (each names a field to drop).
    public static let maxConnectionOptions = 32
}
