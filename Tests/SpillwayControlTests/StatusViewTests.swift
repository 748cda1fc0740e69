import SpillwayControl
import SpillwayPolicy
import Testing

/// A gateway status with one pool of two nodes and the given cumulative counts.
func status(at seconds: Double, requests: [Int], bytesOut: [Int] = [0, 0], ejected: Bool = false, tenants: [(String, Int)] = []) -> GatewayStatus {
    let nodes = requests.indices.map { i in
        var n = NodeStatus(
            index: i, url: "http://10.0.0.\(i + 1):9000", weight: 1, drained: false, healthy: true,
            ejectedForSeconds: ejected && i == 1 ? 7.2 : nil, ejections: ejected && i == 1 ? 1 : 0, throttled: false, inFlight: i,
            inFlightLimit: nil, latencyEWMAms: 2.5)
        n.requests = requests[i]
        n.bytesOut = bytesOut[i]
        return n
    }
    var totals = GatewayStatus.Totals()
    totals.requests = requests.reduce(0, +)
    totals.bytesOut = bytesOut.reduce(0, +)
    totals.inFlight = nodes.reduce(0) { $0 + $1.inFlight }
    return GatewayStatus(
        configVersion: 3, uptimeSeconds: seconds,
        pools: [PoolStatus(name: "main", balancer: "peak_ewma", retryBudgetBalance: 10, retryBudgetWithdrawn: 0, retryBudgetRefused: 0, queueDepth: 0, nodes: nodes)],
        tenants: tenants.map { var t = TrafficStatus(name: $0.0); t.requests = $0.1; return t }, buckets: [], totals: totals,
        fleetRedisReachable: nil)
}

@Suite("The dashboard's history of the last minutes")
struct StatusHistoryTests {
    @Test func ratesComeFromConsecutiveStatuses() {
        var h = StatusHistory(capacity: 3, top: 1)
        h.add(status(at: 10, requests: [100, 50], tenants: [("a", 100), ("b", 50)]), atUnixMillis: 1_000)
        #expect(h.samples.isEmpty, "one status has no rate yet")
        h.add(status(at: 12, requests: [300, 50], bytesOut: [4_000_000, 0], tenants: [("a", 120), ("b", 230)]), atUnixMillis: 3_000)
        let s = h.samples[0]
        #expect(s.atUnixMillis == 3_000)
        #expect(s.requestsPerSecond == 100)
        #expect(s.nodes.map(\.requestsPerSecond) == [100, 0])
        #expect(s.nodes[0].bytesOutPerSecond == 2_000_000)
        #expect(s.tenants.map(\.name) == ["b"], "only the busiest, by this second's rate")
        #expect(s.tenants[0].requestsPerSecond == 90)
    }

    @Test func onlyTheLastCapacitySamplesAreKept() {
        var h = StatusHistory(capacity: 3)
        for i in 0..<10 { h.add(status(at: Double(i), requests: [i * 10, 0]), atUnixMillis: Int64(i)) }
        #expect(h.samples.map(\.atUnixMillis) == [7, 8, 9])
    }
}

@Suite("spillway top's table")
struct StatusTableTests {
    @Test func showsEachNodeWithItsStateAndRate() {
        let before = status(at: 10, requests: [100, 50])
        let now = status(at: 12, requests: [300, 50], ejected: true, tenants: [("team-a", 350)])
        let text = StatusTable.render(now, previous: before, seconds: 2)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("spillway  config v3  up 12 s  in flight 1  req/s 100.0"))
        let node0 = lines.first { $0.contains("10.0.0.1") } ?? ""
        let node1 = lines.first { $0.contains("10.0.0.2") } ?? ""
        #expect(node0.contains(" up ") && node0.contains("100.0"))
        #expect(node1.contains("ejected 8s") && node1.contains("0.0"))
        #expect(lines.contains { $0.hasPrefix("team-a") && $0.contains("350") })
    }

    @Test func withoutAnEarlierSampleRatesAreDashes() {
        let text = StatusTable.render(status(at: 5, requests: [1, 2]), previous: nil, seconds: 0)
        #expect(text.contains("req/s -"))
    }
}
