import Crypto

/// Derived SigV4 signing keys, kept for reuse: a key depends only on the secret, the day, the
/// region and the service, and deriving one costs four HMACs, which were a tenth of the CPU of a
/// verified (or re-signed) request. With each key, an HMAC already keyed with it, whose copies sign
/// (the key's padded blocks are hashed once, not per request). A value type the caller owns (one
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
        public let authenticator: HMAC<SHA256>
    }

    private var entries: [Scope: Entry] = [:]
    public let capacity: Int
    /// The `x-amz-date` of the second last signed at (`SigV4Signer.amzDate(unixSeconds:keys:)`).
    var lastAmzDate: (seconds: Int64, text: String)?

    public init(capacity: Int = 256) { self.capacity = capacity }

    public mutating func entry(secret: String, date: String, region: String, service: String) -> Entry {
        let scope = Scope(secret: secret, date: date, region: region, service: service)
        if let entry = entries[scope] { return entry }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        let key = SigV4.signingKey(secret: secret, date: date, region: region, service: service)
        let entry = Entry(key: key, authenticator: HMAC<SHA256>(key: key))
        entries[scope] = entry
        return entry
    }

    public mutating func key(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        entry(secret: secret, date: date, region: region, service: service).key
    }

    public var count: Int { entries.count }
}
