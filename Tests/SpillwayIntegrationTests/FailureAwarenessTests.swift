import Foundation
import Testing

/// Faults injected into real S3 nodes (cluster/s3cluster.py): each test has a cluster of its own.
@Suite("Failure-awareness: dead, slow and throttling nodes", .serialized)
struct FailureAwarenessTests {
    /// A config for `cluster` with `extra` YAML appended under the pool (indented by four spaces).
    func config(_ cluster: Cluster, pool extra: String = "", top: String = "") -> String {
        """
        listen: 127.0.0.1:0
        admin: { listen: 127.0.0.1:0 }
        \(top)
        pools:
          - name: cluster
            nodes: [\(cluster.nodeURLs.joined(separator: ", "))]
        \(extra.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        """
    }

    @Test func aDownloadCutByAResetIsResumedFromAnotherNodeWithTheRightBytes() throws {
        let cluster = try Cluster()
        let gateway = try Gateway(config: config(cluster, pool: "health: { preset: none }"))
        let put = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster,
                           ["--bucket", "resume", "--key", "big.bin", "--size", "\(64 << 20)"])
        try cluster.setFault(#"{"mode": "reset", "after_bytes": 5000000, "times": 1, "method": "GET"}"#)
        let r = try boto("slow-get", endpoint: gateway.endpoint, cluster: cluster,
                         ["--bucket", "resume", "--key", "big.bin", "--rate", "\(1 << 30)"])
        #expect(r["complete"].bool == true)
        #expect(r["md5"] == put["md5"])
        #expect(try gateway.metrics().sum("spillway_resumes_total") == 1)
    }

    @Test func aStalledDownloadIsResumedAfterTheIdleTimeout() throws {
        let cluster = try Cluster()
        let gateway = try Gateway(config: config(cluster, pool: "health: { preset: none }", top: "timeouts: { idle: 1s }"))
        let put = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster,
                           ["--bucket", "stall", "--key", "big.bin", "--size", "\(16 << 20)"])
        try cluster.setFault(#"{"mode": "stall", "after_bytes": 3000000, "stall_seconds": 30, "times": 1, "method": "GET"}"#)
        let r = try boto("slow-get", endpoint: gateway.endpoint, cluster: cluster,
                         ["--bucket", "stall", "--key", "big.bin", "--rate", "\(1 << 30)"])
        #expect(r["complete"].bool == true)
        #expect(r["md5"] == put["md5"])
        #expect((r["seconds"].double ?? 99) < 10)
        // Resumed once, after the stall: the node is blamed, not the client.
        #expect(try gateway.metrics().sum("spillway_resumes_total") == 1)
    }

