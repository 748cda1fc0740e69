import SpillwayPolicy
import Testing

@Suite("Limits: token buckets, the admission queue, the adaptive node limit")
struct LimitTests {
    @Test func aBucketAdmitsItsBurstThenItsRate() {
        var b = TokenBucket(rate: 10, capacity: 5, at: t0)
        var burst = 0
        for _ in 0..<8 where b.take(at: t0) { burst += 1 }
        #expect(burst == 5)
        let wait = b.wait(at: t0)
        #expect(wait == .milliseconds(100))
        var later = 0
        for _ in 0..<8 where b.take(at: t0 + .milliseconds(300)) { later += 1 }
        #expect(later == 3)
    }

    @Test func bandwidthIsPacedNotRefused() {
        // 1 MB/s with a 100 KB burst: a 400 KB chunk is let through with 0.3 s of debt to wait out.
        var b = TokenBucket(rate: 1_000_000, capacity: 100_000, at: t0)
        let first = b.spend(400_000, at: t0)
        let second = b.spend(100_000, at: t0 + .milliseconds(300))
        let later = b.spend(10, at: t0 + .seconds(2))
        #expect(first == .milliseconds(300) && second == .milliseconds(100) && later == .zero)
    }

    func entry(_ id: UInt64, _ tenant: String, priority: Int = 1, weight: Int = 1, deadline: Duration = .seconds(10)) -> AdmissionQueue.Entry {
        .init(id: id, tenant: tenant, priority: priority, weight: weight, deadline: t0 + deadline)
    }

    @Test func higherClassesGoFirst() {
        var q = AdmissionQueue(capacity: 10)
        _ = q.enqueue(entry(1, "batch-team", priority: 3))
        _ = q.enqueue(entry(2, "rag", priority: 0))
        _ = q.enqueue(entry(3, "training", priority: 1))
        let order = [q.dequeue()?.id, q.dequeue()?.id, q.dequeue()?.id, q.dequeue()?.id]
        #expect(order == [2, 3, 1, nil])
    }

    @Test func tenantsOfAClassTakeTurnsByWeight() {
        var q = AdmissionQueue(capacity: 100)
        // A floods first; B and C arrive after. Turns still rotate: A B C A B C ...
        for i in 0..<10 { _ = q.enqueue(entry(UInt64(i), "A")) }
        for i in 10..<13 { _ = q.enqueue(entry(UInt64(i), "B")) }
        for i in 20..<23 { _ = q.enqueue(entry(UInt64(i), "C", weight: 2)) }
        let tenants = (0..<9).compactMap { _ in q.dequeue()?.tenant }
        #expect(tenants == ["A", "B", "C", "C", "A", "B", "C", "A", "B"])
    }

    @Test func aFullQueueShedsTheNewcomerOrDisplacesALowerClass() {
        var q = AdmissionQueue(capacity: 2)
        let results = [
            q.enqueue(entry(1, "A", priority: 2)), q.enqueue(entry(2, "A", priority: 2)), q.enqueue(entry(3, "B", priority: 2)),
            q.enqueue(entry(4, "C", priority: 0)),
        ]
        #expect(results == [.queued, .queued, .full, .queuedDisplacing(entry(2, "A", priority: 2))])
        #expect(q.count == 2)
        let next = q.dequeue()?.id
        #expect(next == 4)
    }

    @Test func waitersExpireAtTheirDeadlineAndCanLeave() {
        var q = AdmissionQueue(capacity: 10)
        _ = q.enqueue(entry(1, "A", deadline: .seconds(1)))
        _ = q.enqueue(entry(2, "A", deadline: .seconds(5)))
        _ = q.enqueue(entry(3, "B", deadline: .seconds(5)))
        let expired = q.expire(at: t0 + .seconds(2)).map(\.id)
        let removed = q.remove(id: 3)
        let again = q.remove(id: 3)
        let next = q.dequeue()?.id
        #expect(expired == [1] && removed && !again && next == 2)
        #expect(q.isEmpty)
    }

    @Test func theAdaptiveLimitShrinksWhenLatencyClimbsAndGrowsBackWhenItFalls() {
        var l = AdaptiveLimit(minimum: 4, maximum: 100, initial: 50)
        var now = t0
        for _ in 0..<20 {
            now = now + .milliseconds(10)
            l.record(firstByte: .milliseconds(2), inFlight: 40, at: now)
        }
        let steady = l.limit
        #expect(steady >= 50)
        // Latency climbs to 10x the best: the limit falls, once per window.
        for _ in 0..<30 {
            now = now + .milliseconds(10)
            l.record(firstByte: .milliseconds(20), inFlight: 40, at: now)
        }
        #expect(l.limit < 20)
        let low = l.limit
        for _ in 0..<2000 {
            now = now + .milliseconds(1)
            l.record(firstByte: .milliseconds(2), inFlight: l.limit, at: now)
        }
        #expect(l.limit > low + 20)
        // Timeouts count as trouble.
        let before = l.limit
        l.record(firstByte: nil, inFlight: 10, at: now + .seconds(1))
        #expect(l.limit < before)
    }
}

