import Foundation
import Testing

/// Large whole-object GETs fetched as ranged parts from several nodes (`routes[].split`,
/// `--split-above`). Nodes send each response at a set pace (`rate` fault), as storage that
/// serves each connection at a capped rate does, so parts overlap and a fault lands mid-part.
@Suite("Split downloads", .serialized)
struct SplitDownloadTests {
    func served(_ cluster: Cluster) throws -> [Int] { try cluster.state()["nodes"].array.map { $0["gets"].int ?? 0 } }

    func pace(_ cluster: Cluster, bytesPerSecond: Int) throws {
        for node in 0..<3 { try cluster.setFault(node: node, #"{"mode": "rate", "bytes_per_second": \#(bytesPerSecond)}"#) }
    }

    func put(_ cluster: Cluster, _ bucket: String, size: Int) throws -> String {
        let put = try boto("put-random", endpoint: cluster.nodeURLs[0], cluster: cluster, ["--bucket", bucket, "--key", "checkpoint.bin", "--size", "\(size)"])
        return try #require(put["md5"].string)
    }

    func gateway(_ cluster: Cluster) throws -> Gateway {
        try Gateway(nodes: cluster.nodeURLs, extraArguments: ["--split-above", "16MiB", "--balancer", "round_robin", "--admin", "127.0.0.1:0"])
    }

    @Test func aLargeDownloadComesFromEveryNodeAndKeepsTheChecksumBotoValidates() throws {
        let cluster = try Cluster()
        let size = 40 << 20
        let md5 = try put(cluster, "split", size: size)
        let gateway = try gateway(cluster)
        try pace(cluster, bytesPerSecond: 16 << 20)
        let before = try served(cluster)
        // boto3's own get_object: it asks for the checksum (x-amz-checksum-mode) and validates it.
        let reader = try #require(try boto("fan-out", endpoint: gateway.endpoint, cluster: cluster,
                                           ["--bucket", "split", "--key", "checkpoint.bin", "--count", "1"])["readers"].array.first)
        let after = try served(cluster)
        #expect(reader["md5"].string == md5, "\(reader)")
        #expect(reader["checksum"].string != nil, "the full-object checksum reached the client: \(reader)")
        let perNode = zip(after, before).map { $0 - $1 }
        #expect(perNode.allSatisfy { $0 >= 2 }, "parts came from every node: \(perNode)")
        let metrics = try gateway.metrics()
        #expect(metrics.sum("spillway_split_downloads_total") == 1)
        #expect(metrics.sum("spillway_split_parts_total") == 5)
    }

    @Test func anObjectAtOrBelowTheThresholdIsNotSplit() throws {
        let cluster = try Cluster()
        let md5 = try put(cluster, "small", size: 16 << 20)
        let gateway = try gateway(cluster)
        let got = try boto("get", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "small", "--key", "checkpoint.bin"])
        #expect(got["md5"].string == md5)
        #expect(try gateway.metrics().sum("spillway_split_downloads_total") == 0)
    }

    @Test func aNodeDyingMidPartCostsTheDownloadNothing() throws {
        let cluster = try Cluster()
        let size = 48 << 20
        let md5 = try put(cluster, "node-dies", size: size)
        let gateway = try gateway(cluster)
        try pace(cluster, bytesPerSecond: 8 << 20)
        let download = try BackgroundClient(
            "slow-get", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "node-dies", "--key", "checkpoint.bin", "--rate", "\(1 << 30)"])
        try download.waitFor("receiving")
        Thread.sleep(forTimeInterval: 0.4)
        try cluster.stopNode(1)
        let r = try download.result(timeout: 120)
        #expect(r["complete"].bool == true, "\(r)")
        #expect(r["md5"].string == md5)
        #expect(try gateway.metrics().sum("spillway_split_part_retries_total") >= 1)
    }

    @Test func anObjectReplacedMidDownloadCutsTheClientRatherThanSplicingTwoObjects() throws {
        let cluster = try Cluster()
        let size = 48 << 20
        let old = try put(cluster, "replaced", size: size)
        // Two parts of 4 MiB at a time: most parts are asked for after the replacement.
        let gateway = try Gateway(config: cluster.config("""
            routes:
              - pool: cluster
                split: { above: 16MiB, part: 4MiB, parallel: 2 }
            """))
        try pace(cluster, bytesPerSecond: 4 << 20)
        let download = try BackgroundClient(
            "slow-get", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "replaced", "--key", "checkpoint.bin", "--rate", "\(1 << 30)"])
        try download.waitFor("receiving")
        let new = try put(cluster, "replaced", size: size)
        let r = try download.result(timeout: 120)
        // Parts asked for after the replacement get 412 (If-Match): the client sees an error.
        #expect(r["complete"].bool == false, "\(r)")
        #expect(r["md5"].string != old && r["md5"].string != new)
        #expect((r["bytes"].int ?? size) < size)
    }

    @Test func oneGibibyteArrivesWholeInFlatMemory() throws {
        let bulk = try BulkNode()
        let gateway = try Gateway(nodes: [bulk.url], extraArguments: ["--split-above", "64MiB", "--admin", "127.0.0.1:0"])
        let size = 1 << 30
        let r = try boto(
            "fan-out", endpoint: gateway.endpoint, cluster: nil,
            ["--bucket", "bulk", "--key", "\(size)", "--count", "1", "--pid", "\(gateway.process.processIdentifier)"])
        #expect(r["readers"][0]["bytes"].int == size, "\(r)")
        let peak = try #require(r["peak_rss_kib"].int)
        // At most 8 parts of 8 MiB held, not the object.
        #expect(peak < 160 * 1024, "peak RSS \(peak / 1024) MiB")
        #expect(try gateway.metrics().sum("spillway_split_parts_total") == Double(size / (8 << 20)))
    }
}
