import FuzzDriver
import SpillwayS3

// An aws-chunked body against a chain seeded with AWS's example, and through the re-signer, the
// decoder and the trailing-checksum check that share its reader: any bytes, in pieces, are taken
// or refused, never trapped on, and the re-signed body keeps the client's length.
let key = SigV4.signingKey(secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", date: "20130524", region: "us-east-1", service: "s3")
let seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
let scope = "20130524/us-east-1/s3/aws4_request"

fuzz { bytes in
    guard let first = bytes.first else { return }
    var chain = ChunkSignatureVerifier(seed: seed, key: key, amzDate: "20130524T000000Z", scope: scope, trailer: first & 1 == 1, maxChunkSize: 1 << 16)
    var resigner = ChunkResigner(seed: seed, key: key, amzDate: "20130524T000000Z", scope: scope, maxChunkSize: 1 << 16)
    var decoder = AwsChunkedDecoder()
    var check = TrailingChecksumCheck(algorithm: first & 2 == 2 ? .crc64nvme : .crc32c)
    var alive = (chain: true, resign: true, decode: true, check: true)
    var taken = 0
    var produced = 0
    let step = Int(first >> 2) + 1
    var offset = 1
    while offset < bytes.count {
        let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(bytes.count, offset + step)])
        if alive.chain { alive.chain = (try? chain.consume(piece)) != nil }
        if alive.resign {
            do {
                try resigner.consume(piece) { output in
                    switch output {
                    case .hold(let range): produced += range.count
                    case .chunk(let header): produced += header.count + 2
                    case .bytes(let b): produced += b.count
                    }
                }
                taken += piece.count
            } catch {
                alive.resign = false
            }
        }
        if alive.decode { alive.decode = (try? decoder.consume(piece) { precondition($0.upperBound <= piece.count) }) != nil }
        if alive.check { alive.check = (try? check.consume(piece)) != nil }
        offset += piece.count
    }
    if alive.resign && resigner.isComplete { precondition(produced == taken, "a re-signed body keeps its length") }
}
