import NIOCore
import SpillwayHTTP1
import SpillwayS3

/// What an attempt does to the request body on its way to a credentialed pool's node: its chunks
/// re-signed for the pool (each held until complete), or its `aws-chunked` framing decoded away (the
/// last data held back until the body is complete, so a node never gets a whole upload whose
/// checksum was not checked). One per attempt: a retry starts a new one over the replayed bytes.
/// Pieces go out as slices of the buffers they came in; only chunk headers are new bytes.
struct BodyTransform {
    private enum Kind {
        case resign(ChunkResigner)
        case decode(AwsChunkedDecoder)
    }

    private var kind: Kind
    /// The client's body is `Transfer-Encoding: chunked` around the `aws-chunked` one: its HTTP
    /// framing is read off first, and re-signed chunks are framed anew (their length is not known
    /// ahead, so they go chunked too).
    private var unframing: ChunkedData?
    private var reframes = false
    /// Data not yet released: the chunk being re-signed, or the last decoded piece.
    private var held: [ByteBuffer] = []

    private init(kind: Kind) { self.kind = kind }

    static func resigning(seed signed: SigV4Signer.Signed, maxChunkSize: Int) -> BodyTransform {
        BodyTransform(kind: .resign(ChunkResigner(seed: signed.signature, key: signed.key, amzDate: signed.amzDate, scope: signed.scope, maxChunkSize: maxChunkSize)))
    }

    static func decoding() -> BodyTransform { BodyTransform(kind: .decode(AwsChunkedDecoder())) }

    /// The transform a payload decision needs; nil when the body goes as sent. `chunkedTransfer`:
    /// the client framed the body with `Transfer-Encoding: chunked`.
    init?(_ body: PayloadPlan.Body, signed: SigV4Signer.Signed, maxChunkSize: Int, chunkedTransfer: Bool) {
        switch body {
        case .asSent: return nil
        case .resignedChunks:
            self = .resigning(seed: signed, maxChunkSize: maxChunkSize)
            reframes = chunkedTransfer
        case .decoded: self = .decoding()
        }
        if chunkedTransfer { unframing = ChunkedData() }
    }

    /// The bytes to send for `bytes` of the client's body, in order.
    mutating func feed(_ bytes: ByteBuffer, allocator: ByteBufferAllocator) throws(AwsChunkedParser.Problem) -> [ByteBuffer] {
        guard unframing != nil else { return try transform(bytes, allocator: allocator) }
        var out: [ByteBuffer] = []
        for piece in try unframing!.data(in: bytes) { out += try transform(piece, allocator: allocator) }
        guard reframes else { return out }
        // One HTTP chunk around what these bytes gave, and the last chunk once the body is whole.
        let count = out.reduce(0) { $0 + $1.readableBytes }
        var framed: [ByteBuffer] = []
        if count > 0 {
            framed.append(allocator.buffer(string: String(count, radix: 16) + "\r\n"))
            framed += out
            framed.append(StaticBytes.crlf)
        }
        if isComplete { framed.append(allocator.buffer(string: "0\r\n\r\n")) }
        return framed
    }

    private var isComplete: Bool {
        switch kind {
        case .resign(let resigner): resigner.isComplete
        case .decode(let decoder): decoder.isComplete
        }
    }

    private mutating func transform(_ bytes: ByteBuffer, allocator: ByteBufferAllocator) throws(AwsChunkedParser.Problem) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        let base = bytes.readerIndex
        switch kind {
        case .resign(var resigner):
            defer { kind = .resign(resigner) }
            try bytes.withUnsafeReadableBytes { (raw) throws(AwsChunkedParser.Problem) in
                try resigner.consume(raw) { output in
                    switch output {
                    case .hold(let range): held.append(bytes.getSlice(at: base + range.lowerBound, length: range.count)!)
                    case .chunk(let header):
                        out.append(allocator.buffer(bytes: header))
                        out += held
                        held.removeAll(keepingCapacity: true)
                        out.append(StaticBytes.crlf)
                    case .bytes(let b):
                        out.append(allocator.buffer(bytes: b))
                    }
                }
            }
        case .decode(var decoder):
            defer { kind = .decode(decoder) }
            try bytes.withUnsafeReadableBytes { (raw) throws(AwsChunkedParser.Problem) in
                try decoder.consume(raw) { range in
                    guard !range.isEmpty else { return }
                    // Only the newest piece is held back: the one that may be the body's last.
                    out += held
                    held = [bytes.getSlice(at: base + range.lowerBound, length: range.count)!]
                }
            }
            if decoder.isComplete {
                out += held
                held.removeAll()
            }
        }
        return out
    }
}

/// The data of a `Transfer-Encoding: chunked` body, as slices of the buffers it arrives in.
struct ChunkedData {
    private var tracker = BodyTracker(.chunked)

    mutating func data(in bytes: ByteBuffer) throws(AwsChunkedParser.Problem) -> [ByteBuffer] {
        var ranges: [Range<Int>] = []
        let ok = bytes.withUnsafeReadableBytes { b in (try? tracker.consume(b) { ranges.append($0) }) != nil }
        guard ok else { throw .badFraming }
        return ranges.map { bytes.getSlice(at: bytes.readerIndex + $0.lowerBound, length: $0.count)! }
    }
}
