import Foundation
import Testing

/// SigV4 at the edge, against requests built to confuse it: duplicate credentials, endless signed
/// header lists, bytes that are not UTF-8, and streaming uploads whose chain never finishes.
@Suite("Hostile input: signatures and identity", .serialized)
struct SignatureAbuseTests {
    let node: LenientNode
    let gateway: Gateway

    // Each test gets its own node and gateway: a gateway held in a static would outlive the test run.
    init() throws {
        node = try LenientNode()
        gateway = try gatewayInFront(of: [node], extra: """
            auth:
              verify_signatures: true
              credentials: { AKIAVICTIM: victim-secret, AKIAATTACKER: attacker-secret }
            tenants:
              - { name: victim, access_keys: [AKIAVICTIM], limits: { requests: { read: 2, write: 100 } } }
              - { name: attacker, access_keys: [AKIAATTACKER], limits: { requests: { read: 1, write: 100 } } }
            """)
    }

    /// A request signed by Tests/clients/sigv4raw.py (a SigV4 implementation apart from Spillway's).
    func signed(_ key: String, _ secret: String, _ arguments: [String]) throws -> [UInt8] {
        let script = Paths.root.appendingPathComponent("Tests/clients/sigv4raw.py").path
        let r = try run("python3", [script, "--key", key, "--secret", secret] + arguments)
        guard r.status == 0 else { throw CommandError.failed("sigv4raw.py", r) }
        return Array(Data(base64Encoded: try JSON(parsing: r.stdout)["request"].string ?? "") ?? Data())
    }

    func send(_ bytes: [UInt8]) throws -> (RawResponse?, [LenientNode.Request]) {
        let node = node
        try node.reset()
        let connection = try RawConnection(port: gateway.port)
        connection.send(bytes)
        let response = connection.responses(1, idle: 3).first
        usleep(100_000)
        return (response, try node.requests().filter(\.complete))
    }

    @Test func signaturesCoverRawBytesNotTheirUTF8Reading() throws {
        // A valid signature over %FF in the query, and over a raw 0xFF byte in the path, is accepted.
        let (query, _) = try send(signed("AKIAVICTIM", "victim-secret", ["--path", "/b/k", "--query", "x=%FF"]))
        #expect(query?.status == 200)
        let (raw, seen) = try send(signed("AKIAVICTIM", "victim-secret", ["--path", "/b/\\xff"]))
        #expect(raw?.status == 200)
        #expect(seen.first.map { Array($0.raw.prefix(9)) } == Array("GET /b/\u{FF} ".unicodeScalars.map { UInt8($0.value) }))
        // A signature over the replacement character's encoding does not stand for the raw byte.
        let (forged, reached) = try send(signed("AKIAVICTIM", "victim-secret", ["--path", "/b/\\xff", "--canonical-path", "/b/%EF%BF%BD"]))
        #expect(forged?.status == 403)
        #expect(forged?.bodyText.contains("<Code>SignatureDoesNotMatch</Code>") == true)
        #expect(reached.isEmpty)
    }

    @Test func aCredentialGivenTwiceIsRefusedAndChargesNobody() throws {
        // The attacker signs with its own key but names the victim first: refused, never charged.
        let valid = try signed("AKIAATTACKER", "attacker-secret", ["--path", "/b/k"])
        let text = String(decoding: valid, as: UTF8.self)
        let twice = text.replacingOccurrences(of: "Credential=AKIAATTACKER", with: "Credential=AKIAVICTIM/20990101/us-east-1/s3/aws4_request, Credential=AKIAATTACKER")
        for _ in 0..<5 {
            let (response, reached) = try send(Array(twice.utf8))
            #expect(response?.status == 400)
            #expect(response?.bodyText.contains("<Code>AuthorizationHeaderMalformed</Code>") == true)
            #expect(reached.isEmpty)
        }
        // The victim's own reads are not shed.
        for _ in 0..<2 {
            let (response, _) = try send(signed("AKIAVICTIM", "victim-secret", ["--path", "/b/k"]))
            #expect(response?.status == 200)
        }
        // Presigned parameters given twice are refused alike.
        let (presigned, _) = try send(Array("GET /b/k?X-Amz-Credential=AKIAVICTIM%2Fx&X-Amz-Credential=AKIAATTACKER%2Fx&X-Amz-Signature=00 HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(presigned?.status == 400)
    }

    @Test func endlessSignedHeaderListsAreRefused() throws {
        let (response, reached) = try send(signed("AKIAVICTIM", "victim-secret", ["--path", "/b/k", "--signed-extra", "20000"]))
        #expect(response?.status == 400)
        #expect(response?.bodyText.contains("<Code>AuthorizationHeaderMalformed</Code>") == true)
        #expect(reached.isEmpty)
    }

    @Test func aStreamingUploadWhoseChainNeverFinishesNeverReachesTheNodeComplete() throws {
        let whole = try signed("AKIAVICTIM", "victim-secret", ["--method", "PUT", "--path", "/b/upload", "--streaming", "1000,500"])
        let (ok, stored) = try send(whole)
        #expect(ok?.status == 200)
        #expect(stored.count == 1)
        let cut = try signed("AKIAVICTIM", "victim-secret", ["--method", "PUT", "--path", "/b/upload", "--streaming", "1000,500", "--cut-final"])
        let (response, reached) = try send(cut)
        #expect(response?.status == 400)
        #expect(response?.bodyText.contains("<Code>IncompleteBody</Code>") == true)
        #expect(reached.isEmpty, "the node read a complete request from a cut upload")
    }
}
