import NIOCore
import SpillwayConfig
import SpillwayExchange
import SpillwayHTTP1
import SpillwayS3

/// A request bound for a pool with credentials of its own: what the client sent (verified at the
/// edge), from which each attempt's head is made and signed for the pool it goes to, at the time
/// it goes (`x-amz-date` of that attempt). Built once per request, from the head indexed for the
/// signature check; the body is never read here.
struct ResignSource {
    let method: [UInt8]
    /// The path as sent, still percent-encoded; the query as sent, less a presigned URL's signature.
    let path: [UInt8]
    let query: [UInt8]
    let bucket: String?
    let style: AddressingStyle
    /// The client's fields, by lower-case name.
    let headers: [String: [[UInt8]]]
    let payload: PayloadPlan.Client
    let chunkedTransfer: Bool
    /// For `aws-chunked` bodies: the data's length, and the trailing checksum the client named.
    let decodedLength: Int?
    let trailerChecksum: ChecksumAlgorithm?

    /// Query parameters of a presigned URL: the re-signed request carries its signature in
    /// `Authorization` instead.
    static let presignParameters: Set<String> = [
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
    ]

    init(signing: SigningRequest, request: S3Request, head: RequestHead) {
        method = signing.method
        path = signing.path
        let parts = signing.query.split(separator: 38, omittingEmptySubsequences: true)
        let kept = request.isPresigned
            ? parts.filter { part in !Self.presignParameters.contains(String(decoding: part.prefix { $0 != 61 }, as: UTF8.self)) } : parts
        query = Array(kept.joined(separator: [38]))
        bucket = request.bucket.map(String.init)
        style = request.style
        headers = signing.headers
        let hasBody = head.bodyFraming != .none
        payload = PayloadPlan.Client(contentSHA256: signing.first("x-amz-content-sha256"), hasBody: hasBody, presigned: request.isPresigned)
        chunkedTransfer = if case .chunked = head.bodyFraming { true } else { false }
        decodedLength = signing.first("x-amz-decoded-content-length").flatMap { Int($0) }
        trailerChecksum = signing.first("x-amz-trailer").flatMap { ChecksumAlgorithm(fieldName: $0.trimmingCharacters(in: .whitespaces)) }
    }

    /// How the body goes to `pool`, or why it cannot.
    func decision(for pool: PoolRuntime) -> Result<PayloadPlan.Decision, S3Error> {
        let signing = pool.policy.signing
        let tls = pool.backends.allSatisfy { $0.tls != nil }
        let decided = PayloadPlan.decide(
            payload, decode: signing?.payload == .decode, nodeIsTLS: tls, unsignedOverHTTP: signing?.unsignedPayloadOverHTTP ?? false)
        if case .success(let d) = decided, d.body == .decoded {
            guard decodedLength != nil else {
                return .failure(S3Error(.invalidRequest, "An aws-chunked upload must give x-amz-decoded-content-length."))
            }
            if payload == .unsignedTrailer && trailerChecksum == nil {
                return .failure(S3Error(.invalidRequest, "An unsigned aws-chunked upload must name its trailing checksum in x-amz-trailer."))
            }
        }
        return decided
    }
}

/// A request on a route with pools Spillway signs for: what the client sent, and how its body goes
/// to each of the route's pools (nil for a pool that passes requests through unchanged).
struct ResignPlan {
    let source: ResignSource
    let decisions: [PayloadPlan.Decision?]

    /// Nil when no pool of the route signs; a failure when a pool that does cannot take the request
    /// (the client hears why before any byte leaves).
    static func make(_ signing: SigningRequest, _ context: borrowing RequestContext) -> Result<ResignPlan, S3Error>? {
        let pools = context.pools
        guard (0..<pools.count).contains(where: { pools[$0].policy.credentials != nil }) else { return nil }
        let source = ResignSource(signing: signing, request: context.request, head: context.head)
        var decisions: [PayloadPlan.Decision?] = []
        for i in 0..<pools.count {
            let pool = pools[i]
            guard let credentials = pool.policy.credentials else {
                decisions.append(nil)
                continue
            }
            guard credentials.resolvedSecret != nil else {
                return .failure(S3Error(.internalError, "The secret of pool '\(pool.name)' could not be read; see the gateway's log."))
            }
            switch source.decision(for: pool) {
            case .success(let decision): decisions.append(decision)
            case .failure(let error): return .failure(error)
            }
        }
        return .success(ResignPlan(source: source, decisions: decisions))
    }
}

