import NIOCore
import SpillwayS3

/// Renders an `S3Error` as a complete HTTP/1.1 response: S3's XML body, `x-amz-request-id`,
/// `Retry-After` when the error says when to come back.
enum ErrorResponse {
    static func render(
        _ error: S3Error, resource: String, requestID: String, close: Bool, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let body = error.xmlBody(resource: resource, requestID: requestID)
        var out = allocator.buffer(capacity: body.utf8.count + 256)
        out.writeString("HTTP/1.1 \(error.code.status) \(error.code.reason)\r\n")
        out.writeString("Content-Type: application/xml\r\nContent-Length: \(body.utf8.count)\r\n")
        out.writeString("x-amz-request-id: \(requestID)\r\n")
        if let retryAfter = error.retryAfterSeconds { out.writeString("Retry-After: \(retryAfter)\r\n") }
        if close { out.writeString("Connection: close\r\n") }
        out.writeString("\r\n")
        out.writeString(body)
        return out
    }
}
