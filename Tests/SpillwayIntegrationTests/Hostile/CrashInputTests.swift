import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Numbers from outside (a Redis reply, a config value, an admin request) that once trapped the
/// process: each is now refused with a clear answer, and the gateway keeps serving.
@Suite("Hostile input: numbers that must not trap", .serialized)
struct CrashInputTests {
    @Test func anAbsurdRedisReplyDoesNotEndTheGateway() throws {
        let redis = Process()
        redis.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        redis.arguments = ["python3", Paths.root.appendingPathComponent("Tests/clients/evilredis.py").path, "$9223372036854775807\\r\\n"]
        let stdin = Pipe()
        let out = Pipe()
        redis.standardInput = stdin
        redis.standardOutput = out
        let reader = LineReader(out.fileHandleForReading)
        try redis.run()
        defer {
            try? stdin.fileHandleForWriting.close()
            redis.terminate()
        }
        let port = try JSON(parsing: try #require(reader.waitForLine(containing: "port", timeout: 10)))["port"].int ?? 0
        let node = try LenientNode()
        let gateway = try gatewayInFront(of: [node], extra: """
            fleet: { redis: 127.0.0.1:\(port) }
            tenants:
              - { name: fleet, access_keys: [AKIAFLEET], limits: { requests: { read: 100 }, global: true } }
            """)
        let request = "GET /b/k HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIAFLEET/20990101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n\r\n"
        for _ in 0..<20 {
            let connection = try RawConnection(port: gateway.port)
            connection.send(request)
            #expect(connection.responses(1, idle: 3).first?.status == 200)
            usleep(50_000)
        }
        #expect(gateway.process.isRunning)
    }

    @Test(arguments: [
        ("timeouts: { idle: 1e300s }", "timeouts.idle"), ("timeouts: { connect: 99999999999h }", "timeouts.connect"),
        ("drain_timeout: 1e19ms", "drain_timeout"),
        ("pools: [{ name: p, nodes: [http://127.0.0.1:9], retry: { replay_buffer: 99999999999999GiB } }]", "retry.replay_buffer"),
        ("tenants: [{ name: t, limits: { bandwidth: { read: 99999999999999GiB } } }]", "limits.bandwidth.read"),
        ("tenants: [{ name: t, limits: { requests: { read: inf } } }]", "limits.requests.read"),
        ("tenants: [{ name: t, limits: { requests: { read: 1e-300 } } }]", "limits.requests.read"),
        ("http: { max_head_size: 99999999999999GiB }", "http.max_head_size"),
    ])
    func checkRefusesNumbersTheGatewayCouldNotRun(line: String, key: String) throws {
        var yaml = "listen: 127.0.0.1:0\n\(line)\n"
        if !line.hasPrefix("pools") { yaml += "pools: [{ name: p, nodes: [http://127.0.0.1:9] }]\n" }
        let path = try Paths.temporaryFile("huge.yaml", contents: yaml)
        let r = try run(Paths.spillway, ["check", "--config", path])
        #expect(r.status == 1, "spillway check accepted \(line)")
        #expect(r.stdout.contains("\(path):2:"), "no line number in: \(r.stdout)")
        #expect(r.stdout.contains(key), "the problem does not name \(key): \(r.stdout)")
    }

    @Test func quickModeProtectsChangesWithAGeneratedToken() async throws {
        let gateway = try Gateway(nodes: ["http://127.0.0.1:9"], extraArguments: ["--admin", "127.0.0.1:0"])
        let base = try #require(gateway.adminEndpoint)
        let token = try #require(gateway.generatedAdminToken, "quick mode printed no admin token:\n\(gateway.log)")
        let huge = "listen: 127.0.0.1:0\ntimeouts: { idle: 99999999999h }\npools: [{ name: p, nodes: [http://127.0.0.1:9] }]\n"
        let anonymous = try await Admin(base: base, token: nil).call("POST", "/api/config?dry_run=true", body: huge)
        #expect(anonymous.status == 401)
        #expect(try await Admin(base: base, token: nil).call("POST", "/api/pools/default/nodes/0/drain").status == 401)
        let checked = try await Admin(base: base, token: token).call("POST", "/api/config?dry_run=true", body: huge)
        #expect(checked.status == 422)
        #expect(checked.body.contains("timeouts.idle"))
        // Reading needs no token when none was configured, except the config (it may hold secrets).
        #expect(try await Admin(base: base, token: nil).call("GET", "/api/status").status == 200)
        #expect(try await Admin(base: base, token: nil).call("GET", "/api/config").status == 401)
        #expect(try await Admin(base: base, token: token).call("GET", "/api/config").status == 200)
        #expect(gateway.process.isRunning)
    }

    @Test func theAdminAPIRefusesBodiesOverOneMiBWhole() async throws {
        let gateway = try Gateway(config: """
            listen: 127.0.0.1:0
            pools: [{ name: p, nodes: [http://127.0.0.1:9], health: { preset: none } }]
            admin: { listen: 127.0.0.1:0, token: t }
            """)
        let base = try #require(gateway.adminEndpoint)
        let port = try #require(Int(base.split(separator: ":").last ?? ""))
        let valid = "listen: 127.0.0.1:0\npools: [{ name: p, nodes: [http://127.0.0.1:9] }]\n"
        let body = valid + "#" + String(repeating: "x", count: 1 << 20) + "\n"
        let connection = try RawConnection(port: port)
        connection.send("POST /api/config?dry_run=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        let answer = connection.responses(1, idle: 3)
        #expect(answer.first?.status == 413)
        _ = connection.read(idle: 2)
        #expect(connection.closedByPeer)
    }

    @Test func theAdminListenerCapsConnectionsAndClosesIdleOnes() async throws {
        let gateway = try Gateway(config: """
            listen: 127.0.0.1:0
            pools: [{ name: p, nodes: [http://127.0.0.1:9], health: { preset: none } }]
            admin: { listen: 127.0.0.1:0, token: t, max_connections: 4, idle_timeout: 1s }
            """)
        let base = try #require(gateway.adminEndpoint)
        let port = try #require(Int(base.split(separator: ":").last ?? ""))
        let held = try (0..<4).map { _ in try RawConnection(port: port) }
        usleep(200_000)
        let extra = try RawConnection(port: port)
        extra.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = extra.read(idle: 2)
        #expect(extra.closedByPeer, "a fifth admin connection was served over a cap of four")
        // The held ones send nothing: closed after the idle timeout, and then there is room again.
        for c in held {
            _ = c.read(idle: 3)
            #expect(c.closedByPeer)
        }
        usleep(200_000)
        let after = try RawConnection(port: port)
        after.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(after.responses(1).first?.status == 200)
    }

    @Test func errorBodiesStayWellFormedXMLWhateverTheKey() throws {
        // A prepended U+0600 fuses with the `<` after it, and a combining mark with the `>` before
        // it, into single Characters: escaping by Character let the markup through.
        let gateway = try Gateway(nodes: ["http://127.0.0.1:9"])
        let connection = try RawConnection(port: gateway.port)
        let (prepend, combining) = ("\u{D8}\u{80}", "\u{CC}\u{81}")  // U+0600 and U+0301 as UTF-8 bytes
        let key = "/b/\(prepend)</Resource>\(combining)\(prepend)<Code>\(combining)Injected\(prepend)</Code>\(combining)"
        connection.send("GET \(key) HTTP/1.1\r\nHost: x\r\n\r\n")
        let body = try #require(connection.responses(1).first).body
        // Compared as bytes: as Characters, the combining mark would fuse with whatever precedes it.
        func count(_ needle: String) -> Int {
            let n = Array(needle.utf8)
            return (0...(body.count - n.count)).filter { Array(body[$0..<($0 + n.count)]) == n }.count
        }
        #expect(count("<Code>") == 1, "an element was injected: \(String(decoding: body, as: UTF8.self))")
        #expect(count("</Resource>") == 1)
        #expect(count("&lt;/Resource&gt;") == 1)
    }
}