/// The fleet lease against a simulated shared counter (Redis INCRBY per second).
@Suite("Limits: fleet-wide leases")
struct FleetLeaseTests {
    /// Gateways sharing counters; each increment is answered only after `delay` more of its
    /// gateway's requests, as when Redis is a round trip away.
    struct Fleet {
        var counters: [Int64: Int] = [:]
        var leases: [FleetLease]
        /// Per gateway: increments on their way, with the counter's answer and requests left until it lands.
        var pending: [[(increment: FleetLease.Increment, total: Int, due: Int)]]
        var admitted = 0
        let allowed: Int
        let delay: Int

        init(gateways: Int, batch: Int, allowed: Int, delay: Int) {
            leases = Array(repeating: FleetLease(batch: batch), count: gateways)
            pending = Array(repeating: [], count: gateways)
            self.allowed = allowed
            self.delay = delay
        }

        mutating func send(_ g: Int, _ increment: FleetLease.Increment) {
            counters[increment.second, default: 0] += increment.amount
            pending[g].append((increment, counters[increment.second]!, delay))
        }

        mutating func answerDue(_ g: Int, all: Bool = false) {
            while let first = pending[g].first, all || first.due <= 0 {
                pending[g].removeFirst()
                if let next = leases[g].answered(first.increment, total: first.total, allowed: allowed) { send(g, next) }
            }
        }

        mutating func request(_ g: Int, second: Int64) {
            for i in pending[g].indices { pending[g][i].due -= 1 }
            answerDue(g)
            let (ok, increment) = leases[g].take(second: second, allowed: allowed)
            if ok { admitted += 1 }
            if let increment { send(g, increment) }
            answerDue(g)
        }
    }

    @Test func withPromptAnswersOneGatewayAdmitsExactlyTheRate() {
        var fleet = Fleet(gateways: 1, batch: 4, allowed: 40, delay: 0)
        for _ in 0..<100 { fleet.request(0, second: 7) }
        #expect(fleet.admitted == 40)
    }

    @Test func creditTakenWhileLeasesTravelIsChargedNeverForgiven() {
        // Two gateways, answers 3 requests late, 300 requests a second each for 5 s against 40/s.
        var fleet = Fleet(gateways: 2, batch: 4, allowed: 40, delay: 3)
        for second in Int64(100)..<105 {
            for _ in 0..<300 {
                fleet.request(0, second: second)
                fleet.request(1, second: second)
            }
        }
        for g in 0..<2 { fleet.answerDue(g, all: true) }
        // Every admitted request is in the shared counters (some leased tokens go unused).
        let counted = fleet.counters.values.reduce(0, +)
        #expect(fleet.admitted <= counted)
        // Fleet-wide, 5 s of the rate plus at most one batch of credit per gateway.
        #expect(fleet.admitted <= 5 * 40 + 2 * 4, "admitted \(fleet.admitted)")
        #expect(fleet.admitted >= 5 * 40 - 2 * 4, "admitted \(fleet.admitted)")
        #expect(fleet.leases.allSatisfy { $0.owed == 0 })
    }

    @Test func aClockReadJustBeforeTheSecondTurnedDoesNotReopenTheOldSecond() {
        // Two threads: one read second 9, the other 10, and the one with 10 took the lock first.
        var lease = FleetLease(batch: 4)
        let sent = lease.take(second: 10, allowed: 4).increment!
        #expect(lease.answered(sent, total: sent.amount, allowed: 4) == nil)
        #expect(lease.exhausted)
        let late = lease.take(second: 9, allowed: 4)
        #expect(lease.second == 10 && lease.exhausted && late.increment == nil)
    }

    @Test func creditLeftAtTheEndOfASecondIsChargedToTheNext() {
        var lease = FleetLease(batch: 4)
        let first = lease.take(second: 1, allowed: 10)
        #expect(first.admitted && first.increment == .init(second: 1, amount: 5, owed: 1))
        // The answer is late: one batch (4) more is admitted on credit, then requests are refused.
        let credit = (0..<5).map { _ in lease.take(second: 1, allowed: 10).admitted }
        #expect(credit == [true, true, true, true, false])
        // The next second begins before the answer: no more credit, and the 4 owed are charged to it.
        let next = lease.take(second: 2, allowed: 10)
        #expect(next.admitted == false && next.increment == nil)
        #expect(lease.answered(first.increment!, total: 5, allowed: 10) == .init(second: 2, amount: 4, owed: 4))
    }
}

@Suite("Limits: log throttling")
struct LogThrottleTests {
    @Test func oneLineASecondWithTheCountHeldBack() {
        var throttle = LogThrottle(interval: .seconds(1))
        #expect(throttle.admit(at: t0) == 0)
        let flood = (1...500).map { throttle.admit(at: t0 + .milliseconds($0)) }
        #expect(flood.allSatisfy { $0 == nil })
        #expect(throttle.admit(at: t0 + .milliseconds(1000)) == 500)
        #expect(throttle.admit(at: t0 + .seconds(5)) == 0)
    }
}
