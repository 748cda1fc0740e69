import SpillwayHTTP1
import Testing

extension Result {
    var failure: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}

/// The framing rules that keep a message from being read one way by the gateway and another by a
/// lenient peer: each is a refusal a smuggling attempt runs into.
@Suite("Refusing ambiguous framing")
struct HostileFramingTests {
    @Test(arguments: ["Content-Length", "transfer-encoding", "HOST", "close, Content-Length"])
    func connectionCannotNameAFramingFieldOrHost(option: String) {
        let request = "POST /b/k HTTP/1.1\r\nHost: h\r\nConnection: \(option)\r\nContent-Length: 0\r\n\r\n"
        #expect(parseRequest(request).failure == .ambiguousFraming("Connection names a framing field or Host"))
        let response = "HTTP/1.1 200 OK\r\nConnection: \(option)\r\nContent-Length: 0\r\n\r\n"
        #expect(parseResponse(response).failure == .ambiguousFraming("Connection names a framing field or Host"))
    }

    @Test func connectionOptionsAreCapped() {
        let options = (0..<40).map { "x\($0)" }.joined(separator: ",")
        #expect(parseRequest("GET / HTTP/1.1\r\nHost: h\r\nConnection: \(options)\r\n\r\n").failure == .malformed("too many Connection options"))
    }

    @Test(arguments: ["Content_Length: 5", "transfer_encoding: chunked", "HO_T: x"])
    func underscoreLookalikesOfFramingFieldsAreRefused(line: String) {
        let result = parseRequest("GET / HTTP/1.1\r\nHost: h\r\n\(line)\r\n\r\n")
        if line.hasPrefix("HO_T") {
            #expect(result.failure == nil)  // not a lookalike: '_' stands for '-', and "ho-t" is no field we read
        } else {
            #expect(result.failure == .malformed("a header name with '_' that reads as a framing field"))
        }
    }

    @Test func headLimitsAreEnforced() {
        let limits = HeadLimits(maxHeadBytes: 64 * 1024, maxHeaders: 4, maxTargetBytes: 16)
        let many = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"
        #expect(withBytes(many) { b in Result { () throws(HTTP1Error) in try RequestHead.parse(b, limits: limits) } }.failure == .tooManyHeaders)
        let long = "GET /0123456789abcdefg HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(withBytes(long) { b in Result { () throws(HTTP1Error) in try RequestHead.parse(b, limits: limits) } }.failure == .targetTooLong)
        #expect(HTTP1Error.targetTooLong.status == 414 && HTTP1Error.tooManyHeaders.status == 431)
    }

    @Test func http11NeedsHostAndAnOriginFormTarget() {
        #expect(parseRequest("GET / HTTP/1.1\r\nX: 1\r\n\r\n").failure == .malformed("no Host header"))
        #expect(parseRequest("GET / HTTP/1.0\r\n\r\n").failure == nil)
        #expect(parseRequest("GET http://elsewhere/b/k HTTP/1.1\r\nHost: h\r\n\r\n").failure == .malformed("the request target must start with /"))
        #expect(parseRequest("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: x\r\nAuthorization: y\r\n\r\n").failure == .malformed("two Authorization headers"))
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\nX: 1\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 200 O\u{0}K\r\n\r\n", "HTTP/1.1 200 OK\rX\r\n\r\n",
    ])
    func statusLinesAreStrict(text: String) {
        #expect(parseResponse(text).failure != nil)
    }

    @Test func aStatusLineMayOmitItsReason() throws {
        #expect(try parseResponse("HTTP/1.1 204\r\n\r\n").get().status == 204)
        #expect(try parseResponse("HTTP/1.1 200 \r\n\r\n").get().status == 200)
    }

    @Test(arguments: [
        "5 \r\nhello\r\n0\r\n\r\n", "5;\r\nhello\r\n0\r\n\r\n", "5;a\u{0}\r\nhello\r\n0\r\n\r\n", "5x\r\nhello\r\n0\r\n\r\n",
        "0\r\n\nGET / HTTP/1.1\r\n\r\n", "0\r\nX: 1\nY: 2\r\n\r\n", "0\r\n folded\r\n\r\n", "0\r\nContent-Length: 9\r\n\r\n",
        "0\r\ntransfer_encoding: x\r\n\r\n", "0\r\nHost: x\r\n\r\n", "0\r\nX : 1\r\n\r\n", "0\r\nX: a\u{1}b\r\n\r\n",
    ])
    func chunkExtensionsAndTrailersAreStrict(body: String) {
        #expect(throws: HTTP1Error.self) { _ = try track(.chunked, body, step: 1) }
    }

    @Test func validExtensionsAndTrailersPass() throws {
        for body in ["5;a=b\r\nhello\r\n0\r\n\r\n", "5 ; a=\"b c\";d\r\nhello\r\n0\r\nX-Checksum: abc\r\nHostname: y\r\n\r\n"] {
            let r = try track(.chunked, body, step: 3)
            #expect(r.complete && r.taken == body.utf8.count)
        }
    }

    @Test func theDataOfAChunkedBodyCanBeTakenWithoutItsFraming() throws {
        var tracker = BodyTracker(.chunked)
        let text = Array("5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nT: 1\r\n\r\n".utf8)
        var data: [UInt8] = []
        var offset = 0
        while offset < text.count {
            let piece = min(4, text.count - offset)
            let n = try text[offset..<(offset + piece)].withUnsafeBytes { b in
                try tracker.consume(b) { r in data += b[r] }
            }
            offset += n
        }
        #expect(String(decoding: data, as: UTF8.self) == "hello world")
        #expect(tracker.isComplete)
    }
}
