import SpillwayPolicy
import Testing

let t0 = Moment(nanoseconds: 1_000_000_000)

@Suite("Active and passive health")
struct HealthTests {
    @Test func probesFlipStateOnlyAfterRiseOrFallInARow() {
        var p = ProbeState(rise: 2, fall: 3)
        #expect(p.healthy)
        #expect([p.record(success: false), p.record(success: false)] == [.none, .none])
        #expect(p.record(success: true) == .none)  // the run is broken
        #expect([p.record(success: false), p.record(success: false), p.record(success: false)] == [.none, .none, .becameUnhealthy])
        #expect(!p.healthy)
        #expect([p.record(success: true), p.record(success: true)] == [.none, .becameHealthy])
    }

    @Test func fifthConsecutiveFailureAsksForEjectionAndEjectionsGrowLonger() {
        var o = OutlierState(policy: OutlierPolicy(consecutiveFailures: 5, baseEjection: .seconds(10), maxEjection: .seconds(25)))
        let actions = (1...5).map { _ in o.record(failure: true, at: t0) }
        #expect(actions == [.none, .none, .none, .none, .requestEjection])
        o.eject(at: t0)
        #expect(o.isEjected(at: t0 + .seconds(9)))
        let early = o.readmitIfDue(at: t0 + .seconds(9))
        let due = o.readmitIfDue(at: t0 + .seconds(10))
        #expect(!early && due)
        let t1 = t0 + .seconds(11)
        for _ in 1...5 { _ = o.record(failure: true, at: t1) }
        o.eject(at: t1)
        #expect(o.ejectedUntil == t1 + .seconds(20))  // second ejection: twice as long
        _ = o.readmitIfDue(at: t1 + .seconds(20))
        let t2 = t1 + .seconds(21)
        for _ in 1...5 { _ = o.record(failure: true, at: t2) }
        o.eject(at: t2)
        #expect(o.ejectedUntil == t2 + .seconds(25))  // capped
    }

    @Test func aSuccessBreaksTheRunOfFailures() {
        var o = OutlierState(policy: OutlierPolicy(consecutiveFailures: 3))
        _ = o.record(failure: true, at: t0)
        _ = o.record(failure: true, at: t0)
        _ = o.record(failure: false, at: t0)
        #expect(o.record(failure: true, at: t0) == .none)
    }

    func pool(_ n: Int, kind: BalancerKind = .leastOutstanding, maxEjected: Double = 0.5) -> PoolHealth {
        PoolHealth(
            kind: kind, weights: Array(repeating: 1, count: n),
            policy: .init(outlier: OutlierPolicy(consecutiveFailures: 2, baseEjection: .seconds(30)), maxEjectedFraction: maxEjected),
            at: t0)
    }

    @Test func anEjectedNodeGetsNoTrafficUntilItsTimeIsUp() {
        var p = pool(3)
        _ = p.record(.connectFailed, node: 1, firstByte: nil, at: t0)
        let events = p.record(.connectFailed, node: 1, firstByte: nil, at: t0)
        #expect(events == [.ejected(node: 1, until: t0 + .seconds(30))])
        for _ in 0..<30 {
            let pick = p.pick(at: t0 + .seconds(1))
            #expect(pick?.node != 1)
            if let node = pick?.node { p.release(node) }
        }
        #expect(p.tick(at: t0 + .seconds(30)) == [.readmitted(node: 1)])
        let picks = (0..<6).compactMap { _ -> Int? in
            let n = p.pick(at: t0 + .seconds(31))?.node
            if let n { p.release(n) }
            return n
        }
        #expect(picks.contains(1))
    }

    @Test func noMoreThanTheMaximumShareIsEjected() {
        var p = pool(4, maxEjected: 0.5)
        for node in 0..<3 {
            _ = p.record(.reset, node: node, firstByte: nil, at: t0)
            let events = p.record(.reset, node: node, firstByte: nil, at: t0)
            #expect(events == [node < 2 ? .ejected(node: node, until: t0 + .seconds(30)) : .ejectionRefused(node: node)])
        }
    }

