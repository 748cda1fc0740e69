import Foundation
import Testing

/// Responses from a node that breaks HTTP/1.1: the gateway answers 502 rather than forward a head a
/// client could misread, and never lets one response's bytes be taken for another's.
@Suite("Hostile input: response heads and framing", .serialized)
struct ResponseFramingTests {
    let node: LenientNode
    let gateway: Gateway

    // Each test gets its own node and gateway: a gateway held in a static would outlive the test run.
    init() throws {
        node = try LenientNode()
        gateway = try gatewayInFront(of: [node], pool: "    retry: { max_attempts: 1 }")
    }

    /// The client's answer to one GET when the node sends `raw` (and then `then`).
    func answer(_ raw: String, then: String? = nil, delayMillis: Int = 0, client: String = "GET /b/k HTTP/1.1\r\nHost: x\r\n\r\n", count: Int = 1) throws -> [RawResponse] {
        try node.reset()
        try node.script([.init(raw: raw, close: then == nil, then: then, delayMillis: delayMillis)])
        let connection = try RawConnection(port: gateway.port)
        connection.send(client)
        return connection.responses(count, idle: 3)
    }

    @Test func malformedStatusLinesAreA502() throws {
        let bad = [
            "HTTP/1.1 200 OK\nX-Injected: 1\r\nContent-Length: 2\r\n\r\nok",  // bare LF in the reason phrase
            "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.1 200 O\u{0}K\r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX: \(String(repeating: "v", count: 80 * 1024))\r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.1 200 OK\r\n" + (0..<1000).map { "X-\($0): v\r\n" }.joined() + "Content-Length: 2\r\n\r\nok",
        ]
        for raw in bad {
            let responses = try answer(raw)
            #expect(responses.map(\.status) == [502], "for \(raw.prefix(60).debugDescription)")
            #expect(responses.first?.bodyText.contains("<Code>BadGateway</Code>") == true)
        }
    }

    @Test func switchingProtocolsIsRefusedAndTheConnectionNotReused() throws {
        let responses = try answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\nConnection: upgrade\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")
        #expect(responses.map(\.status) == [502])
    }

    @Test func interimResponsesLoseTheirHopByHopLinesAndAreCounted() throws {
        let early = "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\nConnection: X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n\r\n"
        let responses = try answer(early + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", count: 2)
        #expect(responses.map(\.status) == [103, 200])
        #expect(responses.first?.header("link") == "</a>")
        #expect(responses.first?.header("x-hop") == nil && responses.first?.header("keep-alive") == nil && responses.first?.header("connection") == nil)
        // Endless 1xx: refused after a few.
        let flood = String(repeating: "HTTP/1.1 102 Processing\r\n\r\n", count: 50) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let flooded = try answer(flood, count: 51)
        #expect(flooded.last?.status == 502)
        #expect(flooded.count < 20)
    }

    @Test func chunkedResponsesReachHTTP10ClientsDechunked() throws {
        let responses = try answer(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", client: "GET /b/k HTTP/1.0\r\n\r\n")
        #expect(responses.count == 1)
        #expect(responses.first?.status == 200)
        #expect(responses.first?.header("transfer-encoding") == nil)
        #expect(responses.first?.bodyText == "hello world")
    }

    @Test func bytesAfterACompleteResponseNeverReachTheNextRequest() throws {
        // The node answers, then 50 ms later sends a response nobody asked for: the parked
        // connection is closed, and the client's next request gets a real answer.
        try node.reset()
        try node.script([.init(raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst", then: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil", delayMillis: 50)])
        let connection = try RawConnection(port: gateway.port)
        connection.send("GET /b/one HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(connection.responses(1, idle: 3).first?.bodyText == "first")
        usleep(200_000)
        connection.send("GET /b/two HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(connection.responses(1, idle: 3).first?.bodyText == "seen GET /b/two\n")
    }

    @Test func aConnectionWithUnreadBytesIsNotReused() throws {
        // The stray response comes in the same write as the real one, which fills exactly the
        // gateway's first read (8 KiB): when the real one ends, the stray bytes wait unread in the
        // socket, and the pipelined second request must not be sent on that connection.
        let body = { (n: Int) in String(repeating: "a", count: n) }
        func head(_ length: Int) -> String { "HTTP/1.1 200 OK\r\nContent-Length: \(length)\r\n\r\n" }
        let length = 8192 - head(8000).utf8.count
        try node.reset()
        try node.script([.init(raw: head(length) + body(length) + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")])
        let connection = try RawConnection(port: gateway.port)
        connection.send("GET /b/one HTTP/1.1\r\nHost: x\r\n\r\nGET /b/two HTTP/1.1\r\nHost: x\r\n\r\n")
        let both = connection.responses(2, idle: 3)
        #expect(both.map(\.bodyText) == [body(length), "seen GET /b/two\n"])
    }

    @Test func aHealthyKeepAliveConnectionIsReused() async throws {
        // The guard against poisoned connections must not cost the reuse of healthy ones.
        let gateway = try gatewayInFront(of: [node], extra: "admin: { listen: 127.0.0.1:0, token: t }")
        let connection = try RawConnection(port: gateway.port)
        for i in 0..<20 {
            connection.send("GET /b/\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(connection.responses(1).first?.status == 200)
        }
        let metrics = try await Admin(base: try #require(gateway.adminEndpoint), token: "t").metrics()
        #expect(metrics.sum("spillway_node_connections_opened_total") == 1)
        #expect(metrics.sum("spillway_node_connections_reused_total") == 19)
    }
}
