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
    static let notModified = "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n"

    /// A leader's `request` in flight (its node has sent `answer`), and a second client that sent the
    /// same request and is waiting on its trial: that client. What the leader and the nodes were
    /// sent so far is left to read.
    static func followerOfAFlight(_ h: RunnerHarness, _ request: String = get, answer: String = head + "hello") throws -> EmbeddedChannel {
        try h.send(request)
        try h.nodeSends(0, answer)
        h.loop.run()
        let follower = try h.addClient()
        try follower.writeInbound(ByteBuffer(string: request))
        h.loop.run()
        return follower
    }

    @Test func aFollowerChecksTheFlightsETagUnderItsOwnSignatureThenSharesTheFetch() throws {
        let h = try RunnerHarness(Self.route)
        let follower = try Self.followerOfAFlight(h)
        #expect(try h.nodeReceived(0) == Self.get)
        #expect(try h.received() == Self.head + "hello")
        // The follower's own request, as it sent it, unless it is still the flight's object.
        #expect(try h.nodeReceived(1) == "GET /b/k HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"v1\"\r\n\r\n")
        try h.nodeSends(1, Self.notModified)
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
        let follower = try Self.followerOfAFlight(h)
        #expect(try h.received() == Self.head + "hello")
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
        let follower = try Self.followerOfAFlight(h)
        _ = try h.nodeReceived(1)
        // Not the flight's object any more: storage's answer to the follower's own request is the new one.
        let fresh = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nETag: \"v2\"\r\n\r\nnew"
        try h.nodeSends(1, fresh)
        h.loop.run()
        #expect(try h.received(on: follower) == fresh)
        #expect(h.dialled == 2, "no request beyond the trial")
        try h.nodeSends(0, "world")
        h.loop.run()
        #expect(try h.received().hasSuffix("hello" + "world"), "the flight's reader keeps the object it began")
    }

    @Test func aFlightHeldWholeCanBeJoinedAfterItsFetchEndedWhileAReaderRemains() throws {
        let h = try RunnerHarness(Self.route)
        let first = try Self.followerOfAFlight(h)
        try h.nodeSends(0, "world")
        h.loop.run()
        #expect(try h.received() == Self.head + "hello" + "world", "the leader is done")
        // The first follower's check is still out, so the flight (all ten bytes in its ring) is
        // still there: a reader arriving now joins it rather than fetching the object again.
        let second = try h.addClient()
        try second.writeInbound(ByteBuffer(string: Self.get))
        h.loop.run()
        let sent = try (0..<h.dialled).map { try h.nodeReceived($0) }
        let checks = sent.indices.filter { sent[$0].contains("If-None-Match: \"v1\"") }
        #expect(checks.count == 2 && sent.joined().components(separatedBy: "GET ").count == 4, "two checks, no second fetch: \(sent)")
        for i in checks { try h.nodeSends(i, Self.notModified) }
        h.loop.run()
        #expect(try h.received(on: first) == Self.head + "hello" + "world")
        #expect(try h.received(on: second) == Self.head + "hello" + "world")
    }

    @Test func theLeaderHangingUpLeavesTheFetchToItsFollower() throws {
        let h = try RunnerHarness(Self.route)
        let follower = try Self.followerOfAFlight(h)
        try h.nodeSends(1, Self.notModified)
        h.loop.run()
        _ = try h.received(on: follower)
        try h.client.close().wait()
        h.loop.run()
        #expect(h.node(0).isActive, "the fetch goes on")
        try h.nodeSends(0, "world")
        h.loop.run()
        #expect(try h.received(on: follower) == "world")
    }

    @Test func followersOfOneRangeShareItsFetchAndTryWithTheirOwnRange() throws {
        let h = try RunnerHarness(Self.route)
        let ranged = "GET /b/k HTTP/1.1\r\nHost: h\r\nRange: bytes=2-6\r\nIf-Match: \"v1\"\r\n\r\n"
        let partial = "HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nContent-Range: bytes 2-6/10\r\nETag: \"v1\"\r\n\r\n"
        let follower = try Self.followerOfAFlight(h, ranged, answer: partial + "ll")
        #expect(try h.nodeReceived(0) == ranged)
        #expect(try h.received() == partial + "ll")
        // Its signed fields (the Range among them) go as they came; only the condition is added.
        #expect(try h.nodeReceived(1) == String(ranged.dropLast()) + "If-None-Match: \"v1\"\r\n\r\n")
        try h.nodeSends(1, Self.notModified)
        h.loop.run()
        #expect(try h.received(on: follower) == partial + "ll")
        try h.nodeSends(0, "o w")
        h.loop.run()
        #expect(try h.received() == "o w")
        #expect(try h.received(on: follower) == "o w")
        // Another range is another read.
        let other = try h.addClient()
        try other.writeInbound(ByteBuffer(string: "GET /b/k HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n\r\n"))
        h.loop.run()
        // (on a new connection, or on one kept alive)
        let sent = try (0..<h.dialled).map { try h.nodeReceived($0) }.joined()
        #expect(sent == "GET /b/k HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n\r\n")
    }

    @Test func followersOfAnOpenRangeLongerThanTheRingFetchAlone() throws {
        let h = try RunnerHarness(Self.route)
        let open = "GET /b/k HTTP/1.1\r\nHost: h\r\nRange: bytes=16-\r\n\r\n"
        try h.send(open)
        #expect(try h.nodeReceived(0) == open)
        let follower = try h.addClient()
        try follower.writeInbound(ByteBuffer(string: open))
        h.loop.run()
        #expect(h.dialled == 1, "waiting for the flight's answer")
        let long = "HTTP/1.1 206 Partial Content\r\nContent-Length: 100000\r\nContent-Range: bytes 16-100015/100016\r\nETag: \"v1\"\r\n\r\n"
        try h.nodeSends(0, long + "abc")
        h.loop.run()
        #expect(try h.received() == long + "abc")
        // More than the ring (64 KiB) holds: the follower's own request, as it sent it.
        #expect(h.dialled == 2)
        #expect(try h.nodeReceived(1) == open)
        #expect(try h.received(on: follower) == "")
    }

    @Test func onlySingleByteRangesAreSharedAndTheirLengthsNeverTrap() {
        func range(_ value: String) -> FlightKey.SingleRange? { FlightKey.singleRange(Array(value.utf8)) }
        #expect(range("bytes=0-8388607")?.length == 8 << 20)
        #expect(range(" bytes=5-5 ")?.length == 1)
        #expect(range("bytes=-100")?.length == 100)
        #expect(range("bytes=10-") == .init(length: nil), "open-ended: the object's length decides")
        #expect(range("bytes=0-1,4-5") == nil)
        #expect(range("bytes=6-5") == nil)
        #expect(range("bytes=-0") == nil)
        #expect(range("bytes=-") == nil)
        #expect(range("items=0-1") == nil)
        #expect(range("bytes=0-99999999999999999999999") == nil)
        #expect(range("bytes=-9223372036854775807")?.length == Int.max)
        #expect(range("bytes=0-9223372036854775807") == nil)
    }
}
