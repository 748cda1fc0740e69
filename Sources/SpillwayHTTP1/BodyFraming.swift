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
/// (sizes, CRLFs, trailers) so that a malformed stream is refused rather than passed on.
public struct BodyTracker: Sendable, Equatable {
    private enum Chunk: Sendable, Equatable {
        case size(value: Int, digits: Int)
        case extensions
        case sizeLF(size: Int)
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailerStart
        case trailerLine
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
        switch state {
        case .done:
            return 0
        case .untilClose:
            return bytes.count
        case .length(let remaining):
            let n = min(remaining, bytes.count)
            state = n == remaining ? .done : .length(remaining: remaining - n)
            return n
        case .chunked(var chunk):
            var i = 0
            while i < bytes.count {
                if case .data(let remaining) = chunk {
                    let n = min(remaining, bytes.count - i)
                    i += n
                    chunk = n == remaining ? .dataCR : .data(remaining: remaining - n)
                    continue
                }
                let c = bytes[i]
                i += 1
                switch chunk {
                case .size(let value, let digits):
                    if let d = Self.hex(c) {
                        guard digits < 15 else { throw .malformed("chunk size too large") }
                        chunk = .size(value: value << 4 | d, digits: digits + 1)
                    } else if digits > 0 && c == 13 {
                        chunk = .sizeLF(size: value)
                    } else if digits > 0 && (c == 59 || c == 32 || c == 9) {
                        chunk = .extensions
                        extensionSize = value  // remembered across the extension bytes
                    } else {
                        throw .malformed("bad chunk size")
                    }
                case .extensions:
                    overhead += 1
                    guard overhead <= Self.maxOverhead else { throw .malformed("chunk extensions too long") }
                    if c == 13 { chunk = .sizeLF(size: extensionSize) } else if c == 10 { throw .malformed("bare LF in chunk extension") }
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
                    if c == 13 {
                        chunk = .trailerLF(lineEmpty: true)
                    } else {
                        overhead += 1
                        chunk = .trailerLine
                    }
                case .trailerLine:
                    overhead += 1
                    guard overhead <= Self.maxOverhead else { throw .malformed("trailers too long") }
                    if c == 13 { chunk = .trailerLF(lineEmpty: false) } else if c == 10 { throw .malformed("bare LF in trailer") }
                case .trailerLF(let lineEmpty):
                    guard c == 10 else { throw .malformed("bad trailer line ending") }
                    if lineEmpty {
                        state = .done
                        return i
                    }
                    chunk = .trailerStart
                case .data:
                    break  // handled above
                }
            }
            state = .chunked(chunk)
            return i
        }
    }

    private var extensionSize = 0

    @inline(__always) private static func hex(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: Int(c - 48)
        case 65...70: Int(c - 55)
        case 97...102: Int(c - 87)
        default: nil
        }
    }
}
