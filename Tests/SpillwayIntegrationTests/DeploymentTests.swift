import Foundation
import Testing

/// The files in deploy/: the Kubernetes manifests against the Kubernetes schemas
/// (kubernetes-validate from PyPI) and against each other, the ConfigMap's config against the
/// gateway itself, and the systemd unit's commands against the CLI.
@Suite("Deployment files")
struct DeploymentTests {
    static var manifests: String { Paths.root.appendingPathComponent("deploy/kubernetes").path }

    static func requireValidator() throws {
        let found = try run("sh", ["-c", "command -v kubernetes-validate"])
        if found.status != 0 { throw CommandError.missingTool("kubernetes-validate (PyPI)", "pip install kubernetes-validate") }
    }

    @Test func theManifestsPassTheKubernetesSchemasStrictly() throws {
        try Self.requireValidator()
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.manifests).filter { $0.hasSuffix(".yaml") }.sorted()
            .map { "\(Self.manifests)/\($0)" }
        let r = try run("kubernetes-validate", ["--strict"] + files)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        // Every built-in kind was checked; only the Prometheus Operator's CRD has no schema here.
        let checked = r.stdout + r.stderr
        for kind in ["configmap", "deployment", "horizontalpodautoscaler", "poddisruptionbudget", "secret", "service"] {
            #expect(checked.contains("passed for resource \(kind)/"), "\(kind) was not validated: \(checked)")
        }
        // The validator does refuse what is wrong (a misspelt field), so a pass means something.
        let broken = try Paths.temporaryFile("broken.yaml", contents: try String(contentsOfFile: "\(Self.manifests)/pdb.yaml", encoding: .utf8)
            .replacingOccurrences(of: "maxUnavailable", with: "maxUnavailabel"))
        #expect(try run("kubernetes-validate", ["--strict", broken]).status != 0)
    }

    @Test func theManifestsFitTogetherAndTheGatewayAcceptsTheirConfig() throws {
        let r = try run("python3", [Paths.root.appendingPathComponent("Tests/clients/deploycheck.py").path, Self.manifests])
        #expect(r.status == 0, "\(r.stderr)")
        let m = try JSON(parsing: r.stdout)
        #expect(m["kinds"].array.compactMap(\.string) == [
            "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Secret", "Service", "ServiceMonitor",
        ])
        // Kubernetes kills the pod after its grace period: the delay and the drain must fit in it.
        let grace = try #require(m["grace_seconds"].double)
        #expect(grace >= (m["shutdown_delay_seconds"].double ?? 99) + (m["drain_timeout_seconds"].double ?? 99))
        #expect(m["readiness_path"].string == "/readyz" && m["liveness_path"].string == "/livez")
        #expect(m["probe_port"] == m["admin_port"] && m["s3_port"] == m["listen_port"])
        #expect(m["services_select_pods"].bool == true && m["headless"].bool == true && m["pdb_selects_pods"].bool == true)
        #expect(m["monitored_ports"].array.compactMap(\.string).contains(m["monitor_port"].string ?? "?"))
        #expect(m["hpa_target"].bool == true && m["run_as_non_root"].bool == true)

        // The ConfigMap's config is one the gateway accepts, given the files the Secret mounts.
        let secrets = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: secrets, withIntermediateDirectories: true)
        try "storage-secret\n".write(to: secrets.appendingPathComponent("storage-secret"), atomically: true, encoding: .utf8)
        try "AKIATRAINING00000001: training-secret\n".write(to: secrets.appendingPathComponent("clients.yaml"), atomically: true, encoding: .utf8)
        let text = try #require(m["config"].string).replacingOccurrences(of: "/etc/spillway/secrets", with: secrets.path)
        let config = try Paths.temporaryFile("spillway.yaml", contents: text)
        let check = try run(Paths.spillway, ["check", "--config", config])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    @Test func theSystemdUnitRunsCommandsTheGatewayHas() throws {
        let unit = try String(contentsOfFile: Paths.root.appendingPathComponent("deploy/systemd/spillway.service").path, encoding: .utf8)
        var commands: [[String]] = []
        for line in unit.split(separator: "\n") where line.hasPrefix("ExecStart") {
            let words = line.split(separator: "=", maxSplits: 1)[1].split(separator: " ").map(String.init)
            #expect(words[0] == "/usr/local/bin/spillway")
            commands.append(Array(words.dropFirst()))
        }
        #expect(commands.map { $0.first } == ["check", "serve"])
        // Each parses: with --help in place of the config, the CLI accepts the options as written.
        for command in commands {
            let r = try run(Paths.spillway, [command[0], "--help"])
            #expect(r.status == 0)
            for option in command.dropFirst() where option.hasPrefix("--") { #expect(r.stdout.contains(option), "\(command[0]) has no \(option)") }
        }
        #expect(unit.contains("KillSignal=SIGTERM") && unit.contains("ExecReload=/bin/kill -HUP $MAINPID"))
    }

    @Test func theDockerfileShipsTheReleaseBinaryAsANonRootUser() throws {
        let text = try String(contentsOfFile: Paths.root.appendingPathComponent("deploy/Dockerfile").path, encoding: .utf8)
        let stages = text.components(separatedBy: "\nFROM ").dropFirst()
        #expect(stages.count == 2, "a build stage and a run stage")
        let runStage = try #require(stages.last)
        #expect(runStage.contains("COPY --from=build /spillway /usr/local/bin/spillway"))
        #expect(runStage.contains("USER 10001") && !runStage.contains("swift build"))
        // Every path the build stage copies exists in the repository.
        for line in text.split(separator: "\n") where line.hasPrefix("COPY ") && !line.contains("--from") {
            let source = String(line.split(separator: " ")[1])
            #expect(FileManager.default.fileExists(atPath: Paths.root.appendingPathComponent(source).path), "\(source) is not in the repository")
        }
    }
}

