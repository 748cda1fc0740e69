import Foundation
import SpillwayConfig
import SpillwayPolicy
import SpillwayS3
import Testing

@Suite("Loading config files")
struct ConfigLoaderTests {
    func load(_ text: String) -> Result<GatewayConfig, ConfigError> {
        ConfigLoader.load(text: text, file: "spillway.yaml")
    }

    func issues(_ text: String) -> [ConfigIssue] {
        guard case .failure(let error) = load(text) else {
            Issue.record("config was accepted")
            return []
        }
        return error.issues
    }

    @Test func aFullConfigLoads() throws {
        let text = """
            listen: [127.0.0.1:9000, "[::1]:9000"]
            workers: 2
            s3:
              virtual_host_domains: [s3.local]
            timeouts:
              connect: 500ms
              first_byte: 30s
              idle: 1m
              client_idle: 90s
            drain_timeout: 10s
            pools:
              - name: hot
                balancer: round_robin
                nodes:
                  - url: http://10.0.0.1:9000
                    weight: 3
                  - http://10.0.0.2:9000
              - name: archive
                nodes: [http://archive.internal]
            routes:
              - name: checkpoints
                match: { bucket: ckpt-*, prefix: runs/, operation: [write, GetObject], method: [PUT, GET] }
                pool: archive
                timeouts: { first_byte: 5m }
            default_pool: hot
            """
        let config = try load(text).get()
        #expect(config.listen == [HostPort(host: "127.0.0.1", port: 9000), HostPort(host: "::1", port: 9000)])
        #expect(config.workers == 2)
        #expect(config.virtualHostDomains == ["s3.local"])
        #expect(config.timeouts.connect == .milliseconds(500))
        #expect(config.timeouts.idle == .seconds(60))
        #expect(config.drainTimeout == .seconds(10))
        #expect(config.pools.map(\.name) == ["hot", "archive"])
        #expect(config.pools[0].balancer == .roundRobin)
        #expect(config.pools[0].nodes.map(\.weight) == [3, 1])
        #expect(config.pools[1].balancer == .peakEWMA)
        #expect(config.pools[1].nodes[0].address == HostPort(host: "archive.internal", port: 80))
        let route = try #require(config.routes.first)
        #expect(route.match.bucket == "ckpt-*")
        #expect(route.match.operations.map { $0 & S3Operation.uploadPart.bit != 0 } == true)
        #expect(route.match.operations.map { $0 & S3Operation.getObject.bit != 0 } == true)
        #expect(route.match.operations.map { $0 & S3Operation.listObjectsV2.bit != 0 } == false)
        #expect(route.timeouts.firstByte == .seconds(300))
        #expect(config.defaultPool == "hot")
    }

    @Test func aSinglePoolNeedsNoDefault() throws {
        let config = try load("listen: 127.0.0.1:9000\npools: [{name: only, nodes: [http://127.0.0.1:9001]}]").get()
        #expect(config.defaultPool == "only")
    }

    @Test func unknownKeysAreRefusedWithTheirLineAndASuggestion() {
        let found = issues(
            """
            listen: 127.0.0.1:9000
            timeouts:
              fist_byte: 2s
            pools:
              - name: a
                nodes: [http://127.0.0.1:9001]
                balancr: round_robin
            """)
        #expect(found.count == 2)
        #expect(found[0].line == 3)
        #expect(found[0].message.contains("unknown key 'fist_byte'"))
        #expect(found[0].fix?.contains("did you mean 'first_byte'") == true)
        #expect(found[1].line == 7)
        #expect(found[1].fix?.contains("did you mean 'balancer'") == true)
        #expect(found[0].description.hasPrefix("spillway.yaml:3:3: error: unknown key 'fist_byte'"))
    }

    @Test func duplicateNamesAndDanglingReferencesAreRefused() {
        let found = issues(
            """
            listen: 127.0.0.1:9000
            pools:
              - name: a
                nodes: [http://127.0.0.1:9001]
              - name: a
                nodes: [http://127.0.0.1:9002]
            routes:
              - match: { bucket: x }
                pool: nowhere
            default_pool: missing
            """)
        let messages = found.map(\.message)
        #expect(found.contains { $0.line == 5 && $0.message.contains("pool name 'a' is used twice (first on line 3)") })
        #expect(found.contains { $0.line == 9 && $0.message.contains("pool 'nowhere', which is not defined") })
        #expect(found.contains { $0.line == 10 && $0.message.contains("default_pool 'missing' is not defined") })
        #expect(messages.count == 3)
    }

    @Test func duplicateKeysAreRefused() {
        let found = issues("listen: 127.0.0.1:9000\nworkers: 2\nworkers: 3\npools: [{name: a, nodes: [http://h:1]}]")
        #expect(found.count == 1)
        #expect(found[0].message.contains("workers"))
    }

