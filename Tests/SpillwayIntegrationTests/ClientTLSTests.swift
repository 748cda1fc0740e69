import Foundation
import Testing

/// TLS toward clients, with certificates made by openssl for each test: real clients over HTTPS,
/// mutual TLS, and certificates rotated under load.
@Suite("TLS toward clients", .serialized)
struct ClientTLSTests {
    func config(_ cluster: Cluster, tls: String, extra: String = "") -> String {
        """
        listen:
          - 127.0.0.1:0
          - { address: 127.0.0.1:0, tls: { \(tls) } }
        timeouts: { request_head: 2s }
        pools:
          - name: main
            nodes: [\(cluster.nodeURLs.joined(separator: ", "))]
        admin: { listen: 127.0.0.1:0, token: t }
        \(extra)
        """
    }

    @Test func unchangedClientsWorkOverHTTPSBesideAPlainListener() async throws {
        let cluster = try await SharedCluster.shared.get()
        let pki = try TestPKI()
        let server = try pki.issue("server")
        let gateway = try Gateway(config: config(cluster, tls: "certificate: \(server.certificate), key: \(server.key)"))
        let https = try #require(gateway.tlsEndpoint)
        // boto3 with its default checksum settings: over HTTPS its uploads are aws-chunked with a
        // trailing checksum.
        let r = try boto("roundtrip", endpoint: https, cluster: cluster, ["--bucket", "tls-roundtrip", "--sizes", "0,1024,3000000", "--ca-bundle", pki.caCertificate])
        for object in r["objects"].array {
            #expect(object["got_md5"] == object["sent_md5"] && object["got_size"].int == object["size"].int)
        }
        // The plain listener serves the same buckets.
        #expect(try boto("roundtrip", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "tls-roundtrip", "--sizes", "10"])["objects"].array.count == 1)

        let file = try Paths.temporaryFile("cli.bin", contents: String(repeating: "spillway ", count: 100_000))
        let cp = try awsCLI(["s3", "cp", file, "s3://tls-roundtrip/cli.bin", "--ca-bundle", pki.caCertificate], endpoint: https, cluster: cluster)
        #expect(cp.status == 0, "\(cp.stderr)")
        let ls = try awsCLI(["s3", "ls", "s3://tls-roundtrip/", "--ca-bundle", pki.caCertificate], endpoint: https, cluster: cluster)
        #expect(ls.stdout.contains("900000 cli.bin"), "\(ls.stdout)\(ls.stderr)")

        let copied = file + ".rclone"
        #expect(try rclone(["copyto", file, "gw:tls-roundtrip/rclone.bin"], endpoint: https, cluster: cluster, caBundle: pki.caCertificate).status == 0)
        let back = try rclone(["copyto", "gw:tls-roundtrip/rclone.bin", copied], endpoint: https, cluster: cluster, caBundle: pki.caCertificate)
        #expect(back.status == 0, "\(back.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: file, andPath: copied))

        // A client that does not trust the gateway's CA is refused by its own TLS check.
        let untrusted = try boto("tls-peer", endpoint: https, cluster: nil)
        #expect(untrusted["ok"].bool == false && untrusted["error"].string?.contains("CERTIFICATE_VERIFY_FAILED") == true)
        let peer = try boto("tls-peer", endpoint: https, cluster: nil, ["--ca-bundle", pki.caCertificate])
        #expect(peer["fingerprint"].string == (try TestPKI.fingerprint(of: server.certificate)))
        #expect(peer["version"].string == "TLSv1.3")
    }

