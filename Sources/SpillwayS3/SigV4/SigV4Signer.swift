import Crypto

/// Signs requests with SigV4 for an identity of the gateway's own (a pool's credentials): the
/// counterpart of `SigV4Verifier`, built on the same canonical request, so whatever one signs the
/// other accepts. Pure: the time comes in as an argument.
public enum SigV4Signer {
    public struct Credentials: Sendable, Equatable {
        public var accessKeyID: String
        public var secretAccessKey: String
        public var sessionToken: String?

        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    /// A signed request: its `Authorization` value, and what chunk signatures chain from.
    public struct Signed {
        public let authorization: String
        public let signature: String
        public let key: SymmetricKey
        public let scope: String
        public let amzDate: String
    }

    /// `request.headers` holds every field to sign by lower-case name (`host` and `x-amz-date`
    /// among them); `signedHeaders` names them. The path and query are as they will be sent.
    public static func sign(
        _ request: SigningRequest, signedHeaders: [String], payloadHash: String, credentials: Credentials, region: String, service: String,
        amzDate: String
    ) -> Signed {
        var keys = SigningKeyCache(capacity: 1)
        return sign(request, signedHeaders: signedHeaders, payloadHash: payloadHash, credentials: credentials, region: region, service: service,
                    amzDate: amzDate, keys: &keys)
    }

    /// As above, deriving the signing key through `keys`.
    public static func sign(
        _ request: SigningRequest, signedHeaders: [String], payloadHash: String, credentials: Credentials, region: String, service: String,
        amzDate: String, keys: inout SigningKeyCache
    ) -> Signed {
        let names = signedHeaders.map { $0.lowercased() }.sorted()
        return sign(
            method: request.method, path: request.path, query: request.query, names: names, values: names.map { request.headers[$0] ?? [] },
            payloadHash: payloadHash, credentials: credentials, region: region, service: service, amzDate: amzDate, keys: &keys)
    }

    /// The signature of a request whose signed fields are `names` (lower-case, sorted) with their
    /// `values`, for callers that have them apart already (the gateway's re-signing, per attempt).
    public static func sign(
        method: [UInt8], path: [UInt8], query: [UInt8], names: [String], values: [[[UInt8]]], payloadHash: String, credentials: Credentials,
        region: String, service: String, amzDate: String, keys: inout SigningKeyCache
    ) -> Signed {
        let canonical = CanonicalRequest.build(
            method: method, path: path, query: query, signedHeaders: names, headerValues: values, payloadHash: payloadHash,
            dropSignatureParameter: false)
        let date = String(amzDate.prefix(8))
        let scope = "\(date)/\(region)/\(service)/aws4_request"
        let entry = keys.entry(secret: credentials.secretAccessKey, date: date, region: region, service: service)
        let key = entry.key
        let signature = SigV4.signature(amzDate: amzDate, scope: scope, canonicalRequest: canonical, authenticator: entry.authenticator)
        let authorization = "\(SigV4.algorithm) Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature)"
        return Signed(authorization: authorization, signature: signature, key: key, scope: scope, amzDate: amzDate)
    }

    /// `20130524T000000Z` for a time in seconds since 1970, through `keys`, which keeps the last
    /// second's (an attempt is signed with the time it is sent, and most share their second).
    public static func amzDate(unixSeconds: Int64, keys: inout SigningKeyCache) -> String {
        if let last = keys.lastAmzDate, last.seconds == unixSeconds { return last.text }
        let text = amzDate(unixSeconds: unixSeconds)
        keys.lastAmzDate = (unixSeconds, text)
        return text
    }

    /// `20130524T000000Z` for a time in seconds since 1970.
    public static func amzDate(unixSeconds: Int64) -> String {
        let days = Int(unixSeconds.quotientAndRemainder(dividingBy: 86400).quotient)
        let seconds = Int(unixSeconds - Int64(days) * 86400)
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)\(two(month))\(two(day))T\(two(seconds / 3600))\(two(seconds / 60 % 60))\(two(seconds % 60))Z"
    }
}