    @Test func whenNoNodeIsHealthyThePanicRuleTriesTheUndrainedOnes() {
        var p = pool(2)
        for node in 0..<2 { for _ in 0..<3 { _ = p.probe(node, success: false, at: t0) } }
        let pick = p.pick(at: t0)
        #expect(pick?.panic == true)
        p.setDrained(0, true)
        p.setDrained(1, true)
        #expect(p.pick(at: t0) == nil)
    }

    @Test func drainedNodesTakeNoNewRequests() {
        var p = pool(3)
        p.setDrained(2, true)
        for _ in 0..<20 {
            let n = p.pick(at: t0)!.node
            #expect(n != 2)
            p.release(n)
        }
    }

    @Test func triedNodesAreSkipped() {
        var p = pool(3)
        #expect(p.pick(excluding: 0b011, at: t0)?.node == 2)
        #expect(p.pick(excluding: 0b111, at: t0) == nil)
    }

    @Test func aThrottlingNodeIsAvoidedForItsRetryAfter() {
        var p = pool(2)
        let events = p.record(.throttled(retryAfter: .seconds(2)), node: 0, firstByte: .milliseconds(1), at: t0)
        #expect(events == [.throttled(node: 0, until: t0 + .seconds(2))])
        for _ in 0..<10 {
            let n = p.pick(at: t0 + .seconds(1))!.node
            #expect(n == 1)
            p.release(n)
        }
        #expect(p.pick(excluding: 0b10, at: t0 + .seconds(1))?.panic == true)  // only the throttled one left
    }

    @Test func responseStatusesClassify() {
        #expect(AttemptOutcome.response(status: 200, retryAfter: .seconds(1)) == .success)
        #expect(AttemptOutcome.response(status: 404, retryAfter: .seconds(1)) == .success)
        #expect(AttemptOutcome.response(status: 503, retryAfter: .seconds(3)) == .throttled(retryAfter: .seconds(3)))
        #expect(AttemptOutcome.response(status: 429, retryAfter: .seconds(1)) == .throttled(retryAfter: .seconds(1)))
        #expect(AttemptOutcome.response(status: 500, retryAfter: .seconds(1)) == .serverError)
        #expect(AttemptOutcome.response(status: 501, retryAfter: .seconds(1)) == .success)
    }
}

@Suite("Latency-aware balancing")
struct PeakEWMATests {
    @Test func aSlowResponseRaisesTheEstimateAtOnceAndFastOnesLowerItGradually() {
        var e = PeakEWMA(decay: .seconds(10), initial: .milliseconds(1), at: t0)
        e.observe(.milliseconds(200), at: t0)
        #expect(e.estimate(at: t0) == 200_000_000)
        e.observe(.milliseconds(1), at: t0 + .seconds(1))
        let after1s = e.estimate(at: t0 + .seconds(1))
        #expect(after1s < 200_000_000 && after1s > 150_000_000)
    }

    @Test func withoutTrafficTheEstimateDecaysSoTheNodeIsTriedAgain() {
        var e = PeakEWMA(decay: .seconds(5), at: t0)
        e.observe(.milliseconds(500), at: t0)
        #expect(e.estimate(at: t0 + .seconds(60)) < 2_000_000)
    }

