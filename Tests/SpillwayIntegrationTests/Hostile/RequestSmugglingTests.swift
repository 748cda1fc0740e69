import Foundation
import Testing

/// The classic request-smuggling matrix, sent through the gateway to a node that parses as
/// leniently as Go's net/http. Each request is either refused with an S3 error (and the node reads
/// nothing complete) or reaches the node as exactly one request with exactly the client's bytes.
@Suite("Hostile input: request framing and smuggling", .serialized)
struct RequestSmugglingTests {
    let node: LenientNode
    let gateway: Gateway

    // Each test gets its own node and gateway: a gateway held in a static would outlive the test run.
    init() throws {
        node = try LenientNode()
        gateway = try gatewayInFront(of: [node])
    }

    func through(_ raw: String, _ expected: NodeSaw, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expectThrough(gateway, node, raw, expected, sourceLocation: sourceLocation)
    }

    static let head = "POST /b/k HTTP/1.1\r\nHost: x\r\n"

    @Test func contentLengthWithTransferEncodingIsRefusedInEitherOrder() throws {
        try through(Self.head + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", .nothing(status: 400))
        try through(Self.head + "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nG", .nothing(status: 400))
    }

    @Test func transferEncodingVariantsAreRefused() throws {
        let variants: [(String, Int)] = [
            ("Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n", 400),
            ("Transfer-Encoding: xchunked\r\n", 501),
            ("Transfer-Encoding : chunked\r\n", 400),
            ("Transfer-Encoding: chunked, identity\r\n", 501),
            ("Transfer-Encoding: identity, chunked\r\n", 501),
            ("Transfer-Encoding: \"chunked\"\r\n", 501),
            ("Transfer-Encoding:\r\n chunked\r\n", 501),  // the empty coding is refused before the fold is reached
            ("Transfer_Encoding: chunked\r\n", 400),
            ("Content_Length: 5\r\n", 400),
            (" Transfer-Encoding: chunked\r\n", 400),
            ("Transfer-Encoding: chunked\rX: y\r\n", 400),
        ]
        for (header, status) in variants {
            try through(Self.head + header + "\r\n5\r\nhello\r\n0\r\n\r\n", .nothing(status: status))
        }
    }

    @Test func validTransferEncodingSpellingsPassExactly() throws {
        for header in ["Transfer-Encoding: chunked", "Transfer-Encoding:\tchunked", "transfer-encoding: CHUNKED", "Transfer-Encoding: chunked "] {
            let raw = Self.head + header + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            try through(raw, .exactly(raw))
        }
    }

    @Test func contentLengthMustBeOneDecimalNumber() throws {
        for value in ["5, 5", "+5", "0x5", "-1", "5 5", "99999999999999999999", ""] {
            try through(Self.head + "Content-Length: \(value)\r\n\r\nhello", .nothing(status: 400))
        }
        try through(Self.head + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", .nothing(status: 400))
        let same = Self.head + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
        try through(same, .exactly(same))
    }

    @Test func obsoleteFoldingAndBareLineEndingsAreRefused() throws {
        try through("GET /b/k HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", .nothing(status: 400))
        try through("GET /b/k HTTP/1.1\r\nHost: x\r\nX-A: 1\nX-B: 2\r\n\r\n", .nothing(status: 400))
        try through("GET /b/k HTTP/1.1\r\nHost: x\rX-B: 2\r\n\r\n", .nothing(status: 400))
    }

    @Test func chunkSizesAndExtensionsAreStrict() throws {
        let bad = [
            " 5\r\nhello\r\n0\r\n\r\n", "0x5\r\nhello\r\n0\r\n\r\n", "-1\r\nhello\r\n0\r\n\r\n", "5 \r\nhello\r\n0\r\n\r\n",
            "fffffffffffffffff\r\nhello\r\n0\r\n\r\n", "5\nhello\r\n0\r\n\r\n", "5;\r\nhello\r\n0\r\n\r\n",
            "5;a\u{0}b\r\nhello\r\n0\r\n\r\n", "5junk\r\nhello\r\n0\r\n\r\n", "5\r\nhello!\r\n0\r\n\r\n", "5\r\nhello\n0\r\n\r\n",
        ]
        for body in bad {
            try through(Self.head + "Transfer-Encoding: chunked\r\n\r\n" + body, .nothing(status: 400))
        }
        for body in ["5;a=b\r\nhello\r\n0\r\n\r\n", "5 ; a=\"b c\"\r\nhello\r\n0\r\n\r\n"] {
            let raw = Self.head + "Transfer-Encoding: chunked\r\n\r\n" + body
            try through(raw, .exactly(raw))
        }
    }

    @Test func trailersGetTheStrictnessOfHeaderLines() throws {
        let bad = [
            // A bare LF starting the trailer section: a lenient node ends the message there and
            // runs the rest as a request of its own.
            "0\r\n\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
            "0\r\nX-T: 1\nGET /smuggled HTTP/1.1\r\n\r\n",
            "0\r\nX-T: 1\r\n folded\r\n\r\n",
            "0\r\nContent-Length: 40\r\n\r\n",
            "0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "0\r\n: empty\r\n\r\n",
        ]
        for body in bad {
            try through(Self.head + "Transfer-Encoding: chunked\r\n\r\n" + body, .nothing(status: 400))
        }
        let good = Self.head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n"
        try through(good, .exactly(good))
    }

    @Test func connectionCannotRemoveFramingHeadersOrHost() throws {
        // With `Content-Length` dropped as hop-by-hop, the body would reach the node as a request of its own.
        let smuggled = "DELETE /b/victim HTTP/1.1\r\nHost: x\r\n\r\n"
        try through(Self.head + "Connection: Content-Length\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n" + smuggled, .nothing(status: 400))
        try through(Self.head + "Connection: close, transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .nothing(status: 400))
        try through("GET /b/k HTTP/1.1\r\nHost: x\r\nConnection: Host\r\n\r\n", .nothing(status: 400))
        let options = (0..<1000).map { "x\($0)" }.joined(separator: ", ")
        try through("GET /b/k HTTP/1.1\r\nHost: x\r\nConnection: \(options)\r\n\r\n", .nothing(status: 400))
        // An ordinary hop-by-hop option is dropped, and the field it names with it.
        try through("GET /b/k HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\r\n", .exactly("GET /b/k HTTP/1.1\r\nHost: x\r\n\r\n"))
    }

    @Test func http11NeedsHostAndTargetsAreOriginForm() throws {
        try through("GET /b/k HTTP/1.1\r\nX: y\r\n\r\n", .nothing(status: 400))
        try through("GET http://other/b/k HTTP/1.1\r\nHost: x\r\n\r\n", .nothing(status: 400))
        try through("GET * HTTP/1.1\r\nHost: x\r\n\r\n", .nothing(status: 400))
        let http10 = "GET /b/k HTTP/1.0\r\n\r\n"
        try through(http10, .exactly(http10))
    }

    @Test func headLimitsAnswerWith431Or414() throws {
        let many = (0..<10_000).map { "X-\($0): v\r\n" }.joined()
        try through("GET /b/k HTTP/1.1\r\nHost: x\r\n" + many + "\r\n", .nothing(status: 431))
        let long = String(repeating: "a", count: 20_000)
        try through("GET /b/\(long) HTTP/1.1\r\nHost: x\r\n\r\n", .nothing(status: 414))
        try through("GET /b/k HTTP/1.1\r\nHost: x\r\nX: \(String(repeating: "v", count: 70_000))\r\n\r\n", .nothing(status: 431))
    }
}
