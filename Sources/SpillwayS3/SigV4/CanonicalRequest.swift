/// The canonical request of SigV4 as S3 computes it: no path normalization, each path byte encoded
/// once (an existing `%XX` is kept), query parameters decoded, re-encoded and sorted, and the signed
/// headers' values trimmed with inner runs of spaces collapsed.
public enum CanonicalRequest {
    public static func build(
        method: String, path: Substring, query: Substring, signedHeaders: [String], headerValues: [[String]],
        payloadHash: String, dropSignatureParameter: Bool
    ) -> String {
        var lines = method + "\n" + uri(path) + "\n" + canonicalQuery(query, dropSignature: dropSignatureParameter) + "\n"
        for (name, values) in zip(signedHeaders, headerValues) {
            lines += name + ":" + values.map(trimmed).joined(separator: ",") + "\n"
        }
        lines += "\n" + signedHeaders.joined(separator: ";") + "\n" + payloadHash
        return lines
    }

    /// Encodes every byte but the unreserved ones and `/`; keeps `%XX` sequences (upper-casing them).
    public static func uri(_ path: Substring) -> String {
        let b = Array(path.utf8)
        if b.isEmpty { return "/" }
        var out: [UInt8] = []
        out.reserveCapacity(b.count + 8)
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == 37, i + 2 < b.count, isHex(b[i + 1]), isHex(b[i + 2]) {
                out += [37, upper(b[i + 1]), upper(b[i + 2])]
                i += 3
                continue
            }
            if isUnreserved(c) || c == 47 { out.append(c) } else { out += percent(c) }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func canonicalQuery(_ query: Substring, dropSignature: Bool) -> String {
        guard !query.isEmpty else { return "" }
        var pairs: [(String, String)] = []
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let eq = part.firstIndex(of: "=")
            let name = encode(PercentDecoding.decode(eq.map { part[..<$0] } ?? part))
            let value = encode(PercentDecoding.decode(eq.map { part[part.index(after: $0)...] } ?? ""))
            if dropSignature && name == "X-Amz-Signature" { continue }
            pairs.append((name, value))
        }
        pairs.sort { $0.0 != $1.0 ? $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) : $0.1.utf8.lexicographicallyPrecedes($1.1.utf8) }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// RFC 3986 encoding of every byte but the unreserved ones.
    static func encode(_ text: String) -> String {
        var out: [UInt8] = []
        for c in text.utf8 { if isUnreserved(c) { out.append(c) } else { out += percent(c) } }
        return String(decoding: out, as: UTF8.self)
    }

    static func trimmed(_ value: String) -> String {
        var out: [UInt8] = []
        var space = false
        for c in value.utf8 {
            if c == 32 || c == 9 {
                space = !out.isEmpty
                continue
            }
            if space { out.append(32) }
            space = false
            out.append(c)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isUnreserved(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45 || c == 46 || c == 95 || c == 126
    }

    private static func isHex(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) }

    private static func upper(_ c: UInt8) -> UInt8 { c >= 97 && c <= 102 ? c - 32 : c }

    private static func percent(_ c: UInt8) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        return [37, digits[Int(c >> 4)], digits[Int(c & 0xF)]]
    }
}
