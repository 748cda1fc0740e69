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
