/// Why a message head or body could not be accepted. Each maps to one status the gateway answers with.
public enum HTTP1Error: Error, Sendable, Equatable {
    /// Malformed syntax: bad request line, bad header line, obsolete line folding, bad chunk framing.
    case malformed(String)
    /// Framing that could smuggle a second message: Content-Length with Transfer-Encoding, or two lengths.
    case ambiguousFraming(String)
    /// A transfer coding other than chunked.
    case unsupportedTransferEncoding
    /// Not HTTP/1.0 or HTTP/1.1.
    case unsupportedVersion
    /// The head is larger than the limit.
    case headTooLarge

    public var status: Int {
        switch self {
        case .malformed, .ambiguousFraming: 400
        case .unsupportedTransferEncoding: 501
        case .unsupportedVersion: 505
        case .headTooLarge: 431
        }
    }

    public var message: String {
        switch self {
        case .malformed(let why): "The request is not valid HTTP/1.1: \(why)."
        case .ambiguousFraming(let why): "The request framing is ambiguous: \(why)."
        case .unsupportedTransferEncoding: "Only the chunked transfer coding is supported."
        case .unsupportedVersion: "Only HTTP/1.0 and HTTP/1.1 are supported."
        case .headTooLarge: "The request head is larger than the gateway accepts."
        }
    }
}
