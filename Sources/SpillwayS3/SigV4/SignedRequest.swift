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
        if authorization.hasPrefix("AWS ") {
            return .success(SignedRequest(form: .version2, accessKey: String(authorization.dropFirst(4).prefix { $0 != ":" })))
        }
        guard authorization.hasPrefix(SigV4.algorithm + " ") else { return .failure(.malformed("unrecognised Authorization header")) }
        // Over UTF-8 bytes, not Characters: every verified request passes here, and splitting and
        // hashing Substrings cost more than the signature's HMAC.
        var credential: Substring?
        var signed: Substring?
        var signature: Substring?
        let text = authorization.dropFirst(SigV4.algorithm.count + 1)
        for piece in text.utf8.split(separator: 44, omittingEmptySubsequences: false) {  // ','
            var item = piece
            while item.first == 32 { item = item.dropFirst() }
            guard let eq = item.firstIndex(of: 61) else { return .failure(.malformed("unrecognised Authorization header")) }
            let name = item[..<eq]
            var value = item[item.index(after: eq)...]
            if let space = value.firstIndex(of: 32) { value = value[..<space] }
            let field = Substring(value)
            let duplicate: Bool
            if name.elementsEqual("Credential".utf8) {
                duplicate = credential != nil
                credential = field
            } else if name.elementsEqual("SignedHeaders".utf8) {
                duplicate = signed != nil
                signed = field
            } else if name.elementsEqual("Signature".utf8) {
                duplicate = signature != nil
                signature = field
            } else {
                continue
            }
            if duplicate { return .failure(.malformed("\(Substring(name)) is given twice")) }
        }
        guard let credential, let signed, let signature else { return .failure(.malformed("unrecognised Authorization header")) }
        return make(.header, credential: credential, signedHeaders: signed, signature: signature)
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
        return make(.presigned, credential: credential[...], signedHeaders: signed[...], signature: signature[...]).map { request in
            var request = request
            request.amzDate = date
            request.expires = expires
            return request
        }
    }

    private static func make(_ form: Form, credential: Substring, signedHeaders: Substring, signature: Substring) -> Result<SignedRequest, SigV4Verifier.Failure> {
        let parts = credential.utf8.split(separator: 47, omittingEmptySubsequences: false)  // '/'
        guard parts.count == 5, parts[4].elementsEqual("aws4_request".utf8) else { return .failure(.malformed("bad Credential")) }
        let names = signedHeaders.utf8.split(separator: 59, omittingEmptySubsequences: false)  // ';'
        guard names.count <= maxSignedHeaders else { return .failure(.malformed("more than \(maxSignedHeaders) signed headers")) }
        var previous: Substring.UTF8View.SubSequence?
        for name in names {
            // Lower-case header names in ascending order, each once: how every SDK signs, and what
            // lets the verifier look each one up once.
            guard !name.isEmpty, name.allSatisfy({ isLowerToken($0) }) else { return .failure(.malformed("bad SignedHeaders")) }
            if let previous, !previous.lexicographicallyPrecedes(name) {
                return .failure(.malformed("SignedHeaders are not sorted, or list a header twice"))
            }
            previous = name
        }
        return .success(
            SignedRequest(
                form: form, accessKey: String(Substring(parts[0])), date: String(Substring(parts[1])), region: String(Substring(parts[2])),
                service: String(Substring(parts[3])), signedHeaders: names.map { String(Substring($0)) }, signature: signature.lowercased()))
    }

    private static func isLowerToken(_ c: UInt8) -> Bool {
        switch c {
        case 97...122, 48...57, 45, 95, 46, 33, 35, 36, 37, 38, 39, 42, 43, 94, 96, 124, 126: true
        default: false
        }
    }
}
