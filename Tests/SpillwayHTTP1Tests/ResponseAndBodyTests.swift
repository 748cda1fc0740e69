import SpillwayHTTP1
import Testing

func parseResponse(_ text: String) -> Result<ResponseHead, HTTP1Error> {
    withBytes(text) { b in Result { () throws(HTTP1Error) in try ResponseHead.parse(b) } }
}

/// Feeds `text` to a tracker in pieces of `step` bytes; returns bytes taken and whether it completed.
func track(_ framing: BodyFraming, _ text: String, step: Int) throws -> (taken: Int, complete: Bool) {
    var tracker = BodyTracker(framing)
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count && !tracker.isComplete {
        let piece = min(step, bytes.count - offset)
        let n = try bytes[offset..<(offset + piece)].withUnsafeBytes { b in try tracker.consume(b) }
        offset += n
        if n < piece { break }  // the message ended inside this piece
    }
    return (offset, tracker.isComplete)
}

@Suite("Parsing response heads and following bodies")
struct ResponseAndBodyTests {
    @Test func aNodeResponseDropsOnlyConnectionSpecificLines() throws {
        let text = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 4096\r\nConnection: keep-alive\r\nETag: \"x\"\r\n\r\n"
        let head = try parseResponse(text).get()
        #expect(head.status == 200)
        #expect(head.bodyFraming(requestWasHEAD: false) == .length(4096))
        #expect(head.bodyFraming(requestWasHEAD: true) == .none)
        #expect(head.dropLines.map { slice(text, $0) } == ["Connection: keep-alive\r\n"])
        #expect(head.keepAlive)
    }

    @Test func framingFollowsRFC9112() throws {
        #expect(try parseResponse("HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n").get().bodyFraming(requestWasHEAD: false) == .none)
        #expect(try parseResponse("HTTP/1.1 304 Not Modified\r\n\r\n").get().bodyFraming(requestWasHEAD: false) == .none)
        #expect(try parseResponse("HTTP/1.1 100 Continue\r\n\r\n").get().isInterim)
        // Both framings at once may be response splitting: refused (RFC 9112 §6.3).
        #expect(parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n").failure
            == .ambiguousFraming("both Content-Length and Transfer-Encoding"))
        let chunked = try parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").get()
        #expect(chunked.bodyFraming(requestWasHEAD: false) == .chunked)
        #expect(chunked.transferEncodingLine != nil)
        #expect(try parseResponse("HTTP/1.1 200 OK\r\n\r\n").get().bodyFraming(requestWasHEAD: false) == .untilClose)
        #expect(try parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").get().bodyFraming(requestWasHEAD: false) == .untilClose)
        #expect(try !parseResponse("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n").get().keepAlive)
        #expect(try !parseResponse("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").get().keepAlive)
    }

    @Test(arguments: ["HTTP/1.1 20 OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 200 OK\n\r\n",
                      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"])
    func badResponsesAreRefused(text: String) {
        #expect(throws: HTTP1Error.self) { try parseResponse(text).get() }
    }

    @Test(arguments: [1, 2, 3, 7, 1000])
    func chunkedBodiesAreFollowedToTheirEndWhateverTheReadSizes(step: Int) throws {
        let body = "4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nx-amz-checksum-crc32: abc\r\n\r\n"
        let r = try track(.chunked, body + "NEXT", step: step)
        #expect(r.complete)
        #expect(r.taken == body.utf8.count)
    }

    @Test func lengthBodiesStopAtTheirLength() throws {
        let r = try track(.length(5), "helloNEXT", step: 3)
        #expect(r.complete && r.taken == 5)
        let partial = try track(.length(10), "hello", step: 2)
        #expect(!partial.complete && partial.taken == 5)
    }

    @Test func untilCloseTakesEverything() throws {
        var t = BodyTracker(.untilClose)
        let n = try Array("abc".utf8).withUnsafeBytes { b in try t.consume(b) }
        #expect(n == 3 && !t.isComplete && t.endsAtClose)
    }

    @Test(arguments: [
        "4\r\nWikiX\r\n0\r\n\r\n",  // data longer than its size
        "G\r\nx\r\n",  // not hex
        "4\nWiki\r\n0\r\n\r\n",  // bare LF
        "\r\n",  // empty size
        "1000000000000000\r\n",  // 16 hex digits
        "0\r\nbad\ntrailer\r\n\r\n",
    ])
    func malformedChunkingIsRefused(body: String) {
        #expect(throws: HTTP1Error.self) { _ = try track(.chunked, body, step: 1) }
    }

    @Test func longChunkExtensionsAreCappedPerChunk() throws {
        let ext = String(repeating: "e", count: BodyTracker.maxOverhead + 10)
        #expect(throws: HTTP1Error.self) { _ = try track(.chunked, "1;\(ext)\r\nx\r\n0\r\n\r\n", step: 4096) }
        // Many chunks each with a modest extension (aws-chunked signatures) are fine.
        let sig = ";chunk-signature=" + String(repeating: "a", count: 64)
        let many = String(repeating: "1\(sig)\r\nx\r\n", count: 2000) + "0\(sig)\r\n\r\n"
        let r = try track(.chunked, many, step: 8192)
        #expect(r.complete && r.taken == many.utf8.count)
    }
}
