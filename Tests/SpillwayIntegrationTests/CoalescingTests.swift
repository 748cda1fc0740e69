import Foundation
import Testing

/// GETs of one object in flight at once share one fetch from storage (`routes[].coalesce`,
/// `--coalesce`). Every test has its own cluster: they count what the nodes served, and set faults.
/// Nodes send bodies at a set pace (`rate` fault), so a flight lasts long enough to be joined.
@Suite("Coalescing identical GETs", .serialized)
struct CoalescingTests {
    func config(_ cluster: Cluster, coalesce: String = "{ enabled: true }", extra: String = "") -> String {
        cluster.config("""
            routes:
              - pool: cluster
                coalesce: \(coalesce)
            \(extra)
            """)
    }

    /// `spillway serve --coalesce` in front of the cluster: signatures not verified, so every
    /// follower checks with storage under its own.
    func quickMode(_ cluster: Cluster) throws -> Gateway {
        try Gateway(nodes: cluster.nodeURLs, extraArguments: ["--coalesce", "--admin", "127.0.0.1:0"])
    }

    /// What `fanOut` returns, and the object GETs and body bytes storage served meanwhile.
    func fanOutServed(_ gateway: Gateway, _ cluster: Cluster, _ bucket: String, _ options: [String]) throws -> ([JSON], gets: Int, bytes: Int) {
        let before = try served(cluster)
        let readers = try fanOut(gateway, cluster, bucket, options)
        let after = try served(cluster)
        return (readers, after.gets - before.gets, after.bytes - before.bytes)
    }

    /// Object GETs the nodes answered, and the body bytes they sent, so far.
    func served(_ cluster: Cluster) throws -> (gets: Int, bytes: Int) {
        let nodes = try cluster.state()["nodes"].array
        return (nodes.reduce(0) { $0 + ($1["gets"].int ?? 0) }, nodes.reduce(0) { $0 + ($1["get_bytes"].int ?? 0) })
    }

