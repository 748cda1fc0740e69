/// What a request says about its signer: the `Authorization` header of SigV4 (or SigV2), or the
/// `X-Amz-*` parameters of a presigned URL.
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

    /// The access key alone, cheaply: what tenant identification needs.
    public static func accessKey(authorization: Substring?, query: Substring) -> Substring? {
        if let auth = authorization {
            if let rest = text(after: "Credential=", in: auth) {
                return rest.prefix { $0 != "/" && $0 != "," && $0 != " " }
            }
            if auth.hasPrefix("AWS ") {  // SigV2: "AWS AKID:signature"
                return auth.dropFirst(4).prefix { $0 != ":" }
            }
            return nil
        }
        guard let rest = text(after: "X-Amz-Credential=", in: query) ?? text(after: "AWSAccessKeyId=", in: query) else { return nil }
        let value = rest.prefix { $0 != "&" }
        let decoded = PercentDecoding.decode(value)
        return Substring(decoded.prefix { $0 != "/" })
    }

    /// What follows the first `marker` in `text`. Compares bytes: every request passes here, and
    /// Foundation's `range(of:)` cost about 8 % of the CPU of answering a request.
    static func text(after marker: StaticString, in text: Substring) -> Substring? {
        let needle = UnsafeRawBufferPointer(start: marker.utf8Start, count: marker.utf8CodeUnitCount)
        guard let first = needle.first else { return text }
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
    public static func parse(authorization: Substring) -> SignedRequest? {
        if authorization.hasPrefix("AWS ") {
            return SignedRequest(form: .version2, accessKey: String(authorization.dropFirst(4).prefix { $0 != ":" }))
        }
        guard authorization.hasPrefix(SigV4.algorithm + " ") else { return nil }
        var fields: [Substring: Substring] = [:]
        for part in authorization.dropFirst(SigV4.algorithm.count + 1).split(separator: ",") {
            let item = part.drop { $0 == " " }
            guard let eq = item.firstIndex(of: "=") else { return nil }
            fields[item[..<eq]] = item[item.index(after: eq)...].prefix { $0 != " " }
        }
        guard let credential = fields["Credential"], let signed = fields["SignedHeaders"], let signature = fields["Signature"]
        else { return nil }
        return make(.header, credential: String(credential), signedHeaders: String(signed), signature: String(signature))
    }

    /// Parses the `X-Amz-*` parameters of a presigned URL.
    public static func parse(presignedQuery query: Substring) -> SignedRequest? {
        var values: [String: String] = [:]
        for part in query.split(separator: "&") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            let name = PercentDecoding.decode(part[..<eq])
            if name.hasPrefix("X-Amz-") { values[name] = PercentDecoding.decode(part[part.index(after: eq)...]) }
        }
        guard values["X-Amz-Algorithm"] == SigV4.algorithm, let credential = values["X-Amz-Credential"],
            let signed = values["X-Amz-SignedHeaders"], let signature = values["X-Amz-Signature"],
            let date = values["X-Amz-Date"], let expires = values["X-Amz-Expires"].flatMap({ Int($0) })
        else { return nil }
        var request = make(.presigned, credential: credential, signedHeaders: signed, signature: signature)
        request?.amzDate = date
        request?.expires = expires
        return request
    }

    private static func make(_ form: Form, credential: String, signedHeaders: String, signature: String) -> SignedRequest? {
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[4] == "aws4_request" else { return nil }
        return SignedRequest(
            form: form, accessKey: String(parts[0]), date: String(parts[1]), region: String(parts[2]), service: String(parts[3]),
            signedHeaders: signedHeaders.split(separator: ";").map { $0.lowercased() }, signature: signature.lowercased())
    }
}
