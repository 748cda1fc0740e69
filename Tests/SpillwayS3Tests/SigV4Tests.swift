import Crypto
import SpillwayS3
import Testing

/// AWS's published SigV4 examples for S3 ("Signature Calculations for the Authorization Header" and
/// "Signature Calculation: Transfer Payload in Multiple Chunks", AWS S3 API reference): the example
/// key, secret and time, and the signatures AWS printed for them.
@Suite("SigV4 verification against AWS's published S3 examples")
struct SigV4Tests {
    static let accessKey = "AKIAIOSFODNN7EXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let now = SigV4.epochSeconds(amzDate: "20130524T000000Z")!

    func verify(
        _ method: String, _ target: String, headers: [String: String], authorization: String?, now: Int = now,
        secret: String = secret
    ) -> Result<SigV4Verifier.Verified, SigV4Verifier.Failure> {
        let request = SigningRequest(method: method, target: target, headers: headers.map { ($0.key, $0.value) }, authorization: authorization)
        return SigV4Verifier.verify(request, secret: { $0 == Self.accessKey ? secret : nil }, now: now)
    }

    func auth(_ signed: String, _ signature: String) -> String {
        "AWS4-HMAC-SHA256 Credential=\(Self.accessKey)/20130524/us-east-1/s3/aws4_request,SignedHeaders=\(signed),Signature=\(signature)"
    }

    let getHeaders = [
        "Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9",
        "x-amz-content-sha256": SigV4.emptyPayloadHash, "x-amz-date": "20130524T000000Z",
    ]

    @Test func getObjectWithRange() {
        let r = verify("GET", "/test.txt", headers: getHeaders,
                       authorization: auth("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"))
        #expect((try? r.get())?.accessKey == Self.accessKey)
    }

