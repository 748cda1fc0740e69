import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// cluster/lenientnode.py: a node that parses HTTP/1.1 as permissively as Go's net/http does and
/// records every request it read, with the exact bytes it framed it from. What a lenient server
/// would take as a second request shows up here as a second request.
final class LenientNode: @unchecked Sendable {
    private let process = Process()
    private let stdin = Pipe()
    let port: Int
    let controlPort: Int

    /// One request as the node read it.
    struct Request: Sendable {
        let method: String
        let target: String
        let headers: [(name: String, value: String)]
        let body: Data
        let raw: Data
        let complete: Bool
        let connection: Int

        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    }

    /// A response the node sends instead of its usual 200 (raw bytes, as they go on the wire).
    struct Scripted: Sendable {
        enum When: String, Sendable { case any, range, norange }
        var raw: String
        var when: When = .any
        var close = false
        /// Bytes sent on the same connection `delayMillis` after the response.
        var then: String?
        var delayMillis = 0
        /// Over TLS, with `close`: end without `close_notify` (the TCP connection just ends).
        var abruptTLSClose = false
    }

    private let secure: Bool

    /// `tls`: the node speaks TLS with this certificate.
    init(tls: TestPKI.Leaf? = nil) throws {
        secure = tls != nil
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Paths.root.appendingPathComponent("cluster/lenientnode.py").path]
            + (tls.map { ["--tls-cert", $0.certificate, "--tls-key", $0.key] } ?? [])
        let out = Pipe()
        process.standardInput = stdin
        process.standardOutput = out
        let reader = LineReader(out.fileHandleForReading)
        try process.run()
        guard let line = reader.waitForLine(containing: "control_port", timeout: 20) else {
            throw GatewayError.didNotStart("lenient node")
        }
        let info = try JSON(parsing: line)
        port = info["port"].int ?? 0
        controlPort = info["control_port"].int ?? 0
    }

    var url: String { "\(secure ? "https" : "http")://127.0.0.1:\(port)" }

    func requests() throws -> [Request] {
        try JSON(parsing: control("GET", "/requests")).array.map { r in
            Request(
                method: r["method"].string ?? "", target: r["target"].string ?? "",
                headers: r["headers"].array.map { ($0[0].string ?? "", $0[1].string ?? "") },
                body: Data(base64Encoded: r["body"].string ?? "") ?? Data(),
                raw: Data(base64Encoded: r["raw"].string ?? "") ?? Data(),
                complete: r["complete"].bool ?? false, connection: r["connection"].int ?? 0)
        }
    }

    func reset() throws { _ = try control("POST", "/reset") }

    func script(_ responses: [Scripted]) throws {
        let items = responses.map { s -> [String: Any] in
            var item: [String: Any] = ["raw": Data(s.raw.utf8).base64EncodedString(), "when": s.when.rawValue, "close": s.close]
            if s.abruptTLSClose { item["tls_close"] = "abrupt" }
            if let then = s.then {
                item["then_raw"] = Data(then.utf8).base64EncodedString()
                item["delay_ms"] = s.delayMillis
            }
            return item
        }
        let body = try JSONSerialization.data(withJSONObject: ["responses": items])
        _ = try control("POST", "/script", body: body)
    }

    private func control(_ method: String, _ path: String, body: Data? = nil) throws -> String {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(controlPort)\(path)")!, timeoutInterval: 10)
        request.httpMethod = method
        request.httpBody = body
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<String, Error> = .success("")
        URLSession.shared.dataTask(with: request) { data, _, error in
            result = error.map { .failure($0) } ?? .success(String(decoding: data ?? Data(), as: UTF8.self))
            done.signal()
        }.resume()
        done.wait()
        return try result.get()
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
    }
}
