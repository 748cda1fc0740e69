import Crypto

/// Re-signs an `aws-chunked` body for another identity as it passes (a pool with credentials of
/// its own): every chunk keeps its size and data and gets a signature chained from the new seed,
/// and the trailer's signature is made anew. The body keeps its exact length. A chunk's signature
/// needs all of its data, so the caller holds each chunk until `chunk(header:)`: at most one chunk
/// is held at a time, and `maxChunkSize` bounds it.
public struct ChunkResigner {
    public enum Output {
        /// Bytes of the current chunk's data (a range of the bytes just given): hold them.
        case hold(Range<Int>)
        /// The chunk is complete: write this header, then the held data, then CRLF.
        case chunk(header: [UInt8])
        /// Write these bytes as they are (the zero chunk, the trailers, the end).
        case bytes([UInt8])
    }

    private var parser: AwsChunkedParser
    private var previous: String
    private let key: SymmetricKey
    private let amzDate: String
    private let scope: String
    private var hasher = SHA256()
    private var digits: [UInt8] = []
    private var trailers: [(name: String, value: String, line: [UInt8])] = []

    public init(seed: String, key: SymmetricKey, amzDate: String, scope: String, maxChunkSize: Int) {
        previous = seed
        self.key = key
        self.amzDate = amzDate
        self.scope = scope
        parser = AwsChunkedParser(maxChunkSize: maxChunkSize)
    }

    public var isComplete: Bool { parser.isComplete }

    public mutating func consume(_ bytes: UnsafeRawBufferPointer, _ out: (Output) -> Void) throws(AwsChunkedParser.Problem) {
        var parser = self.parser
        defer { self.parser = parser }
        try parser.consume(bytes) { (event) throws(AwsChunkedParser.Problem) in
            switch event {
            case .chunk(let size, let sizeDigits, let signature):
                // Only signed chunks are re-signed: an unsigned one would gain a signature and change the body's length.
                guard signature != nil else { throw .badFraming }
                digits = sizeDigits
                hasher = SHA256()
                if size == 0 { out(.bytes(header(signing: SigV4.emptyPayloadHash))) }
            case .data(let range):
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[range]))
                out(.hold(range))
            case .dataEnd:
                out(.chunk(header: header(signing: SigV4.hex(hasher.finalize()))))
            case .trailer(let name, let value, let line):
                // A signature of another length would change the body's length under its Content-Length.
                if name.lowercased() == "x-amz-trailer-signature", value.utf8.count != 64 { throw .badFraming }
                trailers.append((name, value, line))
            case .end:
                let signature = SigV4.trailerSignature(
                    previous: previous, trailers: trailers.map { ($0.name, $0.value) }, amzDate: amzDate, scope: scope, key: key)
                var tail: [UInt8] = []
                for t in trailers {
                    tail += t.name.lowercased() == "x-amz-trailer-signature" ? Self.replacingValue(of: t.line, with: signature) : t.line
                    tail += [13, 10]
                }
                out(.bytes(tail + [13, 10]))
            }
        }
    }

    private mutating func header(signing chunkHash: String) -> [UInt8] {
        let signature = SigV4.chunkSignature(previous: previous, chunkHash: chunkHash, amzDate: amzDate, scope: scope, key: key)
        previous = signature
        return digits + Array(";chunk-signature=\(signature)\r\n".utf8)
    }

    /// The line with its value replaced, its spacing kept (so the body keeps its length).
    static func replacingValue(of line: [UInt8], with value: String) -> [UInt8] {
        guard let colon = line.firstIndex(of: 58) else { return line }
        var start = colon + 1
        while start < line.count, line[start] == 32 || line[start] == 9 { start += 1 }
        var end = line.count
        while end > start, line[end - 1] == 32 || line[end - 1] == 9 { end -= 1 }
        return Array(line[..<start]) + Array(value.utf8) + Array(line[end...])
    }
}

/// Decodes an `aws-chunked` body into its data (for storage that predates trailing checksums):
/// the output is ranges of the bytes given, so no data is copied.
public struct AwsChunkedDecoder {
    private var parser = AwsChunkedParser()

    public init() {}

    public var isComplete: Bool { parser.isComplete }

    /// `data` is called with each run of data bytes, as ranges of `bytes`.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer, data: (Range<Int>) -> Void) throws(AwsChunkedParser.Problem) {
        try parser.consume(bytes) { event in
            if case .data(let range) = event { data(range) }
        }
    }
}

/// Checks the trailing checksum of an `aws-chunked` upload as it passes (when Spillway decodes it,
/// the node cannot): the algorithm the client named in `x-amz-trailer`, over the decoded data,
/// against the value in the trailer. `consume` throws `badDigest` on the last bytes if they differ.
public struct TrailingChecksumCheck {
    private var parser: AwsChunkedParser
    private var checksum: RunningChecksum
    private var sent: String?

    public init(algorithm: ChecksumAlgorithm, maxChunkSize: Int? = nil) {
        checksum = RunningChecksum(algorithm)
        parser = AwsChunkedParser(maxChunkSize: maxChunkSize)
    }

    public var isComplete: Bool { parser.isComplete }

    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(AwsChunkedParser.Problem) {
        var parser = self.parser
        defer { self.parser = parser }
        try parser.consume(bytes) { (event) throws(AwsChunkedParser.Problem) in
            switch event {
            case .data(let range): checksum.update(UnsafeRawBufferPointer(rebasing: bytes[range]))
            case .trailer(let name, let value, _):
                if name.lowercased() == checksum.algorithm.fieldName { sent = value }
            case .end:
                guard let sent, sent == checksum.base64 else { throw .badDigest }
            case .chunk, .dataEnd:
                break
            }
        }
    }
}
