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

    /// What the later steps of a signed request need: the key and scope chunk signatures chain
    /// from, and the signature (the seed of a streaming body).
    public struct Signed {
        public let key: SymmetricKey
        public let scope: String
        public let amzDate: String
        public let mac: SHA256Digest

        /// The signature's hex (made only for streaming bodies).
        public var signature: String { SigV4.hex(mac) }
    }

    /// A signed request with its `Authorization` value as text.
    public struct Authorized {
        public let authorization: String
        public let signed: Signed

        public var signature: String { signed.signature }
    }

    /// `request.headers` holds every field to sign by lower-case name (`host` and `x-amz-date`
    /// among them); `signedHeaders` names them. The path and query are as they will be sent.
    public static func sign(
        _ request: SigningRequest, signedHeaders: [String], payloadHash: String, credentials: Credentials, region: String, service: String,
        amzDate: String
    ) -> Authorized {
        var keys = SigningKeyCache(capacity: 1)
        return sign(request, signedHeaders: signedHeaders, payloadHash: payloadHash, credentials: credentials, region: region, service: service,
                    amzDate: amzDate, keys: &keys)
    }

    /// As above, deriving the signing key through `keys`.
    public static func sign(
        _ request: SigningRequest, signedHeaders: [String], payloadHash: String, credentials: Credentials, region: String, service: String,
        amzDate: String, keys: inout SigningKeyCache
    ) -> Authorized {
        let fields = signedHeaders.map { $0.lowercased() }.sorted().map { SignedField($0, lines: request.headers[$0] ?? []) }
        var authorization = ""
        let signed = sign(
            method: request.method, path: request.path, query: request.query, fields: fields, payloadHash: payloadHash, credentials: credentials,
            region: region, service: service, amzDate: amzDate, keys: &keys
        ) { authorization = String(decoding: $0, as: UTF8.self) }
        return Authorized(authorization: authorization, signed: signed)
    }

    /// The signature of a request whose signed `fields` (lower-case names, sorted) the caller has
    /// apart already (the gateway's re-signing, per attempt). The canonical request and then the
    /// `Authorization` value are written into the buffer `keys` keeps, which `authorization` is
    /// handed (to copy into the head it goes in), so signing allocates nothing of its own once
    /// the key is cached.
    public static func sign(
        method: [UInt8], path: [UInt8], query: [UInt8], fields: [SignedField], payloadHash: String, credentials: Credentials,
        region: String, service: String, amzDate: String, keys: inout SigningKeyCache, authorization: (UnsafeRawBufferPointer) -> Void
    ) -> Signed {
        var scratch = keys.takeScratch()
        CanonicalRequest.write(
            method: method, path: path, query: query, fields: fields, payloadHash: payloadHash, dropSignatureParameter: false, into: &scratch)
        let entry = keys.entry(secret: credentials.secretAccessKey, date: keys.day(of: amzDate), region: region, service: service)
        let mac = SigV4.mac(amzDate: amzDate, scope: entry.scope, canonicalRequest: scratch, authenticator: entry.authenticator)
        // `AWS4-HMAC-SHA256 Credential=<key>/<scope>, SignedHeaders=<names>, Signature=<hex>`.
        let start = scratch.count
        scratch.append(contentsOf: credentialPart)
        scratch.append(contentsOf: credentials.accessKeyID.utf8)
        scratch.append(47)
        scratch.append(contentsOf: entry.scope.utf8)
        scratch.append(contentsOf: headersPart)
        CanonicalRequest.signedHeaders(fields, into: &scratch)
        scratch.append(contentsOf: signaturePart)
        mac.withUnsafeBytes { raw in
            for b in raw {
                scratch.append(SigV4.hexDigit(b >> 4))
                scratch.append(SigV4.hexDigit(b & 0xF))
            }
        }
        scratch[start...].withUnsafeBytes(authorization)
        keys.keepScratch(scratch)
        return Signed(key: entry.key, scope: entry.scope, amzDate: amzDate, mac: mac)
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
