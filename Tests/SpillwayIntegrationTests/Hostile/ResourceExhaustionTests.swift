import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Clients that hold on: pipelines never read, heads that trickle, bodies at a byte a second,
/// uploads that stop, readers that pause. Each ends the client's own request and costs the
/// gateway bounded memory, and none is blamed on storage.
@Suite("Hostile input: slow, stalled and pipelining clients", .serialized)
struct ResourceExhaustionTests {
    /// Sends `request` `count` times on one connection without ever reading, for at most `seconds`.
    func pipelineWithoutReading(_ gateway: Gateway, _ request: String, count: Int, seconds: Double) throws -> Int {
        let connection = try RawConnection(port: gateway.port, receiveBuffer: 4096)
        let batch = Array(String(repeating: request, count: 100).utf8)
        var sent = 0
        let deadline = Date().addingTimeInterval(seconds)
        while sent < count && Date() < deadline {
            // Non-blocking: once the gateway stops reading, the kernel buffers fill and sending stops.
            let n = batch.withUnsafeBytes { Glibc.send(connection.descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if n <= 0 { usleep(20_000); continue }
            sent += 100 * n / batch.count
        }
        usleep(500_000)  // let the gateway do whatever it will with what arrived
        return sent
    }

    @Test func aClientThatPipelinesAndNeverReadsCostsBoundedMemory() throws {
        let node = try LenientNode()
        // Answered locally (no credentials: 403) and proxied (through to the node).
        let refusing = try gatewayInFront(of: [node], extra: "auth: { verify_signatures: true, credentials: { AK: s } }")
        let before = residentKiB(pid: refusing.process.processIdentifier)
        _ = try pipelineWithoutReading(refusing, "GET /b/k HTTP/1.1\r\nHost: x\r\n\r\n", count: 200_000, seconds: 4)
        let growth = residentKiB(pid: refusing.process.processIdentifier) - before
        #expect(growth < 16 * 1024, "RSS grew \(growth) KiB answering a pipeline nobody reads")
        let proxying = try gatewayInFront(of: [node])
        let idle = residentKiB(pid: proxying.process.processIdentifier)
        _ = try pipelineWithoutReading(proxying, "GET /b/k HTTP/1.1\r\nHost: x\r\n\r\n", count: 100_000, seconds: 4)
        let proxied = residentKiB(pid: proxying.process.processIdentifier) - idle
        #expect(proxied < 16 * 1024, "RSS grew \(proxied) KiB proxying a pipeline nobody reads")
        // The gateway still answers everyone else.
        let other = try RawConnection(port: proxying.port)
        other.send("GET /b/k HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(other.responses(1).first?.status == 200)
    }

    @Test func aHeadThatTricklesIsCutAtTheHeadDeadline() throws {
        let node = try LenientNode()
        let gateway = try gatewayInFront(of: [node], extra: "timeouts: { request_head: 1s, client_idle: 60s }")
        let connection = try RawConnection(port: gateway.port)
        let started = Date()
        var answer: [UInt8] = []
        for byte in Array("GET /b/k HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 100) {
            guard connection.send([byte]) else { break }
            answer += connection.read(idle: 0.25)
            if connection.closedByPeer || Date().timeIntervalSince(started) > 20 { break }
        }
        #expect(connection.closedByPeer, "the gateway kept a trickling head open for \(Date().timeIntervalSince(started)) s")
        let response = RawResponse.parseAll(answer).first
        #expect(response?.status == 400)
        #expect(response?.bodyText.contains("<Code>RequestTimeout</Code>") == true)
        #expect(try node.requests().isEmpty)
    }

    @Test func aBodyBelowTheMinimumRateEndsTheRequestWithoutBlamingTheNode() async throws {
        let node = try LenientNode()
        let gateway = try gatewayInFront(of: [node], extra: """
            http: { min_client_rate: 1KiB, min_rate_window: 2s }
            admin: { listen: 127.0.0.1:0, token: t }
            """)
        let connection = try RawConnection(port: gateway.port)
        connection.send("PUT /b/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        var answer: [UInt8] = []
        let started = Date()
        while !connection.closedByPeer && Date().timeIntervalSince(started) < 20 {
            guard connection.send([UInt8(ascii: "x")]) else { break }
            answer += connection.read(idle: 0.5)
        }
        #expect(connection.closedByPeer)
        let response = RawResponse.parseAll(answer).first
        #expect(response?.status == 400)
        #expect(response?.bodyText.contains("<Code>RequestTimeout</Code>") == true)
        let status = try await Admin(base: try #require(gateway.adminEndpoint), token: "t").status()
        let nodeStatus = status["pools"][0]["nodes"][0]
        #expect(nodeStatus["ejections"].int == 0)
        #expect(nodeStatus["healthy"].bool == true)
    }

    @Test func stalledUploadsAreTheClientsFaultNotTheNodes() async throws {
        let node = try LenientNode()
        let gateway = try gatewayInFront(of: [node], extra: """
            timeouts: { idle: 1s }
            admin: { listen: 127.0.0.1:0, token: t }
            """, pool: "    outlier: { consecutive_failures: 3 }")
        var connections: [RawConnection] = []
        for i in 0..<12 {
            let c = try RawConnection(port: gateway.port)
            c.send("PUT /b/stalled-\(i) HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "x", count: 500))
            connections.append(c)
        }
        for c in connections {
            let response = c.responses(1, idle: 5).first
            #expect(response?.status == 400)
            #expect(response?.bodyText.contains("<Code>RequestTimeout</Code>") == true)
        }
        let admin = Admin(base: try #require(gateway.adminEndpoint), token: "t")
        let nodeStatus = try await admin.status()["pools"][0]["nodes"][0]
        #expect(nodeStatus["ejections"].int == 0, "a healthy node was ejected for clients that stalled")
        #expect(try await admin.metrics().sum("spillway_retries_total") == 0)
        // The node still serves.
        let next = try RawConnection(port: gateway.port)
        next.send("GET /b/k HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(next.responses(1).first?.status == 200)
    }

    @Test func aReaderThatPausesIsClosedNotResumedElsewhere() async throws {
        let nodes = [try BulkNode(), try BulkNode()]
        let gateway = try Gateway(config: """
            listen: 127.0.0.1:0
            workers: 1
            timeouts: { idle: 1s }
            pools: [{ name: bulk, nodes: [\(nodes.map(\.url).joined(separator: ", "))], health: { preset: none } }]
            admin: { listen: 127.0.0.1:0, token: t }
            """)
        let connection = try RawConnection(port: gateway.port, receiveBuffer: 4096)
        connection.send("GET /x/\(64 << 20) HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = connection.read(idle: 0.2, upTo: 1)  // the head arrives; then the client stops reading
        try await Task.sleep(for: .seconds(3))
        let got = connection.read(idle: 2)
        #expect(connection.closedByPeer, "the gateway kept a paused reader open")
        #expect(got.count < 64 << 20)
        let metrics = try await Admin(base: try #require(gateway.adminEndpoint), token: "t").metrics()
        #expect(metrics.sum("spillway_resumes_total") == 0, "a paused reader made the gateway read the object again from another node")
        #expect(try await Admin(base: gateway.adminEndpoint!, token: "t").status()["pools"][0]["nodes"].array.allSatisfy { $0["ejections"].int == 0 })
    }
}
