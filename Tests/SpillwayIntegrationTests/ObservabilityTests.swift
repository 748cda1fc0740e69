import Foundation
import Testing

/// What an operator sees: Prometheus metrics (scraped by a real Prometheus), the access log, trace
/// context, the live dashboard in a real browser, and `spillway top`.
@Suite("Observability: metrics, access log, dashboard, top", .serialized)
struct ObservabilityTests {
    static let token = "test-admin-token"

    func config(_ cluster: Cluster, accessLog: String? = nil, hashKeys: Bool = false, extra: String = "") -> String {
        """
        listen: 127.0.0.1:0
        admin: { listen: 127.0.0.1:0, token: \(Self.token) }
        \(accessLog.map { "access_log: { path: \($0), hash_keys: \(hashKeys) }" } ?? "")
        pools:
          - name: cluster
            balancer: round_robin
            nodes: [\(cluster.nodeURLs.joined(separator: ", "))]
            health: { preset: none }
        \(extra)
        """
    }

    func admin(_ gateway: Gateway) throws -> Admin {
        guard let base = gateway.adminEndpoint else { throw GatewayError.didNotStart("no admin line in:\n\(gateway.log)") }
        return Admin(base: base, token: Self.token)
    }

    /// The access log's lines, once `count` of them are there (it is written every 100 ms).
    /// The access log's lines, once it has `count` of them (waiting up to 5 s). A log that cannot
    /// be read, or a line that is not JSON, is a failure, never an empty result.
    func accessLog(_ path: String, count: Int, sourceLocation: SourceLocation = #_sourceLocation) -> [JSON] {
        var lines: [JSON] = []
        var problem: String?
        _ = waitFor(5) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                problem = "cannot read the access log \(path)"
                return false
            }
            problem = nil
            lines = []
            for line in text.split(separator: "\n") {
                guard let json = try? JSON(parsing: String(line)) else {
                    problem = "an access log line is not JSON: \(line)"
                    return false
                }
                lines.append(json)
            }
            return lines.count >= count
        }
        if let problem { Issue.record(Comment(rawValue: problem), sourceLocation: sourceLocation) }
        return lines
    }

    @Test func aKnownWorkloadShowsInTheMetricsAndARealPrometheusScrapesThem() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(config: config(cluster))
        let admin = try admin(gateway)
        let size = 10_000
        let w = try boto("workload", endpoint: gateway.endpoint, cluster: cluster,
                         ["--bucket", "obs-metrics", "--count", "5", "--size", "\(size)", "--missing", "3"])
        #expect(w["missing"].array.map(\.string) == ["NoSuchKey", "NoSuchKey", "NoSuchKey"])

        let m = try await admin.metrics()
        let gets = ["s3_operation": "GetObject", "bucket": "obs-metrics"]
        #expect(m.sum("spillway_requests_total", ["s3_operation": "PutObject", "bucket": "obs-metrics"]) == 5)
        #expect(m.sum("spillway_requests_total", gets.merging(["status": "2xx"]) { $1 }) == 11)
        #expect(m.sum("spillway_requests_total", gets.merging(["status": "4xx"]) { $1 }) == 3)
        #expect(m.sum("spillway_errors_total", ["s3_operation": "GetObject", "code": "NoSuchKey"]) == 3)
        #expect(m.sum("spillway_bytes_received_total", ["s3_operation": "PutObject", "bucket": "obs-metrics"]) == Double(5 * size))
        // Bytes to clients count whole responses: 11 objects plus three small XML error bodies.
        let sent = m.sum("spillway_bytes_sent_total", gets)
        #expect(sent >= Double(11 * size) && sent < Double(11 * size + 3 * 1000), "\(sent)")
        #expect(m.sum("spillway_request_duration_seconds_count", ["s3_operation": "GetObject"]) == 14)
        #expect(m.sum("spillway_first_byte_seconds_count", ["s3_operation": "GetObject"]) == 14)
        #expect(m.sum("spillway_first_byte_seconds_sum", ["s3_operation": "GetObject"])
            <= m.sum("spillway_request_duration_seconds_sum", ["s3_operation": "GetObject"]))
        #expect(m.sum("spillway_node_up") == 3)
        #expect(m.sum("spillway_in_flight") == 0)
        #expect(m.sum("spillway_config_version") == 1)
        // Every metric exported is declared in the catalog: its help text comes from there.
        let lines = try await admin.call("GET", "/metrics", token: .some(nil)).body.split(separator: "\n")
        let typed = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        let helped = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
        #expect(typed.count >= 10 && typed.allSatisfy(helped.contains), "\(typed.filter { !helped.contains($0) })")
        #expect(m.has("spillway_node_connections_opened_total"))
        #expect(m.has("spillway_retry_budget_balance"))

        // A real Prometheus scrapes the admin listener and answers PromQL over what it stored.
        let prometheus = try PrometheusServer(scraping: String(admin.base.dropFirst("http://".count)))
        #expect(await prometheus.targetIsUp())
        let scraped = await prometheus.value(
            of: #"sum(spillway_requests_total{s3_operation="GetObject",bucket="obs-metrics"})"#, until: { $0 == 14 })
        #expect(scraped == 14)
        let p99 = await prometheus.value(
            of: #"histogram_quantile(0.99, sum by (le) (spillway_first_byte_seconds_bucket{s3_operation="GetObject"}))"#)
        #expect(p99 != nil && p99! > 0)
    }

    @Test func requestsInFlightAreCountedByOperationBucketAndTenant() async throws {
        let cluster = try Cluster()
        let gateway = try Gateway(config: config(cluster))
        let admin = try admin(gateway)
        // Every node holds each GET for 3 s, so two readers are in flight long enough to be seen.
        for node in 0..<3 { try cluster.setFault(node: node, #"{"mode": "delay", "ms": 3000, "method": "GET"}"#) }
        let readers = try (0..<2).map { i in
            try BackgroundClient("timed-gets", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "obs-inflight", "--key", "k\(i)", "--count", "1"])
        }
        let labels = ["s3_operation": "GetObject", "bucket": "obs-inflight", "tenant": "key:\(cluster.accessKey)"]
        var during = 0.0
        let deadline = Date().addingTimeInterval(8)
        while during < 2 && Date() < deadline {
            during = try await admin.metrics().sum("spillway_in_flight", labels)
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(during == 2)
        #expect(try await admin.metrics().sum("spillway_in_flight", ["s3_operation": "PutObject"]) == 0)
        for reader in readers {
            let result = try reader.result(timeout: 30)
            #expect(result["gets"].array.count == 1 && result["gets"][0]["error"].isNull, "\(result)")
        }
        #expect(try await admin.metrics().sum("spillway_in_flight", labels) == 0)
        #expect(try await admin.status()["totals"]["inFlight"].int == 0)
    }

    @Test func everyRequestGetsOneAccessLogLineWithItsTraceID() async throws {
        let cluster = try await SharedCluster.shared.get()
        let path = try Paths.temporaryFile("access.log", contents: "")
        let gateway = try Gateway(config: config(cluster, accessLog: path))
        let traceID = "0af7651916cd43dd8448eb211c80319c"
        _ = try boto("workload", endpoint: gateway.endpoint, cluster: cluster,
                     ["--bucket", "obs-log", "--count", "2", "--size", "5000", "--missing", "1", "--trace-id", traceID])
        let total = try await admin(gateway).status()["totals"]["requests"].int ?? 0
        let lines = accessLog(path, count: total)
        #expect(lines.count == total && total >= 2 + 5 + 1)
        for line in lines {
            #expect(line["request_id"].string?.count == 16)
            #expect(line["time"].string?.hasSuffix("Z") == true)
            #expect(line["tenant"].string == "key:\(cluster.accessKey)")
            #expect(line["client"].string == "127.0.0.1")
            #expect(line["nodes"].array.count == 1 && cluster.nodeURLs.contains(line["nodes"][0].string ?? ""))
            #expect((line["ttfb_ms"].double ?? 0) <= (line["total_ms"].double ?? -1))
        }
        let gets = lines.filter { $0["operation"].string == "GetObject" && $0["status"].int == 200 }
        #expect(gets.count == 5)
        #expect(gets.allSatisfy { $0["bucket"].string == "obs-log" && $0["bytes_out"].int == 5000 && $0["retries"].int == 0 })
        let puts = lines.filter { $0["operation"].string == "PutObject" }
        #expect(puts.count == 2 && puts.allSatisfy { $0["bytes_in"].int == 5000 && $0["key"].string?.hasPrefix("w/") == true })
        let missing = lines.filter { $0["status"].int == 404 }
        #expect(missing.count == 1 && missing.first?["error_code"].string == "NoSuchKey" && missing.first?["key"].string == "missing/0")
        // The one GET that carried a W3C traceparent has its trace id; the others have none.
        let traced = lines.filter { !$0["trace_id"].isNull }
        #expect(traced.count == 1 && traced.first?["trace_id"].string == traceID && traced.first?["key"].string == "w/0")
    }

    @Test func eachRequestIsASpanExportedOverOTLPContinuingTheClientsTrace() async throws {
        let cluster = try await SharedCluster.shared.get()
        let receiver = try OTLPReceiver()
        let path = try Paths.temporaryFile("access.log", contents: "")
        let gateway = try Gateway(config: config(cluster, accessLog: path, extra: """
            tracing: { otlp_endpoint: "http://127.0.0.1:\(receiver.port)", service_name: spillway-test }
            """))
        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        _ = try boto("workload", endpoint: gateway.endpoint, cluster: cluster,
                     ["--bucket", "obs-trace", "--count", "1", "--size", "100", "--missing", "0", "--trace-id", traceID])
        let total = try await admin(gateway).status()["totals"]["requests"].int ?? 0
        var spans: [JSON] = []
        #expect(waitFor(10) { spans = (try? receiver.spans()) ?? []; return spans.count >= total })
        #expect(spans.count == total && total >= 4)
        #expect(spans.allSatisfy { $0["resource"]["service.name"].string == "spillway-test" && $0["kind"].int == 2 })
        // The GET that carried the client's traceparent is a child of the client's span, in its trace.
        let traced = spans.filter { $0["traceId"].string == traceID }
        #expect(traced.count == 1)
        let get = traced.first ?? .null
        #expect(get["parentSpanId"].string == "00f067aa0ba902b7" && get["name"].string == "GetObject")
        #expect(get["attributes"]["aws.s3.bucket"].string == "obs-trace" && get["attributes"]["aws.s3.key"].string == "w/0")
        #expect(get["attributes"]["http.response.status_code"].int == 200)
        #expect(cluster.nodeURLs.contains(get["attributes"]["spillway.nodes"][0].string ?? ""))
        #expect(get["events"].array.map { $0["name"].string } == ["attempt"])
        #expect((get["end"].int ?? 0) >= (get["start"].int ?? 1))
        // Requests without one start traces of their own, and the access log names them.
        let others = spans.filter { $0["traceId"].string != traceID }
        #expect(others.allSatisfy { $0["parentSpanId"].isNull && $0["traceId"].string?.count == 32 })
        let logged = Set(accessLog(path, count: total).compactMap { $0["trace_id"].string })
        #expect(logged == Set(spans.compactMap { $0["traceId"].string }))
    }

    @Test func keysCanBeHashedAndTheLogIsReopenedOnSIGHUPForRotation() async throws {
        let cluster = try await SharedCluster.shared.get()
        let path = try Paths.temporaryFile("access.log", contents: "")
        let gateway = try Gateway(config: config(cluster, accessLog: path, hashKeys: true))
        _ = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "obs-rotate", "--key", "secret/name", "--size", "10"])
        let before = accessLog(path, count: 2)
        let put = before.first { $0["operation"].string == "PutObject" }
        #expect(put?["key"].isNull == true)
        #expect(put?["key_sha256"].string?.count == 16)
        #expect(!((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").contains("secret/name"))
        // Rotate the way logrotate does: move the file away, then SIGHUP.
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        gateway.signal(SIGHUP)
        #expect(try waitFor(5) { try gateway.status(token: Self.token)["configReloads"].int == 1 })
        _ = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "obs-rotate", "--key", "after", "--size", "10"])
        let after = accessLog(path, count: 2)
        #expect(after.count == 2, "the reopened file has the new requests")
        #expect(accessLog(path + ".1", count: before.count).count == before.count, "the rotated file kept the old ones")
    }

    @Test func retriesAndShedsAreCountedAsTheyHappen() async throws {
        let cluster = try Cluster()
        let path = try Paths.temporaryFile("access.log", contents: "")
        let gateway = try Gateway(config: config(cluster, accessLog: path, extra: """
            buckets:
              - bucket: obs-limited
                limits: { requests: { read: 5 }, burst: 1s }
            """))
        let admin = try admin(gateway)
        // Node 0 answers every GET with a 500: the gateway retries those on another node.
        try cluster.setFault(node: 0, #"{"mode": "error", "status": 500, "method": "GET"}"#)
        let gets = try boto("timed-gets", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "obs-retry", "--key", "k", "--count", "6"])
        try cluster.setFault(node: 0, #"{"mode": "none"}"#)
        #expect(gets["gets"].array.count == 6 && gets["gets"].array.allSatisfy { $0["error"].isNull }, "\(gets)")
        // A bucket limited to 5 reads a second, hammered: the SlowDowns the client saw are the sheds counted.
        let hammer = try boto("hammer", endpoint: gateway.endpoint, cluster: cluster,
                              ["--bucket", "obs-limited", "--key", "k", "--threads", "2", "--duration", "1.5", "--size", "10"])
        let refused = hammer["slowdown"].int ?? 0
        #expect(refused > 0, "\(hammer)")

        let m = try await admin.metrics()
        let totals = try await admin.status()["totals"]
        let retried = accessLog(path, count: totals["requests"].int ?? 0).filter { ($0["retries"].int ?? 0) > 0 }
        // Round robin put at least two of the six GETs on node 0 first; each is one retry, counted
        // alike in the metrics, the status and the access log.
        #expect(retried.count >= 2 && m.sum("spillway_retries_total") == Double(retried.count) && totals["retries"].int == retried.count)
        #expect(retried.allSatisfy {
            $0["nodes"].array.count == 2 && $0["nodes"][0].string == cluster.nodeURLs[0] && $0["status"].int == 200
        })
        #expect(m.sum("spillway_limiter_decisions_total", ["decision": "shed"]) == Double(refused))
        #expect(m.sum("spillway_errors_total", ["code": "SlowDown"]) == Double(refused))
        #expect(totals["shed"].int == refused, "\(hammer)")
    }

    @Test func theDashboardInChromiumShowsWhatTheMetricsSay() async throws {
        let cluster = try Cluster()
        let gateway = try Gateway(config: config(cluster))
        let admin = try admin(gateway)
        let load = try BackgroundClient("load", endpoint: gateway.endpoint, cluster: cluster,
                                        ["--bucket", "obs-dashboard", "--threads", "2", "--duration", "6", "--object-size", "2000"])
        try await Task.sleep(for: .seconds(1.5))
        let url = admin.base + "/#token=" + Self.token
        let before = try await admin.status()
        let samplesBefore = try await admin.call("GET", "/api/history").json.array
        let dom = try Chromium.dom(of: url, millis: 2500)
        let after = try await admin.status()
        let samplesAfter = try await admin.call("GET", "/api/history").json.array
        // The request rate shown is one of the gateway's one-second samples taken meanwhile.
        let rates = Set((samplesBefore.suffix(1) + samplesAfter.suffix(4)).compactMap { $0["requestsPerSecond"].double }.map {
            ($0 * 10).rounded() / 10 })
        let shownRate = Chromium.metric("requests_per_second", in: dom).first.flatMap { Double($0.replacingOccurrences(of: ",", with: "")) }
        #expect(shownRate != nil && shownRate! > 0 && rates.contains(shownRate!), "page \(String(describing: shownRate)), samples \(rates)")
        // The page's totals lie between the status read just before and just after it loaded.
        let shown = Chromium.metric("requests_total", in: dom).first.flatMap { Int($0) }
        let low = before["totals"]["requests"].int ?? 0
        let high = after["totals"]["requests"].int ?? 0
        #expect(shown != nil && low > 0 && low <= shown! && shown! <= high, "page \(String(describing: shown)), status \(low)...\(high)")
        let nodeRequests = Chromium.metric("node_requests", in: dom).compactMap { Int($0) }
        #expect(nodeRequests.count == 3)
        for (i, shown) in nodeRequests.enumerated() {
            let low = before["pools"][0]["nodes"][i]["requests"].int ?? 0
            let high = after["pools"][0]["nodes"][i]["requests"].int ?? 0
            #expect(low <= shown && shown <= high)
        }
        #expect(Chromium.metric("node_state", in: dom) == ["in rotation", "in rotation", "in rotation"])
        #expect(Chromium.metric("config_version", in: dom) == ["1"])

        // An operator's drain shows on the page: the node's state and the event feed.
        #expect(try await admin.call("POST", "/api/pools/cluster/nodes/1/drain").status == 200)
        let drained = try Chromium.dom(of: url, millis: 1500)
        #expect(Chromium.metric("node_state", in: drained) == ["in rotation", "drained", "in rotation"])
        #expect(drained.contains("\(cluster.nodeURLs[1]): drained"))
        let screenshot = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-\(UUID().uuidString).png").path
        try Chromium.screenshot(of: url, to: screenshot)
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.count > 20_000 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
        let result = try load.result(timeout: 30)
        #expect(result["records"].array.allSatisfy { $0["error"].isNull })
    }

    @Test func spillwayTopShowsNodesTenantsAndBuckets() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(config: config(cluster))
        let admin = try admin(gateway)
        _ = try boto("workload", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "obs-top", "--count", "3", "--size", "100", "--missing", "0"])
        let top = try run(Paths.spillway, ["top", "--admin", admin.base, "--token", Self.token, "--count", "2", "--interval", "0.3"])
        #expect(top.status == 0, "\(top.stderr)")
        let frames = top.stdout.components(separatedBy: "spillway  config v1")
        #expect(frames.count == 3, "\(top.stdout)")
        let last = frames.last ?? ""
        for url in cluster.nodeURLs {
            #expect(last.split(separator: "\n").contains { $0.hasPrefix("cluster") && $0.contains(url) && $0.contains(" up ") }, "\(last)")
        }
        #expect(last.contains("key:\(cluster.accessKey)"))
        #expect(last.split(separator: "\n").contains { $0.hasPrefix("obs-top") })
        #expect(last.contains("requests 11 "), "CreateBucket, 3 PUTs, 7 GETs: \(last)")
        let refused = try run(Paths.spillway, ["top", "--admin", admin.base, "--token", "wrong", "--count", "1"])
        #expect(refused.status == 1 && refused.stderr.contains("401"))
    }
}

