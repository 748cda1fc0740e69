import NIOCore
import SpillwayHTTP1
import SpillwayS3

/// What makes two GETs the same read: one pool, one object and version, one checksum mode, and
/// a way to know that storage would answer each requester alike. Two requests with equal keys may share one fetch.
struct FlightKey: Hashable, Sendable {
    /// Who may share a flight.
    enum Sharing: Hashable, Sendable {
        /// Each follower's own request is tried first with a one-byte read of the flight's ETag
        /// (`FlightRead.Phase.probing`), and joins only on a `206`: storage itself says the follower
        /// may read the object, and that it is still the one in flight. The default.
        case probed
        /// With `trust_verified`: requests whose signature Spillway verified, for this access key.
        /// Storage sees the same credential from each, so it would answer each alike.
        case verifiedKey(String)
        /// With `trust_verified`: requests to a pool Spillway signs for, whose tenants passed its
        /// access policy. Storage sees Spillway's credential whoever asks.
        case signedForPool
    }

    let pool: String
    let bucket: Substring
    let key: Substring
    let versionID: String?
    /// `x-amz-checksum-mode`, and the headers storage checks the requester by; a difference in any
    /// means a different answer.
    let conditions: [UInt8]
    let sharing: Sharing

    /// The key of a request that may share a fetch, or nil when it must have its own: not a plain
    /// GET of a whole object (a range, a condition, a body, `partNumber`, `response-*` overrides,
    /// SSE-C, HTTP/1.0), or on a route that does not coalesce.
    static func make(_ context: borrowing RequestContext, verifiedKey: String?, signedForPool: Bool) -> FlightKey? {
        guard context.route.coalesce != nil, context.request.operation == .getObject, context.head.method == .get,
            !context.head.hasRangeOrCondition, context.head.bodyFraming == .none, context.head.minorVersion == 1,
            let bucket = context.request.bucket, let key = context.request.rawKey
        else { return nil }
        var versionID: String?
        for parameter in RequestClassifier.split(context.target).query.split(separator: "&") {
            let name = parameter.prefix { $0 != "=" }
            if name == "versionId" {
                versionID = String(parameter.dropFirst(name.count + 1))
            } else if !name.hasPrefix("X-Amz-") && !name.hasPrefix("x-amz-") {
                // partNumber, response-content-type, … change the answer; an unknown one might.
                return nil
            }
        }
        let fields = context.forwardHead.withUnsafeReadableBytes { RequestHead.fieldIndex(in: $0) }
        if fields["x-amz-server-side-encryption-customer-algorithm"] != nil { return nil }
        var conditions: [UInt8] = []
        for name in Self.answerFields {
            conditions.append(0)
            for value in fields[name] ?? [] { conditions += value }
        }
        let sharing: Sharing
        if context.route.coalesce?.trustVerified != true {
            sharing = .probed
        } else if signedForPool {
            sharing = .signedForPool
        } else if let verifiedKey {
            sharing = .verifiedKey(verifiedKey)
        } else {
            sharing = .probed
        }
        return FlightKey(pool: context.pools[0].name, bucket: bucket, key: key, versionID: versionID, conditions: conditions, sharing: sharing)
    }

    /// Request fields that change what storage answers to a GET of a whole object.
    static let answerFields = ["x-amz-checksum-mode", "x-amz-expected-bucket-owner", "x-amz-request-payer"]
}
