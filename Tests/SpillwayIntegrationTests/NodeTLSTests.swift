import Foundation
import Testing

/// TLS toward storage: `https://` nodes (moto served over TLS with openssl-made certificates),
/// certificate checks, keep-alive reuse, probes, and a TLS close without `close_notify`.
@Suite("TLS toward nodes", .serialized)
struct NodeTLSTests {
    func config(_ nodes: [String], tls: String, extra: String = "") -> String {
        """
        listen: 127.0.0.1:0
        pools:
          - name: secure
            nodes: [\(nodes.joined(separator: ", "))]
            tls: { \(tls) }
            health: { interval: 200ms, timeout: 1s }
        admin: { listen: 127.0.0.1:0, token: t }
        \(extra)
        """
    }

    @Test func realS3ClientsReachHTTPSNodesAndProbesGoOverTLSToo() async throws {
        let pki = try TestPKI()
        let cluster = try Cluster(tls: try pki.issue("storage"))
        let gateway = try Gateway(config: config(cluster.nodeURLs, tls: "ca_file: \(pki.caCertificate)"))
        let r = try boto("roundtrip", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "node-tls", "--sizes", "0,1024,2000000"])
        for object in r["objects"].array { #expect(object["got_md5"] == object["sent_md5"]) }
        let gets = try boto("timed-gets", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "node-tls", "--count", "30", "--size", "4096"])
        #expect(gets["gets"].array.count == 30 && gets["gets"].array.allSatisfy { $0["error"].string == nil }, "\(gets)")
        let m = try gateway.metrics()
        // moto (werkzeug) closes every connection after one response, so here each request and
        // each probe is a handshake; reuse is shown against a keep-alive node below.
        #expect(m.sum("spillway_node_tls_handshakes_total") >= 38)
        #expect(m.sum("spillway_node_up") == 3)
        let status = try gateway.status(token: "t")
        #expect(status["pools"][0]["nodes"].array.allSatisfy { ($0["tlsHandshakes"].int ?? 0) > 0 })
    }

    @Test func keepAliveReuseMeansAHandshakePerConnectionNotPerRequest() async throws {
        let pki = try TestPKI()
        let node = try LenientNode(tls: try pki.issue("lenient"))
        let gateway = try Gateway(config: config([node.url], tls: "ca_file: \(pki.caCertificate)")
            .replacingOccurrences(of: "health: { interval: 200ms, timeout: 1s }", with: "health: { preset: none }"))
        let port = try #require(Int(gateway.endpoint.split(separator: ":").last ?? ""))
        let raw = try RawConnection(port: port)
        for i in 0..<50 {
            #expect(raw.send("GET /bucket/key-\(i) HTTP/1.1\r\nHost: gw\r\n\r\n"))
            #expect(raw.responses(1).first?.status == 200)
        }
        let m = try gateway.metrics()
        #expect(m.sum("spillway_requests_total") == 50)
        #expect(m.sum("spillway_node_tls_handshakes_total") == 1)
        #expect(m.sum("spillway_node_connections_reused_total") == 49)
        #expect(try node.requests().count == 50)
    }

    @Test func aNodeWhoseCertificateIsNotTrustedGetsNoRequest() async throws {
        let pki = try TestPKI()
        // The certificate names storage.internal only: a node reached by IP must be checked
        // against that name (server_name), or the check fails.
        let cluster = try Cluster(nodes: 1, tls: try pki.issue("storage", names: ["storage.internal"]))
        let stranger = try TestPKI(name: "stranger")
        let untrusting = try Gateway(config: config(cluster.nodeURLs, tls: "ca_file: \(stranger.caCertificate), server_name: storage.internal"))
        let before = try cluster.requestsPerNode()[0]
        let refused = try boto("put-random", endpoint: untrusting.endpoint, cluster: cluster, ["--bucket", "untrusted", "--size", "1000"], allowS3Error: true)
        #expect(refused["status"].int == 503 || refused["status"].int == 502, "\(refused)")
        #expect(try cluster.requestsPerNode()[0] == before)
        var up = try untrusting.metrics().sum("spillway_node_up")
        for _ in 0..<50 where up != 0 {
            try await Task.sleep(for: .milliseconds(100))
            up = try untrusting.metrics().sum("spillway_node_up")
        }
        #expect(up == 0, "the probes over TLS fail too")

        for (tls, works) in [
            ("ca_file: \(pki.caCertificate)", false),  // by IP, and the certificate names no IP
            ("ca_file: \(pki.caCertificate), server_name: storage.example", false),
            ("ca_file: \(pki.caCertificate), server_name: storage.internal", true),
            ("ca_file: \(pki.caCertificate), server_name: storage.example, verify_hostname: false", true),
        ] {
            let gateway = try Gateway(config: config(cluster.nodeURLs, tls: tls))
            let r = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "named", "--size", "1000"], allowS3Error: true)
            #expect((r["error"].string == nil) == works, "\(tls): \(r)")
            if tls.contains("verify_hostname: false") { #expect(gateway.log.contains("TLS hostname verification is off")) }
        }
    }

    @Test func aTLSCloseWithoutCloseNotifyIsNotACleanEnd() async throws {
        let pki = try TestPKI()
        let node = try LenientNode(tls: try pki.issue("lenient"))
        let gateway = try Gateway(config: config([node.url], tls: "ca_file: \(pki.caCertificate)").replacingOccurrences(of: "health: { interval: 200ms, timeout: 1s }", with: "health: { preset: none }"))
        let closeDelimited = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n" + String(repeating: "x", count: 5000)
        let port = try #require(Int(gateway.endpoint.split(separator: ":").last ?? ""))
        func get() throws -> (bytes: [UInt8], reset: Bool) {
            let raw = try RawConnection(port: port)
            #expect(raw.send("GET /bucket/key HTTP/1.1\r\nHost: gw\r\n\r\n"))
            let bytes = raw.read(idle: 5)
            return (bytes, raw.resetByPeer)
        }
        try node.script([.init(raw: closeDelimited, close: true)])
        let clean = try get()
        #expect(String(decoding: clean.bytes, as: UTF8.self).hasSuffix(String(repeating: "x", count: 5000)))
        #expect(!clean.reset)
        try node.script([.init(raw: closeDelimited, close: true, abruptTLSClose: true)])
        let cut = try get()
        // The client is reset: a close-delimited body cut by a truncating peer never reads as whole.
        #expect(cut.reset, "\(cut.bytes.count) bytes")
    }
}
