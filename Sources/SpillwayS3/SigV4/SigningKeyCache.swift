import Crypto

/// Derived SigV4 signing keys, kept for reuse: a key depends only on the secret, the day, the
/// region and the service, and deriving one costs four HMACs, which were a tenth of the CPU of a
/// verified (or re-signed) request. With each key, an HMAC keyed with it (`KeyedSHA256`: the key's
/// padded blocks are hashed once, not per request). A value type the caller owns (one
/// per event loop), so the signer and verifier stay pure. Bounded: when full it starts over, so a
/// flood of distinct credentials costs at most what it cost without the cache.
public struct SigningKeyCache {
    private struct Scope: Hashable, Sendable {
        let secret: String
        let date: String
        let region: String
        let service: String
    }

    public struct Entry {
        public let key: SymmetricKey
        public let authenticator: KeyedSHA256
        /// `20130524/us-east-1/s3/aws4_request`.
        public let scope: String
    }

    private var entries: [Scope: Entry] = [:]
    private var last: (scope: Scope, entry: Entry)?
    public let capacity: Int
    /// The `x-amz-date` of the second last signed at (`SigV4Signer.amzDate(unixSeconds:keys:)`).
    var lastAmzDate: (seconds: Int64, text: String)?
    /// The day of the `x-amz-date` last signed with, and that date (`day(of:)`).
    private var lastDay: (amzDate: String, day: String)?
    /// The buffer canonical requests are written into, kept between them (`takeScratch`).
    private var scratch: [UInt8] = []

    public init(capacity: Int = 256) { self.capacity = capacity }

    public mutating func entry(secret: String, date: String, region: String, service: String) -> Entry {
        let scope = Scope(secret: secret, date: date, region: region, service: service)
        // Most requests on a loop sign or verify under the scope just used: compare it (strings
        // sharing storage compare by pointer) before hashing four strings for the table.
        if let last, last.scope == scope { return last.entry }
        if let entry = entries[scope] {
            last = (scope, entry)
            return entry
        }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        let key = SigV4.signingKey(secret: secret, date: date, region: region, service: service)
        let entry = Entry(key: key, authenticator: KeyedSHA256(key: key), scope: "\(date)/\(region)/\(service)/aws4_request")
        entries[scope] = entry
        last = (scope, entry)
        return entry
    }

    /// `20130524` for `20130524T000000Z`, kept for the date last asked about: attempts signed in
    /// one second share its text (`lastAmzDate`), which compares by pointer, where cutting the
    /// string's prefix again cost a tenth of a signature.
    mutating func day(of amzDate: String) -> String {
        if let lastDay, lastDay.amzDate == amzDate { return lastDay.day }
        let day = String(decoding: amzDate.utf8.prefix(8), as: UTF8.self)
        lastDay = (amzDate, day)
        return day
    }

    /// The scratch buffer, empty and owned by the caller until `keepScratch` gives it back.
    mutating func takeScratch() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &scratch)
        taken.removeAll(keepingCapacity: true)
        return taken
    }

    /// Keeps `buffer` for the next canonical request, unless a hostile one made it large.
    mutating func keepScratch(_ buffer: [UInt8]) {
        if buffer.capacity <= 16 * 1024 { scratch = buffer }
    }

    public var count: Int { entries.count }
}
