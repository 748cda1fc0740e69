/// A parsed response head from a storage node: status, framing, and the lines not to forward.
public struct ResponseHead: Sendable {
    public var status = 0
    public var minorVersion = 1
    public var contentLength: Int?
    public var isChunked = false
    public var hasTransferEncoding = false
    var connectionClose = false
    var connectionKeepAlive = false
    /// Connection-specific lines (Connection, Keep-Alive, Proxy-Connection, Upgrade) with their CRLF.
    public var dropLines = LineRanges()
    /// The Transfer-Encoding line: dropped only when the body is re-framed (for HTTP/1.0 clients).
    public var transferEncodingLine: Range<Int>?
    /// The entity tag's bytes (quotes included), for resuming a download with `If-Match`.
    public var etag: Range<Int>?
    /// `Content-Range: bytes <first>-<last>/<total>`, when present and well-formed.
    public var contentRange: (first: Int, last: Int, total: Int?)?
    /// `Retry-After` in seconds, when it is a number.
    public var retryAfterSeconds: Int?
    public var length = 0

    public init() {}

    public var keepAlive: Bool { minorVersion >= 1 ? !connectionClose : connectionKeepAlive }

    /// 1xx other than 101: another head follows.
    public var isInterim: Bool { status >= 100 && status < 200 && status != 101 }

    /// `101 Switching Protocols`: the gateway never asks for an upgrade (it drops `Upgrade`), so a
    /// node that switches anyway has left HTTP/1.1.
    public var isSwitchingProtocols: Bool { status == 101 }

    /// RFC 9112 §6.3: how the body that follows this head ends.
    public func bodyFraming(requestWasHEAD: Bool) -> BodyFraming {
        if requestWasHEAD || status == 204 || status == 304 || (status >= 100 && status < 200) { return .none }
        if hasTransferEncoding { return isChunked ? .chunked : .untilClose }
        if let contentLength { return contentLength > 0 ? .length(contentLength) : .none }
        return .untilClose
    }

    /// Parses a complete head under `limits` (the caller has already held it to `maxHeadBytes`).
    public static func parse(_ b: UnsafeRawBufferPointer, limits: HeadLimits = HeadLimits()) throws(HTTP1Error) -> ResponseHead {
        var head = ResponseHead()
        head.length = b.count
        // Status line: HTTP/1.x SP 3DIGIT SP reason CRLF (the reason may be empty, and its SP absent).
        guard b.count >= 14, b[0] == 72, b[1] == 84, b[2] == 84, b[3] == 80, b[4] == 47, b[5] == 49, b[6] == 46,
            b[7] == 48 || b[7] == 49, b[8] == 32
        else { throw .malformed("bad status line") }
        head.minorVersion = Int(b[7] - 48)
        guard let status = HeaderLines.decimal(b, 9..<12), status >= 100, b[12] == 32 || b[12] == 13 else {
            throw .malformed("bad status code")
        }
        head.status = status
        var i = 12
        while i < b.count, b[i] != 13 {
            // The reason phrase: HTAB, SP, visible characters and obs-text only. A bare LF here would
            // start a header line of the node's making on the client's side.
            let c = b[i]
            guard c >= 32 || c == 9, c != 127 else { throw .malformed("control character in the reason phrase") }
            i += 1
        }
        guard i + 1 < b.count, b[i + 1] == 10 else { throw .malformed("bad status line ending") }
        i += 2
        var declaredLength: Int?
        var listed: [Range<Int>] = []  // fields the Connection header names: dropped too
        var lengthsDiffer = false
        let headersStart = i
        try HeaderLines.forEach(b, from: i, maxFields: limits.maxHeaders) { (field: KnownHeader, line, nameEnd, value) throws(HTTP1Error) in
            switch field {
            case .contentLength:
                guard let n = HeaderLines.decimal(b, value) else { throw .malformed("bad Content-Length") }
                if let declaredLength, declaredLength != n { lengthsDiffer = true }
                declaredLength = n
            case .transferEncoding:
                if head.hasTransferEncoding { throw .ambiguousFraming("more than one Transfer-Encoding") }
                head.hasTransferEncoding = true
                head.isChunked = Self.endsWithChunked(b, value)
                head.transferEncodingLine = line
            case .connection:
                try HeaderLines.connectionOptions(
                    b, value, close: &head.connectionClose, keepAlive: &head.connectionKeepAlive, listed: &listed)
                head.dropLines.append(line)
            case .keepAlive, .proxyConnection, .upgrade:
                head.dropLines.append(line)
            case .etag:
                head.etag = value
            case .contentRange:
                head.contentRange = Self.contentRange(b, value)
            case .retryAfter:
                head.retryAfterSeconds = HeaderLines.decimal(b, value)
            default:
                break
            }
        }
        if !listed.isEmpty {
            for line in HeaderLines.lines(named: listed, in: b, from: headersStart, maxFields: limits.maxHeaders)
            where !head.dropLines.contains(line) {
                head.dropLines.append(line)
            }
            head.dropLines.sort()
        }
        if lengthsDiffer { throw .ambiguousFraming("Content-Length values differ") }
        // RFC 9112 §6.3: a message with both may be an attempt at response splitting.
        if head.hasTransferEncoding && declaredLength != nil { throw .ambiguousFraming("both Content-Length and Transfer-Encoding") }
        head.contentLength = declaredLength
        return head
    }

    /// `bytes 100-199/1000` or `bytes 100-199/*`.
    private static func contentRange(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> (first: Int, last: Int, total: Int?)? {
        guard r.count > 6, HeaderLines.equalsIgnoringCase(b, r.lowerBound..<(r.lowerBound + 6), "bytes ") else { return nil }
        var i = r.lowerBound + 6
        var dash = i
        while dash < r.upperBound, b[dash] != 45 { dash += 1 }
        var slash = dash
        while slash < r.upperBound, b[slash] != 47 { slash += 1 }
        guard dash < slash, slash < r.upperBound, let first = HeaderLines.decimal(b, i..<dash),
            let last = HeaderLines.decimal(b, (dash + 1)..<slash), first <= last
        else { return nil }
        i = slash + 1
        let total = HeaderLines.decimal(b, i..<r.upperBound)
        return (first, last, total)
    }

    private static func endsWithChunked(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Bool {
        var start = r.lowerBound
        if let comma = r.lastIndex(where: { b[$0] == 44 }) { start = comma + 1 }
        while start < r.upperBound, b[start] == 32 || b[start] == 9 { start += 1 }
        return HeaderLines.equalsIgnoringCase(b, start..<r.upperBound, "chunked")
    }
}
