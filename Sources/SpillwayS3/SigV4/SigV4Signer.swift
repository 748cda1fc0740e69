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
        public let key: SymmetricKey
        public let scope: String
        public let amzDate: String

        /// The signature's hex, the end of `authorization` (made only for streaming bodies).
        public var signature: String { String(authorization.utf8.suffix(2 * SHA256.byteCount))! }
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
        let fields = signedHeaders.map { $0.lowercased() }.sorted().map { SignedField($0, lines: request.headers[$0] ?? []) }
        return sign(
            method: request.method, path: request.path, query: request.query, fields: fields, payloadHash: payloadHash, credentials: credentials,
            region: region, service: service, amzDate: amzDate, keys: &keys)
    }

    /// The signature of a request whose signed `fields` (lower-case names, sorted) the caller has
    /// apart already (the gateway's re-signing, per attempt). The canonical request is written into
    /// the buffer `keys` keeps and `Authorization` in one allocation, so a signature costs about
    /// three: that string, and what the caller's fields hold.
    public static func sign(
        method: [UInt8], path: [UInt8], query: [UInt8], fields: [SignedField], payloadHash: String, credentials: Credentials,
        region: String, service: String, amzDate: String, keys: inout SigningKeyCache
    ) -> Signed {
        var canonical = keys.takeScratch()
        CanonicalRequest.write(
            method: method, path: path, query: query, fields: fields, payloadHash: payloadHash, dropSignatureParameter: false, into: &canonical)
        let entry = keys.entry(secret: credentials.secretAccessKey, date: String(amzDate.prefix(8)), region: region, service: service)
        let mac = SigV4.mac(amzDate: amzDate, scope: entry.scope, canonicalRequest: canonical, authenticator: entry.authenticator)
        // `SignedHeaders` reuses the buffer: its names go after the canonical request, then are copied.
        let namesStart = canonical.count
        CanonicalRequest.signedHeaders(fields, into: &canonical)
        let authorization = authorizationValue(
            accessKeyID: credentials.accessKeyID, scope: entry.scope, signedHeaders: canonical[namesStart...], mac: mac)
        keys.keepScratch(canonical)
        return Signed(authorization: authorization, key: entry.key, scope: entry.scope, amzDate: amzDate)
    }

    /// `AWS4-HMAC-SHA256 Credential=<key>/<scope>, SignedHeaders=<names>, Signature=<hex>`, in one allocation.
    static func authorizationValue(accessKeyID: String, scope: String, signedHeaders: ArraySlice<UInt8>, mac: SHA256Digest) -> String {
        let length = credentialPart.count + accessKeyID.utf8.count + 1 + scope.utf8.count + headersPart.count + signedHeaders.count
            + signaturePart.count + 2 * SHA256.byteCount
        return String(unsafeUninitializedCapacity: length) { out in
            var w = FixedWriter(out)
            w.put(credentialPart)
            w.put(accessKeyID)
            w.put(byte: 47)
            w.put(scope)
            w.put(headersPart)
            w.put(signedHeaders)
            w.put(signaturePart)
            mac.withUnsafeBytes { w.putHex($0) }
            return w.count
        }
    }

    private static let credentialPart = Array("\(SigV4.algorithm) Credential=".utf8)
    private static let headersPart = Array(", SignedHeaders=".utf8)
    private static let signaturePart = Array(", Signature=".utf8)

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
