import Foundation
import Testing

@Suite("Errors in S3's language, and graceful shutdown")
struct ErrorAndLifecycleTests {
    @Test func whenNoNodeCanTakeARequestTheClientGetsA503XMLErrorWithARequestID() throws {
        // Port 9 on loopback: nothing listens, every connect is refused.
        let gateway = try Gateway(nodes: ["http://127.0.0.1:9", "http://127.0.0.1:9"])
        let r = try boto("raw", endpoint: gateway.endpoint, cluster: nil,
                         ["--raw", "GET /bucket/key HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"])
        #expect(r["status"].int == 503)
        #expect(r["headers"]["content-type"].string == "application/xml")
        let requestID = try #require(r["headers"]["x-amz-request-id"].string)
        #expect(requestID.count == 16)
        let body = r["body"].string ?? ""
        #expect(body.contains("<Code>ServiceUnavailable</Code>"))
        #expect(body.contains("<Resource>/bucket/key</Resource>"))
        #expect(body.contains("<RequestId>\(requestID)</RequestId>"))
        #expect(r["headers"]["retry-after"].string == "1")
        // boto3 reads it as the S3 error it is.
        let viaBoto = try boto("roundtrip", endpoint: gateway.endpoint, cluster: nil, ["--bucket", "nowhere"], allowS3Error: true)
        #expect(viaBoto["error"].string == "ServiceUnavailable")
        #expect(viaBoto["status"].int == 503)
    }

    @Test func aRequestThatIsNotHTTPGetsA400XMLError() throws {
        let gateway = try Gateway(nodes: ["http://127.0.0.1:9"])
        let r = try boto("raw", endpoint: gateway.endpoint, cluster: nil, ["--raw", "NOT HTTP AT ALL\\r\\n\\r\\n"])
        #expect(r["status"].int == 400)
        #expect(r["body"].string?.contains("<Code>BadRequest</Code>") == true)
        #expect(r["headers"]["x-amz-request-id"].string != nil)
        #expect(r["headers"]["connection"].string == "close")
    }

    @Test func sigtermLetsAnInFlightDownloadFinishThenExits() async throws {
        let cluster = try await SharedCluster.shared.get()
        // No shutdown delay: the drain starts at once (FleetTests cover the delay).
        let gateway = try Gateway(config: """
            listen: 127.0.0.1:0
            shutdown_delay: 0s
            pools: [{ name: cluster, nodes: [\(cluster.nodeURLs.joined(separator: ", "))] }]
            """)
        let put = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster,
                           ["--bucket", "draining", "--key", "big.bin", "--size", "\(32 << 20)"])
        // 16 MiB/s: the download takes about 2 s; SIGTERM arrives 0.3 s into it.
        let download = try BackgroundClient(
            "slow-get", endpoint: gateway.endpoint, cluster: cluster,
            ["--bucket", "draining", "--key", "big.bin", "--rate", "\(16 << 20)"])
        try download.waitFor("receiving")
        try await Task.sleep(for: .milliseconds(300))
        gateway.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(200))
        // No new connections once draining.
        let refused = try boto("raw", endpoint: gateway.endpoint, cluster: nil, ["--raw", "GET / HTTP/1.1\\r\\n\\r\\n"])
        #expect(refused["connect_error"].string == "ConnectionRefusedError")
        let r = try download.result(timeout: 30)
        #expect(r["complete"].bool == true)
        #expect(r["md5"] == put["md5"])
        #expect(gateway.waitForExit(timeout: 10) == 0)
    }

    @Test func theDrainTimeoutCutsDownloadsThatWouldNotFinish() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(config: """
            listen: 127.0.0.1:0
            drain_timeout: 500ms
            pools: [{ name: cluster, nodes: [\(cluster.nodeURLs.joined(separator: ", "))] }]
            """)
        _ = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster,
                     ["--bucket", "draining", "--key", "slow.bin", "--size", "\(16 << 20)"])
        let download = try BackgroundClient(
            "slow-get", endpoint: gateway.endpoint, cluster: cluster,
            ["--bucket", "draining", "--key", "slow.bin", "--rate", "\(2 << 20)"])
        try download.waitFor("receiving")
        gateway.signal(SIGTERM)
        #expect(gateway.waitForExit(timeout: 10) == 0)
        let r = try download.result(timeout: 30)
        #expect(r["complete"].bool == false)
    }
}
