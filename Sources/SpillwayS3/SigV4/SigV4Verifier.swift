import Crypto

/// Verifies a request's SigV4 signature against known secrets, as S3 would, so that a forged
/// identity is refused at the edge and never reaches storage. Pure: the secrets and the current time
/// are arguments. The body hash is left to the node (S3 checks `x-amz-content-sha256` itself); the
/// chunk signatures of a streaming upload are checked as the body passes (`ChunkSignatureVerifier`).
public enum SigV4Verifier {
    public struct Verified {
        public let accessKey: String
        /// For `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` bodies: what the chunk chain starts from.
        public let streaming: ChunkSignatureVerifier?
    }

    /// Why a request was refused, with the S3 error each one is answered with.
    public enum Failure: Error, Sendable, Equatable {
        case missingAuthentication
        case malformed(String)
        case invalidAccessKeyId
        case signatureDoesNotMatch
        case requestTimeTooSkewed
        case expired

        public var error: S3Error {
            switch self {
            case .missingAuthentication: S3Error(.accessDenied, "Anonymous access is not allowed through this gateway.")
            case .malformed(let why): S3Error(.authorizationHeaderMalformed, "The authorization is malformed: \(why).")
            case .invalidAccessKeyId: S3Error(.invalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.")
            case .signatureDoesNotMatch:
                S3Error(.signatureDoesNotMatch, "The request signature we calculated does not match the signature you provided.")
            case .requestTimeTooSkewed: S3Error(.requestTimeTooSkewed, "The difference between the request time and the current time is too large.")
            case .expired: S3Error(.accessDenied, "Request has expired")
            }
        }
    }

    /// - Parameters:
    ///   - now: seconds since 1970.
    public static func verify(
        _ request: SigningRequest, secret: (String) -> String?, now: Int, maxSkewSeconds: Int = 900
    ) -> Result<Verified, Failure> {
        var keys = SigningKeyCache(capacity: 1)
        return verify(request, secret: secret, now: now, maxSkewSeconds: maxSkewSeconds, keys: &keys)
    }

    /// As above, deriving signing keys through `keys`.
    public static func verify(
        _ request: SigningRequest, secret: (String) -> String?, now: Int, maxSkewSeconds: Int = 900, keys: inout SigningKeyCache
    ) -> Result<Verified, Failure> {
        let signed: SignedRequest
        if let authorization = request.authorization {
            switch SignedRequest.parse(authorization: authorization) {
            case .success(let parsed):
                guard parsed.form != .version2 else { return .failure(.malformed("Signature Version 2 is not accepted; sign with SigV4")) }
                signed = parsed
            case .failure(let failure):
                return .failure(failure)
            }
        } else {
            // Only a request without `Authorization` makes its query into a string.
            let query = String(decoding: request.query, as: UTF8.self)
            guard query.contains("X-Amz-Signature=") else { return .failure(.missingAuthentication) }
            switch SignedRequest.parse(presignedQuery: query[...]) {
            case .success(let parsed): signed = parsed
            case .failure(let failure): return .failure(failure)
            }
        }
        guard let secretKey = secret(signed.accessKey) else { return .failure(.invalidAccessKeyId) }
        guard signed.signedHeaders.contains("host") else { return .failure(.malformed("host is not signed")) }

        let amzDate: String
        let payloadHash: String
        if signed.form == .presigned {
            amzDate = signed.amzDate ?? ""
            guard let at = SigV4.epochSeconds(amzDate: amzDate), let expires = signed.expires, expires > 0, expires <= 604_800 else {
                return .failure(.malformed("bad X-Amz-Date or X-Amz-Expires"))
            }
            if now > at + expires { return .failure(.expired) }
            if at > now + maxSkewSeconds { return .failure(.requestTimeTooSkewed) }
            payloadHash = request.first("x-amz-content-sha256") ?? "UNSIGNED-PAYLOAD"
        } else {
            guard let date = request.first("x-amz-date") ?? request.first("date").flatMap(httpDateToAmzDate) else {
                return .failure(.malformed("no x-amz-date"))
            }
            amzDate = date
            guard let at = SigV4.epochSeconds(amzDate: amzDate) else { return .failure(.malformed("bad x-amz-date")) }
            if abs(at - now) > maxSkewSeconds { return .failure(.requestTimeTooSkewed) }
            guard let hash = request.first("x-amz-content-sha256") else { return .failure(.malformed("no x-amz-content-sha256")) }
            payloadHash = hash
        }
        guard amzDate.hasPrefix(signed.date) else { return .failure(.malformed("the credential date is not the signing date")) }

        var fields: [SignedField] = []
        fields.reserveCapacity(signed.signedHeaders.count)
        for name in signed.signedHeaders {
            guard let v = request.headers[name], !v.isEmpty else { return .failure(.malformed("signed header \(name) is missing")) }
            fields.append(SignedField(name, lines: v))
        }
        var canonical = keys.takeScratch()
        CanonicalRequest.write(
            method: request.method, path: request.path, query: request.query, fields: fields, payloadHash: payloadHash,
            dropSignatureParameter: signed.form == .presigned, into: &canonical)
        let entry = keys.entry(secret: secretKey, date: signed.date, region: signed.region, service: signed.service)
        let mac = SigV4.mac(amzDate: amzDate, scope: entry.scope, canonicalRequest: canonical, authenticator: entry.authenticator)
        keys.keepScratch(canonical)
        guard SigV4.matches(mac, signature: signed.signature) else { return .failure(.signatureDoesNotMatch) }
        let key = entry.key
        let streaming =
            payloadHash.hasPrefix("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
            ? ChunkSignatureVerifier(seed: signed.signature, key: key, amzDate: amzDate, scope: entry.scope, trailer: payloadHash.hasSuffix("-TRAILER"))
            : nil
        return .success(Verified(accessKey: signed.accessKey, streaming: streaming))
    }

    /// `Fri, 24 May 2013 00:00:00 GMT` → `20130524T000000Z` (requests that sign `Date` instead).
    static func httpDateToAmzDate(_ text: String) -> String? {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let parts = text.split(separator: " ")
        guard parts.count == 6, let month = months.firstIndex(of: String(parts[2])) else { return nil }
        let time = parts[4].split(separator: ":")
        guard time.count == 3, parts[1].count <= 2, parts[3].count == 4 else { return nil }
        let day = parts[1].count == 1 ? "0" + parts[1] : String(parts[1])
        let mm = month + 1 < 10 ? "0\(month + 1)" : "\(month + 1)"
        return "\(parts[3])\(mm)\(day)T\(time[0])\(time[1])\(time[2])Z"
    }
}