    @Test func mutualTLSRefusesAClientWithoutACertificate() async throws {
        let cluster = try await SharedCluster.shared.get()
        let pki = try TestPKI()
        let server = try pki.issue("server")
        let clients = try TestPKI(name: "clients")
        let client = try clients.issue("trainer", names: ["trainer"], client: true)
        let stranger = try TestPKI(name: "strangers").issue("stranger", names: ["stranger"], client: true)
        let gateway = try Gateway(config: config(cluster, tls: "certificate: \(server.certificate), key: \(server.key), client_ca: \(clients.caCertificate)"))
        let https = try #require(gateway.tlsEndpoint)
        let ca = ["--ca-bundle", pki.caCertificate]
        #expect(try boto("tls-peer", endpoint: https, cluster: nil, ca)["ok"].bool == false)
        #expect(try boto("tls-peer", endpoint: https, cluster: nil, ca + ["--client-cert", stranger.certificate, "--client-key", stranger.key])["ok"].bool == false)
        #expect(try boto("tls-peer", endpoint: https, cluster: nil, ca + ["--client-cert", client.certificate, "--client-key", client.key])["ok"].bool == true)
        let r = try boto("roundtrip", endpoint: https, cluster: cluster,
                         ["--bucket", "mtls", "--sizes", "4096"] + ca + ["--client-cert", client.certificate, "--client-key", client.key])
        #expect(r["objects"][0]["got_md5"] == r["objects"][0]["sent_md5"])
        let metrics = try gateway.metrics()
        #expect(metrics.sum("spillway_tls_handshake_failures_total") == 2)
        #expect(try gateway.status(token: "t")["tls"][0]["mutualTLS"].bool == true)
    }

    @Test func certificatesRotateUnderLoadWithNoFailedRequest() async throws {
        let cluster = try await SharedCluster.shared.get()
        let pki = try TestPKI()
        let first = try pki.issue("first")
        let live = pki.directory.appendingPathComponent("live")
        try FileManager.default.createDirectory(at: live, withIntermediateDirectories: true)
        let cert = live.appendingPathComponent("server.pem").path
        let key = live.appendingPathComponent("server.key").path
        try FileManager.default.copyItem(atPath: first.certificate, toPath: cert)
        try FileManager.default.copyItem(atPath: first.key, toPath: key)
        let gateway = try Gateway(config: config(cluster, tls: "certificate: \(cert), key: \(key)"))
        let https = try #require(gateway.tlsEndpoint)
        let ca = ["--ca-bundle", pki.caCertificate]
        #expect(try boto("tls-peer", endpoint: https, cluster: nil, ca)["fingerprint"].string == (try TestPKI.fingerprint(of: first.certificate)))

        // Steady load with new connections all the time, while the files are replaced.
        let load = try BackgroundClient("load", endpoint: https, cluster: cluster,
                                        ["--bucket", "tls-rotation", "--threads", "4", "--duration", "8", "--fresh-every", "3", "--object-size", "8192"] + ca)
        try await Task.sleep(for: .seconds(3))
        let second = try pki.issue("second")
        // As a deployment tool would: the new files are renamed into place (key first).
        try FileManager.default.copyItem(atPath: second.key, toPath: key + ".new")
        try FileManager.default.copyItem(atPath: second.certificate, toPath: cert + ".new")
        _ = rename(key + ".new", key)
        _ = rename(cert + ".new", cert)
        let r = try load.result(timeout: 60)
        let records = r["records"].array
        #expect(records.count > 40)
        #expect(records.filter { $0["error"].string != nil }.isEmpty, "\(records.compactMap { $0["error"].string })")
        #expect(try boto("tls-peer", endpoint: https, cluster: nil, ca)["fingerprint"].string == (try TestPKI.fingerprint(of: second.certificate)))
        #expect(try gateway.metrics().sum("spillway_tls_reloads_total", ["result": "applied"]) >= 1)

        // A broken file is refused, counted and reported; the certificate in force stays.
        try "not a certificate".write(toFile: cert, atomically: true, encoding: .utf8)
        var status = try gateway.status(token: "t")
        for _ in 0..<50 where status["tls"][0]["lastReloadProblem"].string == nil {
            try await Task.sleep(for: .milliseconds(100))
            status = try gateway.status(token: "t")
        }
        #expect(status["tls"][0]["lastReloadProblem"].string?.contains(cert) == true)
        #expect(status["tlsReloadRefusals"].int ?? 0 >= 1)
        #expect(try gateway.metrics().sum("spillway_tls_reloads_total", ["result": "refused"]) >= 1)
        #expect(try boto("tls-peer", endpoint: https, cluster: nil, ca)["fingerprint"].string == (try TestPKI.fingerprint(of: second.certificate)))
    }

