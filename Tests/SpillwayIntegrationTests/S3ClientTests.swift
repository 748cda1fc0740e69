import Foundation
import Testing

/// Real clients (boto3, the AWS CLI) through the gateway to the 3-node moto cluster, whose nodes
/// verify every SigV4 signature: anything the gateway re-encodes or drops fails here.
@Suite("Unchanged S3 clients through the gateway")
struct S3ClientTests {
    @Test func smallAndLargeObjectsRoundTripWithMatchingChecksums() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        let r = try boto("roundtrip", endpoint: gateway.endpoint, cluster: cluster,
                         ["--bucket", "roundtrip", "--sizes", "0,1024,\(64 << 20)"])
        #expect(r["created"].bool == true)
        let objects = r["objects"].array
        #expect(objects.count == 3)
        for object in objects {
            let size = object["size"].int
            #expect(object["got_md5"] == object["sent_md5"], "size \(size ?? -1)")
            #expect(object["got_size"].int == size)
            #expect(object["head_length"].int == size)
            #expect(object["head_etag"] == object["sent_md5"])
            #expect(object["after_delete"].string == "404")
        }
    }

    @Test func threePartMultipartUploadCompletesAndAbortCleansUp() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        let r = try boto("multipart", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "multipart"])
        #expect(r["listed_parts"].int == 3)
        #expect(r["size"].int == 3 * 5 * 1024 * 1024)
        #expect(r["got_md5"] == r["sent_md5"])
        #expect(r["aborted_still_listed"].bool == false)
    }

    @Test func rangedGetsReturnExactlyTheRequestedBytes() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        let r = try boto("ranges", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "ranges"])
        for spec in ["bytes=0-99", "bytes=1000-", "bytes=-50", "bytes=5-5"] {
            #expect(r[spec]["status"].int == 206, "\(spec)")
            #expect(r[spec]["matches"].bool == true, "\(spec)")
        }
        #expect(r["bytes=0-99"]["content_range"].string == "bytes 0-99/262144")
    }

    @Test func keysThatNeedEncodingAreStoredListedAndReadBackExactly() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        let r = try boto("list-encoded", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "encoded-keys"])
        #expect(r["listed"] == r["sent"])
        #expect(r["listed_v1"] == r["sent"])
        #expect(r["common_prefixes"].array.compactMap(\.string) == ["dir/sub dir/"])
        #expect(r["bodies_match"].bool == true)
        #expect(r["buckets"].array.compactMap(\.string).contains("encoded-keys"))
    }

    @Test func presignedGetWorksAndATamperedOneIsRefusedByTheNode() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        let r = try boto("presign", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "presigned"])
        #expect(r["url_host"].string == "127.0.0.1:\(gateway.port)")
        #expect(r["status"].int == 200)
        #expect(r["body"].string == "shared by URL")
        #expect(r["tampered_status"].int == 403)
        #expect(r["tampered_body"].string?.contains("<Code>SignatureDoesNotMatch</Code>") == true)
    }

    @Test func botoAwsChunkedUploadWithTrailingChecksumIsStoredIntact() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        let r = try boto("chunked-trailer", endpoint: gateway.endpoint, cluster: cluster,
                         ["--bucket", "chunked", "--size", "\(3 << 20)"])
        #expect(r["content_sha256_header"].string == "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        #expect(r["content_encoding"].string == "aws-chunked")
        #expect(r["transfer_encoding"].string == "chunked")
        #expect(r["got_md5"] == r["sent_md5"])
        #expect(r["stored_crc32"] == r["sent_crc32"])
    }

    @Test func chunkSignedStreamingUploadIsStoredIntact() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        let r = try boto("chunked-signed", endpoint: gateway.endpoint, cluster: cluster,
                         ["--bucket", "chunk-signed", "--size", "\(1 << 20)"])
        #expect(r["status"].int == 200, "\(r["response"].string ?? "")")
        #expect(r["got_size"].int == 1 << 20)
        #expect(r["got_md5"] == r["sent_md5"])
    }

    @Test func copyObjectDeleteObjectsAndHeadBucketWork() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        let r = try boto("copy-delete", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "copy-delete"])
        #expect(r["copy_matches"].bool == true)
        #expect(r["deleted"].int == 5)
        #expect(r["left"].int == 0)
        #expect(r["head_bucket"].int == 200)
    }

    @Test func virtualHostedStyleRequestsPassWithTheirHost() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(config: """
            listen: 127.0.0.1:0
            s3: { virtual_host_domains: [s3.spillway.test] }
            pools: [{ name: cluster, nodes: [\(cluster.nodeURLs.joined(separator: ", "))] }]
            """)
        let r = try boto("virtual-host", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "vhost-bucket"])
        #expect(r["body"].string == "virtual")
        #expect(r["keys"].array.compactMap(\.string) == ["vhost/key+1.txt"])
        #expect(r["hosts"].array.compactMap(\.string) == ["vhost-bucket.s3.spillway.test:\(gateway.port)"])
    }

    @Test func aWrongSecretIsRefusedByTheNodesNotPassedAsSuccess() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        // Without the gateway, the node refuses a wrong secret: its signature checks are real.
        let direct = try boto("bad-secret", endpoint: cluster.nodeURLs[0], cluster: cluster, ["--bucket", "roundtrip"])
        #expect(direct["error"].string == "SignatureDoesNotMatch")
        let proxied = try boto("bad-secret", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "roundtrip"])
        #expect(proxied["error"].string == "SignatureDoesNotMatch")
        #expect(proxied["status"].int == 403)
    }

    @Test func awsCLIUploadsDownloadsListsAndRemoves() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let upload = dir.appendingPathComponent("model shard+1.bin").path
        let download = dir.appendingPathComponent("back.bin").path
        // 20 MiB: the CLI splits it into a multipart upload (8 MiB parts) and a ranged parallel download.
        #expect(try run("head", ["-c", "\(20 << 20)", "/dev/urandom"]).status == 0)
        #expect(try run("sh", ["-c", "head -c \(20 << 20) /dev/urandom > '\(upload)'"]).status == 0)

        func cli(_ args: String...) throws -> CommandResult {
            let r = try awsCLI(args, endpoint: gateway.endpoint, cluster: cluster)
            #expect(r.status == 0, "aws \(args.joined(separator: " ")): \(r.stderr)")
            return r
        }
        _ = try cli("s3", "mb", "s3://cli-bucket")
        _ = try cli("s3", "cp", upload, "s3://cli-bucket/shards/model shard+1.bin")
        let listing = try cli("s3", "ls", "s3://cli-bucket/shards/")
        #expect(listing.stdout.contains("\(20 << 20) model shard+1.bin"))
        _ = try cli("s3", "cp", "s3://cli-bucket/shards/model shard+1.bin", download)
        #expect(try run("cmp", [upload, download]).status == 0)
        let head = try cli("s3api", "head-object", "--bucket", "cli-bucket", "--key", "shards/model shard+1.bin")
        #expect(head.stdout.contains("\"ContentLength\": \(20 << 20)"))
        _ = try cli("s3", "rm", "s3://cli-bucket/shards/model shard+1.bin")
        let after = try awsCLI(["s3api", "head-object", "--bucket", "cli-bucket", "--key", "shards/model shard+1.bin"],
                               endpoint: gateway.endpoint, cluster: cluster)
        #expect(after.status != 0)
        #expect(after.stderr.contains("404"))
        _ = try cli("s3", "rb", "s3://cli-bucket")
    }
}
