import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real Prometheus server (Debian's `prometheus`) scraping one target every second.
final class PrometheusServer: @unchecked Sendable {
    private let process = Process()
    let port: Int

    init(scraping target: String) throws {
        try requireTool("prometheus", install: "apt-get install prometheus")
        port = try freeLoopbackPort()
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: spillway
                static_configs:
                  - targets: ["\(target)"]
            """
        let path = try Paths.temporaryFile("prometheus.yml", contents: config)
        let storage = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("tsdb").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "prometheus", "--config.file=\(path)", "--storage.tsdb.path=\(storage)", "--web.listen-address=127.0.0.1:\(port)",
            "--log.level=warn",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// The value of an instant PromQL query, once it has one; nil if none came within `timeout`.
    func value(of query: String, timeout: TimeInterval = 20, until accept: (Double) -> Bool = { _ in true }) async -> Double? {
        let deadline = Date().addingTimeInterval(timeout)
        var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: query)]
        while Date() < deadline {
            if let (data, _) = try? await URLSession.shared.data(from: components.url!), let json = try? JSON(parsing: String(decoding: data, as: UTF8.self)),
                let text = json["data"]["result"][0]["value"][1].string, let value = Double(text), accept(value)
            {
                return value
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return nil
    }

    /// How many series an instant PromQL query returns (nil: Prometheus refused the query, with why).
    func seriesCount(of query: String) async -> Result<Int, QueryError> {
        var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: query)]
        guard let (data, _) = try? await URLSession.shared.data(from: components.url!),
            let json = try? JSON(parsing: String(decoding: data, as: UTF8.self))
        else { return .failure(QueryError(reason: "no answer")) }
        guard json["status"].string == "success" else { return .failure(QueryError(reason: json["error"].string ?? "refused")) }
        return .success(json["data"]["result"].array.count)
    }

    struct QueryError: Error { let reason: String }

    /// Whether Prometheus itself sees the target as up (it scraped and parsed `/metrics`).
    func targetIsUp() async -> Bool {
        await value(of: "up{job=\"spillway\"}", until: { $0 == 1 }) == 1
    }

    deinit {
        // Test processes may run children with SIGTERM blocked; SIGKILL always works.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