    func pace(_ cluster: Cluster, bytesPerSecond: Int) throws {
        for node in 0..<3 { try cluster.setFault(node: node, #"{"mode": "rate", "bytes_per_second": \#(bytesPerSecond)}"#) }
    }

    func put(_ cluster: Cluster, _ bucket: String, size: Int) throws -> String {
        let put = try boto("put-random", endpoint: cluster.nodeURLs[0], cluster: cluster, ["--bucket", bucket, "--key", "shard.bin", "--size", "\(size)"])
        return try #require(put["md5"].string)
    }

    func fanOut(_ gateway: Gateway, _ cluster: Cluster, _ bucket: String, _ options: [String]) throws -> [JSON] {
        try boto("fan-out", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", bucket, "--key", "shard.bin"] + options)["readers"].array
    }

    @Test func manyConcurrentReadersShareOneFetchFromStorage() throws {
        let cluster = try Cluster()
        let size = 24 << 20
        let md5 = try put(cluster, "fan-out", size: size)
        // Quick mode: signatures are not verified, so each follower first tries its own request
        // with `If-None-Match: <flight ETag>`, joining on storage's 304.
        let gateway = try quickMode(cluster)
        try pace(cluster, bytesPerSecond: 24 << 20)
        let (readers, gets, bytes) = try fanOutServed(gateway, cluster, "fan-out", ["--count", "12"])
        #expect(readers.count == 12)
        for reader in readers { #expect(reader["md5"].string == md5, "\(reader)") }
        // One fetch of the object, and a bodiless 304 for each follower's own check.
        #expect(bytes <= size + size / 20, "storage sent \(bytes) bytes for 12 readers")
        #expect(gets == 12)
        let metrics = try gateway.metrics()
        #expect(metrics.sum("spillway_coalesce_flights_total") == 1)
        #expect(metrics.sum("spillway_coalesce_followers_total") == 11)
        #expect(metrics.sum("spillway_coalesce_storage_bytes_total") == Double(size))
        #expect(metrics.sum("spillway_coalesce_client_bytes_total") == Double(12 * size))
        // Each reader is a request of its own in the request metrics.
        #expect(metrics.sum("spillway_requests_total", ["s3_operation": "GetObject", "status": "2xx"]) == 12)
    }

    @Test func verifiedReadersOfOneKeyCanShareWithoutAnyRequestOfTheirOwn() throws {
        let cluster = try Cluster()
        let size = 16 << 20
        let md5 = try put(cluster, "trusted", size: size)
        let gateway = try Gateway(config: config(cluster, coalesce: "{ enabled: true, trust_verified: true }", extra: """
            auth:
              verify_signatures: true
              credentials: { \(cluster.accessKey): "\(cluster.secretKey)" }
            """))
        try pace(cluster, bytesPerSecond: 16 << 20)
        let before = try served(cluster)
        let readers = try fanOut(gateway, cluster, "trusted", ["--count", "8"])
        let after = try served(cluster)
        for reader in readers { #expect(reader["md5"].string == md5, "\(reader)") }
        #expect(after.gets - before.gets == 1, "one GET reached storage for eight readers")
        #expect(after.bytes - before.bytes == size)
    }

    /// boto3's `download_file` reads an object as ranged GETs of 8 MiB parts (each with the ETag of
    /// its HEAD in `If-Match`): readers of one object ask for the same ranges, and share each.
    @Test func boto3DownloadsOfOneObjectShareEachPartsFetch() throws {
        let cluster = try Cluster()
        let size = 24 << 20
        let md5 = try put(cluster, "parts", size: size)
        let gateway = try quickMode(cluster)
        try pace(cluster, bytesPerSecond: 4 << 20)
        let (readers, _, bytes) = try fanOutServed(gateway, cluster, "parts", ["--count", "6", "--download"])
        #expect(readers.count == 6)
        for reader in readers { #expect(reader["md5"].string == md5, "\(reader)") }
        #expect(bytes <= size + size / 20, "storage sent \(bytes) bytes for 6 downloads")
        let metrics = try gateway.metrics()
        #expect(metrics.sum("spillway_coalesce_flights_total") == 3, "one flight per part")
        #expect(metrics.sum("spillway_coalesce_followers_total") == 15)
    }

    @Test func aSlowReaderDetachesWhileTheFastOnesFinish() throws {
        let cluster = try Cluster()
        // The slow reader falls behind the flight only by what neither its socket buffers (several
        // MiB each way on loopback) nor the 4 MiB ring hold: the object is large enough that it
        // does so long before the fast readers are done, however slow the machine.
        let size = 32 << 20
        let md5 = try put(cluster, "detach", size: size)
        let gateway = try Gateway(config: config(cluster, coalesce: "{ enabled: true, ring: 4MiB }"))
        let before = try served(cluster)
        let readers = try fanOut(gateway, cluster, "detach", ["--count", "4", "--slow", "1", "--rate", "\(2 << 20)"])
        let after = try served(cluster)
        for reader in readers { #expect(reader["md5"].string == md5, "\(reader)") }
        let slow = try #require(readers.first { $0["role"].string == "slow" })
        let fastest = readers.filter { $0["role"].string == "reader" }.compactMap { $0["seconds"].double }
        // The fast readers were not held to the slow one's pace: they were done long before it.
        #expect(fastest.allSatisfy { $0 < (slow["seconds"].double ?? 0) / 2 }, "fast \(fastest), slow \(slow)")
        let metrics = try gateway.metrics()
        #expect(metrics.sum("spillway_coalesce_detached_total") >= 1)
        // The slow reader went on alone from where it was: what storage sent beyond one copy is
        // only the part it had not had yet.
        #expect(after.bytes - before.bytes < 2 * size + 4)
        #expect(metrics.sum("spillway_resumes_total") >= 1, "the rest came by a ranged GET with the flight's ETag")
    }

    @Test func aLateReaderJoinsWhileTheObjectsStartIsStillInTheRing() throws {
        let cluster = try Cluster()
        let size = 16 << 20
        let md5 = try put(cluster, "late", size: size)
        let gateway = try quickMode(cluster)
        try pace(cluster, bytesPerSecond: 8 << 20)
        let before = try served(cluster)
        let readers = try fanOut(gateway, cluster, "late", ["--count", "3", "--late", "1", "--stagger", "0.8"])
        let after = try served(cluster)
        for reader in readers { #expect(reader["md5"].string == md5, "\(reader)") }
        #expect(after.bytes - before.bytes <= size + 4, "the late reader was served from the flight")
        #expect(try gateway.metrics().sum("spillway_coalesce_flights_total") == 1)
    }

    @Test func aReaderThatArrivesAfterTheObjectWasReplacedGetsTheNewObject() throws {
        let cluster = try Cluster()
        let size = 16 << 20
        let old = try put(cluster, "replaced", size: size)
        let gateway = try quickMode(cluster)
        try pace(cluster, bytesPerSecond: 8 << 20)
        let first = try BackgroundClient(
            "slow-get", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "replaced", "--key", "shard.bin", "--rate", "\(64 << 20)"])
        try first.waitFor("receiving")
        let new = try put(cluster, "replaced", size: size)
        let second = try boto("get", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "replaced", "--key", "shard.bin"])
        let firstResult = try first.result(timeout: 60)
        // The flight's reader keeps the object it began; the newcomer's own check was answered
        // with the new object (not 304): no one gets a mix or a stale copy.
        #expect(firstResult["md5"].string == old, "\(firstResult)")
        #expect(second["md5"].string == new, "\(second)")
    }

    /// A conditional GET is never answered from a flight: with `If-None-Match` naming the object's
    /// ETag storage says `304`, and a reader trusted to share must get that, not the body.
    @Test func aConditionalGetIsAnsweredByStorageNotByAFlight() throws {
        let cluster = try Cluster()
        let size = 16 << 20
        // A single-part upload's ETag is its MD5.
        let etag = "\"\(try put(cluster, "conditional", size: size))\""
        let gateway = try Gateway(config: config(cluster, coalesce: "{ enabled: true, trust_verified: true }", extra: """
            auth:
              verify_signatures: true
              credentials: { \(cluster.accessKey): "\(cluster.secretKey)" }
            """))
        try pace(cluster, bytesPerSecond: 8 << 20)
        let first = try BackgroundClient(
            "slow-get", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "conditional", "--key", "shard.bin", "--rate", "\(64 << 20)"])
        try first.waitFor("receiving")
        let conditional = try boto(
            "get", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "conditional", "--key", "shard.bin", "--if-none-match", etag])
        #expect(conditional["status"].int == 304, "\(conditional)")
        #expect(try first.result(timeout: 60)["complete"].bool == true)
    }

    @Test func aReaderWhoseKeyMayNotReadTheObjectGetsNoBytesOfIt() throws {
        let cluster = try Cluster()
        let size = 8 << 20
        let md5 = try put(cluster, "private", size: size)
        let gateway = try quickMode(cluster)
        try pace(cluster, bytesPerSecond: 8 << 20)
        let readers = try fanOut(gateway, cluster, "private", ["--count", "4", "--outsiders", "2"])
        for reader in readers {
            if reader["role"].string == "outsider" {
                #expect(reader["error"].string == "AccessDenied", "\(reader)")
                #expect(reader["bytes"].int == 0)
            } else {
                #expect(reader["md5"].string == md5, "\(reader)")
            }
        }
    }

    @Test func aLeaderThatHangsUpLeavesItsFollowersTheirFetch() throws {
        let cluster = try Cluster()
        let size = 8 << 20
        let md5 = try put(cluster, "leader", size: size)
        let gateway = try quickMode(cluster)
        try pace(cluster, bytesPerSecond: 2 << 20)
        let before = try served(cluster)
        // The reader that starts the flight reads 1 MiB and closes; two more join 0.2 s in.
        let readers = try fanOut(gateway, cluster, "leader", ["--count", "3", "--hang-ups", "1", "--late", "2", "--stagger", "0.2"])
        let after = try served(cluster)
        for reader in readers where reader["role"].string == "late" { #expect(reader["md5"].string == md5, "\(reader)") }
        #expect(after.bytes - before.bytes <= size + 4, "the followers finished on the leader's fetch")
        #expect(try gateway.metrics().sum("spillway_coalesce_flights_total") == 1)
    }

    @Test func aNodeFailingMidFlightResumesItForEveryoneOrFailsEveryoneCleanly() throws {
        let cluster = try Cluster()
        let size = 24 << 20
        let md5 = try put(cluster, "mid-flight", size: size)
        let gateway = try quickMode(cluster)
        // The next download is cut by a reset 4 MiB in; the flight resumes on another node.
        try cluster.setFault(#"{"mode": "reset", "after_bytes": \#(4 << 20), "times": 1, "method": "GET"}"#)
        let readers = try fanOut(gateway, cluster, "mid-flight", ["--count", "6"])
        for reader in readers { #expect(reader["md5"].string == md5, "\(reader)") }
        #expect(try gateway.metrics().sum("spillway_resumes_total") >= 1)
        // Every node cuts every download: no reader may take a short body for the object.
        for node in 0..<3 { try cluster.setFault(node: node, #"{"mode": "reset", "after_bytes": \#(1 << 20), "method": "GET"}"#) }
        let failed = try fanOut(gateway, cluster, "mid-flight", ["--count", "4"])
        for reader in failed {
            #expect(reader["md5"].string != md5)
            #expect(!reader["error"].isNull || (reader["bytes"].int ?? 0) < size, "\(reader)")
        }
    }

    @Test func aClientThatStopsReadingDoesNotHoldItsFlightBack() throws {
        let cluster = try Cluster()
        let size = 32 << 20
        let md5 = try put(cluster, "stuck", size: size)
        let gateway = try Gateway(config: config(cluster, coalesce: "{ enabled: true, ring: 4MiB }"))
        try pace(cluster, bytesPerSecond: 32 << 20)
        let before = try served(cluster)
        // One reader takes the response head and then reads nothing until the others are done.
        let readers = try fanOut(gateway, cluster, "stuck", ["--count", "4", "--stuck", "1"])
        let after = try served(cluster)
        for reader in readers where reader["role"].string == "reader" { #expect(reader["md5"].string == md5, "\(reader)") }
        #expect(try gateway.metrics().sum("spillway_coalesce_detached_total") >= 1, "the stuck reader was let go")
        // Its own fetch goes only as far as it reads: storage sent well under two copies.
        #expect(after.bytes - before.bytes < size + size / 2)
    }

    @Test func fourReadersOfOneGibibyteShareItInFlatMemory() throws {
        let bulk = try BulkNode()
        let gateway = try Gateway(nodes: [bulk.url], extraArguments: ["--coalesce", "--admin", "127.0.0.1:0"])
        let size = 1 << 30
        let r = try boto(
            "fan-out", endpoint: gateway.endpoint, cluster: nil,
            ["--bucket", "bulk", "--key", "\(size)", "--count", "4", "--pid", "\(gateway.process.processIdentifier)"])
        for reader in r["readers"].array { #expect(reader["bytes"].int == size, "\(reader)") }
        let peak = try #require(r["peak_rss_kib"].int)
        // The ring (32 MiB) and each reader's window (1 MiB), not the object.
        #expect(peak < 160 * 1024, "peak RSS \(peak / 1024) MiB while serving 4 GiB")
        let metrics = try gateway.metrics()
        #expect(metrics.sum("spillway_coalesce_storage_bytes_total") == Double(size))
    }
}
