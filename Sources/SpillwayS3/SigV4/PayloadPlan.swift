/// How a request's body is signed when the gateway re-signs it for a pool, decided from what the
/// client declared in `x-amz-content-sha256` and the pool's settings: never by buffering a body.
public enum PayloadPlan {
    /// What the client's request says of its body.
    public enum Client: Sendable, Equatable {
        /// No body.
        case none
        /// The body's SHA-256, in hex: the node checks the body against it.
        case declared(String)
        /// `UNSIGNED-PAYLOAD`, or a presigned URL: nobody vouches for the body.
        case unsigned
        /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: `aws-chunked`, unsigned chunks, a trailing checksum.
        case unsignedTrailer
        /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (`trailer`: its `-TRAILER` form).
        case signedStreaming(trailer: Bool)
        /// Something Spillway does not re-sign (SigV4a's ECDSA streaming, for one).
        case unsupported(String)

        public init(contentSHA256: String?, hasBody: Bool, presigned: Bool) {
            guard hasBody else {
                self = .none
                return
            }
            switch contentSHA256 {
            case nil, "UNSIGNED-PAYLOAD": self = presigned || contentSHA256 != nil ? .unsigned : .unsupported("a body without x-amz-content-sha256")
            case "STREAMING-UNSIGNED-PAYLOAD-TRAILER": self = .unsignedTrailer
            case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": self = .signedStreaming(trailer: false)
            case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": self = .signedStreaming(trailer: true)
            case let value?:
                let isHash = value.utf8.count == 64 && value.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
                self = isHash ? .declared(value) : .unsupported(value)
            }
        }

        /// The body is `aws-chunked`.
        public var isChunked: Bool {
            switch self {
            case .unsignedTrailer, .signedStreaming: true
            default: false
            }
        }
    }

    /// What goes to the node.
    public enum Body: Sendable, Equatable {
        /// The body as the client sent it.
        case asSent
        /// Each chunk re-signed for the pool (`trailer`: and the trailer's signature).
        case resignedChunks(trailer: Bool)
        /// The `aws-chunked` framing removed: a plain body of the decoded length.
        case decoded
    }

    public struct Decision: Sendable, Equatable {
        /// The pool's `x-amz-content-sha256`.
        public var payloadHash: String
        public var body: Body

        public init(payloadHash: String, body: Body) {
            self.payloadHash = payloadHash
            self.body = body
        }
    }

    /// - Parameters:
    ///   - decode: the pool decodes `aws-chunked` bodies (`signing.payload: decode`).
    ///   - nodeIsTLS: the attempt's node is reached over TLS.
    ///   - unsignedOverHTTP: the pool allows bodies nobody vouches for toward plain-HTTP nodes.
    public static func decide(_ client: Client, decode: Bool, nodeIsTLS: Bool, unsignedOverHTTP: Bool) -> Result<Decision, S3Error> {
        let unsignedAllowed = nodeIsTLS || unsignedOverHTTP
        switch client {
        case .none:
            return .success(Decision(payloadHash: SigV4.emptyPayloadHash, body: .asSent))
        case .declared(let hash):
            return .success(Decision(payloadHash: hash, body: .asSent))
        case .unsigned:
            guard unsignedAllowed else {
                return .failure(S3Error(.invalidRequest, "This pool's nodes are reached over plain HTTP, where a body nobody signed could be changed on the way; sign the payload, or use a TLS pool."))
            }
            return .success(Decision(payloadHash: "UNSIGNED-PAYLOAD", body: .asSent))
        case .unsignedTrailer:
            // The trailing checksum vouches for the body: the node checks it, or Spillway does when it decodes.
            return .success(decode ? Decision(payloadHash: "UNSIGNED-PAYLOAD", body: .decoded)
                : Decision(payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", body: .asSent))
        case .signedStreaming(let trailer):
            // Spillway verified every chunk signature at the edge.
            return .success(decode ? Decision(payloadHash: "UNSIGNED-PAYLOAD", body: .decoded)
                : Decision(payloadHash: trailer ? "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" : "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", body: .resignedChunks(trailer: trailer)))
        case .unsupported(let what):
            return .failure(S3Error(.notImplemented, "Spillway does not re-sign requests whose x-amz-content-sha256 is \(what)."))
        }
    }
}
