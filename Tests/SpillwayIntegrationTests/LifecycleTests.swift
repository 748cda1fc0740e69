import Foundation
import Testing

/// Running under an orchestrator: liveness and readiness endpoints that say why, a SIGTERM that
/// keeps serving while endpoints move away, and a config that follows a ConfigMap's swapped
/// directory.
@Suite("Health endpoints, shutdown and a watched config", .serialized)
struct LifecycleTests {
    static func config(_ nodes: [String], extra: String = "") -> String {
        """
        listen: 127.0.0.1:0
        pools:
          - name: main
            nodes: [\(nodes.joined(separator: ", "))]
            health: { interval: 200ms, timeout: 1s, fall: 1 }
        admin: { listen: 127.0.0.1:0, token: t }
        \(extra)
        """
    }

    static func probe(_ gateway: Gateway, _ path: String) async throws -> Admin.Reply {
        try await Admin(base: try #require(gateway.adminEndpoint), token: nil).call("GET", path)
    }

    /// Polls `path` until it answers `status`, for up to `seconds`; the last answer.
    static func waitForStatus(_ gateway: Gateway, _ path: String, status: Int, seconds: Double = 10) async throws -> Admin.Reply {
        var reply = try await probe(gateway, path)
        _ = await waitUntil(seconds) {
            if let next = try? await probe(gateway, path) { reply = next }
            return reply.status == status
        }
        return reply
    }

    @Test func livezAndReadyzAnswerWithoutATokenAndSayWhy() async throws {
        let cluster = try Cluster(nodes: 1)
        let gateway = try Gateway(config: Self.config(cluster.nodeURLs))
        let live = try await Self.probe(gateway, "/livez")
        #expect(live.status == 200 && live.body == "ok\n")
        let ready = try await Self.waitForStatus(gateway, "/readyz", status: 200)
        #expect(ready.status == 200 && ready.body == "ok\n", "\(ready.body)")
        try cluster.stopNode(0)
        let notReady = try await Self.waitForStatus(gateway, "/readyz", status: 503)
        #expect(notReady.status == 503 && notReady.body.contains("no healthy node in the default pool 'main'"), "\(notReady.body)")
        #expect(try await Self.probe(gateway, "/livez").status == 200, "a gateway without storage is still alive")
    }

    @Test func sigtermFailsReadinessAtOnceAndKeepsServingThroughTheDelay() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(config: Self.config(cluster.nodeURLs, extra: "shutdown_delay: 2s\ndrain_timeout: 5s"))
        #expect(try await Self.waitForStatus(gateway, "/readyz", status: 200).status == 200)
        let signalled = Date()
        gateway.signal(SIGTERM)
        let notReady = try await Self.waitForStatus(gateway, "/readyz", status: 503, seconds: 1)
        #expect(notReady.status == 503 && notReady.body.contains("shutting down"), "\(notReady.body)")
        // Endpoints are still moving away: a new connection is served, and told to go elsewhere next.
        let during = try boto("raw", endpoint: gateway.endpoint, cluster: nil, ["--raw", "GET /bucket/key HTTP/1.1\\r\\nHost: gw\\r\\n\\r\\n"])
        #expect(during["status"].int != nil && during["headers"]["connection"].string == "close", "\(during)")
        #expect(Date().timeIntervalSince(signalled) < 2)
        try await Task.sleep(for: .seconds(2.5))
        let after = try boto("raw", endpoint: gateway.endpoint, cluster: nil, ["--raw", "GET / HTTP/1.1\\r\\n\\r\\n"])
        #expect(after["connect_error"].string == "ConnectionRefusedError", "\(after)")
        #expect(gateway.waitForExit(timeout: 10) == 0)
    }

    /// A ConfigMap mount: `spillway.yaml -> ..data/spillway.yaml`, `..data -> ..v1`, and an update
    /// swaps `..data` to a new directory in one rename.
    final class ConfigMapMount {
        let root: URL
        private var version = 0
        var path: String { root.appendingPathComponent("spillway.yaml").path }

        init(_ text: String) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-configmap-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try publish(text)
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "..data/spillway.yaml")
        }

        func publish(_ text: String) throws {
            version += 1
            let dir = root.appendingPathComponent("..v\(version)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try text.write(to: dir.appendingPathComponent("spillway.yaml"), atomically: true, encoding: .utf8)
            let temporary = root.appendingPathComponent("..data_tmp").path
            try FileManager.default.createSymbolicLink(atPath: temporary, withDestinationPath: "..v\(version)")
            guard rename(temporary, root.appendingPathComponent("..data").path) == 0 else { throw CommandError.failed("rename", CommandResult(status: errno, stdout: "", stderr: "")) }
        }
    }

    @Test func aConfigMapUpdateIsAppliedAndABadOneIsRefused() async throws {
        let cluster = try await SharedCluster.shared.get()
        let first = Self.config(cluster.nodeURLs)
        let mount = try ConfigMapMount(first)
        let gateway = try Gateway(arguments: ["serve", "--config", mount.path])
        #expect(try gateway.metrics().sum("spillway_config_version") == 1)
        // A changed config: the gateway sees the swapped directory and reloads.
        try mount.publish(Self.config(cluster.nodeURLs, extra: "drain_timeout: 7s"))
        _ = try waitFor(5) { try gateway.metrics().sum("spillway_config_version") >= 2 }
        let version = try gateway.metrics().sum("spillway_config_version")
        #expect(version == 2, "the swapped directory was not noticed, or applied twice")
        let applied = try gateway.metrics().sum("spillway_config_reloads_total", ["result": "applied"])
        #expect(applied >= 1)
        // A bad file is refused and the running config stays.
        try mount.publish("listen: 127.0.0.1:0\npools: []\n")
        _ = try waitFor(5) { try gateway.metrics().sum("spillway_config_reloads_total", ["result": "refused"]) > 0 }
        #expect(try gateway.metrics().sum("spillway_config_reloads_total", ["result": "refused"]) == 1)
        #expect(try gateway.metrics().sum("spillway_config_version") == version)
        let served = try boto("raw", endpoint: gateway.endpoint, cluster: nil, ["--raw", "GET /bucket/key HTTP/1.1\\r\\nHost: gw\\r\\n\\r\\n"])
        #expect(served["status"].int == 403, "moto answers an unsigned request 403 AccessDenied: \(served)")
        // Unchanged files are not reapplied, and a SIGHUP for a change the watcher applied (or the
        // other way round) puts it in force once.
        try await Task.sleep(for: .seconds(1.5))
        #expect(try gateway.metrics().sum("spillway_config_reloads_total", ["result": "refused"]) == 1)
        try mount.publish(Self.config(cluster.nodeURLs, extra: "drain_timeout: 9s"))
        gateway.signal(SIGHUP)
        try await Task.sleep(for: .seconds(2))
        #expect(try gateway.metrics().sum("spillway_config_version") == 3)
    }
}
