/// An error Spillway itself answers with, in the XML shape every S3 SDK parses
/// (`<Error><Code>…</Code><Message>…</Message><Resource>…</Resource><RequestId>…</RequestId></Error>`).
public struct S3Error: Error, Sendable, Equatable {
    public enum Code: String, Sendable, CaseIterable {
        /// No storage node could take the request (all down, refusing or draining).
        case serviceUnavailable = "ServiceUnavailable"
        /// Too much load: clients back off (SDK retry modes understand this code).
        case slowDown = "SlowDown"
        /// A node answered with something that is not HTTP, or reset before answering.
        case badGateway = "BadGateway"
        /// A node accepted the request but did not answer in time.
        case gatewayTimeout = "GatewayTimeout"
        /// The request could not be parsed as HTTP/1.1.
        case badRequest = "BadRequest"
        /// The request head exceeded the configured limits.
        case requestHeaderTooLarge = "RequestHeaderSectionTooLarge"
        /// A transfer coding other than chunked.
        case notImplemented = "NotImplemented"
        /// Not HTTP/1.0 or HTTP/1.1.
        case httpVersionNotSupported = "HttpVersionNotSupported"
        /// Spillway failed in a way it did not expect.
        case internalError = "InternalError"
        case accessDenied = "AccessDenied"
        case signatureDoesNotMatch = "SignatureDoesNotMatch"
        case invalidAccessKeyId = "InvalidAccessKeyId"
        case requestTimeTooSkewed = "RequestTimeTooSkewed"
        case authorizationHeaderMalformed = "AuthorizationHeaderMalformed"
        /// The client stopped sending its body, or stopped reading the response (S3's own code for it).
        case requestTimeout = "RequestTimeout"
        /// The body ended before its framing said it would (an `aws-chunked` chain cut short).
        case incompleteBody = "IncompleteBody"
        /// The request target is longer than the gateway accepts.
        case requestURITooLong = "RequestURITooLong"
        /// An upload's checksum does not match its data (checked by Spillway when it decodes).
        case badDigest = "BadDigest"
        /// The request cannot be done as asked (an unsigned body toward a plain-HTTP node, a chunk over the limit).
        case invalidRequest = "InvalidRequest"

        public var status: Int {
            switch self {
            case .serviceUnavailable, .slowDown: 503
            case .badGateway: 502
            case .gatewayTimeout: 504
            case .badRequest, .authorizationHeaderMalformed, .requestTimeout, .incompleteBody, .badDigest, .invalidRequest: 400
            case .accessDenied, .signatureDoesNotMatch, .invalidAccessKeyId, .requestTimeTooSkewed: 403
            case .requestHeaderTooLarge: 431
            case .requestURITooLong: 414
            case .notImplemented: 501
            case .httpVersionNotSupported: 505
            case .internalError: 500
            }
        }

        public var reason: String {
            switch status {
            case 400: "Bad Request"
            case 403: "Forbidden"
            case 414: "URI Too Long"
            case 431: "Request Header Fields Too Large"
            case 500: "Internal Server Error"
            case 501: "Not Implemented"
            case 505: "HTTP Version Not Supported"
            case 502: "Bad Gateway"
            case 503: "Service Unavailable"
            case 504: "Gateway Timeout"
            default: "Error"
            }
        }
    }

    public var code: Code
    public var message: String
    /// Seconds a client should wait before retrying; sent as `Retry-After` when set.
    public var retryAfterSeconds: Int?

    public init(_ code: Code, _ message: String, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The XML body, with `resource` (the request path) and `requestID` escaped for XML.
    public func xmlBody(resource: String, requestID: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(code.rawValue)</Code><Message>"
            + XMLEscaping.escape(message) + "</Message><Resource>" + XMLEscaping.escape(resource)
            + "</Resource><RequestId>" + XMLEscaping.escape(requestID) + "</RequestId></Error>"
    }
}