    @Test func putObjectWithAPathThatNeedsEncoding() {
        let headers = [
            "Host": "examplebucket.s3.amazonaws.com", "Date": "Fri, 24 May 2013 00:00:00 GMT",
            "x-amz-date": "20130524T000000Z", "x-amz-storage-class": "REDUCED_REDUNDANCY",
            "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
        ]
        let r = verify("PUT", "/test$file.text", headers: headers,
                       authorization: auth("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                                           "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
        #expect((try? r.get()) != nil)
        // The same path sent encoded signs the same.
        let encoded = verify("PUT", "/test%24file.text", headers: headers,
                             authorization: auth("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                                                 "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
        #expect((try? encoded.get()) != nil)
    }

    @Test func getBucketLifecycleAndListObjects() {
        let headers = ["Host": "examplebucket.s3.amazonaws.com", "x-amz-content-sha256": SigV4.emptyPayloadHash, "x-amz-date": "20130524T000000Z"]
        let lifecycle = verify("GET", "/?lifecycle", headers: headers,
                               authorization: auth("host;x-amz-content-sha256;x-amz-date", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"))
        #expect((try? lifecycle.get()) != nil)
        let list = verify("GET", "/?max-keys=2&prefix=J", headers: headers,
                          authorization: auth("host;x-amz-content-sha256;x-amz-date", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
        #expect((try? list.get()) != nil)
    }

    @Test func presignedGet() {
        let target = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        let ok = verify("GET", target, headers: ["Host": "examplebucket.s3.amazonaws.com"], authorization: nil, now: Self.now + 3600)
        #expect((try? ok.get())?.accessKey == Self.accessKey)
        let expired = verify("GET", target, headers: ["Host": "examplebucket.s3.amazonaws.com"], authorization: nil, now: Self.now + 86401)
        #expect(expired.failure == .expired)
    }

    @Test func forgeriesAreRefusedWithTheRightCode() {
        let signature = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        let signed = "host;range;x-amz-content-sha256;x-amz-date"
        #expect(verify("GET", "/test.txt", headers: getHeaders, authorization: auth(signed, signature), secret: "wrong").failure == .signatureDoesNotMatch)
        var tampered = getHeaders
        tampered["Range"] = "bytes=0-99"
        #expect(verify("GET", "/test.txt", headers: tampered, authorization: auth(signed, signature)).failure == .signatureDoesNotMatch)
        #expect(verify("GET", "/test2.txt", headers: getHeaders, authorization: auth(signed, signature)).failure == .signatureDoesNotMatch)
        let unknown = auth(signed, signature).replacingOccurrences(of: Self.accessKey, with: "AKIAUNKNOWN")
        #expect(verify("GET", "/test.txt", headers: getHeaders, authorization: unknown).failure == .invalidAccessKeyId)
        #expect(verify("GET", "/test.txt", headers: getHeaders, authorization: auth(signed, signature), now: Self.now + 3600).failure == .requestTimeTooSkewed)
        #expect(verify("GET", "/test.txt", headers: getHeaders, authorization: nil).failure == .missingAuthentication)
        #expect(verify("GET", "/test.txt", headers: getHeaders, authorization: "AWS AKIA:c2ln").failure == .malformed("Signature Version 2 is not accepted; sign with SigV4"))
    }

    @Test func theChunkSignatureChainOfAStreamingUpload() throws {
        let headers = [
            "Host": "s3.amazonaws.com", "x-amz-date": "20130524T000000Z", "x-amz-storage-class": "REDUCED_REDUNDANCY",
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": "66560", "Content-Length": "66824",
        ]
        let r = verify(
            "PUT", "/examplebucket/chunkObject.txt", headers: headers,
            authorization: auth("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
                                "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"))
        var chain = try #require(try r.get().streaming)
        let a64 = String(repeating: "a", count: 65536)
        let a1 = String(repeating: "a", count: 1024)
        let body = "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n\(a64)\r\n"
            + "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n\(a1)\r\n"
            + "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
        #expect(body.utf8.count == 66824)
        // In odd-sized pieces, as a network delivers it.
        let bytes = Array(body.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = min(7919, bytes.count - offset)
            try bytes[offset..<(offset + n)].withUnsafeBytes { try chain.consume($0) }
            offset += n
        }
        #expect(chain.isComplete)
        #expect(chain.chunksVerified == 3)

        var forged = try #require(try r.get().streaming)
        let bad = body.replacingOccurrences(of: "\(a1)\r\n", with: "b" + String(a1.dropFirst()) + "\r\n")
        #expect(throws: ChunkSignatureVerifier.Problem.badSignature) {
            try Array(bad.utf8).withUnsafeBytes { try forged.consume($0) }
        }
    }

    @Test func accessKeysAreFoundWithoutVerifying() {
        #expect(SignedRequest.claim(authorization: Substring(auth("host", "x")), query: "") == .key("AKIAIOSFODNN7EXAMPLE"))
        #expect(SignedRequest.claim(authorization: nil, query: "X-Amz-Credential=AKIAXYZ%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&x=1") == .key("AKIAXYZ"))
        #expect(SignedRequest.claim(authorization: "AWS AKIAV2:sig", query: "") == .key("AKIAV2"))
        #expect(SignedRequest.claim(authorization: nil, query: "prefix=a") == .anonymous)
        // A partial match before the real one, and a marker cut short at the end.
        #expect(SignedRequest.claim(authorization: "AWS4-HMAC-SHA256 CCredentialCredential=AKID2/x", query: "") == .key("AKID2"))
        #expect(SignedRequest.claim(authorization: "AWS4-HMAC-SHA256 Credential", query: "") == .anonymous)
        #expect(SignedRequest.claim(authorization: nil, query: "X-Amz-Cred=1&X-Amz-Credential=AKQ%2Fd") == .key("AKQ"))
    }

    @Test func aCredentialGivenTwiceIsAmbiguousAndRefused() {
        // The tenant would be charged by the first and verified by the last.
        let twice = "AWS4-HMAC-SHA256 Credential=VICTIM/20130524/us-east-1/s3/aws4_request, Credential=\(Self.accessKey)/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=00"
        #expect(SignedRequest.claim(authorization: Substring(twice), query: "") == .ambiguous)
        #expect(verify("GET", "/test.txt", headers: getHeaders, authorization: twice).failure == .malformed("Credential is given twice"))
        #expect(SignedRequest.claim(authorization: nil, query: "X-Amz-Credential=A%2Fx&X-Amz-Credential=B%2Fx") == .ambiguous)
        let presigned = "/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Date=20990101T000000Z"
        #expect(verify("GET", presigned, headers: ["Host": "h"], authorization: nil).failure == .malformed("X-Amz-Date is given twice"))
    }

    @Test func signedHeadersMustBeFewSortedAndDistinct() {
        let signature = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        #expect(verify("GET", "/test.txt", headers: getHeaders, authorization: auth("range;host;x-amz-content-sha256;x-amz-date", signature)).failure
            == .malformed("SignedHeaders are not sorted, or list a header twice"))
        #expect(verify("GET", "/test.txt", headers: getHeaders, authorization: auth("host;host;range;x-amz-date", signature)).failure
            == .malformed("SignedHeaders are not sorted, or list a header twice"))
        let many = (0..<20_000).map { "x-\(100_000 + $0)" }.joined(separator: ";")
        #expect(verify("GET", "/test.txt", headers: getHeaders, authorization: auth("host;" + many, signature)).failure
            == .malformed("more than 128 signed headers"))
        #expect(verify("GET", "/test.txt", headers: getHeaders, authorization: auth("Host;range", signature)).failure == .malformed("bad SignedHeaders"))
    }

    @Test func theCanonicalRequestIsBuiltFromRawBytes() {
        // A byte that is not UTF-8 canonicalises as itself, percent-encoded, in the path and the query.
        var out: [UInt8] = []
        CanonicalRequest.uri([47, 0xFF, 97], into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "/%FFa")
        out = []
        CanonicalRequest.canonicalQuery(Array("b=%ff&a=%E2%82%AC".utf8), dropSignature: false, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "a=%E2%82%AC&b=%FF")
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}
