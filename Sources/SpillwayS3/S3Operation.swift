/// Every S3 operation Spillway tells apart, with the traits that later decisions need
/// (routing by operation or class, retry safety, limiter classes).
///
/// The raw value is a small dense integer so that a set of operations fits in one `UInt64` mask.
public enum S3Operation: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    // Service level
    case listBuckets
    // Bucket level
    case createBucket
    case deleteBucket
    case headBucket
    case listObjectsV2
    case listObjects
    case listObjectVersions
    case listMultipartUploads
    case deleteObjects
    case getBucketConfiguration
    case putBucketConfiguration
    case deleteBucketConfiguration
    case postObject
    // Object level
    case getObject
    case headObject
    case putObject
    case copyObject
    case deleteObject
    case createMultipartUpload
    case uploadPart
    case uploadPartCopy
    case completeMultipartUpload
    case abortMultipartUpload
    case listParts
    case getObjectConfiguration
    case putObjectConfiguration
    case deleteObjectConfiguration
    case restoreObject
    case selectObjectContent
    // Anything the classifier cannot place; still forwarded unchanged.
    case unknown

    /// The name S3's API reference uses (`GetObject`, `UploadPart`, …): the one used in config and metrics.
    public var name: String {
        switch self {
        case .listBuckets: "ListBuckets"
        case .createBucket: "CreateBucket"
        case .deleteBucket: "DeleteBucket"
        case .headBucket: "HeadBucket"
        case .listObjectsV2: "ListObjectsV2"
        case .listObjects: "ListObjects"
        case .listObjectVersions: "ListObjectVersions"
        case .listMultipartUploads: "ListMultipartUploads"
        case .deleteObjects: "DeleteObjects"
        case .getBucketConfiguration: "GetBucketConfiguration"
        case .putBucketConfiguration: "PutBucketConfiguration"
        case .deleteBucketConfiguration: "DeleteBucketConfiguration"
        case .postObject: "PostObject"
        case .getObject: "GetObject"
        case .headObject: "HeadObject"
        case .putObject: "PutObject"
        case .copyObject: "CopyObject"
        case .deleteObject: "DeleteObject"
        case .createMultipartUpload: "CreateMultipartUpload"
        case .uploadPart: "UploadPart"
        case .uploadPartCopy: "UploadPartCopy"
        case .completeMultipartUpload: "CompleteMultipartUpload"
        case .abortMultipartUpload: "AbortMultipartUpload"
        case .listParts: "ListParts"
        case .getObjectConfiguration: "GetObjectConfiguration"
        case .putObjectConfiguration: "PutObjectConfiguration"
        case .deleteObjectConfiguration: "DeleteObjectConfiguration"
        case .restoreObject: "RestoreObject"
        case .selectObjectContent: "SelectObjectContent"
        case .unknown: "Unknown"
        }
    }

    public var description: String { name }

    /// The coarse class used by routes and, later, by limiters: reads, writes, listings, deletes.
    public var operationClass: S3OperationClass {
        switch self {
        case .getObject, .headObject, .headBucket, .getBucketConfiguration, .getObjectConfiguration,
            .selectObjectContent:
            .read
        case .listBuckets, .listObjectsV2, .listObjects, .listObjectVersions, .listMultipartUploads, .listParts:
            .list
        case .deleteBucket, .deleteObject, .deleteObjects, .abortMultipartUpload, .deleteBucketConfiguration,
            .deleteObjectConfiguration:
            .delete
        case .createBucket, .putObject, .copyObject, .createMultipartUpload, .uploadPart, .uploadPartCopy,
            .completeMultipartUpload, .putBucketConfiguration, .putObjectConfiguration, .postObject,
            .restoreObject:
            .write
        case .unknown:
            .other
        }
    }

    /// Whether sending the same request twice leaves storage as sending it once would.
    /// CreateMultipartUpload and PostObject are not: each call makes something new.
    public var isIdempotent: Bool {
        switch self {
        case .createMultipartUpload, .postObject, .unknown, .selectObjectContent, .restoreObject:
            false
        default:
            true
        }
    }

    /// Looks an operation up by its API name, case-insensitively.
    public init?(name: String) {
        let lowered = name.lowercased()
        guard let match = S3Operation.allCases.first(where: { $0.name.lowercased() == lowered }) else {
            return nil
        }
        self = match
    }

    public var bit: UInt64 { 1 << UInt64(rawValue) }
}

/// Coarse operation classes, named as an operator thinks of load.
public enum S3OperationClass: String, Sendable, CaseIterable {
    case read, write, list, delete, other

    /// All operations of this class as a mask.
    public var mask: UInt64 {
        S3Operation.allCases.filter { $0.operationClass == self }.reduce(0) { $0 | $1.bit }
    }
}
