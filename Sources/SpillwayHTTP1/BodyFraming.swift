/// How a message body ends.
public enum BodyFraming: Sendable, Equatable {
    case none
    case length(Int)
    case chunked
    /// Only a response: the body ends when the node closes the connection.
    case untilClose
}

/// Follows a body through its framing without copying it: told about each arriving run of bytes, it
/// says how many belong to this message and whether the message ended. Chunked framing is checked
/// as strictly as a head (sizes, extensions, CRLFs, trailer lines) so that a malformed stream is
/// refused rather than passed to a node that might read it differently.
public struct BodyTracker: Sendable, Equatable {
    private enum Chunk: Sendable, Equatable {
        case size(value: Int, digits: Int)
        /// Whitespace after the size: only `;` may follow.
        case sizeSpace(size: Int)
        /// After `;`, before the extension's name.
        case extensionStart(size: Int)
        case extensionRest(size: Int)
        case sizeLF(size: Int)
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailerStart
        /// Inside a trailer field name; `framing` says whether it may still be a forbidden name.
        case trailerName(length: Int, framing: UInt8)
        case trailerValue
        case trailerLF(lineEmpty: Bool)
    }

    private enum State: Sendable, Equatable {
        case length(remaining: Int)
        case chunked(Chunk)
        case untilClose
        case done
    }

    private var state: State
    /// Bytes of the current chunk's extensions, or of the trailers; capped so a peer cannot stream them forever.
    private var overhead = 0
    public static let maxOverhead = 64 * 1024

    public init(_ framing: BodyFraming) {
        switch framing {
        case .none: state = .done
        case .length(let n): state = n > 0 ? .length(remaining: n) : .done
        case .chunked: state = .chunked(.size(value: 0, digits: 0))
        case .untilClose: state = .untilClose
        }
    }

    public var isComplete: Bool { state == .done }
    public var endsAtClose: Bool { state == .untilClose }

