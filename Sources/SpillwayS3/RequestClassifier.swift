/// The HTTP methods S3 uses; everything else is `.other` and classified as `.unknown`.
public enum S3Method: UInt8, Sendable, CaseIterable {
    case get, head, put, post, delete, other

    public init(_ name: String) {
        switch name {
        case "GET": self = .get
        case "HEAD": self = .head
        case "PUT": self = .put
        case "POST": self = .post
        case "DELETE": self = .delete
        default: self = .other
        }
    }

    public var bit: UInt8 { 1 << rawValue }
}

/// How the client named the bucket.
public enum AddressingStyle: Sendable, Equatable {
    /// `http://endpoint/bucket/key`
    case path
    /// `http://bucket.endpoint/key`: the bucket is in `Host`.
    case virtualHosted
}

/// What Spillway needs to know about one S3 request to route it, without touching its bytes.
///
/// `rawKey` is a slice of the request target exactly as received (still percent-encoded): the request
/// is forwarded byte for byte, and only routing ever looks at the decoded form.
public struct S3Request: Sendable, Equatable {
    public var operation: S3Operation
    public var bucket: Substring?
    public var rawKey: Substring?
    public var style: AddressingStyle
    /// True when the query carries a presigned-URL signature (`X-Amz-Signature`).
    public var isPresigned: Bool
    /// The request belongs to a multipart upload (`uploadId`), which lives on the pool that created it.
    public var inMultipartUpload = false

    public init(operation: S3Operation, bucket: Substring?, rawKey: Substring?, style: AddressingStyle, isPresigned: Bool, inMultipartUpload: Bool = false) {
        self.operation = operation
        self.bucket = bucket
        self.rawKey = rawKey
        self.style = style
        self.isPresigned = isPresigned
        self.inMultipartUpload = inMultipartUpload
    }

    /// The object key as S3 stores it (percent-decoding applied; `+` stays `+` in a path).
    public var key: String? {
        guard let rawKey else { return nil }
        return PercentDecoding.decode(rawKey)
    }

    /// Prefix test on the decoded key without decoding when the key holds no escapes (the common case).
    public func keyHasPrefix(_ prefix: String) -> Bool {
        if prefix.isEmpty { return true }
        guard let rawKey else { return false }
        if rawKey.utf8.contains(UInt8(ascii: "%")) {
            return PercentDecoding.decode(rawKey).hasPrefix(prefix)
        }
        return rawKey.hasPrefix(prefix)
    }
}

/// Classifies requests into S3 operations, buckets and keys. Pure and allocation-light: it slices the
/// request target and scans the query once for the parameter names that decide the operation.
public struct RequestClassifier: Sendable {
    /// Base domains for virtual-hosted-style requests: with `s3.local`, `Host: photos.s3.local` names
    /// bucket `photos`.
    public let virtualHostDomains: [String]

    public init(virtualHostDomains: [String] = []) {
        self.virtualHostDomains = virtualHostDomains.map { $0.lowercased() }
    }

    public func classify(method: S3Method, target: String, host: Substring?, hasCopySource: Bool) -> S3Request {
        var vhostBucket: Substring?
        if let host, !virtualHostDomains.isEmpty { vhostBucket = virtualHostBucket(host) }
        // Offsets into the target's bytes: (bucket, key, end of path, query flags).
        let scanned = target.utf8.withContiguousStorageIfAvailable { Self.scan($0, bucketInHost: vhostBucket != nil) }
            ?? Self.scan(Array(target.utf8), bucketInHost: vhostBucket != nil)
        let utf8 = target.utf8
        func cut(_ r: Range<Int>?) -> Substring? {
            guard let r else { return nil }
            return target[utf8.index(utf8.startIndex, offsetBy: r.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: r.upperBound)]
        }
        let bucket = vhostBucket ?? cut(scanned.bucket)
        let rawKey = cut(scanned.key)
        let flags = scanned.flags
        let operation: S3Operation
        if bucket == nil {
            operation = method == .get ? .listBuckets : .unknown
        } else if rawKey == nil {
            operation = Self.bucketOperation(method, flags)
        } else {
            operation = Self.objectOperation(method, flags, hasCopySource: hasCopySource)
        }
        return S3Request(
            operation: operation, bucket: bucket, rawKey: rawKey, style: vhostBucket == nil ? .path : .virtualHosted,
            isPresigned: flags.has(.signature), inMultipartUpload: flags.has(.uploadId))
    }

    /// The object an `x-amz-copy-source` names (`bucket/key` or `/bucket/key`, percent-encoded,
    /// optionally `?versionId=`), as the GetObject that reads it; nil when it names no object.
    public static func copySource(_ value: Substring) -> S3Request? {
        var path = value
        if let q = path.firstIndex(of: "?") { path = path[..<q] }
        while path.first == "/" { path.removeFirst() }
        guard let slash = path.firstIndex(of: "/"), slash > path.startIndex else { return nil }
        let key = path[path.index(after: slash)...]
        guard !key.isEmpty else { return nil }
        return S3Request(operation: .getObject, bucket: Substring(PercentDecoding.decode(path[..<slash])), rawKey: key, style: .path, isPresigned: false)
    }

