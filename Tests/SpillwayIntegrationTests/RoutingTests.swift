import Foundation
import Testing

/// Routes send matching requests to a pool whose only node is closed, so a route that matched is
/// seen as a 503 from the gateway, and one that did not as a success from the cluster.
@Suite("Routing by bucket, key prefix and operation")
struct RoutingTests {
    @Test func firstMatchingRouteDecidesThePool() async throws {
        let cluster = try await SharedCluster.shared.get()
        let gateway = try Gateway(config: """
            listen: 127.0.0.1:0
            pools:
              - name: cluster
                nodes: [\(cluster.nodeURLs.joined(separator: ", "))]
              - name: closed
                nodes: [http://127.0.0.1:9]
            routes:
              - name: blocked-buckets
                match: { bucket: "blocked-*" }
                pool: closed
              - name: frozen-prefix
                match: { bucket: routed, prefix: "frozen/" }
                pool: closed
              - name: no-deletes
                match: { bucket: routed, operation: [DeleteObject] }
                pool: closed
            default_pool: cluster
            """)
        let blocked = try boto("roundtrip", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "blocked-one", "--sizes", "1"], allowS3Error: true)
            .isFailure(expecting: "ServiceUnavailable")
        #expect(blocked)
        let open = try boto("copy-delete", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "routed"])
        #expect(open["copy_matches"].bool == true)

        let frozen = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster,
                              ["--bucket", "routed", "--key", "frozen/x", "--size", "10"], allowS3Error: true).isFailure(expecting: "ServiceUnavailable")
        #expect(frozen)
        let thawed = try boto("put-random", endpoint: gateway.endpoint, cluster: cluster,
                              ["--bucket", "routed", "--key", "thawed/x", "--size", "10"])
        #expect(thawed["size"].int == 10)
        // DeleteObject is routed to the closed pool; the object stays.
        let deleting = try boto("roundtrip", endpoint: gateway.endpoint, cluster: cluster, ["--bucket", "routed", "--sizes", "5"], allowS3Error: true)
            .isFailure(expecting: "ServiceUnavailable")
        #expect(deleting)
    }
}

extension JSON {
    /// True when a scenario run with `allowS3Error` ended with this S3 error code.
    func isFailure(expecting code: String) -> Bool { self["error"].string == code }
}