@Suite("Live control: the admin API under load", .serialized)
struct AdminAPITests {
    static let token = ObservabilityTests.token

    func config(_ cluster: Cluster, balancer: String = "round_robin", nodes: [String]? = nil, extra: String = "") -> String {
        """
        listen: 127.0.0.1:0
        admin: { listen: 127.0.0.1:0, token_env: SPILLWAY_TEST_ADMIN_TOKEN }
        pools:
          - name: cluster
            balancer: \(balancer)
            nodes: [\((nodes ?? cluster.nodeURLs).joined(separator: ", "))]
            health: { preset: none }
        \(extra)
        """
    }

    func start(_ yaml: String) throws -> (Gateway, Admin) {
        let gateway = try Gateway(config: yaml, environment: ["SPILLWAY_TEST_ADMIN_TOKEN": Self.token])
        guard let base = gateway.adminEndpoint else { throw GatewayError.didNotStart(gateway.log) }
        return (gateway, Admin(base: base, token: Self.token))
    }

    @Test func theAPINeedsTheTokenTheMetricsAndPageDoNot() async throws {
        let cluster = try await SharedCluster.shared.get()
        let (gateway, admin) = try start(config(cluster))
        defer { withExtendedLifetime(gateway) {} }
        #expect(try await admin.call("GET", "/api/status", token: .some(nil)).status == 401)
        #expect(try await admin.call("GET", "/api/status", token: "wrong").status == 401)
        #expect(try await admin.call("POST", "/api/pools/cluster/nodes/0/drain", token: .some(nil)).status == 401)
        #expect(try await admin.call("GET", "/api/status").status == 200)
        #expect(try await admin.call("GET", "/metrics", token: .some(nil)).status == 200)
        let page = try await admin.call("GET", "/", token: .some(nil))
        #expect(page.status == 200 && page.body.contains("<title>Spillway</title>"))
        let unknown = try await admin.call("GET", "/api/nothing")
        #expect(unknown.status == 404 && unknown.json["error"].string != nil)
        #expect(try await admin.call("POST", "/api/pools/cluster/nodes/9/drain").status == 404)
        #expect(try await admin.call("POST", "/api/pools/nowhere/nodes/0/drain").status == 404)
        #expect(try await admin.call("POST", "/api/pools/cluster/nodes/0/weight", body: #"{"weight": 0}"#).status == 400)

        // The status as server-sent events, for a page or a script that would rather be pushed to.
        let events = try run("python3", ["-c", """
            import sys, urllib.request
            r = urllib.request.urlopen(urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]}), timeout=10)
            print(r.headers["Content-Type"]); print(r.readline().decode().strip())
            """, admin.base + "/api/events", Self.token])
        let lines = events.stdout.split(separator: "\n")
        #expect(lines.first == "text/event-stream" && lines.count == 2 && lines[1].hasPrefix("data: {"), "\(events)")
        let pushed = try JSON(parsing: String(lines.last?.dropFirst("data: ".count) ?? ""))
        #expect(pushed["pools"][0]["nodes"].array.count == 3)
        // One sample a second for the charts, kept by the gateway.
        try await Task.sleep(for: .seconds(2.2))
        let history = try await admin.call("GET", "/api/history").json.array
        #expect(history.count >= 1 && history.last?["nodes"].array.count == 3)
    }