    /// The decoded value of query parameter `name` (the first), or nil.
    public static func queryValue(_ name: String, in query: Substring) -> String? {
        for part in query.split(separator: "&") {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if pieces[0] == name { return pieces.count > 1 ? PercentDecoding.decode(pieces[1]) : "" }
        }
        return nil
    }

    private static func scan(_ b: some RandomAccessCollection<UInt8>, bucketInHost: Bool) -> (bucket: Range<Int>?, key: Range<Int>?, flags: QueryFlags) {
        let bytes = Array(b)  // small (a request target); only the slow path for non-contiguous strings lands here twice
        return bytes.withUnsafeBufferPointer { scan($0, bucketInHost: bucketInHost) }
    }

    private static func scan(_ b: UnsafeBufferPointer<UInt8>, bucketInHost: Bool) -> (bucket: Range<Int>?, key: Range<Int>?, flags: QueryFlags) {
        var pathEnd = 0
        while pathEnd < b.count, b[pathEnd] != 63 { pathEnd += 1 }  // '?'
        let flags = QueryFlags(pathEnd < b.count ? UnsafeBufferPointer(rebasing: b[(pathEnd + 1)...]) : UnsafeBufferPointer(rebasing: b[b.count...]))
        if bucketInHost {
            var keyStart = 0
            while keyStart < pathEnd, b[keyStart] == 47 { keyStart += 1 }
            return (nil, keyStart < pathEnd ? keyStart..<pathEnd : nil, flags)
        }
        let first = pathEnd > 0 && b[0] == 47 ? 1 : 0
        var slash = first
        while slash < pathEnd, b[slash] != 47 { slash += 1 }
        return (slash > first ? first..<slash : nil, slash + 1 < pathEnd ? (slash + 1)..<pathEnd : nil, flags)
    }

    // MARK: - Helpers

    public static func split(_ target: String) -> (path: Substring, query: Substring) {
        let whole = target[...]
        guard let q = whole.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (whole, whole[whole.endIndex...]) }
        return (whole[..<q], whole[whole.index(after: q)...])
    }

    func virtualHostBucket(_ host: Substring) -> Substring? {
        guard !virtualHostDomains.isEmpty else { return nil }
        let bucketEnd: Int? = host.utf8.withContiguousStorageIfAvailable { bytes in
            var end = bytes.count
            if let colon = bytes.lastIndex(of: 58), bytes.last != 93 { end = colon }  // strip ":port" (not in "[v6]")
            for domain in virtualHostDomains {
                let d = domain.utf8
                guard end > d.count + 1, bytes[end - d.count - 1] == 46 else { continue }  // "<bucket>.<domain>"
                if zip(bytes[(end - d.count)..<end], d).allSatisfy({ Self.lower($0) == $1 }) { return end - d.count - 1 }
            }
            return nil
        } ?? nil
        guard let bucketEnd else { return nil }
        return host[..<host.utf8.index(host.utf8.startIndex, offsetBy: bucketEnd)]
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 65 && byte <= 90 ? byte | 0x20 : byte
    }

    static func bucketOperation(_ method: S3Method, _ p: QueryFlags) -> S3Operation {
        switch method {
        case .get:
            if p.has(.listType2) { return .listObjectsV2 }
            if p.has(.versions) { return .listObjectVersions }
            if p.has(.uploads) { return .listMultipartUploads }
            if p.has(.configuration) { return .getBucketConfiguration }
            return .listObjects
        case .head: return .headBucket
        case .put: return p.has(.configuration) ? .putBucketConfiguration : .createBucket
        case .delete: return p.has(.configuration) ? .deleteBucketConfiguration : .deleteBucket
        case .post: return p.has(.delete) ? .deleteObjects : .postObject
        case .other: return .unknown
        }
    }

    static func objectOperation(_ method: S3Method, _ p: QueryFlags, hasCopySource: Bool) -> S3Operation {
        switch method {
        case .get:
            if p.has(.uploadId) { return .listParts }
            if p.has(.configuration) { return .getObjectConfiguration }
            if p.has(.select) { return .selectObjectContent }
            return .getObject
        case .head: return .headObject
        case .put:
            if p.has(.uploadId) && p.has(.partNumber) { return hasCopySource ? .uploadPartCopy : .uploadPart }
            if p.has(.configuration) { return .putObjectConfiguration }
            return hasCopySource ? .copyObject : .putObject
        case .delete:
            if p.has(.uploadId) { return .abortMultipartUpload }
            if p.has(.configuration) { return .deleteObjectConfiguration }
            return .deleteObject
        case .post:
            if p.has(.uploads) { return .createMultipartUpload }
            if p.has(.uploadId) { return .completeMultipartUpload }
            if p.has(.restore) { return .restoreObject }
            if p.has(.select) { return .selectObjectContent }
            return .unknown
        case .other: return .unknown
        }
    }
}
