import SpillwayHTTP1
import Testing

func withBytes<T>(_ text: String, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
    let bytes = Array(text.utf8)
    return try bytes.withUnsafeBytes { try body($0) }
}

func parseRequest(_ text: String) -> Result<RequestHead, HTTP1Error> {
    withBytes(text) { b in Result { () throws(HTTP1Error) in try RequestHead.parse(b) } }
}

func slice(_ text: String, _ r: Range<Int>) -> String {
    String(decoding: Array(text.utf8)[r], as: UTF8.self)
}

@Suite("Parsing request heads")
struct RequestHeadTests {
    @Test func aTypicalS3RequestIsReadWithoutCopying() throws {
        let text = "PUT /bucket/a%2Bb%20c?partNumber=1&uploadId=x HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"
            + "Content-Length: 5\r\nExpect: 100-continue\r\nx-amz-copy-source: /b/k\r\nAuthorization: AWS4 x\r\n\r\n"
        let head = try parseRequest(text).get()
        #expect(head.method == .put)
        #expect(slice(text, head.targetRange) == "/bucket/a%2Bb%20c?partNumber=1&uploadId=x")
        #expect(slice(text, head.hostRange!) == "127.0.0.1:9000")
        #expect(head.contentLength == 5)
        #expect(head.bodyFraming == .length(5))
        #expect(head.expectsContinue)
        #expect(head.hasCopySource)
        #expect(head.keepAlive)
        #expect(head.dropLines.isEmpty)
        #expect(head.length == text.utf8.count)
    }

    @Test(arguments: [
        ("GET", HTTPMethodKind.get), ("HEAD", .head), ("PUT", .put), ("POST", .post), ("DELETE", .delete),
        ("OPTIONS", .other), ("get", .other),
    ])
    func methods(name: String, kind: HTTPMethodKind) throws {
        #expect(try parseRequest("\(name) / HTTP/1.1\r\nHost: h\r\n\r\n").get().method == kind)
    }

    @Test func hopByHopLinesAreMarkedForDropping() throws {
        let text = "GET /b/k HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\nKeep-Alive: 5\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Other: 1\r\n\r\n"
        let head = try parseRequest(text).get()
        #expect(head.dropLines.map { slice(text, $0) } == [
            "Connection: keep-alive, close\r\n", "Keep-Alive: 5\r\n", "TE: trailers\r\n", "Upgrade: h2c\r\n",
        ])
        #expect(!head.keepAlive)
    }

    @Test func fieldsNamedByConnectionAreDroppedToo() throws {
        let text = "GET /b/k HTTP/1.1\r\nX-Secret: 1\r\nHost: h\r\nConnection: x-secret, close\r\nX-Kept: 2\r\n\r\n"
        let head = try parseRequest(text).get()
        #expect(head.dropLines.map { slice(text, $0) } == ["X-Secret: 1\r\n", "Connection: x-secret, close\r\n"])
        let response = "HTTP/1.1 200 OK\r\nConnection: Trace-Id\r\ntrace-id: 7\r\nContent-Length: 0\r\n\r\n"
        let parsed = try withBytes(response) { b in try ResponseHead.parse(b) }
        #expect(parsed.dropLines.map { slice(response, $0) } == ["Connection: Trace-Id\r\n", "trace-id: 7\r\n"])
    }

    @Test func keepAliveFollowsTheVersion() throws {
        #expect(try parseRequest("GET / HTTP/1.1\r\nHost: h\r\n\r\n").get().keepAlive)
        #expect(try !parseRequest("GET / HTTP/1.0\r\n\r\n").get().keepAlive)
        #expect(try parseRequest("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").get().keepAlive)
    }

    @Test func chunkedRequestsKeepTheirTransferEncodingForForwarding() throws {
        let head = try parseRequest("PUT /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n").get()
        #expect(head.isChunked)
        #expect(head.bodyFraming == .chunked)
        #expect(head.dropLines.isEmpty)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP1Error.ambiguousFraming("both Content-Length and Transfer-Encoding")),
        ("GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", .ambiguousFraming("Content-Length values differ")),
        ("GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding),
        ("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", .ambiguousFraming("more than one Transfer-Encoding")),
        ("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", .malformed("bad Content-Length")),
        ("GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", .malformed("bad Content-Length")),
        ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", .malformed("bad header name")),
        ("GET / HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n", .malformed("obsolete line folding")),
        ("GET / HTTP/1.1\r\nX: a\u{1}b\r\n\r\n", .malformed("control character in a header value")),
        ("GET / HTTP/1.1\nX: a\r\n\r\n", .malformed("bad request line ending")),
        ("GET / HTTP/2.0\r\n\r\n", .unsupportedVersion),
        ("GET  / HTTP/1.1\r\n\r\n", .malformed("bad request target")),
        ("GET /a b HTTP/1.1\r\n\r\n", .malformed("bad HTTP version")),
        ("G(T / HTTP/1.1\r\n\r\n", .malformed("bad request line")),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .malformed("two Host headers")),
    ])
    func malformedOrAmbiguousHeadsAreRefused(text: String, error: HTTP1Error) {
        #expect(parseRequest(text) == .failure(error))
    }

    @Test func equalDuplicateLengthsAreAccepted() throws {
        #expect(try parseRequest("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n").get().contentLength == 3)
    }

    @Test func theHeadEndIsFoundAcrossEveryPosition() {
        let text = "GET /x HTTP/1.1\r\nHost: a\r\n\r\nBODY"
        withBytes(text) { b in
            #expect(HeadScanner.endOfHead(b) == text.utf8.count - 4)
            for start in 0..<(text.utf8.count - 7) {
                #expect(HeadScanner.endOfHead(b, from: start) == text.utf8.count - 4)
            }
        }
        withBytes("GET / HTTP/1.1\r\nHost: a\r\n\r") { #expect(HeadScanner.endOfHead($0) == nil) }
        withBytes("\r\n\r\n") { #expect(HeadScanner.endOfHead($0) == 4) }
        withBytes("a\r\r\n\r\n") { #expect(HeadScanner.endOfHead($0) == 6) }
        withBytes("a\n\r\n\r\n") { #expect(HeadScanner.endOfHead($0) == 6) }
    }
}
