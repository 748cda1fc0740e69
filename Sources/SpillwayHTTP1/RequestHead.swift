/// The methods the gateway tells apart; the bytes of the method are forwarded as they came.
public enum HTTPMethodKind: UInt8, Sendable {
    case get, head, put, post, delete, other
}

/// A parsed request head: offsets into the head bytes, and what framing and forwarding need.
/// Nothing is copied; the head is forwarded as the client sent it, minus `dropLines`.
public struct RequestHead: Sendable, Equatable {
    public var method: HTTPMethodKind = .other
    public var methodRange: Range<Int> = 0..<0
    public var targetRange: Range<Int> = 0..<0
    public var minorVersion = 1
    public var hostRange: Range<Int>?
    public var authorizationRange: Range<Int>?
    /// W3C trace context, passed through untouched; its trace id goes into the access log.
    public var traceparentRange: Range<Int>?
    public var contentLength: Int?
    public var isChunked = false
    public var expectsContinue = false
    public var hasCopySource = false
    /// The client asked for a byte range, or made the request conditional: resuming it would need
    /// headers that its signature may cover.
    public var hasRangeOrCondition = false
    var connectionClose = false
    var connectionKeepAlive = false
    /// Hop-by-hop header lines (each with its CRLF) to leave out when forwarding. Empty for most requests.
    public var dropLines = LineRanges()
    /// Offset just past the blank line that ends the head.
    public var length = 0

    public init() {}

    /// HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked to keep it.
    public var keepAlive: Bool { minorVersion >= 1 ? !connectionClose : connectionKeepAlive }

    /// The body framing this request declares.
    public var bodyFraming: BodyFraming {
        if isChunked { return .chunked }
        if let contentLength, contentLength > 0 { return .length(contentLength) }
        return .none
    }

    /// Parses a complete head (`bytes` ends just past its blank line) under `limits` (the caller
    /// has already held the head to `limits.maxHeadBytes`).
    public static func parse(_ b: UnsafeRawBufferPointer, limits: HeadLimits = HeadLimits()) throws(HTTP1Error) -> RequestHead {
        var head = RequestHead()
        head.length = b.count
        // Request line: method SP target SP HTTP/1.x CRLF
        var i = 0
        while i < b.count, TokenChars.isToken(b[i]) { i += 1 }
        guard i > 0, i < b.count, b[i] == 32 else { throw .malformed("bad request line") }
        head.methodRange = 0..<i
        head.method = methodKind(b, i)
        i += 1
        let targetStart = i
        while i < b.count, b[i] > 32, b[i] != 127 { i += 1 }
        guard i > targetStart, i < b.count, b[i] == 32 else { throw .malformed("bad request target") }
        guard i - targetStart <= limits.maxTargetBytes else { throw .targetTooLong }
        // Origin form only: an absolute URI would name a host the routing never looked at.
        guard b[targetStart] == 47 else { throw .malformed("the request target must start with /") }
        head.targetRange = targetStart..<i
        i += 1
        guard i + 10 <= b.count, b[i] == 72, b[i + 1] == 84, b[i + 2] == 84, b[i + 3] == 80, b[i + 4] == 47 else {
            throw .malformed("bad HTTP version")
        }
        guard b[i + 5] == 49, b[i + 6] == 46, b[i + 7] == 48 || b[i + 7] == 49 else { throw .unsupportedVersion }
        head.minorVersion = Int(b[i + 7] - 48)
        guard b[i + 8] == 13, b[i + 9] == 10 else { throw .malformed("bad request line ending") }
        i += 10
        var declaredLength: Int?
        var listed: [Range<Int>] = []  // fields the Connection header names: dropped too
        var lengthsDiffer = false
        var transferCodings = 0
        let headersStart = i
        try HeaderLines.forEach(b, from: i, maxFields: limits.maxHeaders) { (field: KnownHeader, line, nameEnd, value) throws(HTTP1Error) in
            switch field {
            case .host:
                if head.hostRange != nil { throw .malformed("two Host headers") }
                head.hostRange = value
            case .contentLength:
                guard let n = HeaderLines.decimal(b, value) else { throw .malformed("bad Content-Length") }
                if let declaredLength, declaredLength != n { lengthsDiffer = true }
                declaredLength = n
            case .transferEncoding:
                transferCodings += 1
                if transferCodings > 1 { throw .ambiguousFraming("more than one Transfer-Encoding") }
                guard HeaderLines.equalsIgnoringCase(b, value, "chunked") else { throw .unsupportedTransferEncoding }
                head.isChunked = true
            case .connection:
                try HeaderLines.connectionOptions(
                    b, value, close: &head.connectionClose, keepAlive: &head.connectionKeepAlive, listed: &listed)
                head.dropLines.append(line)
            case .keepAlive, .proxyConnection, .te, .upgrade:
                head.dropLines.append(line)
            case .expect:
                head.expectsContinue = HeaderLines.equalsIgnoringCase(b, value, "100-continue")
            case .copySource:
                head.hasCopySource = true
            case .range, .ifMatch:
                head.hasRangeOrCondition = true
            case .authorization:
                if head.authorizationRange != nil { throw .malformed("two Authorization headers") }
                head.authorizationRange = value
            case .traceparent:
                head.traceparentRange = value
            case .other, .etag, .contentRange, .retryAfter:
                break
            }
        }
        if head.isChunked && declaredLength != nil { throw .ambiguousFraming("both Content-Length and Transfer-Encoding") }
        if !listed.isEmpty {
            for line in HeaderLines.lines(named: listed, in: b, from: headersStart, maxFields: limits.maxHeaders)
            where !head.dropLines.contains(line) {
                head.dropLines.append(line)
            }
            head.dropLines.sort()
        }
        if lengthsDiffer { throw .ambiguousFraming("Content-Length values differ") }
        head.contentLength = declaredLength
        if head.isChunked && head.minorVersion == 0 { throw .malformed("chunked framing in an HTTP/1.0 request") }
        // RFC 9112 §3.2: a server must refuse an HTTP/1.1 request without Host.
        if head.minorVersion == 1 && head.hostRange == nil { throw .malformed("no Host header") }
        return head
    }

