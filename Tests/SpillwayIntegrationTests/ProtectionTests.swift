import Foundation
import Testing

/// Storage protection through the gateway, with boto3 as the client.
@Suite("Storage protection and QoS", .serialized)
struct ProtectionTests {
    func config(_ cluster: Cluster, _ extra: String, pool: String = "") -> String { cluster.config(pool: pool, extra) }

    @Test func aTenantOverItsRateGetsSlowDownAndBotoRetriesGetThrough() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(config: config(cluster, """
            tenants:
              - name: team-a
                access_keys: [\(cluster.accessKey)]
                limits: { requests: { read: 5, write: 5 }, burst: 1s }
            """))
        // Client retries off: the eleventh quick GET is refused, in S3's language, with Retry-After.
        let refused = try boto("timed-gets", endpoint: gateway.endpoint, cluster: cluster,
                               ["--bucket", "rate-limited", "--count", "12", "--size", "100"], allowS3Error: true)
        let errors = refused["gets"].array.compactMap { $0["error"].string } + [refused["error"].string].compactMap { $0 }
        #expect(errors.contains("SlowDown"), "\(refused)")
        // boto3's standard retry mode backs off and gets every GET through.
        let retried = try boto("retried-gets", endpoint: gateway.endpoint, cluster: cluster,
                               ["--bucket", "rate-limited", "--key", "r", "--count", "15", "--size", "100"])
        #expect(retried["errors"].int == 0)
        #expect((retried["retries"].int ?? 0) > 0)
        #expect(try gateway.metrics().sum("spillway_limiter_decisions_total", ["tenant": "team-a", "decision": "shed"]) > 0)
    }

    @Test func theShedAnswerIsAnS3SlowDownWithRetryAfter() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(config: config(cluster, """
            default_limits: { requests: { read: 1 }, burst: 1s }
            """))
        // One read a second for this (anonymous) client: of three at once, two are shed.
        let connection = try RawConnection(port: gateway.port)
        connection.send(String(repeating: "GET /shed/k HTTP/1.1\r\nHost: x\r\n\r\n", count: 3))
        let answers = connection.responses(3)
        #expect(answers.count == 3)
        for shed in answers.dropFirst() {
            #expect(shed.status == 503)
            #expect(shed.bodyText.contains("<Code>SlowDown</Code>"))
            #expect((shed.header("retry-after").flatMap { Int($0) } ?? 0) >= 1)
            let id = try #require(shed.header("x-amz-request-id"))
            #expect(shed.bodyText.contains("<RequestId>\(id)</RequestId>"))
        }
        #expect(try gateway.metrics().sum("spillway_limiter_decisions_total", ["decision": "shed"]) == 2)
    }

    @Test func bandwidthIsPacedToTheSetRateInBothDirections() async throws {
        let cluster = try await SharedCluster.shared.get()
        let rate = 4 << 20
        let gateway = try Gateway(config: config(cluster, """
            tenants:
              - name: paced
                access_keys: [\(cluster.accessKey)]
                limits: { bandwidth: { read: 4MiB, write: 4MiB } }
            """))
        let size = 32 << 20  // 8 s at the rate: the first and last reads weigh little
        let started = Date()
        let put = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "paced", "--key", "big", "--size", "\(size)"])
        let putRate = Double(size) / Date().timeIntervalSince(started)
        let get = try boto("slow-get", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "paced", "--key", "big", "--rate", "\(1 << 30)"])
        #expect(get["md5"] == put["md5"])
        // The paced rate: from the first 10 % of the body to the last 10 %, as the client received it.
        let marks = get["marks"].array.compactMap { m -> (Double, Double)? in
            guard let t = m[0].double, let b = m[1].double else { return nil }
            return (t, b)
        }
        let from = marks.first { $0.1 >= Double(size) * 0.1 }, to = marks.last { $0.1 <= Double(size) * 0.9 }
        let getRate = from.flatMap { f in to.map { t in (t.1 - f.1) / max(0.001, t.0 - f.0) } } ?? 0
        #expect(abs(getRate - Double(rate)) / Double(rate) < 0.10, "read at \(getRate / 1_048_576) MiB/s, \(get)")
        // The whole download, end to end, keeps to the rate too: moto closes its connection after a
        // response, and NIO then reads the rest of the socket at once (megabytes); those bytes must
        // still leave at the rate, not in one go at the end.
        let wholeRate = Double(size) / (get["seconds"].double ?? 1)
        #expect(abs(wholeRate - Double(rate)) / Double(rate) < 0.10, "whole download at \(wholeRate / 1_048_576) MiB/s, \(get)")
        // The upload includes boto3's own overheads, so it may only be slower than the rate, never faster.
        #expect(putRate < Double(rate) * 1.10, "wrote at \(putRate / 1_048_576) MiB/s")
        #expect(putRate > Double(rate) * 0.75, "wrote at \(putRate / 1_048_576) MiB/s")
    }

    @Test func signaturesAreCheckedAtTheEdge() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(config: config(cluster, """
            auth:
              verify_signatures: true
              credentials: { \(cluster.accessKey): "\(cluster.secretKey)" }
            """))
        let ok = try boto("roundtrip", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "edge-auth", "--sizes", "1000"])
        #expect(ok["objects"][0]["got_md5"] == ok["objects"][0]["sent_md5"])
        // Chunk signatures are checked in the aws-chunked body, with or without HTTP chunks around it.
        for options in [[], ["--transfer-chunked", "--trailer"]] {
            let chunked = try boto("chunked-signed", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "edge-auth", "--size", "\(300 << 10)"] + options)
            #expect(chunked["status"].int == 200, "\(options): \(chunked)")
            #expect(chunked["got_md5"] == chunked["sent_md5"])
        }

        let before = try cluster.requestsPerNode().reduce(0, +)
        let wrong = try boto("bad-secret", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "edge-auth"])
        #expect(wrong["error"].string == "SignatureDoesNotMatch")
        let tampered = try boto("tampered", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "edge-auth", "--key", "roundtrip/1000.bin"])
        #expect(tampered["status"].int == 403)
        #expect(tampered["body"].string?.contains("<Code>SignatureDoesNotMatch</Code>") == true)
        let expired = try boto("presign-expired", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "edge-auth", "--key", "short"])
        #expect(expired["status"].int == 403)
        #expect(expired["body"].string?.contains("Request has expired") == true)
        // None of the refused requests reached storage; only the presigned case's own set-up did
        // (its CreateBucket and PutObject, signed correctly).
        let after = try cluster.requestsPerNode().reduce(0, +)
        #expect(after - before == 2, "nodes saw \(after - before) requests")
        #expect(try gateway.metrics().sum("spillway_limiter_decisions_total", ["decision": "refused"]) >= 3)
    }

    @Test func aTenantsConcurrencyLimitShedsTheExcess() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(config: config(cluster, """
            tenants:
              - name: narrow
                access_keys: [\(cluster.accessKey)]
                limits: { concurrency: 2 }
            """))
        for node in 0..<3 { try cluster.setFault(node: node, #"{"mode": "delay", "ms": 150, "method": "GET"}"#) }
        defer { for node in 0..<3 { try? cluster.setFault(node: node, #"{"mode": "none"}"#) } }
        let r = try boto("hammer", endpoint: gateway.endpoint, cluster: cluster,
                         ["--bucket", "narrow", "--key", "k", "--threads", "6", "--duration", "2", "--size", "10"])
        #expect((r["ok"].int ?? 0) > 5)
        #expect((r["slowdown"].int ?? 0) > 5)
        #expect(r["other"] == .object([:]))
    }

    @Test func whenEveryNodeIsFullRequestsQueueAndThoseThatWaitTooLongAreShed() throws {
        let cluster = try Cluster()
        for node in 0..<3 { try cluster.setFault(node: node, #"{"mode": "delay", "ms": 200, "method": "GET"}"#) }
        let queueing = try Gateway(config: config(cluster, "", pool: "protection: { max_in_flight_per_node: 1, queue: { max: 100, timeout: 5s } }"))
        let r = try boto("hammer", endpoint: queueing.endpoint, cluster: cluster,
                         ["--bucket", "queued", "--key", "k", "--threads", "8", "--duration", "2", "--size", "10"])
        // 8 clients, 3 slots: the rest wait their turn and none is refused.
        #expect((r["ok"].int ?? 0) > 10)
        #expect(r["slowdown"].int == 0)
        #expect(try queueing.metrics().sum("spillway_limiter_decisions_total", ["decision": "queued"]) > 0)
        let impatient = try Gateway(config: config(cluster, "", pool: "protection: { max_in_flight_per_node: 1, queue: { max: 2, timeout: 100ms } }"))
        let s = try boto("hammer", endpoint: impatient.endpoint, cluster: cluster,
                         ["--bucket", "queued", "--key", "k", "--threads", "8", "--duration", "2", "--size", "10"])
        #expect((s["slowdown"].int ?? 0) > 0)
        // No rate limit is set: every shed is the queue's.
        #expect(try impatient.metrics().sum("spillway_limiter_decisions_total", ["decision": "shed"]) == Double(s["slowdown"].int ?? 0))
    }

    @Test func connectionsPerAddressAreCapped() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(config: config(cluster, "clients: { max_connections_per_address: 2 }"))
        let r = try boto("hammer", endpoint: gateway.endpoint, cluster: cluster,
                         ["--bucket", "conns", "--key", "k", "--threads", "5", "--duration", "1", "--size", "10"])
        #expect((r["ok"].int ?? 0) > 0)
        #expect((r["slowdown"].int ?? 0) > 0)
    }

    @Test func twoGatewaysSharingRedisHoldAGlobalLimitWithinTenPercent() async throws {
        let cluster = try await SharedCluster.shared.get()
        let redis = try RedisServer()
        let yaml = config(cluster, """
            tenants:
              - name: fleet-tenant
                access_keys: [\(cluster.accessKey)]
                limits: { requests: { read: 40 }, global: true }
            fleet: { redis: 127.0.0.1:\(redis.port), batch: 4 }
            """)
        let a = try Gateway(config: yaml)
        let b = try Gateway(config: yaml)
        _ = try boto("put-random", endpoint: a.endpoint, cluster: cluster, ["--bucket", "fleet", "--key", "k", "--size", "10"])
        // The fleet counts per wall-clock second, so both clients hammer the same 5 whole seconds
        // (stopping just short of the last boundary): together they may have 40 in each.
        let startAt = (Date().timeIntervalSince1970 + 3).rounded(.down)
        let hammer = ["--bucket", "fleet", "--key", "k", "--threads", "4", "--duration", "4.95", "--size", "10", "--start-at", "\(startAt)"]
        let ha = try BackgroundClient("hammer", endpoint: a.endpoint, cluster: cluster, hammer)
        let hb = try BackgroundClient("hammer", endpoint: b.endpoint, cluster: cluster, hammer)
        let ra = try ha.result(timeout: 60)
        let rb = try hb.result(timeout: 60)
        let admitted = Double((ra["ok"].int ?? 0) + (rb["ok"].int ?? 0))
        let seconds = 5.0
        let allowed = 40 * seconds
        #expect(abs(admitted - allowed) / allowed < 0.10,
                "both gateways together admitted \(admitted) in \(seconds) wall-clock seconds against 40/s (\(allowed))\n\((a.log + b.log).split(separator: "\n").filter { $0.contains("Redis") }.joined(separator: "\n"))")
        #expect((ra["ok"].int ?? 0) > 0 && (rb["ok"].int ?? 0) > 0)

        // Without Redis each gateway falls back to its local share, and says so.
        redis.stop()
        let r = try boto("hammer", endpoint: a.endpoint, cluster: cluster, ["--bucket", "fleet", "--key", "k", "--threads", "2", "--duration", "2", "--size", "10"])
        #expect((r["ok"].int ?? 0) > 0)
        #expect(try waitFor(5) { try a.status()["fleetRedisReachable"].bool == false })
    }
}

@Suite("Live changes: SIGHUP reloads limits without dropping a request")
struct ReloadTests {
    @Test func limitsChangeOnSIGHUPAndABadFileIsRefusedWithItsLine() async throws {
        let cluster = try await SharedCluster.shared.get()
        func yaml(rate: Int) -> String {
            """
            listen: 127.0.0.1:0
            admin: { listen: 127.0.0.1:0 }
            pools:
              - name: cluster
                nodes: [\(cluster.nodeURLs.joined(separator: ", "))]
                health: { preset: none }
            tenants:
              - name: reloaded
                access_keys: [\(cluster.accessKey)]
                limits: { requests: { read: \(rate) } }
            """
        }
        let gateway = try Gateway(config: yaml(rate: 2))
        let load = try BackgroundClient("load", endpoint: gateway.endpoint, cluster: cluster,
                                        ["--bucket", "reload", "--threads", "2", "--duration", "6", "--object-size", "1000"])
        let tight = try boto("hammer", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "reload", "--key", "k", "--threads", "3", "--duration", "1", "--size", "10"])
        #expect((tight["slowdown"].int ?? 0) > 0)
        try gateway.reload(with: yaml(rate: 100_000))
        #expect(try waitFor(5) { try gateway.status()["configVersion"].int == 2 })
        let loose = try boto("hammer", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "reload", "--key", "k", "--threads", "3", "--duration", "1", "--size", "10"])
        #expect(loose["slowdown"].int == 0, "\(loose)")
        // A broken file: refused with its line; the running config stays in force.
        try gateway.reload(with: yaml(rate: 100_000) + "\nbogus_key: 1\n")
        #expect(try waitFor(5) { try gateway.status()["configRefusals"].int == 1 })
        let status = try gateway.status()
        #expect(status["configVersion"].int == 2)
        #expect(status["lastConfigRefusal"].string?.contains("spillway.yaml:11:1: error: unknown key 'bogus_key'") == true, "\(status["lastConfigRefusal"])")
        let still = try boto("hammer", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "reload", "--key", "k", "--threads", "3", "--duration", "1", "--size", "10"])
        #expect(still["slowdown"].int == 0)
        // The steady load across both reloads: only the tight limit's SlowDowns, nothing dropped.
        let records = try load.result(timeout: 60)["records"].array
        let failures = records.compactMap { $0["error"].string }.filter { $0 != "SlowDown" }
        #expect(failures.isEmpty, "\(failures)")
    }
}
