import NIOCore
import NIOEmbedded
import Testing

@testable import SpillwayProxy

/// Coalesced GETs on `EmbeddedChannel`s: clients and node connections on one loop, messages
/// between a flight and its readers run by hand (`loop.run()`).
@Suite("The runner: coalesced reads")
struct FlightRunnerTests {
    static let route = """
        routes:
          - pool: p
            coalesce: { enabled: true, ring: 64KiB }
        """
    static let get = "GET /b/k HTTP/1.1\r\nHost: h\r\n\r\n"
    static let head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"v1\"\r\n\r\n"

    @Test func aFollowerChecksTheFlightsETagUnderItsOwnSignatureThenSharesTheFetch() throws {
        let h = try RunnerHarness(Self.route)
        try h.send(Self.get)
        #expect(try h.nodeReceived(0) == Self.get)
        try h.nodeSends(0, Self.head + "hello")
        h.loop.run()
        #expect(try h.received() == Self.head + "hello")
        // The follower's own request, for one byte of the object the flight has.
        let follower = try h.addClient()
        try follower.writeInbound(ByteBuffer(string: Self.get))
        h.loop.run()
        let trial = try h.nodeReceived(1)
        #expect(trial.contains("Range: bytes=0-0\r\n") && trial.contains("If-Match: \"v1\"\r\n"), "\(trial)")
        try h.nodeSends(1, "HTTP/1.1 206 Partial Content\r\nContent-Length: 1\r\nContent-Range: bytes 0-0/10\r\nETag: \"v1\"\r\n\r\nh")
        h.loop.run()
        #expect(try h.received(on: follower) == Self.head + "hello", "the follower is sent what the flight had")
        try h.nodeSends(0, "world")
        h.loop.run()
        #expect(try h.received() == "world")
        #expect(try h.received(on: follower) == "world")
        #expect(h.dialled == 2, "one fetch of the object, one trial")
    }

    @Test func aFollowerWhoseTrialStorageRefusesGetsStoragesAnswerAndNoBytes() throws {
        let h = try RunnerHarness(Self.route)
        try h.send(Self.get)
        try h.nodeSends(0, Self.head + "hello")
        h.loop.run()
        #expect(try h.received() == Self.head + "hello")
        let follower = try h.addClient()
        try follower.writeInbound(ByteBuffer(string: Self.get))
        h.loop.run()
        _ = try h.nodeReceived(1)
        let denied = "HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\n<Denied/>"
        try h.nodeSends(1, denied)
        h.loop.run()
        #expect(try h.received(on: follower) == denied)
        try h.nodeSends(0, "world")
        h.loop.run()
        #expect(try h.received() == "world", "the leader's download goes on")
        #expect(try h.received(on: follower) == "", "nothing of the object")
    }

    @Test func aReaderWhoseObjectChangedFetchesTheNewOneAlone() throws {
        let h = try RunnerHarness(Self.route)
        try h.send(Self.get)
        try h.nodeSends(0, Self.head + "hello")
        h.loop.run()
        let follower = try h.addClient()
        try follower.writeInbound(ByteBuffer(string: Self.get))
        h.loop.run()
        _ = try h.nodeReceived(1)
        try h.nodeSends(1, "HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\n\r\n")
        h.loop.run()
        // Its own GET, as it sent it.
        let own = h.dialled - 1
        #expect(try h.nodeReceived(own) == Self.get)
        let fresh = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nETag: \"v2\"\r\n\r\nnew"
        try h.nodeSends(own, fresh)
        h.loop.run()
        #expect(try h.received(on: follower) == fresh)
    }

    @Test func theLeaderHangingUpLeavesTheFetchToItsFollower() throws {
        let h = try RunnerHarness(Self.route)
        try h.send(Self.get)
        try h.nodeSends(0, Self.head + "hello")
        h.loop.run()
        let follower = try h.addClient()
        try follower.writeInbound(ByteBuffer(string: Self.get))
        h.loop.run()
        try h.nodeSends(1, "HTTP/1.1 206 Partial Content\r\nContent-Length: 1\r\nContent-Range: bytes 0-0/10\r\nETag: \"v1\"\r\n\r\nh")
        h.loop.run()
        _ = try h.received(on: follower)
        try h.client.close().wait()
        h.loop.run()
        #expect(h.node(0).isActive, "the fetch goes on")
        try h.nodeSends(0, "world")
        h.loop.run()
        #expect(try h.received(on: follower) == "world")
    }
}
