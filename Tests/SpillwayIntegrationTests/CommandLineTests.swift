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

    @Test func checkAcceptsTheExampleConfig() throws {
        let r = try run(Paths.spillway, ["check", "--config", Paths.root.appendingPathComponent("config/spillway.example.yaml").path])
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("OK (2 pool(s), 4 node(s), 2 route(s))"))
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
        let r = try run(Paths.spillway, ["serve", "--listen", "127.0.0.1:0", "https://secure:443"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("https:// nodes are not supported yet"))
        let both = try run(Paths.spillway, ["serve", "--config", "x.yaml", "--listen", "127.0.0.1:0"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("not both"))
    }
}