/// The Grafana dashboard's queries, each run against a real Prometheus that scraped a gateway
/// which has done everything the dashboard shows (retries, hedges, resumes, sheds, TLS).
@Suite("The Grafana dashboard")
struct DashboardQueryTests {
    @Test func everyQueryReturnsSeriesFromARealScrape() async throws {
        let dashboard = try JSON(parsing: try String(contentsOfFile: Paths.root.appendingPathComponent("deploy/grafana/spillway.json").path, encoding: .utf8))
        let queries = dashboard["panels"].array.flatMap { $0["targets"].array.compactMap { $0["expr"].string } }
        #expect(queries.count >= 15)

        let cluster = try Cluster()
        let pki = try TestPKI()
        let server = try pki.issue("server")
        let gateway = try Gateway(config: """
            listen:
              - 127.0.0.1:0
              - { address: 127.0.0.1:0, tls: { certificate: \(server.certificate), key: \(server.key) } }
            pools:
              - name: storage
                nodes: [\(cluster.nodeURLs.joined(separator: ", "))]
                balancer: round_robin   # every third read lands on the slow node, so some are hedged
                hedge: { enabled: true, percentile: 50, min_delay: 50ms }
                retry: { budget_percent: 100, min_per_second: 50 }
            tenants:
              - name: dash
                access_keys: [\(cluster.accessKey)]
                limits: { requests: { read: 20 } }
            admin: { listen: 127.0.0.1:0, token: t }
            """)
        let prometheus = try PrometheusServer(scraping: String(try #require(gateway.adminEndpoint).dropFirst("http://".count)))
        // Traffic of every kind the dashboard shows.
        _ = try boto("workload", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "dash", "--count", "3", "--size", "5000", "--missing", "1"])
        try cluster.setFault(#"{"mode": "error", "status": 503, "times": 2, "method": "GET"}"#)
        _ = try boto("timed-gets", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "dash", "--key", "retried", "--count", "3", "--size", "1000"])
        _ = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "dash", "--key", "big", "--size", "\(4 << 20)"])
        try cluster.setFault(#"{"mode": "reset", "after_bytes": 1000000, "times": 1, "method": "GET"}"#)
        _ = try boto("get", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "dash", "--key", "big"])
        try cluster.setFault(node: 0, #"{"mode": "delay", "ms": 600, "method": "GET"}"#)
        _ = try boto("timed-gets", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "dash", "--key", "hedged", "--count", "15", "--size", "1000"])
        try cluster.setFault(node: 0, #"{"mode": "none"}"#)
        _ = try boto("hammer", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "dash", "--key", "retried", "--threads", "3", "--duration", "2", "--size", "10"])
        let m = try gateway.metrics()
        #expect(m.sum("spillway_retries_total") > 0 && m.sum("spillway_resumes_total") > 0 && m.sum("spillway_hedges_total") > 0)
        #expect(m.sum("spillway_limiter_decisions_total", ["decision": "shed"]) > 0)

        #expect(await prometheus.targetIsUp())
        // Each query is polled: rate() over [1m] has series once two scrapes followed the traffic.
        for query in queries {
            var count = 0
            for _ in 0..<20 {
                switch await prometheus.seriesCount(of: query) {
                case .success(let n): count = n
                case .failure(let error):
                    Issue.record("Prometheus refused \(query): \(error.reason)")
                    count = -1
                }
                if count != 0 { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(count > 0, "no series for \(query)")
        }
    }
}
