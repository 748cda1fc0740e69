/// The canonical request of SigV4 as S3 computes it: no path normalization, each path byte encoded
/// once (an existing `%XX` is kept), query parameters decoded, re-encoded and sorted, and the signed
/// headers' values trimmed with inner runs of spaces collapsed.
///
/// Built from the request's raw bytes, never through `String`: a byte that is not UTF-8 (`0xFF`)
/// must canonicalise as `%FF`, as S3 does, and not as the replacement character's `%EF%BF%BD`.
public enum CanonicalRequest {
    public static func build(
        method: [UInt8], path: [UInt8], query: [UInt8], signedHeaders: [String], headerValues: [[[UInt8]]],
        payloadHash: String, dropSignatureParameter: Bool
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + path.count + query.count)
        out += method
        out.append(10)
        uri(path, into: &out)
        out.append(10)
        canonicalQuery(query, dropSignature: dropSignatureParameter, into: &out)
        out.append(10)
        for (name, values) in zip(signedHeaders, headerValues) {
            out += name.utf8
            out.append(58)
            for (i, value) in values.enumerated() {
                if i > 0 { out.append(44) }
                trimmed(value, into: &out)
            }
            out.append(10)
        }
        out.append(10)
        for (i, name) in signedHeaders.enumerated() {
            if i > 0 { out.append(59) }
            out += name.utf8
        }
        out.append(10)
        out += payloadHash.utf8
        return out
    }

    /// Encodes every byte but the unreserved ones and `/`; keeps `%XX` sequences (upper-casing them).
    public static func uri(_ b: [UInt8], into out: inout [UInt8]) {
        if b.isEmpty {
            out.append(47)
            return
        }
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == 37, i + 2 < b.count, isHex(b[i + 1]), isHex(b[i + 2]) {
                out += [37, upper(b[i + 1]), upper(b[i + 2])]
                i += 3
                continue
            }
            if isUnreserved(c) || c == 47 { out.append(c) } else { percent(c, into: &out) }
            i += 1
        }
    }

    public static func canonicalQuery(_ query: [UInt8], dropSignature: Bool, into out: inout [UInt8]) {
        guard !query.isEmpty else { return }
        var pairs: [([UInt8], [UInt8])] = []
        for part in query.split(separator: 38, omittingEmptySubsequences: true) {
            let eq = part.firstIndex(of: 61)
            var name: [UInt8] = []
            var value: [UInt8] = []
            encode(PercentDecoding.decodeBytes(eq.map { part[..<$0] } ?? part[...]), into: &name)
            encode(PercentDecoding.decodeBytes(eq.map { part[part.index(after: $0)...] } ?? []), into: &value)
            if dropSignature && name.elementsEqual("X-Amz-Signature".utf8) { continue }
            pairs.append((name, value))
        }
        pairs.sort { $0.0 != $1.0 ? $0.0.lexicographicallyPrecedes($1.0) : $0.1.lexicographicallyPrecedes($1.1) }
        for (i, pair) in pairs.enumerated() {
            if i > 0 { out.append(38) }
            out += pair.0
            out.append(61)
            out += pair.1
        }
    }

    /// RFC 3986 encoding of every byte but the unreserved ones.
    static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        for c in bytes { if isUnreserved(c) { out.append(c) } else { percent(c, into: &out) } }
    }

    static func trimmed(_ value: [UInt8], into out: inout [UInt8]) {
        var space = false
        var started = false
        for c in value {
            if c == 32 || c == 9 {
                space = started
                continue
            }
            if space { out.append(32) }
            space = false
            started = true
            out.append(c)
        }
    }

    private static func isUnreserved(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45 || c == 46 || c == 95 || c == 126
    }

    private static func isHex(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) }

    private static func upper(_ c: UInt8) -> UInt8 { c >= 97 && c <= 102 ? c - 32 : c }

    private static let digits: [UInt8] = Array("0123456789ABCDEF".utf8)

    private static func percent(_ c: UInt8, into out: inout [UInt8]) {
        out += [37, digits[Int(c >> 4)], digits[Int(c & 0xF)]]
    }
}
