import Foundation
import Testing

/// Pools with credentials of their own: two moto clusters, each with its own IAM user (the
/// "cloud" one served over TLS), behind a gateway whose clients hold keys the clusters have never
/// seen. Every request that works here was re-signed for its pool; what each node checked of the
/// bodies it got is counted by the cluster (cluster/s3cluster.py's UploadBodyCheck).
@Suite("Pools that sign with their own credentials", .serialized)
struct ResigningTests {
    static let training = (key: "AKIATRAINING00000001", secret: "training-secret-0001")
    static let intern = (key: "AKIAINTERN0000000001", secret: "intern-secret-0001")

    /// A client's `--cluster-json` with a gateway-issued key.
    static func client(_ identity: (key: String, secret: String)) -> [String] {
        ["--cluster-json", #"{"region": "us-east-1", "access_key": "\#(identity.key)", "secret_key": "\#(identity.secret)"}"#]
    }

    struct Hybrid {
        let pki: TestPKI
        let onprem: Cluster
        let cloud: Cluster
        let gateway: Gateway
        var https: String { gateway.tlsEndpoint ?? "" }
        var ca: [String] { ["--ca-bundle", pki.caCertificate] }
    }

    /// The issue's hybrid layout: `datasets` on premises with the cloud as its replica, `ckpt-*`
    /// in the cloud only.
    static func hybrid(onpremNodes: Int = 2, legacy: Bool = false, onpremSigning: String = "") throws -> Hybrid {
        let pki = try TestPKI()
        let onprem = try Cluster(nodes: onpremNodes, legacy: legacy)
        let cloud = try Cluster(nodes: 1, tls: try pki.issue("cloud"))
        let server = try pki.issue("gateway")
        let clients = try Paths.temporaryFile("clients.yaml", contents: "\(training.key): \(training.secret)\n\(intern.key): \(intern.secret)\n")
        let onpremSecret = try Paths.temporaryFile("onprem.secret", contents: onprem.secretKey + "\n")
        let config = """
            listen:
              - 127.0.0.1:0
              - { address: 127.0.0.1:0, tls: { certificate: \(server.certificate), key: \(server.key) } }
            auth:
              verify_signatures: true
              credentials_file: \(clients)
            tenants:
              - name: training
                access_keys: [\(training.key)]
                allow:
                  - { buckets: [datasets, "ckpt-*"], operations: [read, list, write, delete] }
              - name: intern
                access_keys: [\(intern.key)]
                allow:
                  - { buckets: [datasets], prefixes: [public/], operations: [read, list] }
            pools:
              - name: onprem
                nodes: [\(onprem.nodeURLs.joined(separator: ", "))]
                credentials: { access_key_id: \(onprem.accessKey), secret_access_key_file: \(onpremSecret) }
                signing: { region: us-east-1\(onpremSigning) }
                health: { interval: 200ms, timeout: 1s }
              - name: cloud
                nodes: [\(cloud.nodeURLs.joined(separator: ", "))]
                tls: { ca_file: \(pki.caCertificate) }
                credentials: { access_key_id: \(cloud.accessKey), secret_access_key_env: CLOUD_SECRET }
                signing: { region: us-east-1, addressing: path }
                health: { interval: 200ms, timeout: 1s }
            routes:
              - { match: { bucket: datasets }, pools: [onprem, cloud] }
              - { match: { bucket: "ckpt-*" }, pools: [cloud] }
            default_pool: onprem
            admin: { listen: 127.0.0.1:0, token: t }
            """
        let gateway = try Gateway(config: config, environment: ["CLOUD_SECRET": cloud.secretKey])
        return Hybrid(pki: pki, onprem: onprem, cloud: cloud, gateway: gateway)
    }

    @Test func aGatewayIssuedKeyWritesAndReadsOnBothPoolsEachSignedForItsOwn() async throws {
        let h = try Self.hybrid()
        let onpremBefore = try h.onprem.uploads()
        let cloudBefore = try h.cloud.uploads()
        // Over plain HTTP botocore declares each body's SHA-256: reused in the pool's signature.
        let local = try boto("roundtrip", endpoint: h.gateway.endpoint, cluster: nil, Self.client(Self.training) + ["--bucket", "datasets", "--sizes", "0,1024,3000000"])
        // Over HTTPS its uploads are aws-chunked with a trailing CRC32: the seed is re-signed and
        // the body passes as sent, for the cloud node to check.
        let remote = try boto("roundtrip", endpoint: h.https, cluster: nil, Self.client(Self.training) + h.ca + ["--bucket", "ckpt-1", "--sizes", "0,1024,3000000"])
        for object in local["objects"].array + remote["objects"].array {
            #expect(object["got_md5"] == object["sent_md5"] && object["after_delete"].string == "404", "\(object)")
        }
        let onprem = try h.onprem.uploads()
        let cloud = try h.cloud.uploads()
        #expect(onprem["declared_hash_verified"]! - onpremBefore["declared_hash_verified"]! >= 3, "\(onprem)")
        #expect(cloud["unsigned_trailer"]! - cloudBefore["unsigned_trailer"]! >= 2, "\(cloud)")
        // Neither cluster knows the client's key: a request passed through unsigned would fail.
        let direct = try boto("get", endpoint: h.onprem.nodeURLs[0], cluster: nil, Self.client(Self.training) + ["--bucket", "datasets", "--key", "x"])
        #expect(direct["error"].string == "InvalidAccessKeyId", "\(direct)")
    }

    @Test func aTenantOutsideItsPolicyIsDeniedAtTheEdge() async throws {
        let h = try Self.hybrid(onpremNodes: 1)
        let put = try boto("put-random", endpoint: h.gateway.endpoint, cluster: nil, Self.client(Self.training) + ["--bucket", "datasets", "--key", "public/shard-0", "--size", "5000"])
        _ = try boto("put-random", endpoint: h.gateway.endpoint, cluster: nil, Self.client(Self.training) + ["--bucket", "datasets", "--key", "private/eval", "--size", "10"])
        let intern = Self.client(Self.intern)
        let allowed = try boto("get", endpoint: h.gateway.endpoint, cluster: nil, intern + ["--bucket", "datasets", "--key", "public/shard-0"])
        #expect(allowed["md5"] == put["md5"], "\(allowed)")
        let listed = try boto("list", endpoint: h.gateway.endpoint, cluster: nil, intern + ["--bucket", "datasets", "--prefix", "public/"])
        #expect(listed["keys"].array.compactMap(\.string) == ["public/shard-0"], "\(listed)")

        let before = try h.onprem.requestsPerNode().reduce(0, +) + h.cloud.requestsPerNode().reduce(0, +)
        let outside = try boto("get", endpoint: h.gateway.endpoint, cluster: nil, intern + ["--bucket", "datasets", "--key", "private/eval"])
        let otherBucket = try boto("get", endpoint: h.gateway.endpoint, cluster: nil, intern + ["--bucket", "ckpt-1", "--key", "model"])
        let wholeList = try boto("list", endpoint: h.gateway.endpoint, cluster: nil, intern + ["--bucket", "datasets"])
        let write = try boto("put-random", endpoint: h.gateway.endpoint, cluster: nil, intern + ["--bucket", "datasets", "--key", "public/new", "--size", "10"], allowS3Error: true)
        for denied in [outside, otherBucket, wholeList, write] {
            #expect(denied["error"].string == "AccessDenied" && denied["status"].int == 403, "\(denied)")
        }
        #expect(outside["request_id"].string?.isEmpty == false)
        let after = try h.onprem.requestsPerNode().reduce(0, +) + h.cloud.requestsPerNode().reduce(0, +)
        #expect(after == before, "a denied request reached storage")
    }

    @Test func readsFailOverToTheCloudReplicaWithZeroFailedRequests() async throws {
        let h = try Self.hybrid()
        let size = ["--object-size", "200000"]
        // The replica: the same object in both clusters (the cloud one written directly, with its own key).
        let seeded = try boto("seed", endpoint: h.gateway.endpoint, cluster: nil, Self.client(Self.training) + ["--bucket", "datasets"] + size)
        let replica = try boto("seed", endpoint: h.cloud.nodeURLs[0], cluster: h.cloud, h.ca + ["--bucket", "datasets"] + size)
        #expect(seeded["md5"] == replica["md5"])
        let cloudBefore = try h.cloud.requestsPerNode()[0]
        let load = try boto("load", endpoint: h.gateway.endpoint, cluster: nil, Self.client(Self.training) + size + [
            "--bucket", "datasets", "--reads-only", "--threads", "4", "--duration", "6", "--max-requests", "400",
            "--stop-url", h.onprem.stopAllURL, "--stop-after", "2",
        ])
        let records = load["records"].array
        let failed = records.filter { !$0["error"].isNull }
        let stoppedAt = try #require(load["stop_done"].double)
        let afterStop = records.filter { ($0["start"].double ?? 0) > stoppedAt }
        #expect(failed.isEmpty, "\(failed.count) of \(records.count) reads failed: \(failed.prefix(3))")
        #expect(afterStop.count >= 20, "only \(afterStop.count) reads after the on-premises pool stopped")
        #expect(try h.cloud.requestsPerNode()[0] - cloudBefore >= afterStop.count)
        let m = try h.gateway.metrics()
        #expect(m.sum("spillway_node_up", ["pool": "onprem"]) == 0)
    }

    @Test func eachBodyModeReachesItsPoolSignedForIt() async throws {
        let h = try Self.hybrid(onpremNodes: 1, onpremSigning: ", max_chunk_size: 64KiB")
        let training = Self.client(Self.training)
        var before = try h.onprem.uploads()
        // Signed chunks, verified at the edge and re-signed for the pool as they pass: the node
        // checks every chunk signature against its own key.
        // Inside Transfer-Encoding: chunked too, where the re-signed chunks go out HTTP-chunked anew.
        for options in [[], ["--trailer"], ["--transfer-chunked"], ["--trailer", "--transfer-chunked"]] {
            let r = try boto("chunked-signed", endpoint: h.gateway.endpoint, cluster: nil, training + ["--bucket", "datasets", "--size", "300000"] + options)
            #expect(r["status"].int == 200 && r["got_md5"] == r["sent_md5"], "\(options): \(r)")
        }
        var now = try h.onprem.uploads()
        #expect(now["chunk_signed_verified"]! - before["chunk_signed_verified"]! == 4, "\(now)")
        // A chunk larger than the pool holds is refused before the node sees a whole body.
        let big = try boto("chunked-signed", endpoint: h.gateway.endpoint, cluster: nil, training + ["--bucket", "datasets", "--size", "300000", "--chunk-size", "100000"])
        #expect(big["status"].int == 400 && big["response"].string?.contains("<Code>InvalidRequest</Code>") == true, "\(big)")

        // UNSIGNED-PAYLOAD (botocore with payload signing off, over HTTPS): signed as such toward
        // the TLS pool, refused toward the plain-HTTP one.
        before = try h.cloud.uploads()
        let unsignedTLS = try boto("roundtrip", endpoint: h.https, cluster: nil, training + h.ca + ["--bucket", "ckpt-2", "--sizes", "70000", "--checksums", "when_required", "--unsigned-payload"])
        #expect(unsignedTLS["objects"][0]["got_md5"] == unsignedTLS["objects"][0]["sent_md5"], "\(unsignedTLS)")
        now = try h.cloud.uploads()
        #expect(now["unsigned_payload"]! > before["unsigned_payload"]!, "\(now)")
        let unsignedHTTP = try boto("roundtrip", endpoint: h.https, cluster: nil, training + h.ca + ["--bucket", "datasets", "--sizes", "70000", "--checksums", "when_required", "--unsigned-payload"], allowS3Error: true)
        #expect(unsignedHTTP["error"].string == "InvalidRequest" && unsignedHTTP["status"].int == 400, "\(unsignedHTTP)")

        // A presigned GET is verified at the edge and re-signed in a header for the pool.
        let presigned = try boto("presign", endpoint: h.gateway.endpoint, cluster: nil, training + ["--bucket", "datasets"])
        #expect(presigned["status"].int == 200 && presigned["body"].string == "shared by URL", "\(presigned)")
        #expect(presigned["tampered_status"].int == 403)
    }

    @Test func storageThatPredatesTrailingChecksumsGetsDecodedBodies() async throws {
        let h = try Self.hybrid(onpremNodes: 1, legacy: true, onpremSigning: ", payload: decode")
        let training = Self.client(Self.training)
        // Direct, boto3's default upload fails against such storage.
        let direct = try boto("chunked-trailer", endpoint: h.onprem.nodeURLs[0], cluster: h.onprem, ["--bucket", "legacy-direct"], allowS3Error: true)
        #expect(direct["error"].string == "InvalidArgument", "\(direct)")
        // Through Spillway the same client works, over HTTP and over HTTPS with its defaults.
        let trailer = try boto("chunked-trailer", endpoint: h.gateway.endpoint, cluster: nil, training + ["--bucket", "datasets"])
        #expect(trailer["got_md5"] == trailer["sent_md5"] && trailer["content_sha256_header"].string == "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "\(trailer)")
        let https = try boto("roundtrip", endpoint: h.https, cluster: nil, training + h.ca + ["--bucket", "datasets", "--sizes", "0,1024,3000000"])
        for object in https["objects"].array { #expect(object["got_md5"] == object["sent_md5"], "\(object)") }
        for options in [["--trailer"], ["--transfer-chunked"]] {
            let signed = try boto("chunked-signed", endpoint: h.gateway.endpoint, cluster: nil, training + ["--bucket", "datasets", "--size", "300000"] + options)
            #expect(signed["status"].int == 200 && signed["got_md5"] == signed["sent_md5"], "\(options): \(signed)")
        }

        // Spillway checks the trailing checksum itself: a wrong one is answered 400 BadDigest and
        // the node never gets the whole body, so nothing is stored.
        let good = try boto("unsigned-trailer", endpoint: h.gateway.endpoint, cluster: nil, training + ["--bucket", "datasets", "--key", "good", "--size", "200000"])
        #expect(good["status"].int == 200 && good["got_md5"] == good["sent_md5"], "\(good)")
        let bad = try boto("unsigned-trailer", endpoint: h.gateway.endpoint, cluster: nil, training + ["--bucket", "datasets", "--key", "bad", "--size", "200000", "--bad-checksum"])
        #expect(bad["status"].int == 400 && bad["response"].string?.contains("<Code>BadDigest</Code>") == true, "\(bad)")
        #expect(bad["exists"].bool == false && bad["get_error"].string == "NoSuchKey", "\(bad)")
        let uploads = try h.onprem.uploads()
        #expect(uploads["aws_chunked_refused"] == 1, "only the direct upload was refused: \(uploads)")
    }

    @Test func copiesBetweenPoolsAreRefusedAndMultipartUploadsStayOnTheirPool() async throws {
        let h = try Self.hybrid(onpremNodes: 1)
        let training = Self.client(Self.training)
        _ = try boto("put-random", endpoint: h.gateway.endpoint, cluster: nil, training + ["--bucket", "datasets", "--key", "src", "--size", "1000"])
        _ = try boto("put-random", endpoint: h.https, cluster: nil, training + h.ca + ["--bucket", "ckpt-3", "--key", "other", "--size", "10"])
        let across = try boto("copy-from", endpoint: h.gateway.endpoint, cluster: nil, training + ["--bucket", "ckpt-3", "--source-bucket", "datasets", "--key", "src"])
        #expect(across["status"].int == 501 && across["error"].string == "NotImplemented", "\(across)")
        let within = try boto("copy-from", endpoint: h.gateway.endpoint, cluster: nil, training + ["--bucket", "datasets", "--source-bucket", "datasets", "--key", "src"])
        #expect(within["status"].int == 200, "\(within)")
        let multipart = try boto("multipart", endpoint: h.https, cluster: nil, training + h.ca + ["--bucket", "datasets"])
        #expect(multipart["got_md5"] == multipart["sent_md5"], "\(multipart)")
    }
}
