import Crypto

/// Checks the signature chain of an `aws-chunked` body (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`,
/// and its `-TRAILER` form) as its bytes pass, without holding them: each chunk's signature covers
/// the previous signature and the chunk's hash, and the trailer's covers the last chunk's. Fed any
/// run of bytes; says when a signature is wrong.
public struct ChunkSignatureVerifier {
    private var parser: AwsChunkedParser
    private var previous: String
    private let key: SymmetricKey
    private let amzDate: String
    private let scope: String
    private let trailer: Bool
    private var hasher = SHA256()
    private var pending: String?
    private var trailers: [(name: String, value: String)] = []
    public private(set) var chunksVerified = 0

    public init(seed: String, key: SymmetricKey, amzDate: String, scope: String, trailer: Bool = false, maxChunkSize: Int? = nil) {
        self.previous = seed
        self.key = key
        self.amzDate = amzDate
        self.scope = scope
        self.trailer = trailer
        parser = AwsChunkedParser(maxChunkSize: maxChunkSize)
    }

    public var isComplete: Bool { parser.isComplete }

    /// Refuses chunks over `limit` from here on (a chunk re-signed for a pool is held whole, so its
    /// size is bounded); set before the first byte.
    public mutating func limitChunks(to limit: Int) {
        parser = AwsChunkedParser(maxChunkSize: limit)
    }

    public typealias Problem = AwsChunkedParser.Problem

    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(Problem) {
        var parser = self.parser
        defer { self.parser = parser }
        try parser.consume(bytes) { (event) throws(Problem) in
            switch event {
            case .chunk(let size, _, let signature):
                guard let signature else { throw .badFraming }
                pending = signature
                hasher = SHA256()
                if size == 0 { try finishChunk() }
            case .data(let range):
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[range]))
            case .dataEnd:
                try finishChunk()
            case .trailer(let name, let value, _):
                guard trailer else { throw .badFraming }
                trailers.append((name, value))
            case .end:
                guard trailer else { return }
                let sent = trailers.first { $0.name.lowercased() == "x-amz-trailer-signature" }?.value.lowercased()
                let expected = SigV4.trailerSignature(previous: previous, trailers: trailers, amzDate: amzDate, scope: scope, key: key)
                guard let sent, SigV4.equal(expected, sent) else { throw .badSignature }
            }
        }
    }

    private mutating func finishChunk() throws(Problem) {
        let expected = SigV4.chunkSignature(previous: previous, chunkHash: SigV4.hex(hasher.finalize()), amzDate: amzDate, scope: scope, key: key)
        guard let pending, SigV4.equal(expected, pending) else { throw .badSignature }
        previous = expected
        chunksVerified += 1
    }
}
