import Foundation
import SpillwayConfig
import SpillwayS3
import Testing

@Suite("TLS, pool credentials and access policies in the config")
struct SecurityConfigTests {
    func load(_ text: String) -> Result<GatewayConfig, ConfigError> { ConfigLoader.load(text: text, file: "spillway.yaml") }

    func problems(_ text: String) -> [ConfigIssue] {
        guard case .failure(let error) = load(text) else {
            Issue.record("config was accepted")
            return []
        }
        return error.issues
    }

    @Test func theHybridExampleLoadsAsWritten() throws {
        let text = try String(contentsOf: URLPaths.repositoryRoot.appendingPathComponent("config/hybrid.example.yaml"), encoding: .utf8)
        let config = try load(text).get()
        #expect(config.listeners.count == 2)
        #expect(config.listeners[0].tls == nil)
        #expect(config.listeners[1].address == HostPort(host: "127.0.0.1", port: 9443))
        #expect(config.listeners[1].tls?.certificate.path == "/etc/spillway/tls/server.pem")
        #expect(config.listeners[1].tls?.minVersion == .v1_2)
        let onprem = try #require(config.pools.first { $0.name == "onprem" })
        #expect(onprem.credentials?.accessKeyID == "ONPREMKEY")
        if case .file(let ref) = onprem.credentials?.secret { #expect(ref.path == "/run/secrets/onprem" && ref.line == 19) } else {
            Issue.record("no secret file")
        }
        #expect(onprem.signing == SigningConfig(region: "us-east-1", payload: .decode))
        #expect(onprem.nodes.allSatisfy { !$0.secure })
        let cloud = try #require(config.pools.first { $0.name == "cloud" })
        #expect(cloud.nodes[0].secure && cloud.nodes[0].address == HostPort(host: "s3.eu-west-1.amazonaws.com", port: 443))
        #expect(cloud.tls.caFile?.path == "/etc/ssl/certs/ca-certificates.crt" && cloud.tls.verifyHostname)
        if case .environment(let name, _) = cloud.credentials?.secret { #expect(name == "CLOUD_SECRET") } else { Issue.record("no env secret") }
        #expect(cloud.signing?.region == "eu-west-1" && cloud.signing?.addressing == .path && cloud.signing?.payload == .pass)
        let training = try #require(config.protection.tenants.first)
        #expect(training.allow == [AccessRule(buckets: ["datasets", "ckpt-*"], operations: [.read, .list, .write])])
        #expect(config.routes[0].pools == ["onprem", "cloud"])
    }

    @Test func aPoolSignsOnlyForVerifiedClients() {
        let issues = problems("""
            listen: 127.0.0.1:9000
            pools:
              - name: cloud
                nodes: [https://s3.example.com]
                credentials: { access_key_id: AK, secret_access_key: s }
                signing: { region: eu-west-1 }
            """)
        #expect(issues.count == 1)
        #expect(issues.first?.line == 5)
        #expect(issues.first?.message.contains("auth.verify_signatures is off") == true)
    }

    @Test func credentialsAndSigningComeTogetherAndSayEverythingOnce() {
        let base = "listen: 127.0.0.1:9000\nauth: { verify_signatures: true, credentials: { K: s } }\npools:\n  - name: p\n    nodes: [http://127.0.0.1:9]\n"
        #expect(problems(base + "    credentials: { access_key_id: AK, secret_access_key: s }\n").first?.message.contains("no signing section") == true)
        #expect(problems(base + "    signing: { region: r }\n").first?.message.contains("no credentials") == true)
        #expect(problems(base + "    credentials: { access_key_id: AK }\n    signing: { region: r }\n").first?.message == "credentials need a secret")
        #expect(problems(base + "    credentials: { access_key_id: AK, secret_access_key: a, secret_access_key_env: B }\n    signing: { region: r }\n")
            .first?.message == "credentials give the secret more than once")
        #expect(problems(base + "    credentials: { access_key_id: AK, secret_access_key: s }\n    signing: { payload: decode }\n")
            .first?.message == "signing needs a region")
        let typo = problems(base + "    credentials: { access_key_id: AK, secret_access_key: s }\n    signing: { region: r, payload: decoded }\n")
        #expect(typo.first?.fix?.contains("did you mean 'decode'") == true)
    }

    @Test func listenEntriesAndTheirTLSAreChecked() {
        let pools = "\npools: [{ name: p, nodes: [http://127.0.0.1:9] }]\n"
        #expect(problems("listen: [{ tls: { certificate: a, key: b } }]" + pools).first?.message == "a listen entry has no address")
        #expect(problems("listen: [{ address: 127.0.0.1:9443, tls: { certificate: a } }]" + pools).first?.message
            == "listen tls needs a certificate and a key")
        #expect(problems("listen: [{ address: 127.0.0.1:9443, tls: { certificate: a, key: b, min_version: '1.1' } }]" + pools)
            .first?.message.contains("unknown min_version") == true)
        let mtls = try? load("listen: [{ address: 127.0.0.1:9443, tls: { certificate: a, key: b, client_ca: ca.pem, min_version: '1.3' } }]" + pools).get()
        #expect(mtls?.listeners[0].tls?.clientCA?.path == "ca.pem" && mtls?.listeners[0].tls?.minVersion == .v1_3)
    }

    @Test func nodeTLSAndHTTPSNodes() throws {
        let config = try load("""
            listen: 127.0.0.1:9000
            pools:
              - name: p
                nodes: [https://localhost:9443, "https://[::1]"]
                tls: { ca_file: ca.pem, verify_hostname: false, server_name: storage.internal, certificate: c.pem, key: k.pem }
            """).get()
        let pool = config.pools[0]
        #expect(pool.nodes.map(\.address) == [HostPort(host: "localhost", port: 9443), HostPort(host: "::1", port: 443)])
        #expect(pool.nodes.allSatisfy { $0.secure })
        #expect(pool.tls.caFile?.path == "ca.pem" && pool.tls.caFile?.line == 5)
        #expect(!pool.tls.verifyHostname && pool.tls.serverName == "storage.internal")
        #expect(pool.tls.certificate?.path == "c.pem" && pool.tls.key?.path == "k.pem")
        #expect(problems("listen: 127.0.0.1:9000\npools: [{ name: p, nodes: [https://h], tls: { certificate: c.pem } }]").first?.message
            == "a client certificate needs its key (and a key its certificate)")
    }

    @Test func accessRulesNameRealOperationClasses() {
        let issues = problems("""
            listen: 127.0.0.1:9000
            pools: [{ name: p, nodes: [http://127.0.0.1:9] }]
            tenants:
              - name: t
                allow:
                  - { buckets: [b], operations: [raed] }
            """)
        #expect(issues.first?.message == "unknown operation class 'raed'")
        #expect(issues.first?.fix?.contains("did you mean 'read'") == true)
    }

    @Test func aPolicyAllowsOnlyWhatSomeRuleCoversWhole() {
        let rules = [
            AccessRule(buckets: ["datasets", "ckpt-*"], operations: [.read, .list, .write]),
            AccessRule(buckets: ["scratch"], prefixes: ["team-a/"]),
        ]
        #expect(rules.allows(bucket: "datasets", keyOrPrefix: "x", operation: .read))
        #expect(rules.allows(bucket: "ckpt-7", keyOrPrefix: "m", operation: .write))
        #expect(!rules.allows(bucket: "ckpt-7", keyOrPrefix: "m", operation: .delete))
        #expect(!rules.allows(bucket: "other", keyOrPrefix: "x", operation: .read))
        #expect(rules.allows(bucket: "scratch", keyOrPrefix: "team-a/run/1", operation: .delete))
        #expect(!rules.allows(bucket: "scratch", keyOrPrefix: "team-b/run/1", operation: .read))
        // A rule with prefixes does not cover a request with no key (a bucket operation, a DeleteObjects).
        #expect(!rules.allows(bucket: "scratch", keyOrPrefix: nil, operation: .delete))
        #expect(!rules.allows(bucket: nil, keyOrPrefix: nil, operation: .list))
        #expect([AccessRule]().allows(bucket: nil, keyOrPrefix: nil, operation: .other))
    }
}