    /// Every header value by lower-case field name, in one pass over a head that `parse` accepted
    /// (for SigV4, which looks up each signed field: one probe each, however long the head).
    public static func fieldIndex(in b: UnsafeRawBufferPointer) -> [String: [[UInt8]]] {
        var start = 0
        var lines = 0
        for c in b where c == 10 { lines += 1 }
        var index: [String: [[UInt8]]] = Dictionary(minimumCapacity: lines)  // one table, never rehashed
        while start < b.count, b[start] != 10 { start += 1 }  // skip the request line
        try? HeaderLines.forEach(b, from: start + 1, maxFields: .max) { (_: KnownHeader, line, nameEnd, value) throws(HTTP1Error) in
            // Lower-cased straight into the string (names of up to 15 bytes need no allocation).
            let name = String(unsafeUninitializedCapacity: nameEnd - line.lowerBound) { out in
                for (i, c) in b[line.lowerBound..<nameEnd].enumerated() { out[i] = c >= 65 && c <= 90 ? c | 0x20 : c }
                return nameEnd - line.lowerBound
            }
            let bytes = Array(UnsafeRawBufferPointer(rebasing: b[value]))
            if index[name]?.append(bytes) == nil { index[name] = [bytes] }
        }
        return index
    }

    private static func methodKind(_ b: UnsafeRawBufferPointer, _ n: Int) -> HTTPMethodKind {
        switch (n, b[0]) {
        case (3, 71) where b[1] == 69 && b[2] == 84: .get  // GET
        case (3, 80) where b[1] == 85 && b[2] == 84: .put  // PUT
        case (4, 72) where b[1] == 69 && b[2] == 65 && b[3] == 68: .head  // HEAD
        case (4, 80) where b[1] == 79 && b[2] == 83 && b[3] == 84: .post  // POST
        case (6, 68) where b[1] == 69 && b[2] == 76 && b[3] == 69 && b[4] == 84 && b[5] == 69: .delete  // DELETE
        default: .other
        }
    }
}
