/// What a request says about its signer: the `Authorization` header of SigV4 (or SigV2), or the
/// `X-Amz-*` parameters of a presigned URL. Parsed strictly: a field or parameter given twice is
/// refused, because the gateway and a node could each read a different one (the tenant charged
/// would not be the tenant verified).
public struct SignedRequest: Sendable, Equatable {
    public enum Form: Sendable, Equatable { case header, presigned, version2 }

    public var form: Form
    public var accessKey: String
    public var date = ""
    public var region = ""
    public var service = ""
    public var signedHeaders: [String] = []
    public var signature = ""
    /// Presigned only: the signing time and lifetime.
    public var amzDate: String?
    public var expires: Int?

    public var scope: String { "\(date)/\(region)/\(service)/aws4_request" }

    /// More signed header names than a request may carry fields: parsing them is work an attacker chooses.
    public static let maxSignedHeaders = 128

    /// Who a request claims to be, cheaply, without verifying: what tenant identification needs.
    public enum Claim: Sendable, Equatable {
        case anonymous
        case key(Substring)
        /// The credential is given twice (two `Credential=`, or two `X-Amz-Credential`): refused.
        case ambiguous
    }

    /// The access key a request claims. Compares bytes: every request passes here, and Foundation's
    /// `range(of:)` cost about 8 % of the CPU of answering a request (and Character-wise scans
    /// about 3 %).
    public static func claim(authorization: Substring?, query: Substring) -> Claim {
        if let auth = authorization {
            if let rest = text(after: "Credential=", in: auth) {
                if text(after: "Credential=", in: rest) != nil { return .ambiguous }
                return .key(prefix(of: rest) { $0 != 47 && $0 != 44 && $0 != 32 })  // '/', ',', ' '
            }
            if auth.hasPrefix("AWS ") {  // SigV2: "AWS AKID:signature"
                return .key(prefix(of: auth.dropFirst(4)) { $0 != 58 })  // ':'
            }
            return .anonymous
        }
        guard query.utf8.contains(UInt8(ascii: "=")) else { return .anonymous }
        var found: Substring?
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let isV4 = part.hasPrefix("X-Amz-Credential=")
            guard isV4 || part.hasPrefix("AWSAccessKeyId=") else { continue }
            if found != nil { return .ambiguous }
            let value = part.drop { $0 != "=" }.dropFirst()
            found = Substring(PercentDecoding.decode(value).prefix { $0 != "/" })
        }
        return found.map { .key($0) } ?? .anonymous
    }

    /// The leading bytes of `text` that satisfy `keep`, as a Substring (cut at a byte, which the
    /// callers only do at ASCII delimiters).
    static func prefix(of text: Substring, while keep: (UInt8) -> Bool) -> Substring {
        let bytes = text.utf8
        let end = bytes.firstIndex { !keep($0) } ?? bytes.endIndex
        return text[..<end]
    }

    /// What follows the first `marker` in `text`: a byte search over the contiguous UTF-8.
    static func text(after marker: StaticString, in text: Substring) -> Substring? {
        let needle = UnsafeRawBufferPointer(start: marker.utf8Start, count: marker.utf8CodeUnitCount)
        guard let first = needle.first else { return text }
        let found: Int?? = text.utf8.withContiguousStorageIfAvailable { hay -> Int? in
            var i = 0
            let last = hay.count - needle.count
            while i <= last {
                if hay[i] == first {
                    var j = 1
                    while j < needle.count, hay[i + j] == needle[j] { j += 1 }
                    if j == needle.count { return i + needle.count }
                }
                i += 1
            }
            return nil
        }
        if let found {
            guard let offset = found else { return nil }
            return text[text.utf8.index(text.utf8.startIndex, offsetBy: offset)...]
        }
        // Not contiguous (a bridged string): the slow way.
        let bytes = text.utf8
        var from = bytes.startIndex
        while let start = bytes[from...].firstIndex(of: first) {
            var i = start
            var matched = 0
            while matched < needle.count, i < bytes.endIndex, bytes[i] == needle[matched] {
                i = bytes.index(after: i)
                matched += 1
            }
            if matched == needle.count { return text[i...] }
            from = bytes.index(after: start)
        }
        return nil
    }

    /// Parses `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=a;b, Signature=hex`.
    public static func parse(authorization: Substring) -> Result<SignedRequest, SigV4Verifier.Failure> {
        var text = authorization
        return text.withUTF8(parse(authorizationBytes:))
    }

    /// Over the header's bytes with integer offsets: every verified request passes here, and
    /// splitting and comparing `Substring`s (arrays of slices, Character-wise prefix checks) cost
    /// twice the signature's HMAC.
    private static func parse(authorizationBytes b: UnsafeBufferPointer<UInt8>) -> Result<SignedRequest, SigV4Verifier.Failure> {
        if starts(b, with: version2Prefix) {
            let key = 4..<(b[4...].firstIndex(of: 58) ?? b.count)  // "AWS AKID:signature"
            return .success(SignedRequest(form: .version2, accessKey: string(b, key)))
        }
        guard starts(b, with: version4Prefix) else { return .failure(.malformed("unrecognised Authorization header")) }
        var credential: Range<Int>?
        var signed: Range<Int>?
        var signature: Range<Int>?
        var from = version4Prefix.count
        while from <= b.count {  // each `,`-separated piece, empty ones included (they are refused)
            let end = b[from...].firstIndex(of: 44) ?? b.count
            defer { from = end + 1 }
            var start = from
            while start < end, b[start] == 32 { start += 1 }
            guard let eq = b[start..<end].firstIndex(of: 61) else { return .failure(.malformed("unrecognised Authorization header")) }
            let name = start..<eq
            let value = (eq + 1)..<(b[(eq + 1)..<end].firstIndex(of: 32) ?? end)
            let duplicate: Bool
            if equals(b, name, "Credential") {
                duplicate = credential != nil
                credential = value
            } else if equals(b, name, "SignedHeaders") {
                duplicate = signed != nil
                signed = value
            } else if equals(b, name, "Signature") {
                duplicate = signature != nil
                signature = value
            } else {
                continue
            }
            if duplicate { return .failure(.malformed("\(string(b, name)) is given twice")) }
        }
        guard let credential, let signed, let signature else { return .failure(.malformed("unrecognised Authorization header")) }
        return make(.header, credential: rebased(b, credential), signedHeaders: rebased(b, signed), signature: rebased(b, signature))
    }

    /// Parses the `X-Amz-*` parameters of a presigned URL.
    public static func parse(presignedQuery query: Substring) -> Result<SignedRequest, SigV4Verifier.Failure> {
        var values: [String: String] = [:]
        for part in query.split(separator: "&") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            let name = PercentDecoding.decode(part[..<eq])
            guard name.hasPrefix("X-Amz-") else { continue }
            guard values[name] == nil else { return .failure(.malformed("\(name) is given twice")) }
            values[name] = PercentDecoding.decode(part[part.index(after: eq)...])
        }
        guard values["X-Amz-Algorithm"] == SigV4.algorithm, let credential = values["X-Amz-Credential"],
            let signed = values["X-Amz-SignedHeaders"], let signature = values["X-Amz-Signature"],
            let date = values["X-Amz-Date"], let expires = values["X-Amz-Expires"].flatMap({ Int($0) })
        else { return .failure(.malformed("incomplete presigned URL")) }
        var (c, h, g) = (credential, signed, signature)
        let made = c.withUTF8 { c in h.withUTF8 { h in g.withUTF8 { g in make(.presigned, credential: c, signedHeaders: h, signature: g) } } }
        return made.map { request in
            var request = request
            request.amzDate = date
            request.expires = expires
            return request
        }
    }

    private static func make(
        _ form: Form, credential: UnsafeBufferPointer<UInt8>, signedHeaders names: UnsafeBufferPointer<UInt8>, signature: UnsafeBufferPointer<UInt8>
    ) -> Result<SignedRequest, SigV4Verifier.Failure> {
        // AKID/date/region/service/aws4_request: exactly five parts.
        var parts: (Range<Int>, Range<Int>, Range<Int>, Range<Int>) = (0..<0, 0..<0, 0..<0, 0..<0)
        var start = 0
        for n in 0..<4 {
            guard let slash = credential[start...].firstIndex(of: 47) else { return .failure(.malformed("bad Credential")) }
            switch n {
            case 0: parts.0 = start..<slash
            case 1: parts.1 = start..<slash
            case 2: parts.2 = start..<slash
            default: parts.3 = start..<slash
            }
            start = slash + 1
        }
        guard equals(credential, start..<credential.count, "aws4_request") else { return .failure(.malformed("bad Credential")) }

        var count = 1
        for c in names where c == 59 { count += 1 }  // ';'
        guard count <= maxSignedHeaders else { return .failure(.malformed("more than \(maxSignedHeaders) signed headers")) }
        var headers: [String] = []
        headers.reserveCapacity(count)
        var previous: Range<Int>?
        var from = 0
        while from <= names.count {
            let end = names[from...].firstIndex(of: 59) ?? names.count
            defer { from = end + 1 }
            let name = from..<end
            // Lower-case header names in ascending order, each once: how every SDK signs, and what
            // lets the verifier look each one up once.
            guard !name.isEmpty, names[name].allSatisfy(isLowerToken) else { return .failure(.malformed("bad SignedHeaders")) }
            if let previous, !names[previous].lexicographicallyPrecedes(names[name]) {
                return .failure(.malformed("SignedHeaders are not sorted, or list a header twice"))
            }
            previous = name
            headers.append(string(names, name))
        }
        var hex = string(signature, 0..<signature.count)
        if signature.contains(where: { $0 >= 65 && $0 <= 90 }) { hex = hex.lowercased() }
        return .success(
            SignedRequest(
                form: form, accessKey: string(credential, parts.0), date: string(credential, parts.1), region: string(credential, parts.2),
                service: string(credential, parts.3), signedHeaders: headers, signature: hex))
    }

    private static let version2Prefix = Array("AWS ".utf8)
    private static let version4Prefix = Array("\(SigV4.algorithm) ".utf8)

    private static func starts(_ b: UnsafeBufferPointer<UInt8>, with prefix: [UInt8]) -> Bool {
        b.count >= prefix.count && b[0..<prefix.count].elementsEqual(prefix)
    }

    private static func equals(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ text: StaticString) -> Bool {
        range.count == text.utf8CodeUnitCount && b[range].elementsEqual(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private static func string(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: rebased(b, range), as: UTF8.self)
    }

    private static func rebased(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: b[range])
    }

    private static func isLowerToken(_ c: UInt8) -> Bool {
        switch c {
        case 97...122, 48...57, 45, 95, 46, 33, 35, 36, 37, 38, 39, 42, 43, 94, 96, 124, 126: true
        default: false
        }
    }
}
