import SpillwayS3
import Testing

@Suite("S3 error responses")
struct S3ErrorTests {
    @Test func xmlCarriesCodeMessageResourceAndRequestID() {
        let error = S3Error(.serviceUnavailable, "No node <could> take it & more")
        let xml = error.xmlBody(resource: "/bucket/a&b", requestID: "ABC123")
        #expect(xml.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"))
        #expect(xml.contains("<Code>ServiceUnavailable</Code>"))
        #expect(xml.contains("<Message>No node &lt;could&gt; take it &amp; more</Message>"))
        #expect(xml.contains("<Resource>/bucket/a&amp;b</Resource>"))
        #expect(xml.contains("<RequestId>ABC123</RequestId>"))
    }

    @Test(arguments: [
        (S3Error.Code.serviceUnavailable, 503), (.slowDown, 503), (.badGateway, 502), (.gatewayTimeout, 504),
        (.badRequest, 400), (.internalError, 500),
    ])
    func statusFollowsCode(code: S3Error.Code, status: Int) {
        #expect(code.status == status)
    }
}

@Suite struct ErrorCodeSnifferTests {
    func sniff(_ text: String) -> String? { Array(text.utf8).withUnsafeBytes { ErrorCodeSniffer.code(in: $0) } }

    @Test func findsTheCodeOfAnS3ErrorBody() {
        let body = #"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"#
        #expect(sniff(body) == "NoSuchKey")
        #expect(sniff("<Error><Code>SlowDown</Code></Error>") == "SlowDown")
    }

    @Test func ignoresBodiesThatAreNotS3Errors() {
        #expect(sniff("<html><body>502 Bad Gateway</body></html>") == nil)
        #expect(sniff("<Code>two words</Code>") == nil)
        #expect(sniff("<Code>Unterminated") == nil)
        #expect(sniff("") == nil)
        #expect(sniff(String(repeating: " ", count: ErrorCodeSniffer.window) + "<Code>Late</Code>") == nil)
    }
}
