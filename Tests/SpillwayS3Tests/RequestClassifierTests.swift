import SpillwayS3
import Testing

@Suite("Classifying S3 requests")
struct RequestClassifierTests {
    let classifier = RequestClassifier(virtualHostDomains: ["s3.spillway.test"])

    struct Case: CustomTestStringConvertible, Sendable {
        let method: S3Method
        let target: String
        var host: String = "127.0.0.1:9000"
        var copySource = false
        let operation: S3Operation
        var bucket: String?
        var key: String?
        var testDescription: String { "\(method) \(target) → \(operation)" }
    }

    static let cases: [Case] = [
        Case(method: .get, target: "/", operation: .listBuckets),
        Case(method: .put, target: "/photos", operation: .createBucket, bucket: "photos"),
        Case(method: .head, target: "/photos", operation: .headBucket, bucket: "photos"),
        Case(method: .delete, target: "/photos/", operation: .deleteBucket, bucket: "photos"),
        Case(method: .get, target: "/photos?list-type=2&prefix=a%2Fb&max-keys=10", operation: .listObjectsV2, bucket: "photos"),
        Case(method: .get, target: "/photos?prefix=x", operation: .listObjects, bucket: "photos"),
        Case(method: .get, target: "/photos?versions", operation: .listObjectVersions, bucket: "photos"),
        Case(method: .get, target: "/photos?uploads", operation: .listMultipartUploads, bucket: "photos"),
        Case(method: .get, target: "/photos?acl", operation: .getBucketConfiguration, bucket: "photos"),
        Case(method: .put, target: "/photos?versioning", operation: .putBucketConfiguration, bucket: "photos"),
        Case(method: .post, target: "/photos?delete", operation: .deleteObjects, bucket: "photos"),
        Case(method: .get, target: "/photos/cat.jpg", operation: .getObject, bucket: "photos", key: "cat.jpg"),
        Case(method: .get, target: "/photos/cat.jpg?versionId=3&response-content-type=x", operation: .getObject, bucket: "photos", key: "cat.jpg"),
        Case(method: .head, target: "/photos/cat.jpg", operation: .headObject, bucket: "photos", key: "cat.jpg"),
        Case(method: .put, target: "/photos/cat.jpg", operation: .putObject, bucket: "photos", key: "cat.jpg"),
        Case(method: .put, target: "/photos/cat.jpg", copySource: true, operation: .copyObject, bucket: "photos", key: "cat.jpg"),
        Case(method: .delete, target: "/photos/cat.jpg", operation: .deleteObject, bucket: "photos", key: "cat.jpg"),
        Case(method: .post, target: "/photos/big.bin?uploads", operation: .createMultipartUpload, bucket: "photos", key: "big.bin"),
        Case(method: .put, target: "/photos/big.bin?partNumber=2&uploadId=abc", operation: .uploadPart, bucket: "photos", key: "big.bin"),
        Case(method: .put, target: "/photos/big.bin?partNumber=2&uploadId=abc", copySource: true, operation: .uploadPartCopy, bucket: "photos", key: "big.bin"),
        Case(method: .post, target: "/photos/big.bin?uploadId=abc", operation: .completeMultipartUpload, bucket: "photos", key: "big.bin"),
        Case(method: .delete, target: "/photos/big.bin?uploadId=abc", operation: .abortMultipartUpload, bucket: "photos", key: "big.bin"),
        Case(method: .get, target: "/photos/big.bin?uploadId=abc", operation: .listParts, bucket: "photos", key: "big.bin"),
        Case(method: .get, target: "/photos/cat.jpg?tagging", operation: .getObjectConfiguration, bucket: "photos", key: "cat.jpg"),
        Case(method: .get, target: "/photos/a%20b%2Bc%25d/%C3%BC.txt", operation: .getObject, bucket: "photos", key: "a b+c%d/ü.txt"),
        Case(method: .get, target: "/photos/a+b.txt", operation: .getObject, bucket: "photos", key: "a+b.txt"),
        Case(method: .get, target: "/photos/dir//double", operation: .getObject, bucket: "photos", key: "dir//double"),
        // Virtual-hosted style: the bucket is in Host.
        Case(method: .get, target: "/cat.jpg", host: "photos.s3.spillway.test:9000", operation: .getObject, bucket: "photos", key: "cat.jpg"),
        Case(method: .get, target: "/?list-type=2", host: "Photos.S3.Spillway.Test", operation: .listObjectsV2, bucket: "Photos"),
        Case(method: .get, target: "/", host: "s3.spillway.test:9000", operation: .listBuckets),
        Case(method: .put, target: "/x.bin?partNumber=1&uploadId=u", host: "logs.s3.spillway.test", operation: .uploadPart, bucket: "logs", key: "x.bin"),
        Case(method: .other, target: "/photos/cat.jpg", operation: .unknown, bucket: "photos", key: "cat.jpg"),
    ]

    @Test("method, path, query and host decide the operation, bucket and key", arguments: cases)
    func classifies(_ c: Case) {
        let r = classifier.classify(method: c.method, target: c.target, host: Substring(c.host), hasCopySource: c.copySource)
        #expect(r.operation == c.operation)
        #expect(r.bucket.map(String.init) == c.bucket)
        #expect(r.key == c.key)
    }

    @Test func presignedURLsAreRecognised() {
        let r = classifier.classify(
            method: .get, target: "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc", host: nil, hasCopySource: false)
        #expect(r.isPresigned)
        #expect(r.operation == .getObject)
    }

    @Test func keyPrefixComparesDecodedKeys() {
        let r = classifier.classify(method: .get, target: "/b/runs%2F7/ckpt.bin", host: nil, hasCopySource: false)
        #expect(r.keyHasPrefix("runs/7"))
        #expect(!r.keyHasPrefix("runs%2F"))
        let plain = classifier.classify(method: .get, target: "/b/runs/7", host: nil, hasCopySource: false)
        #expect(plain.keyHasPrefix("runs/"))
        #expect(!plain.keyHasPrefix("other/"))
    }

    @Test func withoutVirtualHostDomainsHostIsIgnored() {
        let pathOnly = RequestClassifier()
        let r = pathOnly.classify(method: .get, target: "/cat.jpg", host: "photos.example.com", hasCopySource: false)
        #expect(r.bucket == "cat.jpg")
        #expect(r.style == .path)
    }

    @Test func copySourcesAndQueryValuesAreRead() {
        let source = RequestClassifier.copySource("/my%20bucket/a/b%2Bc.bin?versionId=7")
        #expect(source?.bucket == "my bucket" && source?.key == "a/b+c.bin" && source?.operation == .getObject)
        #expect(RequestClassifier.copySource("bucket/key")?.bucket == "bucket")
        #expect(RequestClassifier.copySource("/bucket") == nil && RequestClassifier.copySource("/bucket/") == nil)
        #expect(RequestClassifier.queryValue("prefix", in: "list-type=2&prefix=public%2Fa&x") == "public/a")
        #expect(RequestClassifier.queryValue("x", in: "list-type=2&prefix=p&x") == "")
        #expect(RequestClassifier.queryValue("delimiter", in: "prefix=p") == nil)
        let classifier = RequestClassifier()
        #expect(classifier.classify(method: .put, target: "/b/k?partNumber=1&uploadId=u", host: nil, hasCopySource: false).inMultipartUpload)
        #expect(!classifier.classify(method: .put, target: "/b/k", host: nil, hasCopySource: false).inMultipartUpload)
    }
}
