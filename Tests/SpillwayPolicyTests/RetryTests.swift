import SpillwayPolicy
import Testing

@Suite("Retries without storms")
struct RetryTests {
    func pool(ratio: Double = 0.2, floor: Double = 0) -> PoolHealth {
        PoolHealth(
            kind: .leastOutstanding, weights: [1, 1, 1],
            policy: .init(retryBudget: .init(ratio: ratio, minPerSecond: floor, window: .seconds(10))), at: t0)
    }

    let safeRead = RetryPlanner.Traits(idempotent: true, canResend: true, responseCommitted: false)

    @Test func retriesStayWithinTheBudget() {
        var p = pool(ratio: 0.2, floor: 0)
        for _ in 0..<100 { p.depositRetryBudget(at: t0) }
        var allowed = 0
        for _ in 0..<100 where p.withdrawRetryBudget(at: t0) { allowed += 1 }
        #expect(allowed == 20)
    }

    @Test func theFloorRefillsWithTime() {
        var p = pool(ratio: 0, floor: 10)
        var first = 0
        for _ in 0..<50 where p.withdrawRetryBudget(at: t0) { first += 1 }
        #expect(first == 10)
        let tooSoon = p.withdrawRetryBudget(at: t0 + .milliseconds(50))
        #expect(!tooSoon)
        var later = 0
        for _ in 0..<50 where p.withdrawRetryBudget(at: t0 + .milliseconds(550)) { later += 1 }
        #expect(later == 5)
    }

    @Test func oldDepositsExpire() {
        var p = pool(ratio: 1, floor: 0)
        for _ in 0..<10 { p.depositRetryBudget(at: t0) }
        var allowed = 0
        for _ in 0..<10 where p.withdrawRetryBudget(at: t0 + .seconds(60)) { allowed += 1 }
        #expect(allowed == 0)
    }

    @Test func planningFollowsTheSafetyRules() {
        var p = pool(ratio: 1, floor: 100)
        let policy = RetryPlanner.Policy(maxAttempts: 3, backoff: Backoff(base: .milliseconds(20), cap: .seconds(1)))
        func plan(_ o: AttemptOutcome, attempts: Int = 1, _ traits: RetryPlanner.Traits) -> RetryPlanner.Decision {
            RetryPlanner.plan(after: o, attempts: attempts, traits: traits, policy: policy, budget: &p, at: t0, unit: 0.5)
        }
        #expect(plan(.reset, safeRead) == .retry(after: .milliseconds(10)))
        #expect(plan(.timeout, attempts: 2, safeRead) == .retry(after: .milliseconds(20)))
        #expect(plan(.reset, attempts: 3, safeRead) == .giveUp(.attemptsExhausted))
        #expect(plan(.reset, .init(idempotent: true, canResend: true, responseCommitted: true)) == .giveUp(.responseAlreadyStarted))
        #expect(plan(.reset, .init(idempotent: true, canResend: false, responseCommitted: false)) == .giveUp(.notSafeToResend))
        let createUpload = RetryPlanner.Traits(idempotent: false, canResend: true, responseCommitted: false)
        #expect(plan(.reset, createUpload) == .giveUp(.notSafeToResend))
        #expect(plan(.serverError, createUpload) == .giveUp(.notSafeToResend))
        #expect(plan(.throttled(retryAfter: .seconds(1)), createUpload) == .retry(after: .milliseconds(10)))
        #expect(plan(.connectFailed, createUpload) == .retry(after: .zero))
    }

    @Test func aSpentBudgetLetsTheErrorThrough() {
        var p = pool(ratio: 0, floor: 0)
        let d = RetryPlanner.plan(
            after: .reset, attempts: 1, traits: safeRead, policy: .init(), budget: &p, at: t0, unit: 0.5)
        #expect(d == .giveUp(.budgetExhausted))
        // Connect failures never reached a node and do not need the budget.
        let c = RetryPlanner.plan(
            after: .connectFailed, attempts: 1, traits: safeRead, policy: .init(), budget: &p, at: t0, unit: 0.5)
        #expect(c == .retry(after: .zero))
    }

    @Test func backoffGrowsExponentiallyWithFullJitterUpToTheCap() {
        let b = Backoff(base: .milliseconds(10), cap: .milliseconds(100))
        #expect(b.delay(retry: 1, unit: 0.999) < .milliseconds(10))
        #expect(b.delay(retry: 3, unit: 0.5) == .milliseconds(20))
        #expect(b.delay(retry: 10, unit: 0.5) == .milliseconds(50))
        #expect(b.delay(retry: 2, unit: 0) == .zero)
        #expect(RetryAfter.delay(header: 3) == .seconds(3))
        #expect(RetryAfter.delay(header: nil) == .seconds(1))
        #expect(RetryAfter.delay(header: 3600) == .seconds(30))
    }

    @Test func theHedgeDelayIsARecentPercentile() {
        var d = LatencyDigest(capacity: 100, percentile: 0.9, refresh: .zero)
        #expect(d.value(at: t0) == nil)
        for ms in 1...100 { d.record(.milliseconds(ms)) }
        #expect(d.value(at: t0) == .milliseconds(91))
    }
}
