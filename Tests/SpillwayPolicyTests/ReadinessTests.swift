import SpillwayPolicy
import Testing

@Suite("Readiness and liveness")
struct ReadinessTests {
    static func node(healthy: Bool, drained: Bool = false) -> NodeStatus {
        NodeStatus(index: 0, url: "http://n", weight: 1, drained: drained, healthy: healthy, ejectedForSeconds: nil, ejections: 0,
                   throttled: false, inFlight: 0, inFlightLimit: nil, latencyEWMAms: 0)
    }

    static func pool(_ nodes: [NodeStatus]) -> PoolStatus {
        PoolStatus(name: "main", balancer: "peak_ewma", retryBudgetBalance: 0, retryBudgetWithdrawn: 0, retryBudgetRefused: 0, queueDepth: 0, nodes: nodes)
    }

    @Test func readyOnlyWithAHealthyUndrainedNodeBoundListenersAndNoShutdown() {
        let good = Self.pool([Self.node(healthy: false), Self.node(healthy: true)])
        #expect(Readiness.problems(listening: true, shuttingDown: false, defaultPool: good).isEmpty)
        #expect(Readiness.problems(listening: true, shuttingDown: true, defaultPool: good) == ["shutting down: draining, send new requests elsewhere"])
        #expect(Readiness.problems(listening: false, shuttingDown: false, defaultPool: good) == ["the listeners are not bound yet"])
        let drained = Self.pool([Self.node(healthy: true, drained: true)])
        #expect(Readiness.problems(listening: true, shuttingDown: false, defaultPool: drained) == ["no healthy node in the default pool 'main'"])
        #expect(Readiness.problems(listening: true, shuttingDown: false, defaultPool: nil) == ["no default pool"])
    }

    @Test func aLoopWhoseHeartbeatIsStaleIsNotAlive() {
        let second: UInt64 = 1_000_000_000
        #expect(Readiness.liveness(heartbeats: [10 * second, 9 * second], now: 10 * second, limit: .seconds(5)).isEmpty)
        #expect(Readiness.liveness(heartbeats: [10 * second, 2 * second], now: 10 * second, limit: .seconds(5)) == ["event loop 1 has not answered for 8000 ms"])
        // A beat after `now` was read (another thread) is not stale.
        #expect(Readiness.liveness(heartbeats: [11 * second], now: 10 * second, limit: .seconds(5)).isEmpty)
    }
}
