import SpillwayPolicy
import Testing

@Suite("Retries without storms")
struct RetryTests {
    func pool(ratio: Double = 0.2, floor: Double = 0) -> PoolHealth {
        PoolHealth(
            kind: .leastOutstanding, weights: [1, 1, 1],
            policy: .init(retryBudget: .init(ratio: ratio, minPerSecond: floor, window: .seconds(10))), at: t0)
    }

    let safeRead = RecoveryPlanner.Traits(idempotent: true, isRead: true, canResend: true, responseCommitted: false)

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
        let policy = RecoveryPlanner.Policy(maxAttempts: 3, backoff: Backoff(base: .milliseconds(20), cap: .seconds(1)))
        func plan(_ o: AttemptOutcome, attempts: Int = 1, _ traits: RecoveryPlanner.Traits) -> RecoveryPlanner.Decision {
            RecoveryPlanner.plan(.failed(o, attempts: attempts), traits: traits, policy: policy, budget: &p, at: t0, unit: 0.5)
        }
        #expect(plan(.reset, safeRead) == .retry(after: .milliseconds(10)))
        #expect(plan(.timeout, attempts: 2, safeRead) == .retry(after: .milliseconds(20)))
        #expect(plan(.reset, attempts: 3, safeRead) == .giveUp(.attemptsExhausted))
        #expect(plan(.reset, .init(idempotent: true, canResend: true, responseCommitted: true)) == .giveUp(.responseAlreadyStarted))
        #expect(plan(.reset, .init(idempotent: true, canResend: false, responseCommitted: false)) == .giveUp(.notSafeToResend))
        let createUpload = RecoveryPlanner.Traits(idempotent: false, canResend: true, responseCommitted: false)
        #expect(plan(.reset, createUpload) == .giveUp(.notSafeToResend))
        #expect(plan(.serverError, createUpload) == .giveUp(.notSafeToResend))
        #expect(plan(.throttled(retryAfter: .seconds(1)), createUpload) == .retry(after: .milliseconds(10)))
        #expect(plan(.connectFailed, createUpload) == .retry(after: .zero))
    }

    @Test func aSpentBudgetLetsTheErrorThrough() {
        var p = pool(ratio: 0, floor: 0)
        let d = RecoveryPlanner.plan(.failed(.reset, attempts: 1), traits: safeRead, policy: .init(), budget: &p, at: t0, unit: 0.5)
        #expect(d == .giveUp(.budgetExhausted))
        // Connect failures never reached a node and do not need the budget.
        let c = RecoveryPlanner.plan(.failed(.connectFailed, attempts: 1), traits: safeRead, policy: .init(), budget: &p, at: t0, unit: 0.5)
        #expect(c == .retry(after: .zero))
        // Hedges and resumes draw on the same budget.
        #expect(RecoveryPlanner.plan(.slowRead(attempts: 1), traits: safeRead, policy: .init(), budget: &p, at: t0, unit: 0.5) == .giveUp(.budgetExhausted))
        let cut = RecoveryPlanner.Situation.cutMidBody(sent: 10, total: 100, resumes: 0, resumable: true)
        #expect(RecoveryPlanner.plan(cut, traits: safeRead, policy: .init(), budget: &p, at: t0, unit: 0.5) == .giveUp(.budgetExhausted))
    }

    @Test func hedgesAreForReadsThatCanBeSentAgain() {
        var p = pool(ratio: 1, floor: 100)
        func hedge(_ traits: RecoveryPlanner.Traits, attempts: Int = 1, maxAttempts: Int = 3) -> RecoveryPlanner.Decision {
            RecoveryPlanner.plan(.slowRead(attempts: attempts), traits: traits, policy: .init(maxAttempts: maxAttempts), budget: &p, at: t0, unit: 0.5)
        }
        #expect(hedge(safeRead) == .hedge)
        // Judged by the operation, not the method: a POST that reads (SelectObjectContent) is not idempotent.
        #expect(hedge(.init(idempotent: false, isRead: true, canResend: true, responseCommitted: false)) == .giveUp(.notHedgeable))
        #expect(hedge(.init(idempotent: true, isRead: false, canResend: true, responseCommitted: false)) == .giveUp(.notHedgeable))
        #expect(hedge(safeRead, attempts: 1, maxAttempts: 1) == .giveUp(.attemptsExhausted))
    }

    @Test func resumesAreLimitedAndNeedAnExactContinuation() {
        var p = pool(ratio: 1, floor: 100)
        func resume(sent: Int = 10, total: Int = 100, resumes: Int = 0, resumable: Bool = true, max: Int = 3) -> RecoveryPlanner.Decision {
            RecoveryPlanner.plan(
                .cutMidBody(sent: sent, total: total, resumes: resumes, resumable: resumable), traits: safeRead,
                policy: .init(maxResumes: max), budget: &p, at: t0, unit: 0.5)
        }
        #expect(resume() == .resume)
        #expect(resume(resumes: 3) == .giveUp(.resumesExhausted))
        #expect(resume(resumes: 1, max: 1) == .giveUp(.resumesExhausted))
        #expect(resume(resumable: false) == .giveUp(.notResumable))
        #expect(resume(sent: 100) == .giveUp(.notResumable))
    }

    @Test func failoverTakesTheFirstHealthyPoolAndFallsBackToPanic() {
        // Pool 0: only a panic pick; pool 1: healthy. Pool 0's reservation is given back.
        var released: [(Int, Int)] = []
        let picks: [Int: PoolHealth.Pick] = [0: .init(node: 2, panic: true), 1: .init(node: 0, panic: false)]
        let choice = RouteFailover.choose(from: 0, count: 2, tried: 0, pick: { c, _ in picks[c] }, release: { released.append(($0, $1)) })
        #expect(choice == .init(cursor: 1, node: 0, panic: false))
        #expect(released.count == 1 && released[0] == (0, 2))
        // No healthy pool: the first panic pick; the later ones are given back.
        released = []
        let panic = RouteFailover.choose(
            from: 0, count: 2, tried: 0, pick: { c, _ in .init(node: c, panic: true) }, release: { released.append(($0, $1)) })
        #expect(panic == .init(cursor: 0, node: 0, panic: true))
        #expect(released.count == 1 && released[0] == (1, 1))
        // Only the pool at the cursor excludes the nodes already tried.
        var excluded: [UInt64] = []
        _ = RouteFailover.choose(from: 1, count: 3, tried: 0b101, pick: { _, e in excluded.append(e); return nil }, release: { _, _ in })
        #expect(excluded == [0b101, 0])
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
