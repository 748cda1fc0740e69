import Foundation
import Testing

@Suite("Streaming with bounded memory")
struct VolumeTests {
    @Test func fiveGiBUpAndDownLeaveResidentMemoryWithin64MiB() throws {
        let node = try BulkNode()
        let gateway = try Gateway(nodes: [node.url])
        let size = 5 << 30
        let r = try boto("bulk", endpoint: gateway.endpoint, cluster: nil,
                         ["--size", "\(size)", "--pid", "\(gateway.process.processIdentifier)"])
        #expect(r["put_reply"].string == "{\"received\": \(size)}")
        #expect(r["get_status"].string == "HTTP/1.1 200 OK")
        #expect(r["get_received"].int == size)
        let idle = try #require(r["idle_rss_kib"].int)
        let peak = try #require(r["peak_rss_kib"].int)
        #expect(peak - idle < 64 * 1024, "resident memory grew by \((peak - idle) / 1024) MiB")
    }

    @Test func fiveGiBReSignedForAPoolUpAndDownStayWithin64MiBToo() throws {
        let node = try BulkNode()
        let gateway = try Gateway(config: """
            listen: 127.0.0.1:0
            workers: 2
            auth:
              verify_signatures: true
              credentials: { AKIABULKCLIENT000001: bulk-client-secret }
            pools:
              - name: bulk
                nodes: [\(node.url)]
                credentials: { access_key_id: BULKPOOLKEY, secret_access_key: bulk-pool-secret }
                signing: { region: us-east-1, unsigned_payload_over_http: true }
            """)
        let size = 5 << 30
        let r = try boto("bulk", endpoint: gateway.endpoint, cluster: nil, [
            "--size", "\(size)", "--pid", "\(gateway.process.processIdentifier)", "--signed",
            "--cluster-json", #"{"region": "us-east-1", "access_key": "AKIABULKCLIENT000001", "secret_key": "bulk-client-secret"}"#,
        ])
        let reply = try JSON(parsing: try #require(r["put_reply"].string))
        #expect(reply["received"].int == size, "\(r)")
        // The node got the pool's signature, not the client's.
        #expect(reply["authorization"].string?.contains("Credential=BULKPOOLKEY/") == true, "\(reply)")
        #expect(r["get_status"].string == "HTTP/1.1 200 OK")
        #expect(r["get_received"].int == size)
        let idle = try #require(r["idle_rss_kib"].int)
        let peak = try #require(r["peak_rss_kib"].int)
        #expect(peak - idle < 64 * 1024, "resident memory grew by \((peak - idle) / 1024) MiB")
    }

    @Test func manySmallRequestsLeaveNothingBehind() throws {
        let node = try BulkNode()
        let gateway = try Gateway(nodes: [node.url])
        let r = try boto("many-gets", endpoint: gateway.endpoint, cluster: nil,
                         ["--size", "4096", "--count", "20000", "--pid", "\(gateway.process.processIdentifier)"])
        #expect(r["statuses"].array.compactMap(\.string) == ["HTTP/1.1 200 OK"])
        let growth = (r["end_rss_kib"].int ?? 0) - (r["warm_rss_kib"].int ?? 0)
        #expect(growth < 8 * 1024, "resident memory grew by \(growth / 1024) MiB over 20,000 requests")
    }
}
