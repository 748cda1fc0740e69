import Crypto

/// Derived SigV4 signing keys, kept for reuse: a key depends only on the secret, the day, the
/// region and the service, and deriving one costs four HMACs, which were a tenth of the CPU of a
/// verified (or re-signed) request. A value type the caller owns (one per event loop), so the
/// signer and verifier stay pure. Bounded: when full it starts over, so a flood of distinct
/// credentials costs at most what it cost without the cache.
public struct SigningKeyCache {
    private struct Scope: Hashable, Sendable {
        let secret: String
        let date: String
        let region: String
        let service: String
    }

    private var keys: [Scope: SymmetricKey] = [:]
    public let capacity: Int

    public init(capacity: Int = 256) { self.capacity = capacity }

    public mutating func key(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        let scope = Scope(secret: secret, date: date, region: region, service: service)
        if let key = keys[scope] { return key }
        if keys.count >= capacity { keys.removeAll(keepingCapacity: true) }
        let key = SigV4.signingKey(secret: secret, date: date, region: region, service: service)
        keys[scope] = key
        return key
    }

    public var count: Int { keys.count }
}
