import Crypto
import SpillwayS3
import Testing

/// The signer and the `aws-chunked` transforms against AWS's published examples ("Signature
/// Calculations for the Authorization Header", "…Transferring Payload in Multiple Chunks" and
/// "…Including Trailing Headers"), and round trips through the verifier.
@Suite("SigV4 signing, chunk re-signing and trailing checksums")
struct SignerTests {
    static let credentials = SigV4Signer.Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let date = "20130524T000000Z"

    func sign(_ method: String, _ target: String, _ headers: [String: String], payload: String) -> SigV4Signer.Authorized {
        let request = SigningRequest(method: method, target: target, headers: headers.map { ($0.key, $0.value) }, authorization: nil)
        return SigV4Signer.sign(
            request, signedHeaders: Array(headers.keys), payloadHash: payload, credentials: Self.credentials, region: "us-east-1",
            service: "s3", amzDate: Self.date)
    }

    @Test func signaturesMatchAWSsExamples() {
        let get = sign("GET", "/test.txt", ["host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9", "x-amz-content-sha256": SigV4.emptyPayloadHash, "x-amz-date": Self.date],
                       payload: SigV4.emptyPayloadHash)
        #expect(get.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(get.authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        let hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        let put = sign("PUT", "/test$file.text", ["date": "Fri, 24 May 2013 00:00:00 GMT", "host": "examplebucket.s3.amazonaws.com", "x-amz-content-sha256": hash, "x-amz-date": Self.date, "x-amz-storage-class": "REDUCED_REDUNDANCY"],
                       payload: hash)
        #expect(put.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        let list = sign("GET", "/?max-keys=2&prefix=J", ["host": "examplebucket.s3.amazonaws.com", "x-amz-content-sha256": SigV4.emptyPayloadHash, "x-amz-date": Self.date],
                        payload: SigV4.emptyPayloadHash)
        #expect(list.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
        let streaming = sign("PUT", "/examplebucket/chunkObject.txt", [
            "content-encoding": "aws-chunked", "content-length": "66824", "host": "s3.amazonaws.com", "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "x-amz-date": Self.date, "x-amz-decoded-content-length": "66560", "x-amz-storage-class": "REDUCED_REDUNDANCY",
        ], payload: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        #expect(streaming.signature == Self.seed)
        let trailer = sign("PUT", "/examplebucket/chunkObject.txt", [
            "content-encoding": "aws-chunked", "host": "s3.amazonaws.com", "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            "x-amz-date": Self.date, "x-amz-decoded-content-length": "66560", "x-amz-storage-class": "REDUCED_REDUNDANCY", "x-amz-trailer": "x-amz-checksum-crc32c",
        ], payload: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
        #expect(trailer.signature == Self.trailerSeed)
    }

    @Test func whatTheSignerSignsTheVerifierAccepts() throws {
        let headers: [(name: String, value: String)] = [
            ("Host", "10.0.0.1:9000"), ("x-amz-date", "20261201T120000Z"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("x-amz-meta-note", "  two   spaces "), ("Content-Type", "application/x-parquet"),
        ]
        let target = "/datasets/shard%20001.parquet?partNumber=2&uploadId=a%2Bb"
        let request = SigningRequest(method: "PUT", target: target, headers: headers, authorization: nil)
        let signed = SigV4Signer.sign(
            request, signedHeaders: headers.map(\.name), payloadHash: "UNSIGNED-PAYLOAD",
            credentials: .init(accessKeyID: "POOLKEY", secretAccessKey: "pool-secret"), region: "eu-west-1", service: "s3", amzDate: "20261201T120000Z")
        let now = try #require(SigV4.epochSeconds(amzDate: "20261201T120000Z"))
        let sent = SigningRequest(method: "PUT", target: target, headers: headers, authorization: signed.authorization)
        #expect((try? SigV4Verifier.verify(sent, secret: { $0 == "POOLKEY" ? "pool-secret" : nil }, now: now).get())?.accessKey == "POOLKEY")
        #expect((try? SigV4Verifier.verify(sent, secret: { _ in "another" }, now: now).get()) == nil)
        #expect(SigV4Signer.amzDate(unixSeconds: Int64(now)) == "20261201T120000Z")
        #expect(SigV4Signer.amzDate(unixSeconds: 1_369_353_600) == "20130524T000000Z")
        #expect(SigV4Signer.amzDate(unixSeconds: 951_782_400) == "20000229T000000Z")
    }

    // MARK: - aws-chunked bodies

    static let seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    static let trailerSeed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
    static var key: SymmetricKey { SigV4.signingKey(secret: credentials.secretAccessKey, date: "20130524", region: "us-east-1", service: "s3") }
    static let scope = "20130524/us-east-1/s3/aws4_request"

    /// The examples' body (65,536 and 1,024 bytes of `a`), with these chunk signatures.
    static func body(_ signatures: [String], trailer: String? = nil) -> [UInt8] {
        var text = "10000;chunk-signature=\(signatures[0])\r\n\(String(repeating: "a", count: 65536))\r\n"
            + "400;chunk-signature=\(signatures[1])\r\n\(String(repeating: "a", count: 1024))\r\n" + "0;chunk-signature=\(signatures[2])\r\n"
        text += trailer.map { "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:\($0)\r\n\r\n" } ?? "\r\n"
        return Array(text.utf8)
    }

    static let chunkSignatures = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648", "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]
    static let trailerChunkSignatures = [
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2", "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    ]
    static let trailerSignature = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"

    /// Feeds `body` in pieces of `piece` bytes.
    static func feed(_ body: [UInt8], piece: Int, _ consume: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var offset = 0
        while offset < body.count {
            let n = min(piece, body.count - offset)
            try body[offset..<(offset + n)].withUnsafeBytes { try consume($0) }
            offset += n
        }
    }

    /// Re-signs `body` from `seed`, as the data plane does: holding each chunk until its header.
    static func resign(_ body: [UInt8], seed: String, piece: Int) throws -> [UInt8] {
        var resigner = ChunkResigner(seed: seed, key: key, amzDate: date, scope: scope, maxChunkSize: 1 << 20)
        var out: [UInt8] = []
        var held: [UInt8] = []
        try feed(body, piece: piece) { bytes in
            try resigner.consume(bytes) { output in
                switch output {
                case .hold(let range): held += bytes[range]
                case .chunk(let header):
                    out += header + held + [13, 10]
                    held = []
                case .bytes(let b): out += b
                }
            }
        }
        #expect(resigner.isComplete)
        return out
    }

    @Test func chunksAreReSignedToAWSsExampleSignaturesWhateverThePieces() throws {
        let placeholder = String(repeating: "0", count: 64)
        let client = Self.body([placeholder, placeholder, placeholder])
        for piece in [1, 7, 100, 65536, client.count] {
            #expect(try Self.resign(client, seed: Self.seed, piece: piece) == Self.body(Self.chunkSignatures), "pieces of \(piece)")
        }
        let trailed = Self.body([placeholder, placeholder, placeholder], trailer: placeholder)
        let resigned = try Self.resign(trailed, seed: Self.trailerSeed, piece: 4093)
        #expect(resigned == Self.body(Self.trailerChunkSignatures, trailer: Self.trailerSignature))
        #expect(resigned.count == trailed.count)
        // What would change the body's length under its Content-Length is refused (found by fuzzing).
        #expect(throws: AwsChunkedParser.Problem.badFraming) { try Self.resign(Array("0\r\n\r\n".utf8), seed: Self.seed, piece: 3) }
        let shortSignature = Array("0;chunk-signature=\(placeholder)\r\nx-amz-trailer-signature:abc\r\n\r\n".utf8)
        #expect(throws: AwsChunkedParser.Problem.badFraming) { try Self.resign(shortSignature, seed: Self.seed, piece: 9) }
    }

    @Test func theVerifierChecksTheTrailerSignatureToo() throws {
        var verifier = ChunkSignatureVerifier(seed: Self.trailerSeed, key: Self.key, amzDate: Self.date, scope: Self.scope, trailer: true)
        try Self.feed(Self.body(Self.trailerChunkSignatures, trailer: Self.trailerSignature), piece: 5000) { try verifier.consume($0) }
        #expect(verifier.isComplete && verifier.chunksVerified == 3)
        var changed = ChunkSignatureVerifier(seed: Self.trailerSeed, key: Self.key, amzDate: Self.date, scope: Self.scope, trailer: true)
        let tampered = String(decoding: Self.body(Self.trailerChunkSignatures, trailer: Self.trailerSignature), as: UTF8.self)
            .replacingOccurrences(of: "sOO8/Q==", with: "AAAAAA==")
        #expect(throws: AwsChunkedParser.Problem.badSignature) { try Self.feed(Array(tampered.utf8), piece: 5000) { try changed.consume($0) } }
        var big = ChunkSignatureVerifier(seed: Self.seed, key: Self.key, amzDate: Self.date, scope: Self.scope, maxChunkSize: 60000)
        #expect(throws: AwsChunkedParser.Problem.chunkTooLarge(limit: 60000)) { try Self.feed(Self.body(Self.chunkSignatures), piece: 100) { try big.consume($0) } }
    }

    @Test func decodingKeepsTheDataAndChecksTheTrailingChecksum() throws {
        for body in [Self.body(Self.chunkSignatures), Self.body(Self.trailerChunkSignatures, trailer: Self.trailerSignature),
                     Array("4\r\nabcd\r\n3\r\nefg\r\n0\r\nx-amz-checksum-crc32:TFWIxg==\r\n\r\n".utf8)] {
            var decoder = AwsChunkedDecoder()
            var data: [UInt8] = []
            try Self.feed(body, piece: 333) { bytes in try decoder.consume(bytes) { data += bytes[$0] } }
            #expect(decoder.isComplete)
            #expect(data == (body.count < 100 ? Array("abcdefg".utf8) : Array(repeating: 97, count: 66560)))
        }
        var check = TrailingChecksumCheck(algorithm: .crc32c)
        try Self.feed(Self.body(Self.trailerChunkSignatures, trailer: Self.trailerSignature), piece: 1000) { try check.consume($0) }
        #expect(check.isComplete)
        var wrong = TrailingChecksumCheck(algorithm: .crc32c)
        let bad = Array("3\r\nabc\r\n0\r\nx-amz-checksum-crc32c:sOO8/Q==\r\n\r\n".utf8)
        #expect(throws: AwsChunkedParser.Problem.badDigest) { try bad.withUnsafeBytes { try wrong.consume($0) } }
        var missing = TrailingChecksumCheck(algorithm: .sha256)
        #expect(throws: AwsChunkedParser.Problem.badDigest) { try bad.withUnsafeBytes { try missing.consume($0) } }
    }

    @Test func checksumsMatchTheirCheckValues() {
        func b64(_ algorithm: ChecksumAlgorithm, _ text: String) -> String {
            var c = RunningChecksum(algorithm)
            // In two pieces, so both the eight-byte steps and the tail are used.
            let bytes = Array(text.utf8)
            let half = bytes.count / 2
            bytes[..<half].withUnsafeBytes { c.update($0) }
            bytes[half...].withUnsafeBytes { c.update($0) }
            return c.base64
        }
        #expect(b64(.crc32, "123456789") == Base64.encode([0xCB, 0xF4, 0x39, 0x26]))
        #expect(b64(.crc32c, "123456789") == Base64.encode([0xE3, 0x06, 0x92, 0x83]))
        #expect(b64(.crc64nvme, "123456789") == Base64.encode([0xAE, 0x8B, 0x14, 0x86, 0x0A, 0x79, 0x98, 0x88]))
        #expect(b64(.crc32c, String(repeating: "a", count: 66560)) == "sOO8/Q==")
        #expect(b64(.sha256, "") == Base64.encode(Array(SHA256.hash(data: [UInt8]()))))
        #expect(b64(.sha1, "abc") == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")
        #expect(b64(.crc32, "abcdefg") == "MSpqpg==")  // zlib.crc32 agrees
        #expect(ChecksumAlgorithm(fieldName: "X-Amz-Checksum-CRC64NVME") == .crc64nvme)
        #expect(Base64.encode(Array("any carnal pleas".utf8)) == "YW55IGNhcm5hbCBwbGVhcw==")
    }

    @Test func thePayloadPlanNeverBuffersAndNeverSendsAnUnvouchedBodyInTheClear() throws {
        func decide(_ client: PayloadPlan.Client, decode: Bool = false, tls: Bool = false, allow: Bool = false) -> Result<PayloadPlan.Decision, S3Error> {
            PayloadPlan.decide(client, decode: decode, nodeIsTLS: tls, unsignedOverHTTP: allow)
        }
        #expect(PayloadPlan.Client(contentSHA256: "UNSIGNED-PAYLOAD", hasBody: false, presigned: false) == .none)
        #expect(try decide(.none).get() == .init(payloadHash: SigV4.emptyPayloadHash, body: .asSent))
        let hash = String(repeating: "ab", count: 32)
        #expect(PayloadPlan.Client(contentSHA256: hash, hasBody: true, presigned: false) == .declared(hash))
        #expect(try decide(.declared(hash)).get().payloadHash == hash)
        #expect((try? decide(.unsigned).get()) == nil)
        #expect(try decide(.unsigned, tls: true).get().payloadHash == "UNSIGNED-PAYLOAD")
        #expect(try decide(.unsigned, allow: true).get().payloadHash == "UNSIGNED-PAYLOAD")
        #expect(try decide(.unsignedTrailer).get() == .init(payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", body: .asSent))
        #expect(try decide(.unsignedTrailer, decode: true).get() == .init(payloadHash: "UNSIGNED-PAYLOAD", body: .decoded))
        #expect(try decide(.signedStreaming(trailer: true)).get() == .init(payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", body: .resignedChunks(trailer: true)))
        #expect(try decide(.signedStreaming(trailer: false), decode: true).get().body == .decoded)
        if case .failure(let e) = decide(PayloadPlan.Client(contentSHA256: "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", hasBody: true, presigned: false)) {
            #expect(e.code == .notImplemented)
        } else {
            Issue.record("accepted")
        }
    }
}
