import Foundation
import Testing

/// A gateway in front of lenient nodes, with health probes off so the nodes record only what
/// clients sent through the gateway.
func gatewayInFront(of nodes: [LenientNode], extra: String = "", pool: String = "") throws -> Gateway {
    try Gateway(config: """
        listen: 127.0.0.1:0
        workers: 1
        pools:
          - name: lenient
            nodes: [\(nodes.map(\.url).joined(separator: ", "))]
            health: { preset: none }
        \(pool)
        \(extra)
        """)
}

/// What the node must have seen after a raw request went through the gateway.
enum NodeSaw {
    /// Nothing complete: the gateway refused the request (the client got `status`).
    case nothing(status: Int)
    /// Exactly one request, whose bytes are exactly these.
    case exactly(String)
}

/// Sends `raw` on a fresh connection and checks the client's answer and what the node read.
func expectThrough(_ gateway: Gateway, _ node: LenientNode, _ raw: String, _ expected: NodeSaw, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try node.reset()
    let connection = try RawConnection(port: gateway.port)
    connection.send(raw)
    let responses = connection.responses(1, idle: 3)
    // Give the node a moment to record whatever reached it after the answer.
    usleep(100_000)
    let seen = try node.requests()
    let complete = seen.filter(\.complete)
    switch expected {
    case .nothing(let status):
        #expect(responses.first?.status == status, "gateway answered \(responses.map(\.status)) for \(raw.debugDescription)", sourceLocation: sourceLocation)
        if let body = responses.first?.bodyText, status >= 400 {
            #expect(body.contains("<Error><Code>") && body.contains("<RequestId>"), "not an S3 XML error: \(body)", sourceLocation: sourceLocation)
        }
        #expect(complete.isEmpty, "the node read \(complete.map { "\($0.method) \($0.target)" }) from \(raw.debugDescription)", sourceLocation: sourceLocation)
    case .exactly(let bytes):
        #expect(responses.first?.status == 200, "gateway answered \(responses.map(\.status)) for \(raw.debugDescription)", sourceLocation: sourceLocation)
        #expect(seen.count == 1, "the node read \(seen.count) requests from \(raw.debugDescription)", sourceLocation: sourceLocation)
        if let first = seen.first {
            #expect(String(decoding: first.raw, as: UTF8.self) == bytes, sourceLocation: sourceLocation)
        }
    }
}
