import Foundation
import NIOCore
import SpillwayHTTP1
import SpillwayS3
import Testing

@testable import SpillwayProxy

/// Re-signing in the data plane, on `EmbeddedChannel`s: what a credentialed pool's node receives
/// for a request the client signed with a gateway-issued key, attempt by attempt.
@Suite("The exchange, re-signed for a pool's own credentials")
struct ResigningRunnerTests {
    static let client = SigV4Signer.Credentials(accessKeyID: "CLIENTKEY", secretAccessKey: "client-secret")
    static let pool = SigV4Signer.Credentials(accessKeyID: "POOLKEY", secretAccessKey: "pool-secret")
    static let auth = """
        auth:
          verify_signatures: true
          credentials: { CLIENTKEY: client-secret }
        """

    static func harness(signing: String = "region: eu-west-1", nodes: Int = 2, routes: String = "") throws -> RunnerHarness {
        try RunnerHarness(auth + "\n" + routes, pool: """
            credentials: { access_key_id: POOLKEY, secret_access_key: pool-secret }
            signing: { \(signing) }
            """, nodes: nodes)
    }

    /// A request signed for `credentials` now, as text.
    static func signed(
        _ method: String, _ target: String, _ headers: [(String, String)], payload: String, body: String = "", by credentials: SigV4Signer.Credentials = client
    ) -> String {
        let amzDate = SigV4Signer.amzDate(unixSeconds: Int64(Date().timeIntervalSince1970))
        let all = [("host", "gw"), ("x-amz-date", amzDate), ("x-amz-content-sha256", payload)] + headers
        let request = SigningRequest(method: method, target: target, headers: all.map { ($0.0, $0.1) }, authorization: nil)
        let signed = SigV4Signer.sign(
            request, signedHeaders: all.map(\.0), payloadHash: payload, credentials: credentials, region: "us-east-1", service: "s3",
            amzDate: amzDate)
        let lines = all.map { "\($0.0): \($0.1)\r\n" }.joined()
        return "\(method) \(target) HTTP/1.1\r\n\(lines)Authorization: \(signed.authorization)\r\n\r\n\(body)"
    }

    /// The node's request head verified as SigV4 against `credentials` (region eu-west-1).
    static func verifies(_ text: String, _ credentials: SigV4Signer.Credentials) throws -> Bool {
        let head = String(text[..<(text.range(of: "\r\n\r\n")?.upperBound ?? text.endIndex)])
        let bytes = Array(head.utf8)
        let parsed = try bytes.withUnsafeBytes { try RequestHead.parse($0) }
        let request = bytes.withUnsafeBytes { b in
            let target = Array(b[parsed.targetRange])
            let q = target.firstIndex(of: 63)
            return SigningRequest(
                method: Array(b[parsed.methodRange]), path: Array(target[..<(q ?? target.count)]), query: q.map { Array(target[($0 + 1)...]) } ?? [],
                headers: RequestHead.fieldIndex(in: b), authorization: fieldValue("Authorization", in: head).map { Substring($0) })
        }
        let verified = SigV4Verifier.verify(request, secret: { $0 == credentials.accessKeyID ? credentials.secretAccessKey : nil }, now: Int(Date().timeIntervalSince1970))
        guard case .success(let v) = verified else { return false }
        return v.accessKey == credentials.accessKeyID
    }

