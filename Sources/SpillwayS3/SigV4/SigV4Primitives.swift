import Crypto

/// The hashing and key derivation of AWS Signature Version 4.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public static func sha256Hex(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    public static func sha256Hex(_ text: String) -> String { sha256Hex(Array(text.utf8)) }

    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
    public static func signingKey(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    public static func signature(_ stringToSign: String, key: SymmetricKey) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    /// The MAC a request's signature is the hex of: the string to sign, built on the stack, MACed
    /// with `authenticator` (keyed once per signing key in `SigningKeyCache.Entry`).
    static func mac(amzDate: String, scope: String, canonicalRequest: [UInt8], authenticator: KeyedSHA256) -> SHA256Digest {
        let hash = SHA256.hash(data: canonicalRequest)
        let length = algorithmLine.count + amzDate.utf8.count + 1 + scope.utf8.count + 1 + 2 * SHA256.byteCount
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { out in
            var w = FixedWriter(out)
            w.put(algorithmLine)
            w.put(amzDate)
            w.put(byte: 10)
            w.put(scope)
            w.put(byte: 10)
            hash.withUnsafeBytes { w.putHex($0) }
            return authenticator.mac(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(out)[0..<w.count]))
        }
    }

    /// Whether `signature` is the lower-case hex of `mac`, compared in constant time (a forger
    /// learns nothing from timing) and without making either into a string.
    static func matches(_ mac: SHA256Digest, signature: String) -> Bool {
        var signature = signature
        return signature.withUTF8 { given in
            mac.withUnsafeBytes { raw in
                guard given.count == 2 * raw.count else { return false }
                var diff: UInt8 = 0
                for (i, b) in raw.enumerated() {
                    diff |= given[2 * i] ^ hexDigit(b >> 4)
                    diff |= given[2 * i + 1] ^ hexDigit(b & 0xF)
                }
                return diff == 0
            }
        }
    }

    private static let algorithmLine = Array("\(algorithm)\n".utf8)

    /// Lower-case hex of a digest or a MAC, made in one allocation.
    static func hex<D: Digest>(_ digest: D) -> String { digest.withUnsafeBytes(hex(raw:)) }

    static func hex(_ mac: HashedAuthenticationCode<SHA256>) -> String { mac.withUnsafeBytes(hex(raw:)) }

    private static func hex(raw: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: 2 * raw.count) { out in
            var w = FixedWriter(out)
            w.putHex(raw)
            return w.count
        }
    }

    @inline(__always) static func hexDigit(_ n: UInt8) -> UInt8 { n < 10 ? 48 + n : 87 + n }

    /// Constant-time comparison, so a forger learns nothing from timing.
    static func equal(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard x.count == y.count else { return false }
                var diff: UInt8 = 0
                for i in 0..<x.count { diff |= x[i] ^ y[i] }
                return diff == 0
            }
        }
    }

    /// `20130524T000000Z` as seconds since 1970, or nil.
    public static func epochSeconds(amzDate: String) -> Int? {
        let b = Array(amzDate.utf8)
        guard b.count == 16, b[8] == 84, b[15] == 90 else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var n = 0
            for i in r {
                let d = Int(b[i]) - 48
                guard (0...9).contains(d) else { return nil }
                n = n * 10 + d
            }
            return n
        }
        guard let y = num(0..<4), let m = num(4..<6), let d = num(6..<8), let hh = num(9..<11), let mm = num(11..<13),
            let ss = num(13..<15), (1...12).contains(m), (1...31).contains(d), hh < 24, mm < 60, ss < 61
        else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return days * 86400 + hh * 3600 + mm * 60 + ss
    }
}

/// The signatures of an `aws-chunked` body: each chunk's covers the one before it (the first,
/// the request's own), and the trailer's covers the last chunk's.
extension SigV4 {
    public static func chunkSignature(previous: String, chunkHash: String, amzDate: String, scope: String, key: SymmetricKey) -> String {
        signature("AWS4-HMAC-SHA256-PAYLOAD\n\(amzDate)\n\(scope)\n\(previous)\n\(emptyPayloadHash)\n\(chunkHash)", key: key)
    }

    public static func trailerSignature(previous: String, trailers: [(name: String, value: String)], amzDate: String, scope: String, key: SymmetricKey) -> String {
        signature("AWS4-HMAC-SHA256-TRAILER\n\(amzDate)\n\(scope)\n\(previous)\n\(sha256Hex(canonicalTrailers(trailers)))", key: key)
    }

    /// `name:value\n` for each trailer but the signature, by name, names lower-cased and values trimmed.
    public static func canonicalTrailers(_ trailers: [(name: String, value: String)]) -> String {
        trailers.map { ($0.name.lowercased(), $0.value.trimmingSpaces) }.filter { $0.0 != "x-amz-trailer-signature" }
            .sorted { $0.0 < $1.0 }.map { "\($0.0):\($0.1)\n" }.joined()
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        let scalars = unicodeScalars.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()
        return String(String.UnicodeScalarView(scalars))
    }
}
