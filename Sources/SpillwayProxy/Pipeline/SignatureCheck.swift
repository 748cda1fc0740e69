import NIOCore
import SpillwayHTTP1
import SpillwayS3

/// SigV4 at the edge: a forged or expired request is refused before any byte reaches storage.
/// Canonicalised from the request's raw bytes, and the head is indexed once, so a head with
/// thousands of fields costs one pass.
enum SignatureCheck {
    /// The verified identity, and the request as canonicalised (a re-signed attempt starts from it).
    static func verify(_ context: borrowing RequestContext, at unixSeconds: Int64, keys: inout SigningKeyCache)
        -> Result<(verified: SigV4Verifier.Verified, request: SigningRequest), SigV4Verifier.Failure>
    {
        let head = context.forwardHead
        let parsed = context.head
        let identity = context.protection.config.identity
        let request = head.withUnsafeReadableBytes { b -> SigningRequest in
            let target = Array(UnsafeRawBufferPointer(rebasing: b[parsed.targetRange]))
            let q = target.firstIndex(of: 63)
            return SigningRequest(
                method: Array(UnsafeRawBufferPointer(rebasing: b[parsed.methodRange])), path: Array(target[..<(q ?? target.count)]),
                query: q.map { Array(target[($0 + 1)...]) } ?? [], headers: RequestHead.fieldIndex(in: b),
                authorization: context.authorization)
        }
        let secrets = identity.credentials
        return SigV4Verifier.verify(
            request, secret: { secrets[$0] }, now: Int(unixSeconds), maxSkewSeconds: Int(identity.maxClockSkew.seconds), keys: &keys
        ).map { ($0, request) }
    }
}
