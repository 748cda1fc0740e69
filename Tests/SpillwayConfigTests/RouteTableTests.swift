import SpillwayConfig
import SpillwayS3
import Testing

@Suite("Routing requests to pools")
struct RouteTableTests {
    let classifier = RequestClassifier()
    let table = RouteTable(
        routes: [
            RouteConfig(name: "checkpoint-writes", match: RouteMatch(bucket: "ckpt-*", operations: S3OperationClass.write.mask), pool: "archive"),
            RouteConfig(name: "shards", match: RouteMatch(bucket: "train", prefix: "shards/"), pool: "hot",
                        timeouts: TimeoutOverrides(firstByte: .seconds(5))),
            RouteConfig(name: "deletes", match: RouteMatch(methods: S3Method.delete.bit), pool: "archive"),
        ],
        defaultPool: "hot", poolNames: ["hot", "archive"], timeouts: Timeouts())

    func route(_ method: S3Method, _ target: String, copy: Bool = false) -> RouteTable.Entry {
        table.route(for: classifier.classify(method: method, target: target, host: nil, hasCopySource: copy), method: method)
    }

    @Test func firstMatchingRouteWins() {
        #expect(route(.put, "/ckpt-7/step-100.pt").name == "checkpoint-writes")
        #expect(route(.post, "/ckpt-7/step-100.pt?uploads").name == "checkpoint-writes")
        #expect(route(.get, "/ckpt-7/step-100.pt").name == "default")
        #expect(route(.delete, "/ckpt-7/step-100.pt").name == "deletes")
        #expect(route(.get, "/train/shards/0001.tar").name == "shards")
        #expect(route(.get, "/train/shards%2F0001.tar").name == "shards")
        #expect(route(.get, "/train/labels/0001.json").name == "default")
    }

    @Test func routeTimeoutsOverrideTheDefaults() {
        let shards = route(.get, "/train/shards/1")
        #expect(shards.timeouts.firstByte == .seconds(5))
        #expect(shards.timeouts.connect == Timeouts().connect)
        #expect(shards.poolIndices == [0])
        #expect(route(.put, "/ckpt-1/x").poolIndices == [1])
    }

    @Test func bucketConditionsNeverMatchServiceLevelRequests() {
        #expect(route(.get, "/").name == "default")
    }
}