    @Test func drainUndrainAndWeightTakeEffectUnderLoad() async throws {
        let cluster = try Cluster()
        let (gateway, admin) = try start(config(cluster))
        let load = try BackgroundClient("load", endpoint: gateway.endpoint, cluster: cluster,
                                        ["--bucket", "admin-load", "--threads", "3", "--duration", "20", "--max-requests", "400", "--object-size", "1000"])
        /// What each node serves while the load makes `total` more requests (at most 15 s).
        func served(_ total: Int) async throws -> [Int] {
            let start = try cluster.requestsPerNode()
            var now = start
            let deadline = Date().addingTimeInterval(15)
            while zip(now, start).map({ $0 - $1 }).reduce(0, +) < total && Date() < deadline {
                try await Task.sleep(for: .milliseconds(100))
                now = try cluster.requestsPerNode()
            }
            return zip(now, start).map { $0 - $1 }
        }
        try await Task.sleep(for: .seconds(1.5))
        let drain = try await admin.call("POST", "/api/pools/cluster/nodes/0/drain")
        #expect(drain.status == 200 && drain.json["drained"].bool == true)
        try await Task.sleep(for: .milliseconds(300))  // requests already on node 0 finish there
        let whileDrained = try await served(60)
        #expect(whileDrained[0] == 0 && whileDrained[1] >= 20 && whileDrained[2] >= 20, "\(whileDrained)")

        #expect(try await admin.call("POST", "/api/pools/cluster/nodes/0/undrain").status == 200)
        let weight = try await admin.call("POST", "/api/pools/cluster/nodes/2/weight", body: #"{"weight": 6}"#)
        #expect(weight.status == 200 && weight.json["weight"].int == 6)
        try await Task.sleep(for: .milliseconds(300))
        let weighted = try await served(160)
        // Weights 1, 1, 6 under weighted round robin: node 2 takes about three quarters.
        let share = Double(weighted[2]) / Double(max(1, weighted.reduce(0, +)))
        #expect(weighted[0] > 0 && share > 0.6, "\(weighted)")

        let result = try load.result(timeout: 30)
        let records = result["records"].array
        #expect(records.count > 100 && records.allSatisfy { $0["error"].isNull }, "\(records.filter { !$0["error"].isNull }.prefix(5))")
        // Every change is in the pool's history, and counted.
        #expect(try await admin.metrics().sum("spillway_health_events_total", ["kind": "drained"]) == 1)
        let events = try await admin.status()["pools"][0]["events"].array.map { $0["kind"].string ?? "" }
        #expect(events == ["drained", "undrained", "weight"])
    }

    @Test func aConfigIsViewedValidatedAppliedAndABadOneRefused() async throws {
        let cluster = try await SharedCluster.shared.get()
        let original = config(cluster)
        let (gateway, admin) = try start(original)
        let current = try await admin.call("GET", "/api/config")
        #expect(current.json["version"].int == 1 && current.json["config"].string == original)

        // A bad config: refused with its line and a fix, dry run or not; version 1 keeps serving.
        let bad = original + "\nretries: 3\n"
        let badLine = bad.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("retries") }! + 1
        for path in ["/api/config?dry_run=true", "/api/config"] {
            let refused = try await admin.call("POST", path, body: bad)
            #expect(refused.status == 422 && refused.json["valid"].bool == false)
            #expect(refused.json["issues"][0].string?.hasPrefix("request body:\(badLine):") == true, "\(refused.body)")
        }
        let moved = original.replacingOccurrences(of: "listen: 127.0.0.1:0\nadmin", with: "listen: 127.0.0.1:1\nadmin")
        let listenRefused = try await admin.call("POST", "/api/config", body: moved)
        #expect(listenRefused.status == 422 && listenRefused.body.contains("listen"))
        #expect(try await admin.call("GET", "/api/config").json["version"].int == 1)
        _ = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "admin-config", "--key", "k", "--size", "10"])

        // A good one: the dry run changes nothing, the real apply makes version 2.
        let smaller = config(cluster, balancer: "least_outstanding", nodes: [cluster.nodeURLs[1]])
        let dry = try await admin.call("POST", "/api/config?dry_run=true", body: smaller)
        #expect(dry.status == 200 && dry.json["valid"].bool == true)
        #expect(try await admin.status()["pools"][0]["nodes"].array.count == 3)
        #expect(try await admin.metrics().sum("spillway_node_up") == 3)
        let applied = try await admin.call("POST", "/api/config", body: smaller)
        #expect(applied.status == 200 && applied.json["version"].int == 2)
        let status = try await admin.status()
        #expect(status["configVersion"].int == 2 && status["pools"][0]["nodes"].array.count == 1)
        #expect(status["pools"][0]["balancer"].string == "least_outstanding")
        // The removed nodes' gauges are withdrawn, not left at their last value.
        #expect(try await admin.metrics().sum("spillway_node_up") == 1)
        #expect(try await admin.metrics().sum("spillway_node_up", ["node": cluster.nodeURLs[0]]) == 0)
        #expect(try await admin.call("GET", "/api/config").json["config"].string == smaller)
        let gets = try boto("timed-gets", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "admin-config", "--key", "k", "--count", "3"])
        #expect(gets["gets"].array.allSatisfy { $0["error"].isNull })

        // Reload from the file brings back what it says; a broken file is refused with its line.
        let reloaded = try await admin.call("POST", "/api/reload")
        #expect(reloaded.status == 200 && reloaded.json["version"].int == 3)
        #expect(try await admin.status()["pools"][0]["nodes"].array.count == 3)
        #expect(try await admin.metrics().sum("spillway_node_up") == 3)
        try bad.write(toFile: gateway.configPath!, atomically: true, encoding: .utf8)
        let brokenFile = try await admin.call("POST", "/api/reload")
        #expect(brokenFile.status == 422 && brokenFile.body.contains("spillway.yaml:\(badLine):"), "\(brokenFile.body)")
        let after = try await admin.status()
        #expect(after["configVersion"].int == 3)
        #expect(after["configReloads"].int == 2 && after["configRefusals"].int == 3)
        #expect(after["lastConfigRefusal"].string?.contains("spillway.yaml:\(badLine):") == true)
        let metrics = try await admin.metrics()
        #expect(metrics.sum("spillway_config_reloads_total", ["result": "applied"]) == 2)
        #expect(metrics.sum("spillway_config_reloads_total", ["result": "refused"]) == 3)
    }

    @Test func configChangesUnderLoadFailNoRequest() async throws {
        let cluster = try Cluster()
        let (gateway, admin) = try start(config(cluster))
        let load = try BackgroundClient("load", endpoint: gateway.endpoint, cluster: cluster,
                                        ["--bucket", "admin-reload", "--threads", "4", "--duration", "8", "--object-size", "20000"])
        try await Task.sleep(for: .seconds(1))
        var version = 1
        for (i, balancer) in ["peak_ewma", "least_outstanding", "round_robin", "peak_ewma", "least_outstanding", "round_robin"].enumerated() {
            let nodes = i % 2 == 0 ? Array(cluster.nodeURLs.prefix(2)) : cluster.nodeURLs
            let applied = try await admin.call("POST", "/api/config", body: config(cluster, balancer: balancer, nodes: nodes))
            #expect(applied.status == 200, "\(applied.body)")
            version += 1
            // Now and then a bad one, refused in passing.
            if i == 2 { #expect(try await admin.call("POST", "/api/config", body: "pools: 7").status == 422) }
            if i == 3 {
                try config(cluster, balancer: "round_robin").write(toFile: gateway.configPath!, atomically: true, encoding: .utf8)
                gateway.signal(SIGHUP)
                version += 1
            }
            try await Task.sleep(for: .milliseconds(800))
        }
        let result = try load.result(timeout: 30)
        let records = result["records"].array
        #expect(records.count > 100)
        #expect(records.allSatisfy { $0["error"].isNull }, "\(records.filter { !$0["error"].isNull }.prefix(5))")
        #expect(try await admin.status()["configVersion"].int == version)
    }
}
