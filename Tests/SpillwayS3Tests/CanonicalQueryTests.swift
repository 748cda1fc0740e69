import SpillwayS3
import Testing

/// The canonical query is written in one pass (decode and re-encode each parameter onto the end of
/// the buffer, then order their ranges). These tests hold it to the plain definition, written out
/// here the slow way: split at `&`, drop empty parameters, percent-decode name and value,
/// RFC 3986-encode them again, sort by name then value, join.
@Suite("Canonical query")
struct CanonicalQueryTests {
    static func reference(_ query: [UInt8], dropSignature: Bool) -> String {
        func decode(_ raw: ArraySlice<UInt8>) -> [UInt8] {
            var out: [UInt8] = []
            var i = raw.startIndex
            while i < raw.endIndex {
                if raw[i] == 37, i + 2 < raw.endIndex, let h = hex(raw[i + 1]), let l = hex(raw[i + 2]) {
                    out.append(h << 4 | l)
                    i += 3
                } else {
                    out.append(raw[i])
                    i += 1
                }
            }
            return out
        }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 65...70: c - 55
            case 97...102: c - 87
            default: nil
            }
        }
        func encode(_ bytes: [UInt8]) -> String {
            bytes.map { c -> String in
                let unreserved = (65...90).contains(c) || (97...122).contains(c) || (48...57).contains(c) || [45, 46, 95, 126].contains(c)
                return unreserved ? String(UnicodeScalar(c)) : "%" + String(c, radix: 16, uppercase: true).leftPadded
            }.joined()
        }
        var pairs: [(String, String)] = []
        for part in query.split(separator: 38, omittingEmptySubsequences: true) {
            let eq = part.firstIndex(of: 61)
            let name = encode(decode(part[..<(eq ?? part.endIndex)]))
            let value = eq.map { encode(decode(part[($0 + 1)...])) } ?? ""
            if dropSignature && name == "X-Amz-Signature" { continue }
            pairs.append((name, value))
        }
        pairs.sort { $0.0 != $1.0 ? Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) : Array($0.1.utf8).lexicographicallyPrecedes(Array($1.1.utf8)) }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    static func canonical(_ query: String, dropSignature: Bool = false, after prefix: String = "") -> String {
        var out = Array(prefix.utf8)
        CanonicalRequest.canonicalQuery(Array(query.utf8), dropSignature: dropSignature, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func theCasesS3ClientsSend() {
        #expect(Self.canonical("x-id=GetObject") == "x-id=GetObject")
        #expect(Self.canonical("uploads") == "uploads=")
        #expect(Self.canonical("list-type=2&prefix=epoch%2F3&max-keys=1000") == "list-type=2&max-keys=1000&prefix=epoch%2F3")
        #expect(Self.canonical("partNumber=2&uploadId=a%2Bb") == "partNumber=2&uploadId=a%2Bb")
        // A name given twice is ordered by value; empty parameters are skipped; a space is %20, never +.
        #expect(Self.canonical("&b=2&&b=1&a&") == "a=&b=1&b=2")
        #expect(Self.canonical("prefix=a b+c") == "prefix=a%20b%2Bc")
        // A `%` not followed by two hex digits is a literal percent sign.
        #expect(Self.canonical("k=%zz%4") == "k=%25zz%254")
        // Written after what the buffer already holds (the method, the path), leaving that alone.
        #expect(Self.canonical("b=1&a=2", after: "GET\n/\n") == "GET\n/\na=2&b=1")
    }

    @Test func aPresignedURLsSignatureIsLeftOutWhereverItIs() {
        for query in ["X-Amz-Signature=ab&X-Amz-Date=1", "X-Amz-Date=1&X-Amz-Signature=ab", "a=1&X-Amz-Signature=ab&b=2", "X-Amz-Signature=ab"] {
            #expect(Self.canonical(query, dropSignature: true) == Self.reference(Array(query.utf8), dropSignature: true), "\(query)")
        }
        #expect(Self.canonical("X-Amz-Signature=ab&X-Amz-Date=1", dropSignature: true) == "X-Amz-Date=1")
    }

    @Test func randomQueriesCanonicaliseAsTheDefinitionSays() {
        // Queries made of the bytes that matter (separators, escapes, bytes that need encoding).
        let alphabet: [UInt8] = Array("ab=&%2FfZz+ ~-._".utf8) + [0xFF, 0x00]
        var random = SplitMix(seed: 12)
        for _ in 0..<3_000 {
            let length = Int(random.next() % 24)
            let query = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            let drop = random.next() % 2 == 0
            var out: [UInt8] = []
            CanonicalRequest.canonicalQuery(query, dropSignature: drop, into: &out)
            #expect(String(decoding: out, as: UTF8.self) == Self.reference(query, dropSignature: drop), "\(query)")
        }
    }
}

/// A small deterministic generator (the tests need the same queries on every run).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    fileprivate var leftPadded: String { count == 1 ? "0" + self : self }
}
