/// Reads RESP2 replies (Redis's wire format) from bytes as they arrive: integers (`:`), errors
/// (`-`), simple strings (`+`) and bulk strings (`$`). Pure and bounded: a reply line longer than
/// `maxLine`, or a bulk string longer than `maxBulk`, is a protocol error rather than a number to
/// allocate or add (a `$9223372036854775807` once overflowed the length arithmetic and ended the
/// process). The fleet limiter only ever expects integers; anything else is answered as an error.
public struct RESPReader: Sendable {
    public enum Reply: Sendable, Equatable {
        case integer(Int)
        case simple(String)
        case bulk([UInt8]?)
        case error(String)
    }

    public enum Problem: Error, Sendable, Equatable {
        case lineTooLong
        case badLength
        case unknownType(UInt8)
    }

    public static let maxLine = 4096
    public static let maxBulk = 64 * 1024

    private var buffer: [UInt8] = []

    public init() {}

    /// Bytes held waiting for the rest of a reply.
    public var pending: Int { buffer.count }

    /// Adds `bytes` and returns every reply now complete, in order. After a `Problem` the stream is
    /// unusable (the caller drops the connection).
    public mutating func read(_ bytes: some Collection<UInt8>) throws(Problem) -> [Reply] {
        buffer.append(contentsOf: bytes)
        var replies: [Reply] = []
        var start = 0
        defer { buffer.removeFirst(start) }
        while start < buffer.count {
            guard let lineEnd = Self.lineEnd(buffer, from: start) else {
                if buffer.count - start > Self.maxLine { throw .lineTooLong }
                break
            }
            guard lineEnd - start <= Self.maxLine else { throw .lineTooLong }
            // An empty line has no type byte (found by fuzzing: it made an inverted range).
            guard lineEnd > start else { throw .unknownType(13) }
            let kind = buffer[start]
            let text = buffer[(start + 1)..<lineEnd]
            switch kind {
            case UInt8(ascii: ":"):
                guard let n = Self.integer(text) else { throw .badLength }
                replies.append(.integer(n))
                start = lineEnd + 2
            case UInt8(ascii: "+"):
                replies.append(.simple(String(decoding: text, as: UTF8.self)))
                start = lineEnd + 2
            case UInt8(ascii: "-"):
                replies.append(.error(String(decoding: text, as: UTF8.self)))
                start = lineEnd + 2
            case UInt8(ascii: "$"):
                guard let n = Self.integer(text), n >= -1, n <= Self.maxBulk else { throw .badLength }
                if n == -1 {
                    replies.append(.bulk(nil))
                    start = lineEnd + 2
                    continue
                }
                let dataStart = lineEnd + 2
                guard buffer.count >= dataStart + n + 2 else { return replies }
                guard buffer[dataStart + n] == 13, buffer[dataStart + n + 1] == 10 else { throw .badLength }
                replies.append(.bulk(Array(buffer[dataStart..<(dataStart + n)])))
                start = dataStart + n + 2
            default:
                throw .unknownType(kind)
            }
        }
        return replies
    }

    private static func lineEnd(_ b: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + 1 < b.count {
            if b[i] == 13 && b[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    /// A signed decimal of at most 18 digits.
    static func integer(_ text: ArraySlice<UInt8>) -> Int? {
        var digits = text[...]
        var negative = false
        if digits.first == UInt8(ascii: "-") {
            negative = true
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var n = 0
        for c in digits {
            guard c >= 48 && c <= 57 else { return nil }
            n = n * 10 + Int(c - 48)
        }
        return negative ? -n : n
    }
}
