import Foundation

/// The 3-node moto cluster (cluster/s3cluster.py) as a child process. It exits when our end of its
/// stdin closes, so a crashed test run leaves nothing behind.
final class Cluster: @unchecked Sendable {
    let process: Process
    private let stdin: Pipe
    let info: JSON
    /// The raw JSON line, handed to client scripts as-is.
    let infoJSON: String
    private let output: LineReader
    private let errors: LineReader

    var nodePorts: [Int] { info["nodes"].array.compactMap { $0["port"].int } }
    /// `https` when the nodes serve TLS.
    var scheme: String { info["tls"].bool == true ? "https" : "http" }
    var nodeURLs: [String] { nodePorts.map { "\(scheme)://127.0.0.1:\($0)" } }

    /// A gateway config with one pool, `cluster`, of these nodes (no health checks: tests set
    /// faults and count what the nodes served without probes or ejections in between), listener
    /// and admin on free ports. `pool` adds keys to the pool, `extra` sections to the file.
    func config(pool: String = "", _ extra: String = "") -> String {
        """
        listen: 127.0.0.1:0
        admin: { listen: 127.0.0.1:0 }
        pools:
          - name: cluster
            nodes: [\(nodeURLs.joined(separator: ", "))]
            health: { preset: none }
        \(pool.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        \(extra)
        """
    }
    var controlPort: Int { info["control_port"].int ?? 0 }
    var accessKey: String { info["access_key"].string ?? "" }
    var secretKey: String { info["secret_key"].string ?? "" }

    /// `tls`: the nodes serve HTTPS with this certificate (its CA is the test's `TestPKI`).
    /// `legacy`: the nodes refuse `aws-chunked` uploads, as storage before trailing checksums does.
    init(nodes: Int = 3, tls: TestPKI.Leaf? = nil, legacy: Bool = false) throws {
        try requireTool("python3", install: "apt-get install python3")
        let check = try run("python3", ["-c", "import moto, boto3, werkzeug, flask"])
        if check.status != 0 {
            throw CommandError.missingTool("moto[server] and boto3 (PyPI)", "pip install 'moto[server]' boto3 awscli")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Paths.cluster, "--ports", Array(repeating: "0", count: nodes).joined(separator: ","), "--exit-with-stdin"]
            + (tls.map { ["--tls-cert", $0.certificate, "--tls-key", $0.key] } ?? []) + (legacy ? ["--legacy"] : [])
        stdin = Pipe()
        let out = Pipe()
        let err = Pipe()
        process.standardInput = stdin
        process.standardOutput = out
        process.standardError = err
        output = LineReader(out.fileHandleForReading)
        errors = LineReader(err.fileHandleForReading)
        try process.run()
        guard let line = output.waitForLine(containing: "\"control_port\"", timeout: 60) else {
            process.terminate()
            throw ClusterError.didNotStart(errors.all)
        }
        infoJSON = line
        info = try JSON(parsing: line)
    }

    func stopNode(_ index: Int) throws { try control("POST", "/nodes/\(index)/stop") }
    /// The URL that stops every node at once (for a client to call mid-workload).
    var stopAllURL: String { "http://127.0.0.1:\(controlPort)/nodes/stop" }

    /// What the nodes saw of uploads' bodies (cluster/s3cluster.py's UploadBodyCheck), by kind.
    func uploads() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for (name, value) in try state()["uploads"].object { out[name] = value.int ?? 0 }
        return out
    }
    func startNode(_ index: Int) throws { try control("POST", "/nodes/\(index)/start") }

    /// Makes one node misbehave (see cluster/s3cluster.py for the modes), e.g. `["mode": "slowdown"]`.
    func setFault(node: Int, _ fault: String) throws { try control("POST", "/nodes/\(node)/fault", body: fault) }

    /// A fault for whichever node serves the next matching request, e.g. the next GET.
    func setFault(_ fault: String) throws { try control("POST", "/fault", body: fault) }

    /// Requests each node has served (health probes not counted).
    func requestsPerNode() throws -> [Int] { try state()["nodes"].array.map { $0["requests"].int ?? 0 } }

    /// The cluster's view now: which nodes are up and how many connections each has open.
    func state() throws -> JSON { try JSON(parsing: try control("GET", "/state")) }

    @discardableResult
    private func control(_ method: String, _ path: String, body: String = "") throws -> String {
        let result = try run("python3", [
            "-c",
            "import sys,urllib.request;print(urllib.request.urlopen(urllib.request.Request(sys.argv[1],method=sys.argv[2],data=sys.argv[3].encode() or None)).read().decode())",
            "http://127.0.0.1:\(controlPort)\(path)", method, body,
        ])
        guard result.status == 0 else { throw CommandError.failed("cluster control \(path)", result) }
        return result.stdout
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
    }
}

enum ClusterError: Error, CustomStringConvertible {
    case didNotStart(String)
    var description: String {
        switch self {
        case .didNotStart(let stderr): "the moto cluster did not start:\n\(stderr)"
        }
    }
}

/// One cluster shared by the tests that do not stop nodes (each uses its own buckets).
actor SharedCluster {
    static let shared = SharedCluster()
    private var cluster: Cluster?

    func get() throws -> Cluster {
        if let cluster { return cluster }
        let started = try Cluster()
        cluster = started
        return started
    }
}
