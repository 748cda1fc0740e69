import Foundation
import Testing

/// Each test here stops nodes, so each has a cluster of its own and they run one at a time.
@Suite("Storage nodes failing under load", .serialized)
struct NodeFailureTests {
    @Test func aNodeStoppedWhileRequestsKeepComingCostsNoRequestAtAll() throws {
        let cluster = try Cluster()
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        let load = try BackgroundClient(
            "load", endpoint: gateway.endpoint, cluster: cluster,
            ["--bucket", "under-load", "--threads", "4", "--duration", "7", "--stop-after", "2.5",
             "--stop-url", "http://127.0.0.1:\(cluster.controlPort)/nodes/1/stop"])
        let r = try load.result(timeout: 60)
        let stoppedAt = try #require(r["stopped_at"].double)
        let stopDone = try #require(r["stop_done"].double)
        let records = r["records"].array
        let before = records.filter { ($0["end"].double ?? 0) < stoppedAt }
        let after = records.filter { ($0["start"].double ?? 0) > stopDone }
        let failures = records.filter { !$0["error"].isNull }
        #expect(before.count > 10, "the workload ran before the stop")
        #expect(after.count > 10, "the workload kept running after the stop")
        // Every request that started once the node was gone succeeded through the other two, and the
        // ones in flight on it were retried (GETs, and PUTs from the replay buffer): none failed.
        #expect(after.allSatisfy { $0["error"].isNull }, "\(after.filter { !$0["error"].isNull })")
        #expect(failures.isEmpty, "\(failures)")
        #expect(try cluster.state()["nodes"][1]["up"].bool == false)
    }

    @Test func aBodyCutShortByTheNodeReachesTheClientAsAnErrorNotAShortObject() throws {
        let cluster = try Cluster()
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        let size = 64 << 20
        _ = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster,
                     ["--bucket", "cut-short", "--key", "big.bin", "--size", "\(size)"])
        // 4 MiB/s: the download needs 16 s; every node stops 1 s into it.
        let download = try BackgroundClient(
            "slow-get", endpoint: gateway.endpoint, cluster: cluster,
            ["--bucket", "cut-short", "--key", "big.bin", "--rate", "\(4 << 20)"])
        try download.waitFor("receiving")
        Thread.sleep(forTimeInterval: 1)
        for node in 0..<3 { try cluster.stopNode(node) }
        let r = try download.result(timeout: 60)
        #expect(r["complete"].bool == false)
        #expect((r["bytes"].int ?? size) < size)
        #expect(r["content_length"].int == size)
    }

    @Test func aClientThatHangsUpCancelsItsRequestToTheNode() throws {
        let cluster = try Cluster()
        // Uploaded straight to a node (moto closes its connections after each response), so the
        // only gateway, and the only node connection it opens, are the download's.
        _ = try boto("put-random", endpoint: cluster.nodeURLs[0], cluster: cluster,
                     ["--bucket", "hang-up", "--key", "big.bin", "--size", "\(64 << 20)"])
        let gateway = try Gateway(nodes: cluster.nodeURLs)
        let r = try boto("read-then-disconnect", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "hang-up", "--key", "big.bin"])
        #expect(r["read"].int == 1 << 20)
        // The node sees its connection closed: nothing of the 63 MiB left is pulled for nobody.
        let closed = try waitFor(5) { try cluster.state()["nodes"].array.reduce(0) { $0 + ($1["connections"].int ?? 0) } == 0 }
        let nodes = try cluster.state()["nodes"]
        #expect(closed, "node connections still open: \(nodes)")
    }
}
