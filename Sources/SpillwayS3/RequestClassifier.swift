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
        let (path, query) = Self.split(target)
        let params = QueryFlags(query)
        var bucket: Substring?
        var rawKey: Substring?
        var style = AddressingStyle.path

        if let host, let vhostBucket = virtualHostBucket(host) {
            style = .virtualHosted
            bucket = vhostBucket
            let key = path.drop(while: { $0 == "/" })
            rawKey = key.isEmpty ? nil : key
        } else {
            let trimmed = path.first == "/" ? path.dropFirst() : path
            if let slash = trimmed.firstIndex(of: "/") {
                bucket = trimmed[trimmed.startIndex..<slash]
                let key = trimmed[trimmed.index(after: slash)...]
                rawKey = key.isEmpty ? nil : key
            } else if !trimmed.isEmpty {
                bucket = trimmed
            }
        }
        if bucket?.isEmpty == true { bucket = nil }

        let operation: S3Operation
        if bucket == nil {
            operation = method == .get ? .listBuckets : .unknown
        } else if rawKey == nil {
            operation = Self.bucketOperation(method, params)
        } else {
            operation = Self.objectOperation(method, params, hasCopySource: hasCopySource)
        }
        return S3Request(
            operation: operation, bucket: bucket, rawKey: rawKey, style: style, isPresigned: params.has(.signature))
    }

    // MARK: - Helpers

    public static func split(_ target: String) -> (path: Substring, query: Substring) {
        let whole = target[...]
        guard let q = whole.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (whole, whole[whole.endIndex...]) }
        return (whole[..<q], whole[whole.index(after: q)...])
    }

    func virtualHostBucket(_ host: Substring) -> Substring? {
        guard !virtualHostDomains.isEmpty else { return nil }
        var name = host
        if let colon = name.lastIndex(of: ":"), !name.hasSuffix("]") { name = name[..<colon] }
        for domain in virtualHostDomains {
            guard name.count > domain.count + 1,
                name.utf8.reversed().starts(with: domain.utf8.reversed(), by: { Self.lower($0) == $1 })
            else { continue }
            let dot = name.index(name.endIndex, offsetBy: -(domain.count + 1))
            guard name[dot] == "." else { continue }
            return name[..<dot]
        }
        return nil
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
