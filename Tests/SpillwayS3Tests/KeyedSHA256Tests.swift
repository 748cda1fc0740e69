import Crypto
import SpillwayS3
import Testing

@Suite("HMAC-SHA256 with its key's pads hashed once")
struct KeyedSHA256Tests {
    /// RFC 4231, test case 2 ("Jefe", "what do ya want for nothing?").
    @Test func rfc4231TestCase2() {
        let mac = KeyedSHA256(key: SymmetricKey(data: Array("Jefe".utf8))).mac(Array("what do ya want for nothing?".utf8))
        #expect(mac.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// The same MAC as swift-crypto's `HMAC<SHA256>` for keys shorter than, as long as and longer
    /// than a block (a long key is hashed first), and for messages of every length up to three blocks.
    @Test func matchesSwiftCryptosHMACForEveryKeyAndMessageLength() {
        for keyLength in [0, 1, 32, 63, 64, 65, 131] {
            let key = SymmetricKey(data: (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
            let keyed = KeyedSHA256(key: key)
            for length in 0...192 {
                let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ keyLength) }
                #expect(Array(keyed.mac(message)) == Array(HMAC<SHA256>.authenticationCode(for: message, using: key)), "key \(keyLength), message \(length)")
            }
        }
    }
}
