import FuzzDriver
import SpillwayS3

// Lines of the input become an Authorization value, a target and header fields; parsing, the
// access-key claim and a full verification must never trap, whatever they hold.
fuzz { bytes in
    let lines = Array(bytes).split(separator: 10, omittingEmptySubsequences: false)
    guard lines.count >= 2 else { return }
    let authorization = String(decoding: lines[0], as: UTF8.self)
    let target = String(decoding: lines[1], as: UTF8.self)
    let query = target.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
    _ = SignedRequest.claim(authorization: Substring(authorization), query: query)
    _ = SignedRequest.claim(authorization: nil, query: query)
    _ = SignedRequest.parse(authorization: Substring(authorization))
    _ = SignedRequest.parse(presignedQuery: query)
    var headers: [(name: String, value: String)] = [("host", "h"), ("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]
    for line in lines.dropFirst(2) {
        let text = String(decoding: line, as: UTF8.self)
        if let colon = text.firstIndex(of: ":") { headers.append((String(text[..<colon]), String(text[text.index(after: colon)...]))) }
    }
    let request = SigningRequest(method: "GET", target: target, headers: headers, authorization: authorization)
    _ = SigV4Verifier.verify(request, secret: { _ in "secret" }, now: 1_369_353_600)
    let presigned = SigningRequest(method: "GET", target: target, headers: headers, authorization: nil)
    _ = SigV4Verifier.verify(presigned, secret: { _ in "secret" }, now: 1_369_353_600)
}