    @Test func anObjectThatChangedMeanwhileIsNeverSplicedTheClientConnectionCloses() throws {
        let cluster = try Cluster()
        let gateway = try Gateway(config: config(cluster, pool: "health: { preset: none }", top: "timeouts: { idle: 2s }"))
        _ = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster,
                     ["--bucket", "changing", "--key", "obj.bin", "--size", "\(16 << 20)"])
        try cluster.setFault(#"{"mode": "stall", "after_bytes": 3000000, "stall_seconds": 30, "times": 1, "method": "GET"}"#)
        let download = try BackgroundClient(
            "slow-get", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "changing", "--key", "obj.bin", "--rate", "\(1 << 30)"])
        try download.waitFor("receiving")
        // While the download stalls, the object is replaced: its ETag changes.
        _ = try boto("put-random", endpoint: cluster.nodeURLs[0], cluster: cluster,
                     ["--bucket", "changing", "--key", "obj.bin", "--size", "\(16 << 20)"])
        let r = try download.result(timeout: 30)
        #expect(r["complete"].bool == false)
        // The resume was tried and refused by If-Match: the client connection was cut, never spliced.
        #expect(try gateway.metrics().sum("spillway_resumes_total") == 1)
    }

    @Test func aOneGiBDownloadWhoseNodeIsKilledCompletesWithTheRightChecksum() throws {
        let cluster = try Cluster()
        let yaml = config(cluster, pool: "health: { preset: none }")
        let uploader = try Gateway(config: yaml)
        let put = try boto("put-random", endpoint: uploader.endpoint, cluster: cluster,
                           ["--bucket", "gib", "--key", "one.bin", "--size", "\(1 << 30)"])
        // A fresh gateway: the only node connection it opens is the download's.
        let gateway = try Gateway(config: yaml)
        let before = try cluster.state()["nodes"].array.map { $0["connections"].int ?? 0 }
        let download = try BackgroundClient(
            "slow-get", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "gib", "--key", "one.bin", "--rate", "\(128 << 20)"])
        try download.waitFor("receiving")
        Thread.sleep(forTimeInterval: 1)
        let during = try cluster.state()["nodes"].array.map { $0["connections"].int ?? 0 }
        let serving = try #require(during.indices.max { during[$0] - before[$0] < during[$1] - before[$1] })
        try cluster.stopNode(serving)
        let r = try download.result(timeout: 120)
        if r["complete"].bool != true { Issue.record("gateway log:\n\(gateway.log.suffix(3000))") }
        #expect(r["complete"].bool == true)
        #expect(r["bytes"].int == 1 << 30)
        #expect(r["md5"] == put["md5"])
        #expect(try gateway.metrics().sum("spillway_resumes_total") >= 1)
    }

    @Test func slowDownIsRetriedOnANodeThatIsNotThrottling() throws {
        let cluster = try Cluster()
        let gateway = try Gateway(config: config(cluster, pool: "health: { preset: none }"))
        for node in 0..<2 { try cluster.setFault(node: node, #"{"mode": "slowdown"}"#) }
        // Client retries are off: every SlowDown the gateway let through would show here.
        let r = try boto("mixed", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "throttled", "--count", "20"])
        #expect(r["errors"].array.isEmpty, "\(r["errors"])")
        let metrics = try gateway.metrics()
        #expect(metrics.sum("spillway_health_events_total", ["kind": "throttled"]) >= 1)
        #expect(metrics.sum("spillway_retries_total") >= 1)
    }

    @Test func whenEveryNodeThrottlesTheSlowDownReachesTheClientInsteadOfAStorm() throws {
        let cluster = try Cluster()
        let gateway = try Gateway(config: config(cluster, pool: "health: { preset: none }\nretry: { budget_percent: 0, min_per_second: 1 }"))
        let seed = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "storm", "--key", "k", "--size", "10"])
        #expect(seed["size"].int == 10)
        for node in 0..<3 { try cluster.setFault(node: node, #"{"mode": "slowdown"}"#) }
        let before = try cluster.requestsPerNode().reduce(0, +)
        let r = try boto("timed-gets", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "storm", "--key", "k", "--size", "10", "--count", "10"], allowS3Error: true)
        // The first GET of the scenario is its PUT's: it fails with SlowDown, as storage asked.
        #expect(r["error"].string == "SlowDown")
        let after = try cluster.requestsPerNode().reduce(0, +)
        // One request, and at most the budget's floor of retries: no multiplication.
        #expect(after - before <= 3, "nodes saw \(after - before) requests")
    }

    @Test func aSlowNodeGetsLittleTrafficWithPeakEWMA() throws {
        let cluster = try Cluster()
        let gateway = try Gateway(config: config(cluster, pool: "balancer: peak_ewma\nhealth: { preset: none }"))
        try cluster.setFault(node: 1, #"{"mode": "delay", "ms": 300}"#)
        let before = try cluster.requestsPerNode()
        let r = try boto("timed-gets", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "ewma", "--count", "60", "--size", "1024"])
        #expect(r["gets"].array.allSatisfy { $0["error"].isNull })
        let after = try cluster.requestsPerNode()
        let served = zip(after, before).map { $0 - $1 }
        #expect(served[1] * 10 < served.reduce(0, +), "requests per node: \(served)")
    }

    @Test func hedgedReadsAnswerFromTheFastNodeWhenOneIsSlow() throws {
        let cluster = try Cluster()
        let gateway = try Gateway(config: config(
            cluster, pool: "balancer: round_robin\nhealth: { preset: none }\nhedge: { enabled: true, percentile: 90, min_delay: 50ms }"))
        // Warm the latency percentile with fast reads first.
        _ = try boto("timed-gets", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "hedge", "--count", "30", "--size", "1024"])
        try cluster.setFault(node: 0, #"{"mode": "delay", "ms": 2000, "method": "GET"}"#)
        let r = try boto("timed-gets", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "hedge", "--count", "12", "--size", "1024"])
        let gets = r["gets"].array
        #expect(gets.allSatisfy { $0["error"].isNull })
        // Round-robin sends every third read to the slow node; the hedge answers it from another.
        let slowest = gets.compactMap { $0["seconds"].double }.max() ?? 99
        #expect(slowest < 1.0, "slowest read took \(slowest) s")
    }

    @Test func aNodeThatDoesNotAnswerInTimeGetsA504AfterTheRetries() throws {
        let cluster = try Cluster()
        let gateway = try Gateway(config: config(cluster, pool: "health: { preset: none }", top: "timeouts: { first_byte: 300ms }"))
        _ = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "late", "--key", "k", "--size", "10"])
        for node in 0..<3 { try cluster.setFault(node: node, #"{"mode": "delay", "ms": 3000}"#) }
        let started = Date()
        let r = try boto("raw", endpoint: gateway.endpoint, cluster: nil, ["--raw", "GET /late/k HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n"])
        #expect(r["status"].int == 504)
        #expect(r["body"].string?.contains("<Code>GatewayTimeout</Code>") == true)
        #expect(Date().timeIntervalSince(started) < 2.5)
    }

    @Test func readsFailOverToTheNextPoolWritesDoNot() throws {
        let cluster = try Cluster()
        let urls = cluster.nodeURLs
        let gateway = try Gateway(config: """
            listen: 127.0.0.1:0
            admin: { listen: 127.0.0.1:0 }
            pools:
              - name: primary
                nodes: [\(urls[0]), \(urls[1])]
                health: { preset: none }
              - name: replica
                nodes: [\(urls[2])]
                health: { preset: none }
            routes:
              - match: { bucket: "*" }
                pools: [primary, replica]
            default_pool: primary
            """)
        let put = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "failover", "--key", "k", "--size", "1000"])
        try cluster.stopNode(0)
        try cluster.stopNode(1)
        let read = try boto("slow-get", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "failover", "--key", "k"])
        #expect(read["complete"].bool == true)
        #expect(read["md5"] == put["md5"])
        // The read was served by the replica pool.
        #expect(try gateway.metrics().sum("spillway_requests_total", ["pool": "replica", "s3_operation": "GetObject", "status": "2xx"]) == 1)
        let write = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster,
                             ["--bucket", "failover", "--key", "k2", "--size", "10"], allowS3Error: true)
        #expect(write["error"].string == "ServiceUnavailable")
    }

    @Test func aDrainedNodeTakesNoRequestsAndAFailingOneIsEjected() throws {
        let cluster = try Cluster()
        let urls = cluster.nodeURLs
        let gateway = try Gateway(config: """
            listen: 127.0.0.1:0
            admin: { listen: 127.0.0.1:0 }
            pools:
              - name: cluster
                nodes: [{ url: \(urls[0]), drain: true }, \(urls[1]), \(urls[2])]
                health: { preset: none }
                outlier: { consecutive_failures: 2, base_ejection: 30s }
            """)
        try cluster.setFault(node: 2, #"{"mode": "error", "status": 500}"#)
        let before = try cluster.requestsPerNode()
        let r = try boto("mixed", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "drained", "--count", "15"])
        #expect(r["errors"].array.isEmpty, "\(r["errors"])")
        let served = zip(try cluster.requestsPerNode(), before).map { $0 - $1 }
        #expect(served[0] == 0, "the drained node served \(served[0])")
        #expect(served[2] <= 3, "the failing node served \(served[2]) (ejected after 2)")
        #expect(try gateway.metrics().sum("spillway_health_events_total", ["kind": "ejected", "node": urls[2]]) == 1)
        #expect(try gateway.status()["pools"][0]["nodes"][2]["ejections"].int == 1)
    }

    @Test func activeProbesTakeADeadNodeOutAndBringItBack() throws {
        let cluster = try Cluster()
        let gateway = try Gateway(config: config(cluster, pool: "health: { interval: 200ms, jitter: 50ms, timeout: 500ms, rise: 2, fall: 2 }"))
        try cluster.stopNode(1)
        #expect(try waitFor(10) { try gateway.status()["pools"][0]["nodes"][1]["healthy"].bool == false })
        try cluster.startNode(1)
        #expect(try waitFor(10) { try gateway.status()["pools"][0]["nodes"][1]["healthy"].bool == true })
        let metrics = try gateway.metrics()
        #expect(metrics.sum("spillway_health_events_total", ["kind": "probe_down"]) == 1)
        #expect(metrics.sum("spillway_health_events_total", ["kind": "probe_up"]) == 1)
    }
}
