import SpillwayPolicy

/// The last few minutes of the gateway, one sample a second, kept by the admin listener so that a
/// dashboard opened now still shows the node that failed a minute ago. Pure: the caller hands in
/// each status with the wall-clock time it was taken; rates come from consecutive statuses (their
/// `uptimeSeconds` is monotonic).
public struct StatusHistory: Sendable {
    public struct Sample: Codable, Sendable, Equatable {
        public var atUnixMillis: Int64
        public var requestsPerSecond: Double
        public var bytesOutPerSecond: Double
        public var errorsPerSecond: Double
        public var nodes: [NodeSample]
        /// The busiest tenants and buckets of this second (at most `top` of each).
        public var tenants: [TrafficSample]
        public var buckets: [TrafficSample]
    }

    public struct TrafficSample: Codable, Sendable, Equatable {
        public var name: String
        public var requestsPerSecond: Double
        public var bytesOutPerSecond: Double
    }

    public struct NodeSample: Codable, Sendable, Equatable {
        public var pool: String
        public var url: String
        public var requestsPerSecond: Double
        public var bytesOutPerSecond: Double
        public var latencyEWMAms: Double
        public var inRotation: Bool
    }

    public let capacity: Int
    public let top: Int
    public private(set) var samples: [Sample] = []
    private var previous: GatewayStatus?

    public init(capacity: Int = 300, top: Int = 10) {
        self.capacity = capacity
        self.top = top
    }

    public mutating func add(_ status: GatewayStatus, atUnixMillis: Int64) {
        defer { previous = status }
        guard let before = previous else { return }
        let seconds = status.uptimeSeconds - before.uptimeSeconds
        guard seconds > 0 else { return }
        func rate(_ now: Int, _ then: Int) -> Double { Double(max(0, now - then)) / seconds }
        var earlier: [String: NodeStatus] = [:]
        for pool in before.pools { for node in pool.nodes { earlier[pool.name + " " + node.url] = node } }
        var nodes: [NodeSample] = []
        for pool in status.pools {
            for node in pool.nodes {
                let then = earlier[pool.name + " " + node.url]
                nodes.append(
                    NodeSample(
                        pool: pool.name, url: node.url, requestsPerSecond: rate(node.requests, then?.requests ?? node.requests),
                        bytesOutPerSecond: rate(node.bytesOut, then?.bytesOut ?? node.bytesOut), latencyEWMAms: node.latencyEWMAms,
                        inRotation: node.inRotation))
            }
        }
        func busiest(_ now: [TrafficStatus], _ then: [TrafficStatus]) -> [TrafficSample] {
            let earlier = Dictionary(then.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let all = now.map { t in
                TrafficSample(
                    name: t.name, requestsPerSecond: rate(t.requests, earlier[t.name]?.requests ?? 0),
                    bytesOutPerSecond: rate(t.bytesOut, earlier[t.name]?.bytesOut ?? 0))
            }
            return Array(all.filter { $0.requestsPerSecond > 0 }.sorted { $0.requestsPerSecond > $1.requestsPerSecond }.prefix(top))
        }
        samples.append(
            Sample(
                atUnixMillis: atUnixMillis, requestsPerSecond: rate(status.totals.requests, before.totals.requests),
                bytesOutPerSecond: rate(status.totals.bytesOut, before.totals.bytesOut),
                errorsPerSecond: rate(status.totals.errors, before.totals.errors), nodes: nodes,
                tenants: busiest(status.tenants, before.tenants), buckets: busiest(status.buckets, before.buckets)))
        if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
    }
}
