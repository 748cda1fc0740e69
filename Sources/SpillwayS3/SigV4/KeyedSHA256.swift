import Crypto

/// HMAC-SHA256 (RFC 2104) under one key, with the hashes of its two padded key blocks taken once,
/// so that each MAC hashes only the message and the inner digest. Built on `SHA256` directly: the
/// generic `HMAC<SHA256>` of swift-crypto is not specialised across modules, and looking up its
/// generic metadata cost as much as the hashing itself on every signature.
public struct KeyedSHA256 {
    private let inner: SHA256
    private let outer: SHA256

    public init(key: SymmetricKey) {
        var block = [UInt8](repeating: 0, count: 64)
        key.withUnsafeBytes { raw in
            if raw.count > 64 {
                SHA256.hash(data: raw).withUnsafeBytes { digest in
                    for (i, b) in digest.enumerated() { block[i] = b }
                }
            } else {
                for (i, b) in raw.enumerated() { block[i] = b }
            }
        }
        var inner = SHA256()
        var outer = SHA256()
        inner.update(data: block.map { $0 ^ 0x36 })
        outer.update(data: block.map { $0 ^ 0x5C })
        self.inner = inner
        self.outer = outer
    }

    public func mac(_ message: UnsafeRawBufferPointer) -> SHA256Digest {
        var inner = self.inner
        inner.update(bufferPointer: message)
        let digest = inner.finalize()
        var outer = self.outer
        digest.withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize()
    }

    public func mac(_ message: [UInt8]) -> SHA256Digest { message.withUnsafeBytes { mac($0) } }
}
