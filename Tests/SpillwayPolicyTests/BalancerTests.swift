import SpillwayPolicy
import Testing

/// A pool's load as plain arrays.
struct FakeLoad: BackendLoadView {
    var inFlightCounts: [Int]
    var weights: [Int]
    var excluded: Set<Int> = []
    var backendCount: Int { inFlightCounts.count }
    func isEligible(_ index: Int) -> Bool { !excluded.contains(index) }
    func inFlight(_ index: Int) -> Int { inFlightCounts[index] }
    func weight(_ index: Int) -> Int { weights[index] }
}

@Suite("Balancing within a pool")
struct BalancerTests {
    @Test func roundRobinVisitsEveryNodeInTurn() {
        let b = Balancer(kind: .roundRobin, weights: [1, 1, 1])
        let load = FakeLoad(inFlightCounts: [0, 0, 0], weights: [1, 1, 1])
        let picks = (0..<6).map { b.pick(load, ticket: UInt64($0)) }
        #expect(picks == [0, 1, 2, 0, 1, 2])
    }

    @Test func roundRobinHonoursWeightsSmoothly() {
        let b = Balancer(kind: .roundRobin, weights: [5, 1, 1])
        let load = FakeLoad(inFlightCounts: [0, 0, 0], weights: [5, 1, 1])
        let picks = (0..<7).compactMap { b.pick(load, ticket: UInt64($0)) }
        #expect(picks.filter { $0 == 0 }.count == 5)
        #expect(picks == [0, 0, 1, 0, 2, 0, 0])
    }

    @Test func roundRobinSkipsExcludedNodes() {
        let b = Balancer(kind: .roundRobin, weights: [1, 1, 1])
        let load = FakeLoad(inFlightCounts: [0, 0, 0], weights: [1, 1, 1], excluded: [1])
        let picks = (0..<4).map { b.pick(load, ticket: UInt64($0)) }
        #expect(picks == [0, 2, 2, 0])
    }

    @Test func leastOutstandingPicksTheLeastLoadedNode() {
        let b = Balancer(kind: .leastOutstanding, weights: [1, 1, 1])
        let load = FakeLoad(inFlightCounts: [4, 1, 3], weights: [1, 1, 1])
        for ticket in 0..<5 { #expect(b.pick(load, ticket: UInt64(ticket)) == 1) }
    }

    @Test func leastOutstandingDividesLoadByWeight() {
        let b = Balancer(kind: .leastOutstanding, weights: [3, 1])
        // 5/3 < 2/1: the heavier node still has room.
        #expect(b.pick(FakeLoad(inFlightCounts: [5, 2], weights: [3, 1]), ticket: 0) == 0)
        // 7/3 > 2/1
        #expect(b.pick(FakeLoad(inFlightCounts: [7, 2], weights: [3, 1]), ticket: 0) == 1)
    }

    @Test func leastOutstandingRotatesAmongTies() {
        let b = Balancer(kind: .leastOutstanding, weights: [1, 1, 1])
        let load = FakeLoad(inFlightCounts: [0, 0, 0], weights: [1, 1, 1])
        let picks = Set((0..<3).compactMap { b.pick(load, ticket: UInt64($0)) })
        #expect(picks == [0, 1, 2])
    }

    @Test(arguments: [BalancerKind.roundRobin, .leastOutstanding])
    func noEligibleNodeMeansNoPick(kind: BalancerKind) {
        let b = Balancer(kind: kind, weights: [1, 1])
        #expect(b.pick(FakeLoad(inFlightCounts: [0, 0], weights: [1, 1], excluded: [0, 1]), ticket: 0) == nil)
        #expect(Balancer(kind: kind, weights: []).pick(FakeLoad(inFlightCounts: [], weights: []), ticket: 0) == nil)
    }
}