    static func fieldValue(_ name: String, in head: String) -> String? {
        for line in head.components(separatedBy: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() { return parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    @Test func aCoalescedFollowersCheckIsSignedForThePoolAndMadeConditional() throws {
        let h = try Self.harness(routes: FlightRunnerTests.route)
        let follower = try FlightRunnerTests.followerOfAFlight(h, Self.signed("GET", "/b/k", [], payload: SigV4.emptyPayloadHash))
        #expect(try Self.verifies(h.nodeReceived(0), Self.pool))
        #expect(try h.received() == FlightRunnerTests.head + "hello")
        let check = try h.nodeReceived(1)
        #expect(try Self.verifies(check, Self.pool), "signed for the pool afresh")
        #expect(Self.fieldValue("If-None-Match", in: check) == "\"v1\"")
        try h.nodeSends(1, FlightRunnerTests.notModified)
        h.loop.run()
        #expect(try h.received(on: follower) == FlightRunnerTests.head + "hello")
    }

    @Test func everyAttemptIsSignedAfreshForThePoolAndTheDeclaredHashIsKept() throws {
        let h = try Self.harness()
        let body = "hello"
        let hash = SigV4.sha256Hex(body)
        try h.send(Self.signed("PUT", "/b/k", [("content-length", "5")], payload: hash, body: body))
        let first = try h.nodeReceived(0)
        #expect(try Self.verifies(first, Self.pool), "\(first)")
        #expect(Self.fieldValue("X-Amz-Content-Sha256", in: first) == hash)
        #expect(Self.fieldValue("Authorization", in: first)?.contains("Credential=POOLKEY/") == true)
        #expect(Self.fieldValue("Authorization", in: first)?.contains("/eu-west-1/s3/") == true)
        #expect(Self.fieldValue("Host", in: first) == "127.0.0.1:\(9001 + h.nodeIndex(0))")
        #expect(first.hasSuffix("\r\n\r\nhello"))
        // The node throttles: the retry goes to the other node, signed for it.
        try h.nodeSends(0, response(503, body: "<Error><Code>SlowDown</Code></Error>"))
        h.advance(.seconds(1))
        let second = try h.nodeReceived(1)
        #expect(try Self.verifies(second, Self.pool), "\(second)")
        #expect(Self.fieldValue("Host", in: second) == "127.0.0.1:\(9001 + h.nodeIndex(1))")
        #expect(h.nodeIndex(1) != h.nodeIndex(0))
        #expect(second.hasSuffix("\r\n\r\nhello"))
        try h.nodeSends(1, response(body: ""))
        #expect(try h.received().hasPrefix("HTTP/1.1 200"))
    }

    @Test func virtualHostedAddressingPutsTheBucketInTheHost() throws {
        let h = try Self.harness(signing: "region: eu-west-1, addressing: virtual", nodes: 1)
        try h.send(Self.signed("GET", "/datasets/shard%2B1?versionId=3", [], payload: SigV4.emptyPayloadHash))
        let sent = try h.nodeReceived(0)
        #expect(sent.hasPrefix("GET /shard%2B1?versionId=3 HTTP/1.1\r\n"), "\(sent)")
        #expect(Self.fieldValue("Host", in: sent) == "datasets.127.0.0.1:9001")
        #expect(try Self.verifies(sent, Self.pool))
    }

    @Test func anUnsignedBodyIsRefusedTowardAPlainHTTPPoolBeforeAnyByteLeaves() throws {
        let h = try Self.harness(nodes: 1)
        try h.send(Self.signed("PUT", "/b/k", [("content-length", "5")], payload: "UNSIGNED-PAYLOAD", body: "hello"))
        #expect(h.dialled == 0)
        let answer = try h.received()
        #expect(answer.hasPrefix("HTTP/1.1 400") && answer.contains("<Code>InvalidRequest</Code>"), "\(answer)")
    }

    /// `data` as an unsigned aws-chunked body in chunks of `chunk` bytes with a trailing CRC32.
    static func unsignedTrailerBody(_ data: [UInt8], chunk: Int, crc: String) -> String {
        var text = ""
        var at = 0
        while at < data.count {
            let n = min(chunk, data.count - at)
            text += String(n, radix: 16) + "\r\n" + String(decoding: data[at..<(at + n)], as: UTF8.self) + "\r\n"
            at += n
        }
        return text + "0\r\nx-amz-checksum-crc32:\(crc)\r\n\r\n"
    }

    @Test func aDecodedUploadWithABadChecksumNeverReachesTheNodeWhole() throws {
        let data = Array(String(repeating: "spillway ", count: 300).utf8)
        var running = RunningChecksum(.crc32)
        data.withUnsafeBytes { running.update($0) }
        let crc = running.base64
        for (checksum, whole) in [(crc, true), ("AAAAAA==", false)] {
            let h = try Self.harness(signing: "region: eu-west-1, payload: decode", nodes: 1)
            let body = Self.unsignedTrailerBody(data, chunk: 1000, crc: checksum)
            let head = Self.signed(
                "PUT", "/b/k",
                [("content-encoding", "aws-chunked"), ("content-length", "\(body.utf8.count)"), ("x-amz-decoded-content-length", "\(data.count)"),
                 ("x-amz-trailer", "x-amz-checksum-crc32")],
                payload: "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
            try h.send(head)
            // In two pieces: the node has all but the held-back end before the checksum is known.
            let split = body.utf8.count - 20
            try h.send(String(body.prefix(split)))
            try h.send(String(body.dropFirst(split)))
            let sent = try h.nodeReceived(0)
            #expect(Self.fieldValue("Content-Length", in: sent) == "\(data.count)")
            #expect(Self.fieldValue("Content-Encoding", in: sent) == nil && Self.fieldValue("X-Amz-Trailer", in: sent) == nil)
            #expect(Self.fieldValue("X-Amz-Content-Sha256", in: sent) == "UNSIGNED-PAYLOAD")
            #expect(try Self.verifies(sent, Self.pool))
            let sentBody = sent.range(of: "\r\n\r\n").map { sent[$0.upperBound...] } ?? ""
            if whole {
                #expect(sent.hasSuffix("\r\n\r\n" + String(decoding: data, as: UTF8.self)))
                try h.nodeSends(0, response(body: ""))
                #expect(try h.received().hasPrefix("HTTP/1.1 200"))
            } else {
                #expect(sentBody.utf8.count < data.count, "the node got the whole body")
                #expect(!h.node(0).isActive, "the node connection is cut, so the short body is never taken for a whole one")
                let answer = try h.received()
                #expect(answer.hasPrefix("HTTP/1.1 400") && answer.contains("<Code>BadDigest</Code>"), "\(answer)")
            }
        }
    }
}
