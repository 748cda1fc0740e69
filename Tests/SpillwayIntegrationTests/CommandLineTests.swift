import Foundation
import Testing

@Suite("The spillway command line")
struct CommandLineTests {
    @Test func versionAndHelpAnswer() throws {
        let version = try run(Paths.spillway, ["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
        let help = try run(Paths.spillway, ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("spillway serve --listen 127.0.0.1:9000 http://127.0.0.1:9001"))
        #expect(help.stdout.contains("check"))
        let serveHelp = try run(Paths.spillway, ["serve", "--help"])
        #expect(serveHelp.stdout.contains("--config"))
        #expect(serveHelp.stdout.contains("--listen"))
    }

    /// The example names files (certificates, secrets) and environment variables: given them, as a
    /// deployment would, it checks; without them, each missing one is reported at its line.
    @Test func checkAcceptsTheExampleConfigGivenItsFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-example-\(UUID().uuidString)")
        let pki = try TestPKI(name: "example", directory: dir.appendingPathComponent("tls"))
        let server = try pki.issue("server")
        let client = try pki.issue("gateway-client", names: ["spillway"], client: true)
        for (from, to) in [(server.certificate, "tls/server.pem"), (server.key, "tls/server.key"), (pki.caCertificate, "tls/clients-ca.pem"),
                           (client.certificate, "tls/gateway-client.pem"), (client.key, "tls/gateway-client.key")] where from != dir.appendingPathComponent(to).path {
            try? FileManager.default.removeItem(at: dir.appendingPathComponent(to))
            try FileManager.default.copyItem(atPath: from, toPath: dir.appendingPathComponent(to).path)
        }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("secrets"), withIntermediateDirectories: true)
        try "archive-secret\n".write(to: dir.appendingPathComponent("secrets/archive.secret"), atomically: true, encoding: .utf8)
        try "archive-token\n".write(to: dir.appendingPathComponent("secrets/archive.token"), atomically: true, encoding: .utf8)
        for file in ["spillway.example.yaml", "clients.example.yaml"] {
            try FileManager.default.copyItem(at: Paths.root.appendingPathComponent("config/\(file)"), to: dir.appendingPathComponent(file))
        }
        let config = dir.appendingPathComponent("spillway.example.yaml").path
        let r = try run(Paths.spillway, ["check", "--config", config], environment: ["CLOUD_SECRET": "s", "CLOUD_SESSION_TOKEN": "t"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("OK (4 pool(s), 6 node(s), 2 route(s))"))

        try FileManager.default.removeItem(at: dir.appendingPathComponent("secrets"))
        let missing = try run(Paths.spillway, ["check", "--config", config], environment: ["CLOUD_SECRET": "", "CLOUD_SESSION_TOKEN": "t"])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("cannot read the secret file \(dir.path)/secrets/archive.secret"))
        #expect(missing.stdout.contains("cannot read the session token file"))
        #expect(missing.stdout.contains("the environment variable CLOUD_SECRET (the pool's secret) is not set"))
    }

    @Test func checkPrintsEveryProblemWithFileLineAndFix() throws {
        let path = try Paths.temporaryFile("broken.yaml", contents: """
            listen: 127.0.0.1:9000
            timeouts:
              conect: 2s
            pools:
              - name: hot
                nodes: [http://127.0.0.1:9001, "ftp://nope"]
            routes:
              - match: { bucket: x }
                pool: cold
            """)
        let r = try run(Paths.spillway, ["check", "--config", path])
        #expect(r.status == 1)
        #expect(r.stdout.contains("\(path):3:3: error: unknown key 'conect' in timeouts"))
        #expect(r.stdout.contains("did you mean 'connect'?"))
        #expect(r.stdout.contains("\(path):6:"))
        #expect(r.stdout.contains("\(path):9:11: error: route 'route-1' sends to pool 'cold', which is not defined"))
        #expect(r.stdout.contains("3 problem(s)"))
    }

    @Test func checkReportsAMissingFile() throws {
        let r = try run(Paths.spillway, ["check", "--config", "/nonexistent/spillway.yaml"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("/nonexistent/spillway.yaml:1:1: error: cannot read the file"))
    }

    @Test func serveRefusesABadConfigAndDoesNotStart() throws {
        let path = try Paths.temporaryFile("bad.yaml", contents: "listen: nowhere\npools: []\n")
        let r = try run(Paths.spillway, ["serve", "--config", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(path):1:9: error: listen address 'nowhere' is not host:port"))
    }

    @Test func quickModeRefusesBadNodeURLs() throws {
        let r = try run(Paths.spillway, ["serve", "--listen", "127.0.0.1:0", "ftp://files:21"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("a node URL must start with http:// or https://"))
        let both = try run(Paths.spillway, ["serve", "--config", "x.yaml", "--listen", "127.0.0.1:0"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("not both"))
    }
}