    @Test func badAddressesAreRefused() {
        let found = issues(
            """
            listen: [127.0.0.1, "localhost:99999", "300.1.1.1:80"]
            pools:
              - name: a
                nodes:
                  - https://secure:99999
                  - ftp://files:21
                  - http://host:9000/path
                  - http://-bad-:9000
                  - url: http://ok:9000
                    weight: 0
            """)
        #expect(found.filter { $0.line == 1 }.count == 3)
        #expect(found.contains { $0.line == 5 && $0.message.contains("no valid host and port") })
        #expect(found.contains { $0.line == 6 && $0.message.contains("must start with http://") })
        #expect(found.contains { $0.line == 7 && $0.message.contains("no path") })
        #expect(found.contains { $0.line == 8 && $0.message.contains("no valid host and port") })
        #expect(found.contains { $0.line == 10 && $0.message.contains("weight is 0") })
    }

    @Test func badValuesSayWhatToWrite() {
        let found = issues(
            """
            listen: 127.0.0.1:9000
            workers: many
            timeouts: { connect: 5 }
            pools:
              - name: a
                balancer: fastest
                nodes: [http://127.0.0.1:9001]
            routes:
              - match: { operation: [GetObjekt], method: [FETCH] }
                pool: a
            """)
        #expect(found.contains { $0.line == 2 && $0.message.contains("whole number") })
        #expect(found.contains { $0.line == 3 && $0.fix?.contains("250ms, 5s") == true })
        #expect(found.contains { $0.line == 6 && $0.message.contains("unknown balancer 'fastest'") })
        #expect(found.contains { $0.line == 9 && $0.fix?.contains("did you mean 'GetObject'") == true })
        #expect(found.contains { $0.line == 9 && $0.message.contains("unknown HTTP method 'FETCH'") })
    }

    @Test func missingEssentialsAreReported() {
        let found = issues("workers: 2")
        #expect(found.contains { $0.message.contains("no listen address") })
        #expect(found.contains { $0.message.contains("no pools") })
        let emptyPool = issues("listen: 127.0.0.1:9000\npools: [{name: a, nodes: []}]")
        #expect(emptyPool.contains { $0.message.contains("pool 'a' has no nodes") })
        let twoPools = issues("listen: 127.0.0.1:9000\npools: [{name: a, nodes: [http://h:1]}, {name: b, nodes: [http://h:2]}]")
        #expect(twoPools.contains { $0.message.contains("no default_pool") })
    }

    @Test func yamlSyntaxErrorsCarryTheirLine() {
        let found = issues("listen: 127.0.0.1:9000\npools:\n  - name: a\n   nodes: [oops")
        #expect(found.count == 1)
        #expect(found[0].line >= 3)
        #expect(found[0].message.hasPrefix("not valid YAML"))
    }

    @Test func theExampleConfigInTheRepositoryIsValid() throws {
        let url = URLPaths.repositoryRoot.appendingPathComponent("config/spillway.example.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        let config = try load(text).get()
        #expect(!config.pools.isEmpty)
    }
}

@Suite("Durations and addresses")
struct ValueParserTests {
    @Test(arguments: [("250ms", 250), ("2s", 2000), ("1.5s", 1500), ("2m", 120_000), ("1h", 3_600_000), ("0s", 0)])
    func durations(text: String, milliseconds: Int64) {
        #expect(ValueParsers.duration(text) == .milliseconds(milliseconds))
    }

    @Test(arguments: ["5", "s", "-1s", "5 minutes", "1d", ""])
    func notDurations(text: String) {
        #expect(ValueParsers.duration(text) == nil)
    }

    @Test func hostPorts() {
        #expect(ValueParsers.hostPort("127.0.0.1:9000")! == ("127.0.0.1", 9000))
        #expect(ValueParsers.hostPort("[::1]:80")! == ("::1", 80))
        #expect(ValueParsers.hostPort("node-1.storage.internal:9000")! == ("node-1.storage.internal", 9000))
        #expect(ValueParsers.hostPort("127.0.0.1:0") == nil)
        #expect(ValueParsers.hostPort("127.0.0.1:0", allowPortZero: true)! == ("127.0.0.1", 0))
        #expect(ValueParsers.hostPort("127.0.0.1") == nil)
        #expect(ValueParsers.hostPort("256.0.0.1:1") == nil)
        #expect(ValueParsers.hostPort("host:http") == nil)
    }

    @Test func bucketGlobs() {
        #expect(ValueParsers.globMatches("ckpt-*", "ckpt-run7"))
        #expect(ValueParsers.globMatches("*-logs", "prod-logs"))
        #expect(ValueParsers.globMatches("a?c", "abc"))
        #expect(ValueParsers.globMatches("*", "anything"))
        #expect(!ValueParsers.globMatches("ckpt-*", "other"))
        #expect(!ValueParsers.globMatches("a?c", "ac"))
    }
}

@Suite("Pool size")
struct PoolSizeTests {
    @Test func aPoolHoldsAtMost64Nodes() {
        let nodes = (1...65).map { "http://10.0.0.\($0):9000" }.joined(separator: ", ")
        guard case .failure(let error) = ConfigLoader.load(text: "listen: 127.0.0.1:9000\npools: [{name: big, nodes: [\(nodes)]}]", file: "f")
        else {
            Issue.record("65 nodes were accepted")
            return
        }
        #expect(error.issues.contains { $0.message.contains("at most 64") })
    }
}
