import NIOCore
import NIOEmbedded
import Testing

@testable import SpillwayProxy

/// The runner on `EmbeddedChannel`s: what the client and the nodes see, with time advanced by
/// hand. No sockets, no sleeps.
@Suite("The exchange, run: bytes between a client and its nodes")
struct RunnerTests {
    static let get = "GET /b/k HTTP/1.1\r\nHost: h\r\n\r\n"

    @Test func aGETGoesThroughByteForByteAndTheNodeConnectionIsReused() throws {
        let h = try RunnerHarness(nodes: 1)
        try h.send("GET /b/k HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nX-Amz-Date: 1\r\n\r\n")
        #expect(try h.nodeReceived(0) == "GET /b/k HTTP/1.1\r\nHost: h\r\nX-Amz-Date: 1\r\n\r\n")
        try h.nodeSends(0, response(body: "hello", headers: "ETag: \"e\"\r\nKeep-Alive: timeout=5\r\n"))
        #expect(try h.received() == "HTTP/1.1 200 X\r\nContent-Length: 5\r\nETag: \"e\"\r\n\r\nhello")
        try h.send(Self.get)
        #expect(h.dialled == 1)
        #expect(try h.nodeReceived(0) == Self.get)
    }

    @Test func aFailedAttemptIsRetriedAfterItsBackoffOnAnotherNode() throws {
        let h = try RunnerHarness(pool: "retry: { backoff_base: 100ms, backoff_max: 100ms }")
        try h.send(Self.get)
        let first = h.nodeIndex(0)
        try h.node(0).close().wait()  // reset before any answer
        #expect(h.dialled == 1, "retried before its backoff")
        h.advance(.milliseconds(100))
        #expect(h.dialled == 2)
        #expect(h.nodeIndex(1) != first)
        try h.nodeSends(1, response(body: "ok"))
        #expect(try h.responses().map { $0.hasPrefix("HTTP/1.1 200") } == [true])
    }

    @Test func aSlowReadIsHedgedAndTheFirstAnswerWins() throws {
        let h = try RunnerHarness(pool: "hedge: { enabled: true, min_delay: 20ms }")
        // Sixteen quick answers give the pool a latency percentile to hedge at.
        for i in 0..<16 {
            try h.send(Self.get)
            try h.answerPending(response(body: "\(i)"))
        }
        _ = try h.received()
        let before = h.dialled
        try h.send(Self.get)
        let slow = (0..<h.dialled).last { try! !h.nodeReceived($0).isEmpty }!
        h.advance(.milliseconds(19))
        #expect(h.dialled <= before + 1, "hedged before its delay")
        h.advance(.milliseconds(1))
        try h.answerPending(response(body: "hedge"))
        #expect(try h.received().hasSuffix("hedge"))
        #expect(!h.node(slow).isActive, "the slower attempt's connection is dropped")
    }

    @Test func aDownloadResetMidBodyResumesFromAnotherNode() throws {
        let h = try RunnerHarness()
        try h.send(Self.get)
        try h.nodeSends(0, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"v1\"\r\n\r\n0123")
        try h.node(0).close().wait()
        #expect(h.dialled == 2)
        let resumed = try h.nodeReceived(1)
        #expect(resumed.contains("Range: bytes=4-9\r\n") && resumed.contains("If-Match: \"v1\"\r\n"))
        try h.nodeSends(1, "HTTP/1.1 206 Partial Content\r\nContent-Length: 6\r\nContent-Range: bytes 4-9/10\r\n\r\n456789")
        #expect(try h.received() == "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"v1\"\r\n\r\n0123456789")
        #expect(h.client.isActive)
    }

    @Test func aResumeAnswered412ClosesTheClientNeverSplicing() throws {
        let h = try RunnerHarness()
        try h.send(Self.get)
        try h.nodeSends(0, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"v1\"\r\n\r\n0123")
        try h.node(0).close().wait()
        try h.nodeSends(1, response(412, body: ""))
        #expect(try h.received() == "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"v1\"\r\n\r\n0123")
        #expect(!h.client.isActive)
    }

    @Test func continueIsRelayedBeforeTheBodyIsSent() throws {
        let h = try RunnerHarness()
        try h.send("PUT /b/k HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        #expect(try h.nodeReceived(0) == "PUT /b/k HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        try h.nodeSends(0, "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(try h.received() == "HTTP/1.1 100 Continue\r\n\r\n")
        try h.send("hello")
        #expect(try h.nodeReceived(0) == "hello")
        try h.nodeSends(0, response(body: ""))
        #expect(try h.received() == "HTTP/1.1 200 X\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let h = try RunnerHarness(nodes: 1)
        try h.send("GET /b/one HTTP/1.1\r\nHost: h\r\n\r\nGET /b/two HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(try h.nodeReceived(0) == "GET /b/one HTTP/1.1\r\nHost: h\r\n\r\n")
        try h.nodeSends(0, response(body: "one"))
        #expect(try h.nodeReceived(0) == "GET /b/two HTTP/1.1\r\nHost: h\r\n\r\n")
        try h.nodeSends(0, response(body: "two"))
        #expect(try h.responses().map { $0.hasSuffix("one") || $0.hasSuffix("two") } == [true, true])
    }

    @Test func aClientThatHangsUpReleasesItsNode() throws {
        let h = try RunnerHarness()
        try h.send(Self.get)
        let node = h.nodeIndex(0)
        #expect(h.inFlight(node: node) == 1)
        try h.client.close().wait()
        #expect(!h.node(0).isActive)
        #expect(h.inFlight(node: node) == 0)
    }

    @Test func readBandwidthIsPacedByTheClock() throws {
        let h = try RunnerHarness("default_limits: { bandwidth: { read: 16KiB } }")
        let body = String(repeating: "x", count: 64 * 1024)
        try h.send(Self.get)
        try h.nodeSends(0, "HTTP/1.1 200 X\r\nContent-Length: 65536\r\n\r\n")
        for _ in 0..<16 { try h.nodeSends(0, String(repeating: "x", count: 4096)) }
        // The bucket's burst (16 KiB) goes at once; the rest waits until the clock pays for it.
        let now = try h.received().utf8.count
        #expect(now < 32 * 1024)
        h.advance(.seconds(1))
        let later = try h.received().utf8.count
        #expect(later > 8 * 1024 && later < 40 * 1024)
        h.advance(.seconds(3))
        let rest = try h.received().utf8.count
        #expect(now + later + rest == body.utf8.count + "HTTP/1.1 200 X\r\nContent-Length: 65536\r\n\r\n".utf8.count)
    }

    @Test func aRequestThatWaitsInTheQueueTooLongIsShed() throws {
        let h = try RunnerHarness(pool: "protection: { max_in_flight_per_node: 1, queue: { max: 10, timeout: 100ms } }")
        // Three nodes with room for one request each.
        var clients: [EmbeddedChannel] = []
        for _ in 0..<3 {
            let c = EmbeddedChannel(loop: h.loop)
            try c.pipeline.syncOperations.addHandler(ClientConnection(worker: h.worker))
            try c.connect(to: SocketAddress(ipAddress: "192.0.2.2", port: 40001)).wait()
            try c.writeInbound(ByteBuffer(string: Self.get))
            clients.append(c)
        }
        #expect(h.dialled == 3)
        try h.send(Self.get)
        #expect(h.dialled == 3)
        h.advance(.milliseconds(100))
        let shed = try h.received()
        #expect(shed.hasPrefix("HTTP/1.1 503 Service Unavailable"))
        #expect(shed.contains("<Code>SlowDown</Code>") && shed.contains("Retry-After: 1"))
    }
}
