/// Walks header lines strictly: CRLF endings, token names, no space before the colon, no obsolete
/// line folding, no control characters in values. Lenient parsers are how requests get smuggled.
enum HeaderLines {
    /// Calls `visit(field, line, nameEnd, value)` for each header line starting at `start`, where
    /// `line` spans the whole line with its CRLF and `value` is trimmed of surrounding whitespace.
    /// Refuses more than `maxFields` lines, and names that differ from a framing field or `Host`
    /// only by `_` for `-` (servers that read headers CGI-style would take them for the real one).
    static func forEach(
        _ b: UnsafeRawBufferPointer, from start: Int, maxFields: Int,
        _ visit: (KnownHeader, Range<Int>, Int, Range<Int>) throws(HTTP1Error) -> Void
    ) throws(HTTP1Error) {
        var i = start
        let end = b.count
        var fields = 0
        while i < end {
            if b[i] == 13 {
                guard i + 1 < end, b[i + 1] == 10, i + 2 == end else { throw .malformed("bad end of head") }
                return
            }
            if b[i] == 32 || b[i] == 9 { throw .malformed("obsolete line folding") }
            fields += 1
            guard fields <= maxFields else { throw .tooManyHeaders }
            let lineStart = i
            var underscore = false
            while i < end, TokenChars.isToken(b[i]) {
                underscore = underscore || b[i] == 95
                i += 1
            }
            guard i > lineStart, i < end, b[i] == 58 else { throw .malformed("bad header name") }
            let nameEnd = i
            if underscore, KnownHeader.isLookalikeOfFramingField(b, lineStart, nameEnd) {
                throw .malformed("a header name with '_' that reads as a framing field")
            }
            i += 1
            while i < end, b[i] == 32 || b[i] == 9 { i += 1 }
            let valueStart = i
            while i < end, b[i] != 13 {
                let c = b[i]
                guard c >= 32 || c == 9, c != 127 else { throw .malformed("control character in a header value") }
                i += 1
            }
            guard i + 1 < end, b[i + 1] == 10 else { throw .malformed("bad header line ending") }
            var valueEnd = i
            while valueEnd > valueStart, b[valueEnd - 1] == 32 || b[valueEnd - 1] == 9 { valueEnd -= 1 }
            i += 2
            try visit(KnownHeader.classify(b, lineStart, nameEnd), lineStart..<i, nameEnd, valueStart..<valueEnd)
        }
        throw .malformed("head ends without a blank line")
    }

    /// The lines (from `start`) whose field name is one of `names` (ranges of tokens in the same bytes).
    /// `names` holds at most `HeadLimits.maxConnectionOptions` entries, so this stays linear in the head.
    static func lines(named names: [Range<Int>], in b: UnsafeRawBufferPointer, from start: Int, maxFields: Int) -> [Range<Int>] {
        var found: [Range<Int>] = []
        try? forEach(b, from: start, maxFields: maxFields) { (_: KnownHeader, line, nameEnd, _) throws(HTTP1Error) in
            let name = line.lowerBound..<nameEnd
            if names.contains(where: { sameToken(b, $0, name) }) { found.append(line) }
        }
        return found
    }

    private static func sameToken(_ b: UnsafeRawBufferPointer, _ x: Range<Int>, _ y: Range<Int>) -> Bool {
        guard x.count == y.count else { return false }
        for i in 0..<x.count where b[x.lowerBound + i] | 0x20 != b[y.lowerBound + i] | 0x20 { return false }
        return true
    }

    /// A decimal of at most 18 digits (so it fits an `Int` and sums of two cannot overflow).
    static func decimal(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        guard !r.isEmpty, r.count <= 18 else { return nil }
        var n = 0
        for i in r {
            let d = b[i] &- 48
            guard d < 10 else { return nil }
            n = n * 10 + Int(d)
        }
        return n
    }

    static func equalsIgnoringCase(_ b: UnsafeRawBufferPointer, _ r: Range<Int>, _ lowercase: StaticString) -> Bool {
        r.count == lowercase.utf8CodeUnitCount && KnownHeader.matches(b, r.lowerBound, lowercase)
    }

    /// Reads `close` and `keep-alive` among the comma-separated options of a Connection header, and
    /// collects any other option: it names a header field that is also connection-specific. An
    /// option naming a framing field or `Host` is refused: dropping it would change how the message
    /// is framed or routed after the gateway framed it.
    static func connectionOptions(
        _ b: UnsafeRawBufferPointer, _ r: Range<Int>, close: inout Bool, keepAlive: inout Bool, listed: inout [Range<Int>]
    ) throws(HTTP1Error) {
        var start = r.lowerBound
        var options = 0
        while start < r.upperBound {
            var end = start
            while end < r.upperBound, b[end] != 44 { end += 1 }
            var s = start
            var e = end
            while s < e, b[s] == 32 || b[s] == 9 { s += 1 }
            while e > s, b[e - 1] == 32 || b[e - 1] == 9 { e -= 1 }
            if s < e {
                options += 1
                guard options <= HeadLimits.maxConnectionOptions else { throw .malformed("too many Connection options") }
            }
            if equalsIgnoringCase(b, s..<e, "close") {
                close = true
            } else if equalsIgnoringCase(b, s..<e, "keep-alive") {
                keepAlive = true
            } else if s < e {
                switch KnownHeader.classify(b, s, e) {
                case .contentLength, .transferEncoding, .host:
                    throw .ambiguousFraming("Connection names a framing field or Host")
                default:
                    listed.append(s..<e)
                }
            }
            start = end + 1
        }
    }
}
