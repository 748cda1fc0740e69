import FuzzDriver
import SpillwayS3

// An aws-chunked body against a chain seeded with AWS's example: any bytes, in pieces, are taken
// or refused, never trapped on.
let key = SigV4.signingKey(secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", date: "20130524", region: "us-east-1", service: "s3")

fuzz { bytes in
    guard let first = bytes.first else { return }
    var chain = ChunkSignatureVerifier(
        seed: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", key: key, amzDate: "20130524T000000Z",
        scope: "20130524/us-east-1/s3/aws4_request", trailer: first & 1 == 1)
    let step = Int(first >> 1) + 1
    var offset = 1
    while offset < bytes.count {
        let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(bytes.count, offset + step)])
        guard (try? chain.consume(piece)) != nil else { return }
        offset += piece.count
    }
    _ = chain.isComplete
}