    /// Consumes from `bytes`; returns how many bytes belong to this message (the rest, if any, is
    /// the next message). After it returns, `isComplete` says whether the message ended.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(HTTP1Error) -> Int {
        try consume(bytes) { _ in }
    }

    /// As `consume`, also reporting where the body's data lies in `bytes` (for a chunked body: the
    /// chunk data without sizes, extensions and trailers), for re-framing a body.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer, data: (Range<Int>) -> Void) throws(HTTP1Error) -> Int {
        switch state {
        case .done:
            return 0
        case .untilClose:
            if !bytes.isEmpty { data(0..<bytes.count) }
            return bytes.count
        case .length(let remaining):
            let n = min(remaining, bytes.count)
            state = n == remaining ? .done : .length(remaining: remaining - n)
            if n > 0 { data(0..<n) }
            return n
        case .chunked(var chunk):
            var i = 0
            while i < bytes.count {
                if case .data(let remaining) = chunk {
                    let n = min(remaining, bytes.count - i)
                    data(i..<(i + n))
                    i += n
                    chunk = n == remaining ? .dataCR : .data(remaining: remaining - n)
                    continue
                }
                let c = bytes[i]
                i += 1
                if try step(&chunk, c) {
                    state = .done
                    return i
                }
            }
            state = .chunked(chunk)
            return i
        }
    }

    /// One framing byte; true when it ended the message.
    private mutating func step(_ chunk: inout Chunk, _ c: UInt8) throws(HTTP1Error) -> Bool {
        switch chunk {
        case .size(let value, let digits):
            if let d = Self.hex(c) {
                guard digits < 15 else { throw .malformed("chunk size too large") }
                chunk = .size(value: value << 4 | d, digits: digits + 1)
            } else if digits > 0 && c == 13 {
                chunk = .sizeLF(size: value)
            } else if digits > 0 && c == 59 {
                chunk = .extensionStart(size: value)
            } else if digits > 0 && (c == 32 || c == 9) {
                chunk = .sizeSpace(size: value)
            } else {
                throw .malformed("bad chunk size")
            }
        case .sizeSpace(let size):
            if c == 59 {
                chunk = .extensionStart(size: size)
            } else if c != 32 && c != 9 {
                throw .malformed("junk after a chunk size")
            }
        case .extensionStart(let size):
            try countOverhead("chunk extensions too long")
            if TokenChars.isToken(c) {
                chunk = .extensionRest(size: size)
            } else if c != 32 && c != 9 {
                throw .malformed("a chunk extension without a name")
            }
        case .extensionRest(let size):
            try countOverhead("chunk extensions too long")
            if c == 13 {
                chunk = .sizeLF(size: size)
            } else if c == 59 {
                chunk = .extensionStart(size: size)
            } else if (c < 32 && c != 9) || c == 127 {
                throw .malformed("control character in a chunk extension")
            }
        case .sizeLF(let size):
            guard c == 10 else { throw .malformed("bad chunk size line ending") }
            chunk = size == 0 ? .trailerStart : .data(remaining: size)
            overhead = 0
        case .dataCR:
            guard c == 13 else { throw .malformed("chunk data longer than its size") }
            chunk = .dataLF
        case .dataLF:
            guard c == 10 else { throw .malformed("bad chunk data ending") }
            chunk = .size(value: 0, digits: 0)
            overhead = 0
        case .trailerStart:
            try countOverhead("trailers too long")
            if c == 13 {
                chunk = .trailerLF(lineEmpty: true)
            } else if TokenChars.isToken(c) {
                chunk = .trailerName(length: 1, framing: Self.forbiddenTrailerNames(after: 0, c, alive: 0b1111))
            } else {
                // A bare LF, folding, or a line without a name: a lenient node may end the message here.
                throw .malformed("bad trailer line")
            }
        case .trailerName(let length, let framing):
            try countOverhead("trailers too long")
            if c == 58 {
                guard Self.isForbiddenTrailer(length: length, alive: framing) == false else {
                    throw .malformed("a framing field or Host in the trailers")
                }
                chunk = .trailerValue
            } else if TokenChars.isToken(c) {
                chunk = .trailerName(length: length + 1, framing: Self.forbiddenTrailerNames(after: length, c, alive: framing))
            } else {
                throw .malformed("bad trailer field name")
            }
        case .trailerValue:
            try countOverhead("trailers too long")
            if c == 13 {
                chunk = .trailerLF(lineEmpty: false)
            } else if (c < 32 && c != 9) || c == 127 {
                throw .malformed("control character in a trailer")
            }
        case .trailerLF(let lineEmpty):
            guard c == 10 else { throw .malformed("bad trailer line ending") }
            if lineEmpty { return true }
            chunk = .trailerStart
        case .data:
            break  // handled by the caller
        }
        return false
    }

    private mutating func countOverhead(_ why: String) throws(HTTP1Error) {
        overhead += 1
        guard overhead <= Self.maxOverhead else { throw .malformed(why) }
    }

    /// Trailer names a node must never get: they would reframe or reroute the message if a lenient
    /// node merged trailers into the head.
    private static let forbiddenTrailers: [StaticString] = ["content-length", "transfer-encoding", "host", "connection"]

    /// Which forbidden names (a bit each) still match after byte `c` at `position`.
    private static func forbiddenTrailerNames(after position: Int, _ c: UInt8, alive: UInt8) -> UInt8 {
        var next: UInt8 = 0
        let folded = c == 95 ? 45 : c | 0x20
        for (bit, name) in forbiddenTrailers.enumerated() where alive & (1 << bit) != 0 {
            let matches = name.withUTF8Buffer { n in position < n.count && n[position] == folded }
            if matches { next |= 1 << bit }
        }
        return next
    }

    private static func isForbiddenTrailer(length: Int, alive: UInt8) -> Bool {
        for (bit, name) in forbiddenTrailers.enumerated() where alive & (1 << bit) != 0 && name.utf8CodeUnitCount == length {
            return true
        }
        return false
    }

    @inline(__always) private static func hex(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: Int(c - 48)
        case 65...70: Int(c - 55)
        case 97...102: Int(c - 87)
        default: nil
        }
    }
}
