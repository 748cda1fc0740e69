#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import NIOCore
import SpillwayConfig
import SpillwayExchange
import SpillwayHTTP1
import SpillwayS3

/// Each attempt's head for a credentialed pool: the client's fields less those the pool's
/// signature replaces, the pool's host, date and payload hash, and an `Authorization` of the
/// pool's. The client's lines that stay go out as slices of its head; the fields to sign come from
/// the index the verifier built, so nothing is parsed twice.
enum ResignedHead {
    /// Fields the re-signed head never carries from the client.
    static let replaced = ["host", "authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]
    /// Fields a decoded body no longer matches (it goes with a Content-Length of the decoded data).
    static let decodedAway = [
        "content-length", "transfer-encoding", "x-amz-decoded-content-length", "x-amz-trailer", "x-amz-sdk-checksum-algorithm",
    ]
    private static let replacedBytes = replaced.map { Array($0.utf8) }
    private static let decodedAwayBytes = decodedAway.map { Array($0.utf8) }
    private static let contentEncoding = Array("content-encoding".utf8)

    static func make(
        _ source: ResignSource, forwarded: ByteBuffer, decision: PayloadPlan.Decision, credentials: PoolCredentials, signing: SigningConfig,
        authority: String, kind: AttemptKind, etag: ByteBuffer?, trialETag: ByteBuffer? = nil, unixSeconds: Int64, keys: inout SigningKeyCache, allocator: ByteBufferAllocator
    ) -> (head: ByteBuffer, signed: SigV4Signer.Signed)? {
        guard let secret = credentials.resolvedSecret else { return nil }
        let decoded = decision.body == .decoded
        // Where the request goes: path-style `/bucket/key`, or virtual-hosted `bucket.node` and `/key`.
        var path = source.path
        var host = authority
        if let bucket = source.bucket {
            switch (source.style, signing.addressing) {
            case (.virtualHosted, .path): path = Array("/\(bucket)".utf8) + (path == [47] ? [] : path)
            case (.path, .virtual):
                let prefix = Array("/\(bucket)".utf8)
                if path.starts(with: prefix) { path = Array(path.dropFirst(prefix.count)) }
                if path.isEmpty { path = [47] }
                host = "\(bucket).\(authority)"
            default: break
            }
        }
        let (drop, codings) = linesToDrop(forwarded, decoded: decoded)

        // The fields the pool's signature covers: the client's that it signs and does not replace
        // (`signs`), plus the pool's own, read from the verifier's index without copying it.
        var fields: [SignedField] = []
        fields.reserveCapacity(source.headers.count + 4)
        for (name, values) in source.headers where signs(name, decoded: decoded) { fields.append(SignedField(name, lines: values)) }
        let amzDate = SigV4Signer.amzDate(unixSeconds: unixSeconds, keys: &keys)

        // The head is written in order into one buffer: the request line, the client's lines that
        // stay (slices of its head), the pool's fields, `Authorization`, the blank line.
        var out = allocator.buffer(capacity: forwarded.readableBytes + path.count + 512 + (etag?.readableBytes ?? 0) + (trialETag?.readableBytes ?? 0))
        out.writeBytes(source.method)
        out.writeStaticString(" ")
        out.writeBytes(path)
        if !source.query.isEmpty {
            out.writeStaticString("?")
            out.writeBytes(source.query)
        }
        out.writeStaticString(" HTTP/1.1\r\n")
        HeadWriter.writeKeptLines(forwarded, dropping: drop) { piece in
            var piece = piece
            out.writeBuffer(&piece)
        }
        /// `name` is the field's line prefix (`Host: `); `lower`, its name as signed (nil: not signed).
        func add(_ name: StaticString, _ lower: String?, _ value: String) {
            out.writeStaticString(name)
            out.writeString(value)
            out.writeStaticString("\r\n")
            if let lower { fields.append(SignedField(lower, text: value)) }
        }
        add("Host: ", "host", host)
        add("X-Amz-Date: ", "x-amz-date", amzDate)
        add("X-Amz-Content-Sha256: ", "x-amz-content-sha256", decision.payloadHash)
        if let token = credentials.resolvedSessionToken { add("X-Amz-Security-Token: ", "x-amz-security-token", token) }
        if decoded, let length = source.decodedLength { add("Content-Length: ", nil, "\(length)") }
        if let codings {
            out.writeStaticString("Content-Encoding: ")
            out.writeBytes(codings)
            out.writeStaticString("\r\n")
        }
        if case .resume(let offset, let total) = kind, var etag {
            out.writeString("Range: bytes=\(offset)-\(total - 1)\r\nIf-Match: ")
            out.writeBuffer(&etag)
            out.writeStaticString("\r\n")
        }
        if var trialETag {
            out.writeStaticString("If-None-Match: ")
            out.writeBuffer(&trialETag)
            out.writeStaticString("\r\n")
        }
        fields.sort { $0.name < $1.name }
        out.writeStaticString("Authorization: ")
        let signed = SigV4Signer.sign(
            method: source.method, path: path, query: source.query, fields: fields, payloadHash: decision.payloadHash,
            credentials: .init(accessKeyID: credentials.accessKeyID, secretAccessKey: secret, sessionToken: credentials.resolvedSessionToken),
            region: signing.region, service: signing.service, amzDate: amzDate, keys: &keys
        ) { out.writeBytes($0) }
        out.writeStaticString("\r\n\r\n")
        return (out, signed)
    }

    /// A client field the pool's signature covers: the ones S3 wants signed (`x-amz-*`, `host`,
    /// `content-type`, `content-md5`) that the re-signed head keeps. (`host` and the date, hash
    /// and token are replaced: the pool's own are added and signed.)
    private static func signs(_ name: String, decoded: Bool) -> Bool {
        if replaced.contains(name) || decoded && decodedAway.contains(name) { return false }
        if name.utf8.starts(with: amzPrefix) { return true }
        return name == "content-type" || name == "content-md5"
    }

    private static let amzPrefix = Array("x-amz-".utf8)

    /// The lines of `head` the re-signed head does not carry (its request line first, then the
    /// fields replaced or made stale by decoding), in order; and for a decoded body, the
    /// `Content-Encoding` codings left once `aws-chunked` is gone (nil: none left, or not decoded).
    static func linesToDrop(_ head: ByteBuffer, decoded: Bool) -> (LineRanges, [UInt8]?) {
        head.withUnsafeReadableBytes { b in
            var drop = LineRanges()
            var codings: [UInt8]?
            var start = 0
            var first = true
            var i = 0
            guard let base = b.baseAddress else { return (drop, nil) }
            while i + 1 < b.count {
                // memchr finds each CR with vector loads: the scan was a tenth of re-signing's CPU.
                guard let cr = memchr(base + i, 13, b.count - i) else { break }
                i = base.distance(to: UnsafeRawPointer(cr))
                guard i + 1 < b.count, b[i + 1] == 10 else {
                    i += 1
                    continue
                }
                let line = start..<i
                defer {
                    start = i + 2
                    i += 2
                }
                if first {
                    first = false
                    drop.append(start..<(i + 2))
                    continue
                }
                if line.isEmpty { break }  // the blank line that ends the head
                guard let colon = b[line].firstIndex(of: 58) else { continue }
                let name = line.lowerBound..<colon
                if replacedBytes.contains(where: { equalsLowercased(b, name, $0) })
                    || decoded && decodedAwayBytes.contains(where: { equalsLowercased(b, name, $0) })
                {
                    drop.append(start..<(i + 2))
                } else if decoded && equalsLowercased(b, name, contentEncoding) {
                    drop.append(start..<(i + 2))
                    let value = String(decoding: UnsafeRawBufferPointer(rebasing: b[(colon + 1)..<i]), as: UTF8.self)
                    let kept = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.lowercased() != "aws-chunked" }
                    codings = kept.isEmpty ? nil : Array(kept.joined(separator: ",").utf8)
                }
            }
            return (drop, codings)
        }
    }

    private static func equalsLowercased(_ b: UnsafeRawBufferPointer, _ range: Range<Int>, _ name: [UInt8]) -> Bool {
        guard range.count == name.count else { return false }
        var j = 0
        for k in range {
            let c = b[k]
            if (c >= 65 && c <= 90 ? c | 0x20 : c) != name[j] { return false }
            j += 1
        }
        return true
    }
}
