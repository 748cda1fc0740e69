/// The canonical request of SigV4 as S3 computes it: no path normalization, each path byte encoded
/// once (an existing `%XX` is kept), query parameters decoded, re-encoded and sorted, and the signed
/// headers' values trimmed with inner runs of spaces collapsed.
///
/// Built from the request's raw bytes, never through `String`: a byte that is not UTF-8 (`0xFF`)
/// must canonicalise as `%FF`, as S3 does, and not as the replacement character's `%EF%BF%BD`.
/// Written into a buffer the caller keeps (`SigningKeyCache.scratch`, one per event loop), so a
/// request's canonical form costs no allocation once that buffer has grown to fit.
public enum CanonicalRequest {
    public static func build(
        method: [UInt8], path: [UInt8], query: [UInt8], fields: [SignedField], payloadHash: String, dropSignatureParameter: Bool
    ) -> [UInt8] {
        var out: [UInt8] = []
        write(method: method, path: path, query: query, fields: fields, payloadHash: payloadHash, dropSignatureParameter: dropSignatureParameter,
              into: &out)
        return out
    }

    /// Appends the canonical request to `out`. `fields` are sorted by name.
    public static func write(
        method: [UInt8], path: [UInt8], query: [UInt8], fields: [SignedField], payloadHash: String, dropSignatureParameter: Bool,
        into out: inout [UInt8]
    ) {
        out.reserveCapacity(out.count + 256 + path.count + query.count)
        out += method
        out.append(10)
        uri(path, into: &out)
        out.append(10)
        canonicalQuery(query, dropSignature: dropSignatureParameter, into: &out)
        out.append(10)
        for field in fields {
            out += field.name.utf8
            out.append(58)
            switch field.value {
            case .lines(let values):
                for (i, value) in values.enumerated() {
                    if i > 0 { out.append(44) }
                    trimmed(value, into: &out)
                }
            case .text(let text):
                var text = text
                text.withUTF8 { trimmed($0, into: &out) }
            }
            out.append(10)
        }
        out.append(10)
        signedHeaders(fields, into: &out)
        out.append(10)
        out += payloadHash.utf8
    }

    /// `host;x-amz-content-sha256;x-amz-date`: the names of `fields`, in their order.
    public static func signedHeaders(_ fields: [SignedField], into out: inout [UInt8]) {
        for (i, field) in fields.enumerated() {
            if i > 0 { out.append(59) }
            out += field.name.utf8
        }
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
                out.append(37)
                out.append(upper(b[i + 1]))
                out.append(upper(b[i + 2]))
                i += 3
                continue
            }
            if isUnreserved(c) || c == 47 { out.append(c) } else { percent(c, into: &out) }
            i += 1
        }
    }

    /// The parameters decoded, re-encoded, and sorted by name, then value. Each is encoded once,
    /// onto the end of `out`, as `name=value`; with more than one, the sort orders their ranges and
    /// the sorted text replaces them.
    public static func canonicalQuery(_ query: [UInt8], dropSignature: Bool, into out: inout [UInt8]) {
        guard !query.isEmpty else { return }
        let start = out.count
        var pairs: [(name: Range<Int>, value: Range<Int>)] = []
        var from = 0
        while from <= query.count {
            let end = query[from...].firstIndex(of: 38) ?? query.count
            defer { from = end + 1 }
            guard end > from else { continue }
            let eq = query[from..<end].firstIndex(of: 61)
            let nameStart = out.count
            decodeAndEncode(query[from..<(eq ?? end)], into: &out)
            let name = nameStart..<out.count
            if dropSignature && out[name].elementsEqual("X-Amz-Signature".utf8) {
                out.removeSubrange(nameStart...)
                continue
            }
            if name.lowerBound > start {
                // Not the first: from here on the parameters are sorted (the first alone needs no sort
                // and no array: `x-id=GetObject`, `uploads`). The `&` keeps their texts apart.
                if pairs.isEmpty { pairs.append(firstPair(out, from: start, to: nameStart)) }
                out.insert(38, at: nameStart)
                pairs.append(((name.lowerBound + 1)..<(name.upperBound + 1), 0..<0))
            }
            out.append(61)
            let valueStart = out.count
            if let eq { decodeAndEncode(query[(eq + 1)..<end], into: &out) }
            if !pairs.isEmpty { pairs[pairs.count - 1].value = valueStart..<out.count }
        }
        guard pairs.count > 1 else { return }
        let encoded = Array(out[start...])
        out.removeSubrange(start...)
        func text(_ r: Range<Int>) -> ArraySlice<UInt8> { encoded[(r.lowerBound - start)..<(r.upperBound - start)] }
        pairs.sort { a, b in
            let (an, bn) = (text(a.name), text(b.name))
            return an != bn ? an.lexicographicallyPrecedes(bn) : text(a.value).lexicographicallyPrecedes(text(b.value))
        }
        for (i, pair) in pairs.enumerated() {
            if i > 0 { out.append(38) }
            out += text(pair.name)
            out.append(61)
            out += text(pair.value)
        }
    }

    /// The ranges of the first `name=value` written at `out[from..<to]`.
    private static func firstPair(_ out: [UInt8], from: Int, to: Int) -> (name: Range<Int>, value: Range<Int>) {
        let eq = out[from..<to].firstIndex(of: 61) ?? to
        return (from..<eq, min(eq + 1, to)..<to)
    }

    /// Percent-decodes `raw` (a `%` not followed by two hex digits stays as it is) and writes the
    /// result RFC 3986-encoded, in one pass.
    static func decodeAndEncode(_ raw: ArraySlice<UInt8>, into out: inout [UInt8]) {
        var i = raw.startIndex
        while i < raw.endIndex {
            var c = raw[i]
            if c == 37, i + 2 < raw.endIndex, let h = hexValue(raw[i + 1]), let l = hexValue(raw[i + 2]) {
                c = h << 4 | l
                i += 2
            }
            if isUnreserved(c) { out.append(c) } else { percent(c, into: &out) }
            i += 1
        }
    }

    static func trimmed(_ value: [UInt8], into out: inout [UInt8]) {
        value.withUnsafeBufferPointer { trimmed($0, into: &out) }
    }

    static func trimmed(_ value: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
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

    private static func isHex(_ c: UInt8) -> Bool { hexValue(c) != nil }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }

    private static func upper(_ c: UInt8) -> UInt8 { c >= 97 && c <= 102 ? c - 32 : c }

    private static func percent(_ c: UInt8, into out: inout [UInt8]) {
        out.append(37)
        out.append(hexUpper(c >> 4))
        out.append(hexUpper(c & 0xF))
    }

    @inline(__always) private static func hexUpper(_ n: UInt8) -> UInt8 { n < 10 ? 48 + n : 55 + n }
}

/// One header field a signature covers: its lower-case name, and its values as they came in a
/// head (`lines`, each a field line's value) or as the signer sets them (`text`).
public struct SignedField {
    public enum Value {
        case lines([[UInt8]])
        case text(String)
    }

    public var name: String
    public var value: Value

    public init(_ name: String, _ value: Value) {
        self.name = name
        self.value = value
    }

    public init(_ name: String, lines: [[UInt8]]) { self.init(name, .lines(lines)) }
    public init(_ name: String, text: String) { self.init(name, .text(text)) }
}