/// Each attempt's head for a credentialed pool: the client's fields less those the pool's
/// signature replaces, the pool's host, date and payload hash, and an `Authorization` of the pool's.
enum ResignedHead {
    /// Fields the re-signed head never carries from the client.
    static let replaced: Set<String> = ["host", "authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]
    /// Fields a decoded body no longer matches (it goes with a Content-Length of the decoded data).
    static let decodedAway: Set<String> = [
        "content-length", "transfer-encoding", "x-amz-decoded-content-length", "x-amz-trailer", "x-amz-sdk-checksum-algorithm",
    ]

    static func make(
        _ source: ResignSource, forwarded: ByteBuffer, decision: PayloadPlan.Decision, credentials: PoolCredentials, signing: SigningConfig,
        authority: String, kind: AttemptKind, etag: ByteBuffer?, unixSeconds: Int64, allocator: ByteBufferAllocator
    ) -> (head: ByteBuffer, signed: SigV4Signer.Signed)? {
        guard let secret = credentials.resolvedSecret else { return nil }
        let decoded = decision.body == .decoded
        // Where the request goes: path-style `/bucket/key`, or virtual-hosted `bucket.node` and `/key`.
        var path = source.path
        var host = authority
        if let bucket = source.bucket {
            let prefix = Array("/\(bucket)".utf8)
            switch (source.style, signing.addressing) {
            case (.virtualHosted, .path): path = prefix + (path == [47] ? [] : path)
            case (.path, .virtual):
                if path.starts(with: prefix) { path = Array(path.dropFirst(prefix.count)) }
                if path.isEmpty { path = [47] }
                host = "\(bucket).\(authority)"
            default: break
            }
        }
        var fields: [(String, [UInt8])] = []
        var lines: [UInt8] = []
        forEachLine(of: forwarded) { name, value, line in
            if replaced.contains(name) || (decoded && decodedAway.contains(name)) { return }
            var line = line
            if decoded && name == "content-encoding" {
                let codings = String(decoding: value, as: UTF8.self).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { $0.lowercased() != "aws-chunked" }
                if codings.isEmpty { return }
                line = Array("Content-Encoding: \(codings.joined(separator: ","))".utf8)
                fields.append((name, Array(codings.joined(separator: ",").utf8)))
            } else {
                fields.append((name, value))
            }
            lines += line + [13, 10]
        }
        let amzDate = SigV4Signer.amzDate(unixSeconds: unixSeconds)
        var added: [(String, String)] = [("Host", host), ("X-Amz-Date", amzDate), ("X-Amz-Content-Sha256", decision.payloadHash)]
        if let token = credentials.resolvedSessionToken { added.append(("X-Amz-Security-Token", token)) }
        if decoded, let length = source.decodedLength { added.append(("Content-Length", "\(length)")) }
        var resume: [(String, ByteBuffer)] = []
        if case .resume(let offset, let total) = kind, let etag {
            resume = [("Range", ByteBuffer(string: "bytes=\(offset)-\(total - 1)")), ("If-Match", etag)]
        }
        var index: [String: [[UInt8]]] = [:]
        for (name, value) in fields { index[name, default: []].append(value) }
        for (name, value) in added { index[name.lowercased(), default: []].append(Array(value.utf8)) }
        let signedNames = index.keys.filter { $0.hasPrefix("x-amz-") || $0 == "host" || $0 == "content-type" || $0 == "content-md5" }
        let request = SigningRequest(method: source.method, path: path, query: source.query, headers: index, authorization: nil)
        let signed = SigV4Signer.sign(
            request, signedHeaders: signedNames, payloadHash: decision.payloadHash,
            credentials: .init(accessKeyID: credentials.accessKeyID, secretAccessKey: secret, sessionToken: credentials.resolvedSessionToken),
            region: signing.region, service: signing.service, amzDate: amzDate)

        var out = allocator.buffer(capacity: forwarded.readableBytes + 512)
        out.writeBytes(source.method)
        out.writeString(" ")
        out.writeBytes(path)
        if !source.query.isEmpty {
            out.writeString("?")
            out.writeBytes(source.query)
        }
        out.writeString(" HTTP/1.1\r\n")
        out.writeBytes(lines)
        for (name, value) in added { out.writeString("\(name): \(value)\r\n") }
        for (name, var value) in resume {
            out.writeString("\(name): ")
            out.writeBuffer(&value)
            out.writeString("\r\n")
        }
        out.writeString("Authorization: \(signed.authorization)\r\n\r\n")
        return (out, signed)
    }

    /// Each header line of a head (not the request line): its lower-case name, value and bytes.
    static func forEachLine(of head: ByteBuffer, _ body: (String, [UInt8], [UInt8]) -> Void) {
        head.withUnsafeReadableBytes { b in
            var lines: [Range<Int>] = []
            var start = 0
            var i = 0
            while i + 1 < b.count {
                if b[i] == 13 && b[i + 1] == 10 {
                    lines.append(start..<i)
                    start = i + 2
                    i += 2
                } else {
                    i += 1
                }
            }
            for range in lines.dropFirst() {
                if range.isEmpty { return }  // the blank line that ends the head
                let line = Array(UnsafeRawBufferPointer(rebasing: b[range]))
                guard let colon = line.firstIndex(of: 58) else { continue }
                let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
                var v = colon + 1
                while v < line.count, line[v] == 32 || line[v] == 9 { v += 1 }
                var e = line.count
                while e > v, line[e - 1] == 32 || line[e - 1] == 9 { e -= 1 }
                body(name, Array(line[v..<e]), line)
            }
        }
    }
}
