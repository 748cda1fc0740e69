/// The `aws-chunked` body encoding of S3 uploads, read as its bytes pass: signed chunks
/// (`<hex>;chunk-signature=<sig>\r\n<data>\r\n`) or unsigned ones (`<hex>\r\n<data>\r\n`), a zero
/// chunk, then trailer lines (`x-amz-checksum-crc32:<b64>`, `x-amz-trailer-signature:<sig>`) up to
/// an empty line. Strict: anything else is bad framing, and no header, trailer or chunk can grow
/// without bound. The verifier, the decoder and the re-signer are all built on this one reader.
public struct AwsChunkedParser {
    public enum Event {
        /// A chunk begins: its size, its size digits as sent, and its signature (nil if unsigned).
        case chunk(size: Int, digits: [UInt8], signature: String?)
        /// Data bytes of the current chunk: a range of the bytes given to this `consume`.
        case data(Range<Int>)
        /// The current chunk's data is complete (not sent for the zero chunk).
        case dataEnd
        /// A trailer line after the zero chunk: its name, its trimmed value, and the line as sent
        /// (without its CRLF).
        case trailer(name: String, value: String, line: [UInt8])
        /// The body is complete.
        case end
    }

    public enum Problem: Error, Sendable, Equatable {
        case badFraming
        case chunkTooLarge(limit: Int)
        case badSignature
        case badDigest
    }

    private enum State {
        case size(value: Int, digits: [UInt8])
        case extensions(size: Int, digits: [UInt8], text: [UInt8])
        case headerLF(size: Int, digits: [UInt8], signature: String?)
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailerLine([UInt8])
        case trailerLF([UInt8])
        case done
    }

    private var state = State.size(value: 0, digits: [])
    private var trailerBytes = 0
    /// Chunks larger than this are refused (nil: any size S3 allows).
    public let maxChunkSize: Int?

    public init(maxChunkSize: Int? = nil) { self.maxChunkSize = maxChunkSize }

    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    public mutating func consume(_ bytes: UnsafeRawBufferPointer, _ on: (Event) throws(Problem) -> Void) throws(Problem) {
        var i = 0
        while i < bytes.count {
            if case .data(let remaining) = state {
                let n = min(remaining, bytes.count - i)
                try on(.data(i..<(i + n)))
                i += n
                if n == remaining {
                    state = .dataCR
                    try on(.dataEnd)
                } else {
                    state = .data(remaining: remaining - n)
                }
                continue
            }
            try step(bytes[i], on)
            i += 1
        }
    }

    private mutating func step(_ c: UInt8, _ on: (Event) throws(Problem) -> Void) throws(Problem) {
        switch state {
        case .size(let value, var digits):
            if let d = Self.hex(c), digits.count < 15 {
                digits.append(c)
                state = .size(value: value << 4 | d, digits: digits)
            } else if c == 59, !digits.isEmpty {  // ';'
                state = .extensions(size: value, digits: digits, text: [])
            } else if c == 13, !digits.isEmpty {
                state = .headerLF(size: value, digits: digits, signature: nil)
            } else {
                throw .badFraming
            }
        case .extensions(let size, let digits, var text):
            if c == 13 {
                let prefix = Array("chunk-signature=".utf8)
                guard text.count == prefix.count + 64, Array(text[0..<prefix.count]) == prefix else { throw .badFraming }
                state = .headerLF(size: size, digits: digits, signature: String(decoding: text[prefix.count...], as: UTF8.self).lowercased())
            } else {
                guard text.count < 200 else { throw .badFraming }
                text.append(c)
                state = .extensions(size: size, digits: digits, text: text)
            }
        case .headerLF(let size, let digits, let signature):
            guard c == 10 else { throw .badFraming }
            if let maxChunkSize, size > maxChunkSize { throw .chunkTooLarge(limit: maxChunkSize) }
            try on(.chunk(size: size, digits: digits, signature: signature))
            state = size == 0 ? .trailerLine([]) : .data(remaining: size)
        case .dataCR:
            guard c == 13 else { throw .badFraming }
            state = .dataLF
        case .dataLF:
            guard c == 10 else { throw .badFraming }
            state = .size(value: 0, digits: [])
        case .trailerLine(var line):
            trailerBytes += 1
            guard trailerBytes <= 16 * 1024 else { throw .badFraming }
            if c == 13 {
                state = .trailerLF(line)
            } else {
                guard c >= 32 || c == 9, c != 127 else { throw .badFraming }
                line.append(c)
                state = .trailerLine(line)
            }
        case .trailerLF(let line):
            guard c == 10 else { throw .badFraming }
            if line.isEmpty {
                state = .done
                try on(.end)
                return
            }
            guard let colon = line.firstIndex(of: 58), colon > 0 else { throw .badFraming }
            let name = String(decoding: line[..<colon], as: UTF8.self)
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces
            try on(.trailer(name: name, value: value, line: line))
            state = .trailerLine([])
        case .done:
            // The body is over: anything more is not part of this upload.
            throw .badFraming
        case .data:
            preconditionFailure("data is consumed in bulk")
        }
    }

    static func hex(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: Int(c - 48)
        case 65...70: Int(c - 55)
        case 97...102: Int(c - 87)
        default: nil
        }
    }
}
