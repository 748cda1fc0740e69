import Benchmark
import SpillwayConfig
import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3

/// The per-request pure work of the data plane: parse the request head, classify the S3 operation,
/// route, pick a node, parse the node's response head. Each should cost well under a microsecond
/// and allocate nothing (classification excepted: one String for the request target).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(2))

    let request = Array(
        ("GET /training-shards/epoch-3/shard-00042.tar?x-id=GetObject HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"
            + "User-Agent: Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux lang/python#3.11.7\r\n"
            + "X-Amz-Date: 20261125T064901Z\r\nX-Amz-Content-SHA256: UNSIGNED-PAYLOAD\r\n"
            + "Authorization: AWS4-HMAC-SHA256 Credential=AKIA/20261125/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=a2a4f051907cbed2a3cdf41e5a51e84bb43e15e8afabf07d086f9434e5280cd9\r\n"
            + "amz-sdk-invocation-id: ed7122c0-93de-49f7-bfa5-24e9115b531f\r\namz-sdk-request: attempt=1\r\n\r\n").utf8)
    let response = Array(
        ("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 25 Nov 2026 07:05:00 GMT\r\n"
            + "Content-Type: application/octet-stream\r\nContent-Length: 4096\r\nLast-Modified: Wed, 25 Nov 2026 07:04:00 GMT\r\n"
            + "Connection: keep-alive\r\nETag: \"6744a8f0-1000\"\r\nAccept-Ranges: bytes\r\n\r\n").utf8)

    Benchmark("Find the end of a request head") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(request.withUnsafeBytes { HeadScanner.endOfHead($0) })
        }
    }

    Benchmark("Parse a request head") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(request.withUnsafeBytes { try? RequestHead.parse($0) })
        }
    }

    Benchmark("Parse a response head (header rewriting: lines to drop)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(response.withUnsafeBytes { try? ResponseHead.parse($0) })
        }
    }

    let classifier = RequestClassifier(virtualHostDomains: ["s3.example.internal"])
    let target = "/training-shards/epoch-3/shard-00042.tar?x-id=GetObject"
    Benchmark("Classify an S3 request") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(classifier.classify(method: .get, target: target, host: "127.0.0.1:9000", hasCopySource: false))
        }
    }

    let table = RouteTable(
        routes: [
            RouteConfig(name: "ckpt", match: RouteMatch(bucket: "ckpt-*", operations: S3OperationClass.write.mask), pool: "b"),
            RouteConfig(name: "logs", match: RouteMatch(bucket: "logs", prefix: "2026/"), pool: "b"),
            RouteConfig(name: "deletes", match: RouteMatch(methods: S3Method.delete.bit), pool: "b"),
        ], defaultPool: "a", poolNames: ["a", "b"], timeouts: Timeouts())
    let classified = classifier.classify(method: .get, target: target, host: nil, hasCopySource: false)
    Benchmark("Route a request (3 routes, falls through to the default)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(table.route(for: classified, method: .get).poolIndices.count)
        }
    }

    struct Load: BackendLoadView {
        let counts = [3, 1, 2]
        var backendCount: Int { 3 }
        func isEligible(_ index: Int) -> Bool { true }
        func inFlight(_ index: Int) -> Int { counts[index] }
        func weight(_ index: Int) -> Int { 1 }
    }
    let leastOutstanding = Balancer(kind: .leastOutstanding, weights: [1, 1, 1])
    let roundRobin = Balancer(kind: .roundRobin, weights: [2, 1, 1])
    Benchmark("Pick a node: least outstanding of 3") { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(leastOutstanding.pick(Load(), ticket: UInt64(i)))
        }
    }
    Benchmark("Pick a node: weighted round-robin of 3") { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(roundRobin.pick(Load(), ticket: UInt64(i)))
        }
    }

    // SigV4, with the signing key cached (as each event loop keeps it): verifying the client's
    // signature (every verified request), and signing for a pool (every re-signed attempt).
    let credentials = SigV4Signer.Credentials(accessKeyID: "AKIABENCHCLIENT00001", secretAccessKey: "bench-client-secret")
    let amzDate = "20261125T064901Z"
    let fields: [(name: String, value: String)] = [
        ("host", "127.0.0.1:9000"), ("x-amz-date", amzDate), ("x-amz-content-sha256", SigV4.emptyPayloadHash),
        ("user-agent", "Boto3/1.43.11 md/Botocore#1.43.11"), ("amz-sdk-invocation-id", "ed7122c0-93de-49f7-bfa5-24e9115b531f"),
    ]
    let unsigned = SigningRequest(method: "GET", target: "/training-shards/epoch-3/shard-00042.tar?x-id=GetObject", headers: fields, authorization: nil)
    let names = ["host", "x-amz-content-sha256", "x-amz-date"]
    let clientSigned = SigV4Signer.sign(
        unsigned, signedHeaders: names, payloadHash: SigV4.emptyPayloadHash, credentials: credentials, region: "us-east-1", service: "s3",
        amzDate: amzDate)
    var verifiable = unsigned
    verifiable.authorization = Substring(clientSigned.authorization)
    let now = SigV4.epochSeconds(amzDate: amzDate)!
    let verifyKeys = KeysOfALoop()
    Benchmark("Verify a request's SigV4 signature (key cached)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(SigV4Verifier.verify(verifiable, secret: { _ in credentials.secretAccessKey }, now: now, keys: &verifyKeys.cache))
        }
    }
    // As the gateway re-signs an attempt: the client's signed fields from the verifier's index,
    // the pool's host, date and payload hash as text.
    let poolCredentials = SigV4Signer.Credentials(accessKeyID: "AKIABENCHPOOL0000001", secretAccessKey: "bench-pool-secret")
    let index = verifiable.headers
    let resignKeys = KeysOfALoop()
    Benchmark("Re-sign an attempt for a pool (SigV4, key cached)") { benchmark in
        for _ in benchmark.scaledIterations {
            var fields: [SignedField] = []
            fields.reserveCapacity(index.count + 4)
            for (name, values) in index where name.hasPrefix("x-amz-") && name != "x-amz-date" && name != "x-amz-content-sha256" {
                fields.append(SignedField(name, lines: values))
            }
            fields.append(SignedField("host", text: "10.0.0.1:9000"))
            fields.append(SignedField("x-amz-date", text: amzDate))
            fields.append(SignedField("x-amz-content-sha256", text: SigV4.emptyPayloadHash))
            fields.sort { $0.name < $1.name }
            blackHole(SigV4Signer.sign(
                method: unsigned.method, path: unsigned.path, query: unsigned.query, fields: fields, payloadHash: SigV4.emptyPayloadHash,
                credentials: poolCredentials, region: "eu-west-1", service: "s3", amzDate: amzDate, keys: &resignKeys.cache
            ) { blackHole($0.count) })
        }
    }
    let signKeys = KeysOfALoop()
    Benchmark("Sign a request for a pool (SigV4, key cached)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(SigV4Signer.sign(
                unsigned, signedHeaders: names, payloadHash: SigV4.emptyPayloadHash, credentials: credentials, region: "eu-west-1",
                service: "s3", amzDate: amzDate, keys: &signKeys.cache))
        }
    }
}

/// One event loop's key cache, kept across the benchmark's samples as a worker keeps it across
/// requests (a cache made inside the measured closure would derive the key on every sample).
final class KeysOfALoop: @unchecked Sendable {
    var cache = SigningKeyCache()
}
