import NIOCore
import SpillwayHTTP1
import SpillwayS3

/// What makes two GETs the same read: one pool, one object and version, one byte range, one
/// checksum mode, and a way to know that storage would answer each requester alike. Two requests
/// with equal keys may share one fetch.
struct FlightKey: Hashable, Sendable {
    /// Who may share a flight.
    enum Sharing: Hashable, Sendable {
        /// Each follower's own request is tried first, made conditional on not being the flight's
        /// object (`If-None-Match: <flight ETag>`, `FlightRead.Phase.probing`), and joins only on a
        /// `304`: storage itself says the follower may read the object, and that it is still the one
        /// in flight. Any other answer is the follower's own. The default.
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
    /// The values of `answerFields`; a difference in any means a different answer.
    let conditions: [UInt8]
    let sharing: Sharing
    /// A ranged GET's range. Its answer is shared only when it fits the ring, so that no reader of
    /// it ever falls behind the ring: a range cannot be resumed under the client's signature, which
    /// covers its `Range`. Nil for a whole object.
    let range: SingleRange?

    /// One byte range: `bytes=FIRST-LAST` or `bytes=-SUFFIX` (the most bytes the answer can have is
    /// known), or `bytes=FIRST-` (the object's length decides: boto3's last part of a download).
    struct SingleRange: Hashable, Sendable {
        let length: Int?
    }

    /// The key of a request that may share a fetch, or nil when it must have its own: not a plain
    /// GET of a whole object or of one bounded range shorter than the ring (a request with a body,
    /// `partNumber`, `response-*` overrides, SSE-C, HTTP/1.0, a condition that can answer `304`,
    /// or `If-Match` without a range), or on a route that does not coalesce.
    static func make(_ context: borrowing RequestContext, verifiedKey: String?, signedForPool: Bool) -> FlightKey? {
        guard let coalesce = context.route.coalesce, context.request.operation == .getObject, context.head.method == .get,
            context.head.bodyFraming == .none, context.head.minorVersion == 1,
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
        // A flight's answer is never `304`, and a trial's `304` must mean only the flight's ETag.
        if fields["if-none-match"] != nil || fields["if-modified-since"] != nil { return nil }
        var range: SingleRange?
        if let values = fields["range"] {
            guard values.count == 1, let single = Self.singleRange(values[0]), (single.length ?? 0) < coalesce.ring else { return nil }
            range = single
        } else if context.head.hasRangeOrCondition || fields["if-unmodified-since"] != nil {
            // Preconditions only with a bounded range: a whole object's flight must be resumable.
            return nil
        }
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
        return FlightKey(
            pool: context.pools[0].name, bucket: bucket, key: key, versionID: versionID, conditions: conditions, sharing: sharing,
            range: range)
    }

    /// Request fields that change what storage answers to a GET: `x-amz-checksum-mode`, the
    /// headers storage checks the requester by, the range and its preconditions (boto3's
    /// `download_file` sends each part with the ETag of its `HEAD` in `If-Match`).
    static let answerFields = [
        "x-amz-checksum-mode", "x-amz-expected-bucket-owner", "x-amz-request-payer", "range", "if-match", "if-unmodified-since",
    ]

    /// The range of a `Range` value, or nil for any other form (several ranges, not bytes).
    static func singleRange(_ value: [UInt8]) -> SingleRange? {
        var b = value[...]
        while b.first == 32 || b.first == 9 { b = b.dropFirst() }
        while b.last == 32 || b.last == 9 { b = b.dropLast() }
        guard b.starts(with: Array("bytes=".utf8)) else { return nil }
        let spec = b.dropFirst(6)
        guard let dash = spec.firstIndex(of: 45), spec.allSatisfy({ $0 == 45 || (48...57).contains($0) }),
            spec.filter({ $0 == 45 }).count == 1
        else { return nil }
        // Digits only, so `Int(_:)` answers nil on overflow rather than trapping.
        func number(_ digits: ArraySlice<UInt8>) -> Int? { digits.isEmpty ? nil : Int(String(decoding: digits, as: UTF8.self)) }
        let last = number(spec[(dash + 1)...])
        guard let first = number(spec[..<dash]) else {
            guard let last, last > 0 else { return nil }
            return SingleRange(length: last)
        }
        guard spec.index(after: dash) != spec.endIndex else { return SingleRange(length: nil) }
        guard let last, last >= first, last - first < Int.max else { return nil }
        return SingleRange(length: last - first + 1)
    }
}
