import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Talks to a gateway's admin listener over HTTP, as an operator's script would.
struct Admin: Sendable {
    let base: String
    let token: String?

    struct Reply: Sendable {
        let status: Int
        let body: String
        var json: JSON { (try? JSON(parsing: body)) ?? .null }
    }

    func call(_ method: String, _ path: String, body: String? = nil, token: String?? = .none) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!, timeoutInterval: 10)
        request.httpMethod = method
        if let body { request.httpBody = Data(body.utf8) }
        if let bearer = token ?? self.token { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Reply(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: String(decoding: data, as: UTF8.self))
    }

    func status() async throws -> JSON {
        let reply = try await call("GET", "/api/status")
        guard reply.status == 200 else { throw AdminError.refused("/api/status", reply.status, reply.body) }
        return reply.json
    }

    func metrics() async throws -> Metrics {
        let reply = try await call("GET", "/metrics", token: .some(nil))
        guard reply.status == 200 else { throw AdminError.refused("/metrics", reply.status, reply.body) }
        return Metrics(text: reply.body)
    }
}

enum AdminError: Error, CustomStringConvertible {
    case refused(String, Int, String)
    var description: String {
        switch self {
        case .refused(let path, let status, let body): "\(path) answered \(status): \(body)"
        }
    }
}

/// The Prometheus text format, read back: every sample with its labels.
struct Metrics: Sendable {
    struct Sample: Sendable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    let samples: [Sample]

    init(text: String) {
        samples = text.split(separator: "\n").compactMap { line -> Sample? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                return nil
            }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
            var labels: [String: String] = [:]
            // Label values here never hold '",' so a plain split is enough.
            for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: "\",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            return Sample(name: String(series[..<brace]), labels: labels, value: value)
        }
    }

    /// The sum of `name` over every series whose labels include `matching`.
    func sum(_ name: String, _ matching: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && matching.allSatisfy { sample.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
    }

    func has(_ name: String) -> Bool { samples.contains { $0.name == name } }
}

extension Gateway {
    /// The gateway's `/metrics` now (it needs an admin listener: `admin:` or `--admin`).
    func metrics() throws -> Metrics { Metrics(text: try adminGET("/metrics")) }

    /// The gateway's `/api/status` now (reading needs no token unless one is configured).
    func status(token: String? = nil) throws -> JSON { try JSON(parsing: try adminGET("/api/status", token: token)) }

    private func adminGET(_ path: String, token: String? = nil) throws -> String {
        guard let base = adminEndpoint else { throw GatewayError.didNotStart("no admin listener:\n\(log)") }
        var request = URLRequest(url: URL(string: base + path)!, timeoutInterval: 10)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<String, Error> = .success("")
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                result = .failure(error)
            } else if let http = response as? HTTPURLResponse, http.statusCode != 200 {
                result = .failure(AdminError.refused(path, http.statusCode, String(decoding: data ?? Data(), as: UTF8.self)))
            } else {
                result = .success(String(decoding: data ?? Data(), as: UTF8.self))
            }
            done.signal()
        }.resume()
        done.wait()
        return try result.get()
    }
}
