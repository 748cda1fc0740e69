import Crypto

/// Checks the signature chain of an `aws-chunked` body (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`) as
/// its bytes pass, without holding them: each chunk's signature covers the previous signature and
/// the chunk's hash. Fed any run of bytes; says when a chunk's signature is wrong.
public struct ChunkSignatureVerifier {
    private enum State {
        case size(Int, digits: Int)
        case headerRest(size: Int, text: [UInt8])  // ";chunk-signature=<hex>" up to CR
        case headerLF(size: Int, signature: String)
        case data(remaining: Int, size: Int, signature: String)
        case dataCR
        case dataLF
        /// The trailer lines of a `-TRAILER` upload (their own signature is left to the node).
        case trailers(lineLength: Int, cr: Bool)
        case done
    }

    private var state = State.size(0, digits: 0)
    private var previous: String
    private let key: SymmetricKey
    private let amzDate: String
    private let scope: String
    private let trailer: Bool
    private var hasher = SHA256()
    public private(set) var chunksVerified = 0

    public init(seed: String, key: SymmetricKey, amzDate: String, scope: String, trailer: Bool = false) {
        self.previous = seed
        self.key = key
        self.amzDate = amzDate
        self.scope = scope
        self.trailer = trailer
    }

    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    public enum Problem: Error, Sendable, Equatable { case badFraming, badSignature }

    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(Problem) {
        var i = 0
        while i < bytes.count {
            switch state {
            case .done:
                // The chain is over: anything more is not part of this upload.
                throw .badFraming
            case .data(let remaining, let size, let signature):
                let n = min(remaining, bytes.count - i)
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + n)]))
                i += n
                if n == remaining {
                    try finishChunk(size: size, signature: signature)
                    state = .dataCR
                } else {
                    state = .data(remaining: remaining - n, size: size, signature: signature)
                }
            default:
                let c = bytes[i]
                i += 1
                try step(c)
            }
        }
    }

    private mutating func step(_ c: UInt8) throws(Problem) {
        switch state {
        case .size(let value, let digits):
            if let d = hex(c), digits < 15 {
                state = .size(value << 4 | d, digits: digits + 1)
            } else if c == 59, digits > 0 {  // ';'
                state = .headerRest(size: value, text: [])
            } else {
                throw .badFraming
            }
        case .headerRest(let size, var text):
            if c == 13 {
                let prefix = Array("chunk-signature=".utf8)
                guard text.count > prefix.count, Array(text[0..<prefix.count]) == prefix else { throw .badFraming }
                state = .headerLF(size: size, signature: String(decoding: text[prefix.count...], as: UTF8.self))
            } else {
                guard text.count < 200 else { throw .badFraming }
                text.append(c)
                state = .headerRest(size: size, text: text)
            }
        case .headerLF(let size, let signature):
            guard c == 10 else { throw .badFraming }
            hasher = SHA256()
            if size == 0 {
                try finishChunk(size: 0, signature: signature)
                state = trailer ? .trailers(lineLength: 0, cr: false) : .dataCR
            } else {
                state = .data(remaining: size, size: size, signature: signature)
            }
        case .dataCR:
            guard c == 13 else { throw .badFraming }
            state = .dataLF
        case .dataLF:
            guard c == 10 else { throw .badFraming }
            state = lastChunkSeen ? .done : .size(0, digits: 0)
        case .trailers(let length, let cr):
            trailerBytes += 1
            guard trailerBytes <= 16 * 1024 else { throw .badFraming }
            if cr {
                guard c == 10 else { throw .badFraming }
                state = length == 0 ? .done : .trailers(lineLength: 0, cr: false)
            } else if c == 13 {
                state = .trailers(lineLength: length, cr: true)
            } else {
                guard c >= 32 || c == 9, c != 127 else { throw .badFraming }
                state = .trailers(lineLength: length + 1, cr: false)
            }
        default:
            throw .badFraming
        }
    }

    private var lastChunkSeen = false
    private var trailerBytes = 0

    private mutating func finishChunk(size: Int, signature: String) throws(Problem) {
        let chunkHash = SigV4.hex(hasher.finalize())
        let toSign = "AWS4-HMAC-SHA256-PAYLOAD\n\(amzDate)\n\(scope)\n\(previous)\n\(SigV4.emptyPayloadHash)\n\(chunkHash)"
        let expected = SigV4.signature(toSign, key: key)
        guard SigV4.equal(expected, signature.lowercased()) else { throw .badSignature }
        previous = expected
        chunksVerified += 1
        if size == 0 { lastChunkSeen = true }
    }

    private func hex(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: Int(c - 48)
        case 65...70: Int(c - 55)
        case 97...102: Int(c - 87)
        default: nil
        }
    }
}