    @Test func theCertificatesExpiryIsAMetric() async throws {
        let cluster = try await SharedCluster.shared.get()
        let pki = try TestPKI()
        let server = try pki.issue("server", days: 3)
        let gateway = try Gateway(config: config(cluster, tls: "certificate: \(server.certificate), key: \(server.key)"))
        let end = try run("openssl", ["x509", "-in", server.certificate, "-noout", "-enddate"]).stdout  // notAfter=Dec  4 15:31:25 2026 GMT
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let text = end.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "notAfter=", with: "").replacingOccurrences(of: "  ", with: " ")
        let expected = try #require(formatter.date(from: text)).timeIntervalSince1970
        let listener = try #require(gateway.tlsEndpoint).replacingOccurrences(of: "https://", with: "")
        #expect(try gateway.metrics().sum("spillway_tls_certificate_expiry_timestamp_seconds", ["listener": listener]) == expected)
        #expect(try gateway.status(token: "t")["tls"][0]["notValidAfter"].int == Int(expected))
    }

    @Test func aBadCertificateIsRefusedAtItsLineAndAHandshakeMayNotTrickle() async throws {
        let cluster = try await SharedCluster.shared.get()
        let pki = try TestPKI()
        let server = try pki.issue("server")
        let other = try pki.issue("other")
        let mismatched = try Paths.temporaryFile("bad.yaml", contents: config(cluster, tls: "certificate: \(server.certificate), key: \(other.key)"))
        let check = try run(Paths.spillway, ["check", "--config", mismatched])
        #expect(check.status == 1)
        #expect(check.stdout.contains("\(mismatched):3:"), "\(check.stdout)")
        #expect(check.stdout.contains(server.certificate))
        let missing = try run(Paths.spillway, ["check", "--config", try Paths.temporaryFile("missing.yaml", contents: config(cluster, tls: "certificate: /nope.pem, key: \(other.key)"))])
        #expect(missing.stdout.contains("/nope.pem: cannot read the certificate file"))

        // A client that opens a TLS connection and never finishes its handshake is let go.
        let gateway = try Gateway(config: config(cluster, tls: "certificate: \(server.certificate), key: \(server.key)"))
        let endpoint = try #require(gateway.tlsEndpoint)
        let port = try #require(Int(endpoint.split(separator: ":").last ?? ""))
        let raw = try RawConnection(port: port)
        #expect(raw.send([0x16, 0x03, 0x01]))  // the first bytes of a ClientHello, and no more
        let start = Date()
        _ = raw.read(idle: 10)
        #expect(raw.closedByPeer)
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(try gateway.metrics().sum("spillway_tls_handshake_failures_total") >= 1)
    }

    @Test func theDashboardShowsWhenEachCertificateExpires() async throws {
        let cluster = try await SharedCluster.shared.get()
        let pki = try TestPKI()
        let server = try pki.issue("server", days: 10)
        let gateway = try Gateway(config: config(cluster, tls: "certificate: \(server.certificate), key: \(server.key)"))
        let base = try #require(gateway.adminEndpoint)
        let dom = try Chromium.dom(of: base + "/#token=t", millis: 2000)
        // Issued for 10 days a moment ago: 9 whole days left, in amber (under 14).
        #expect(Chromium.metric("tls_expiry_days", in: dom) == ["9"], "\(dom.prefix(2000))")
        #expect(dom.contains("class=\"warn\""))
        let expiry = try gateway.metrics().sum("spillway_tls_certificate_expiry_timestamp_seconds")
        #expect(abs(expiry - (Date().timeIntervalSince1970 + 10 * 86400)) < 120)
    }
}
