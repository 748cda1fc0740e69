import NIOCore
import SpillwayConfig
import SpillwayExchange
import SpillwayHTTP1
import SpillwayS3

/// A request bound for a pool with credentials of its own: what the client sent (verified at the
/// edge), from which each attempt's head is made and signed for the pool it goes to, at the time
/// it goes (`x-amz-date` of that attempt). Built once per request, from the head indexed for the
/// signature check; the body is never read here.
struct ResignSource {
    let method: [UInt8]
    /// The path as sent, still percent-encoded; the query as sent, less a presigned URL's signature.
    let path: [UInt8]
    let query: [UInt8]
    let bucket: String?
    let style: AddressingStyle
    /// The client's fields, by lower-case name.
    let headers: [String: [[UInt8]]]
    let payload: PayloadPlan.Client
    let chunkedTransfer: Bool
    /// For `aws-chunked` bodies: the data's length, and the trailing checksum the client named.
    let decodedLength: Int?
    let trailerChecksum: ChecksumAlgorithm?

    /// Query parameters of a presigned URL: the re-signed request carries its signature in
    /// `Authorization` instead.
    static let presignParameters: Set<String> = [
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
    ]

    init(signing: SigningRequest, request: S3Request, head: RequestHead) {
        method = signing.method
        path = signing.path
        let q = signing.query
        let hasEmptyParameter = q.first == 38 || q.last == 38 || zip(q, q.dropFirst()).contains { $0 == 38 && $1 == 38 }
        if request.isPresigned || hasEmptyParameter {
            // Rebuilt without the presigned parameters or the empty ones, so that the node's
            // canonical query cannot differ from the one signed.
            let parts = q.split(separator: 38, omittingEmptySubsequences: true)
            let kept = request.isPresigned
                ? parts.filter { part in !Self.presignParameters.contains(String(decoding: part.prefix { $0 != 61 }, as: UTF8.self)) } : parts
            query = Array(kept.joined(separator: [38]))
        } else {
            query = q  // as sent: no copy
        }
        bucket = request.bucket.map(String.init)
        style = request.style
        headers = signing.headers
        chunkedTransfer = if case .chunked = head.bodyFraming { true } else { false }
        guard head.bodyFraming != .none else {
            // Most requests (GET, HEAD, LIST) have no body: nothing to look up for one.
            payload = .none
            decodedLength = nil
            trailerChecksum = nil
            return
        }
        payload = PayloadPlan.Client(contentSHA256: signing.first("x-amz-content-sha256"), hasBody: true, presigned: request.isPresigned)
        decodedLength = signing.first("x-amz-decoded-content-length").flatMap { Int($0) }
        trailerChecksum = signing.first("x-amz-trailer").flatMap { ChecksumAlgorithm(fieldName: $0.trimmingCharacters(in: .whitespaces)) }
    }

    /// How the body goes to `pool`, or why it cannot.
    func decision(for pool: PoolRuntime) -> Result<PayloadPlan.Decision, S3Error> {
        let signing = pool.policy.signing
        let tls = pool.backends.allSatisfy { $0.tls != nil }
        let decided = PayloadPlan.decide(
            payload, decode: signing?.payload == .decode, nodeIsTLS: tls, unsignedOverHTTP: signing?.unsignedPayloadOverHTTP ?? false)
        if case .success(let d) = decided, d.body == .decoded {
            guard decodedLength != nil else {
                return .failure(S3Error(.invalidRequest, "An aws-chunked upload must give x-amz-decoded-content-length."))
            }
            if payload == .unsignedTrailer && trailerChecksum == nil {
                return .failure(S3Error(.invalidRequest, "An unsigned aws-chunked upload must name its trailing checksum in x-amz-trailer."))
            }
        }
        return decided
    }
}

/// A request on a route with pools Spillway signs for: what the client sent, and how its body goes
/// to each of the route's pools (nil for a pool that passes requests through unchanged).
struct ResignPlan {
    let source: ResignSource
    let decisions: [PayloadPlan.Decision?]

    /// Nil when no pool of the route signs; a failure when a pool that does cannot take the request
    /// (the client hears why before any byte leaves).
    static func make(_ signing: SigningRequest, _ context: borrowing RequestContext) -> Result<ResignPlan, S3Error>? {
        let pools = context.pools
        guard (0..<pools.count).contains(where: { pools[$0].policy.credentials != nil }) else { return nil }
        let source = ResignSource(signing: signing, request: context.request, head: context.head)
        var decisions: [PayloadPlan.Decision?] = []
        for i in 0..<pools.count {
            let pool = pools[i]
            guard let credentials = pool.policy.credentials else {
                decisions.append(nil)
                continue
            }
            guard credentials.resolvedSecret != nil else {
                return .failure(S3Error(.internalError, "The secret of pool '\(pool.name)' could not be read; see the gateway's log."))
            }
            switch source.decision(for: pool) {
            case .success(let decision): decisions.append(decision)
            case .failure(let error): return .failure(error)
            }
        }
        return .success(ResignPlan(source: source, decisions: decisions))
    }
}