    @Test func aSlowNodeReceivesLessTrafficWithinSecondsAndEarnsItBack() {
        var p = PoolHealth(kind: .peakEWMA, weights: [1, 1, 1], policy: .init(), at: t0, seed: 42)
        var counts = [0, 0, 0]
        var now = t0
        // 10 s of traffic at 100 requests/s; node 2 answers in 200 ms, the others in 2 ms.
        for step in 0..<1000 {
            now = t0 + .milliseconds(10 * step)
            let n = p.pick(at: now)!.node
            let rtt: Duration = n == 2 ? .milliseconds(200) : .milliseconds(2)
            _ = p.record(.success, node: n, firstByte: rtt, at: now)
            p.release(n)
            if step >= 100 { counts[n] += 1 }  // after the first second
        }
        #expect(counts[2] < counts[0] / 10, "slow node got \(counts)")
        // Node 2 recovers: within 40 s it gets its share back.
        var recovered = [0, 0, 0]
        for step in 0..<5000 {
            now = now + .milliseconds(10)
            let n = p.pick(at: now)!.node
            _ = p.record(.success, node: n, firstByte: .milliseconds(2), at: now)
            p.release(n)
            if step >= 4000 { recovered[n] += 1 }
        }
        #expect(recovered[2] > 250, "recovered node got \(recovered)")
    }
}

@Suite("Weights changed at run time")
struct WeightChangeTests {
    func shares(_ kind: BalancerKind) -> [Int] {
        var p = PoolHealth(kind: kind, weights: [1, 1, 1], policy: .init(), at: t0, seed: 7)
        p.setWeight(2, 6)
        var counts = [0, 0, 0]
        var held: [Int] = []
        for step in 0..<800 {
            let n = p.pick(at: t0 + .milliseconds(step))!.node
            _ = p.record(.success, node: n, firstByte: .milliseconds(2), at: t0 + .milliseconds(step))
            counts[n] += 1
            // Keep a few requests in flight, so load-aware balancers see the weights at work.
            held.append(n)
            if held.count > 8 { p.release(held.removeFirst()) }
        }
        return counts
    }

    @Test(arguments: [BalancerKind.roundRobin, .leastOutstanding, .peakEWMA])
    func aHeavierNodeTakesItsShareFromTheNextPick(kind: BalancerKind) {
        let counts = shares(kind)
        #expect(Double(counts[2]) / 800 > 0.6, "\(kind): \(counts)")
    }
}

@Suite("In-flight limits per node")
struct NodeLimitTests {
    @Test func aFullNodeTakesNoMoreAndAFullPoolSaysSo() {
        var p = PoolHealth(kind: .leastOutstanding, weights: [1, 1], policy: .init(), maxInFlight: 2, at: t0)
        let picks = (0..<4).compactMap { _ in p.pick(at: t0)?.node }
        #expect(picks.sorted() == [0, 0, 1, 1])
        #expect(p.pick(at: t0) == nil)
        #expect(p.isFull(at: t0))
        p.release(1)
        #expect(!p.isFull(at: t0))
        #expect(p.pick(at: t0)?.node == 1)
    }

    @Test func aFullPoolDoesNotPanicIntoUnhealthyNodes() {
        var p = PoolHealth(kind: .leastOutstanding, weights: [1, 1], policy: .init(fall: 1), maxInFlight: 1, at: t0)
        _ = p.probe(1, success: false, at: t0)
        #expect(p.pick(at: t0)?.node == 0)
        #expect(p.pick(at: t0) == nil)  // node 0 full, node 1 down: wait, do not panic
        #expect(p.isFull(at: t0))
    }

    @Test func theAdaptiveLimitLowersANodesCapWhenItSlowsDown() {
        var p = PoolHealth(kind: .leastOutstanding, weights: [1], policy: .init(), maxInFlight: 50, adaptive: true, at: t0)
        var now = t0
        for _ in 0..<20 {
            now = now + .milliseconds(10)
            let n = p.pick(at: now)!.node
            _ = p.record(.success, node: n, firstByte: .milliseconds(2), at: now)
            p.release(n)
        }
        for _ in 0..<40 {
            now = now + .milliseconds(30)
            let n = p.pick(at: now)!.node
            _ = p.record(.success, node: n, firstByte: .milliseconds(40), at: now)
            p.release(n)
        }
        #expect((p.nodes[0].limit ?? 50) < 20)
    }
}
