/// The header fields the gateway reads. All others pass through unlooked-at.
enum KnownHeader {
    case host, contentLength, transferEncoding, connection, keepAlive, proxyConnection, te, upgrade, expect
    case copySource, range, ifMatch, etag, contentRange, retryAfter, authorization, traceparent, other

    /// Case-insensitive match on the name bytes `[start, end)`.
    static func classify(_ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> KnownHeader {
        let length = end - start
        switch length {
        case 2: return matches(b, start, "te") ? .te : .other
        case 4:
            if matches(b, start, "host") { return .host }
            return matches(b, start, "etag") ? .etag : .other
        case 5: return matches(b, start, "range") ? .range : .other
        case 6: return matches(b, start, "expect") ? .expect : .other
        case 7: return matches(b, start, "upgrade") ? .upgrade : .other
        case 8: return matches(b, start, "if-match") ? .ifMatch : .other
        case 10:
            if matches(b, start, "connection") { return .connection }
            return matches(b, start, "keep-alive") ? .keepAlive : .other
        case 11:
            if matches(b, start, "retry-after") { return .retryAfter }
            return matches(b, start, "traceparent") ? .traceparent : .other
        case 13:
            if matches(b, start, "content-range") { return .contentRange }
            return matches(b, start, "authorization") ? .authorization : .other
        case 14: return matches(b, start, "content-length") ? .contentLength : .other
        case 16: return matches(b, start, "proxy-connection") ? .proxyConnection : .other
        case 17:
            if matches(b, start, "transfer-encoding") { return .transferEncoding }
            return matches(b, start, "x-amz-copy-source") ? .copySource : .other
        default: return .other
        }
    }

    /// A name that reads as `Content-Length`, `Transfer-Encoding` or `Host` when `_` is taken for `-`.
    static func isLookalikeOfFramingField(_ b: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        func folded(_ name: StaticString) -> Bool {
            guard end - start == name.utf8CodeUnitCount else { return false }
            return name.withUTF8Buffer { n in
                for i in 0..<n.count {
                    let c = b[start + i] == 95 ? 45 : b[start + i] | 0x20
                    if c != n[i] { return false }
                }
                return true
            }
        }
        return folded("content-length") || folded("transfer-encoding") || folded("host")
    }

    /// `lowercase` must be lower-case ASCII.
    static func matches(_ b: UnsafeRawBufferPointer, _ start: Int, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { name in
            for i in 0..<name.count where b[start + i] | 0x20 != name[i] {
                // `| 0x20` folds letters; '-' (0x2d) is unchanged, so only a real mismatch lands here.
                return false
            }
            return true
        }
    }
}

/// RFC 9110 token characters, as a 256-entry table.
enum TokenChars {
    static let table: [Bool] = {
        var t = Array(repeating: false, count: 256)
        for c in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(c)] = true }
        for c in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(c)] = true }
        for c in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(c)] = true }
        for c in "!#$%&'*+-.^_`|~".utf8 { t[Int(c)] = true }
        return t
    }()

    @inline(__always) static func isToken(_ c: UInt8) -> Bool { table[Int(c)] }
}
