import SpillwayExchange
import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3
import Testing

let t0 = Moment(nanoseconds: 1_000_000_000)
let a0 = AttemptID(0), a1 = AttemptID(1), a2 = AttemptID(2)
let idle = ExchangeMachine.Sockets(clientWritable: true, targetWritable: true)

func ok(_ length: Int, etag: Bool = true) -> NodeResponse {
    NodeResponse(status: 200, framing: .length(length), contentLength: length, hasETag: etag)
}

/// A machine for a GET (or what `plan` says), started and admitted, with its first attempt
/// connected and its request sent.
func startedGET(_ plan: ExchangePlan = ExchangePlan(wholeObjectGET: true), hedge: Duration? = nil) -> ExchangeMachine {
    var m = ExchangeMachine(plan: plan, hedgeDelay: hedge, at: t0)
    _ = m.start(.admitted(pacesReads: false, pacesWrites: false), limited: false, at: t0)
    _ = m.acquired(.node(cursor: 0, node: 0), at: t0)
    _ = m.connected(a0, reused: false, at: t0)
    return m
}

@Suite("The exchange, decided: admission, attempts and retries")
struct ExchangeAttemptTests {
    @Test func aRefusedOrShedRequestIsAnsweredAndNeverReachesANode() {
        var refused = ExchangeMachine(plan: ExchangePlan(), at: t0)
        let error = S3Error(.signatureDoesNotMatch, "no")
        let a = refused.start(.refused(error), limited: true, at: t0)
        #expect(a.client == .respond(error, close: false) && a.finished && a.upstream == .none)
        #expect(refused.log.decision == .refused && refused.isFinished)
        var shed = ExchangeMachine(plan: ExchangePlan(hasBody: true, bodyLength: 10), at: t0)
        let slow = S3Error(.slowDown, "slow", retryAfterSeconds: 1)
        // Its body has not arrived: the connection cannot be read past it, so it closes.
        #expect(shed.start(.shed(slow), limited: true, at: t0).client == .respond(slow, close: true))
        #expect(shed.log.decision == .shed)
    }

    @Test func anAdmittedRequestLooksForANodeConnectsAndSends() {
        var m = ExchangeMachine(plan: ExchangePlan(), at: t0)
        #expect(m.start(.admitted(pacesReads: false, pacesWrites: false), limited: true, at: t0).upstream
            == .acquire(a0, .first, cursor: 0, excluding: 0, mayQueue: false))
        #expect(m.log.decision == .admitted)
        #expect(m.acquired(.node(cursor: 0, node: 2), at: t0).upstream == .connect(a0))
        #expect(m.connected(a0, reused: true, at: t0).upstream == .send(a0, replay: false, complete: true))
        #expect(m.log.attempts == [.init(cursor: 0, node: 2, kind: .first, reused: true)])
        #expect(m.nextDeadline == t0 + .seconds(60))  // first byte, idle
    }

    @Test func aNodeFailureBeforeTheResponseIsPlannedThenRetriedOnAnotherNode() {
        var m = startedGET()
        let failed = m.attemptFailed(a0, .closedByNode, at: t0)
        #expect(failed.health == HealthReport(attempt: a0, outcome: .reset))
        #expect(failed.attempt == .drop(a0))
        guard case .plan(.failed(.reset, attempts: 1), let traits, cursor: 0) = failed.upstream else {
            Issue.record("no plan: \(failed)")
            return
        }
        #expect(traits.idempotent && traits.canResend && !traits.responseCommitted)
        // The planner's backoff: the retry waits for it, then looks for a node it has not tried.
        #expect(m.planned(.retry(after: .milliseconds(20)), at: t0).note == .retrying(after: .closedByNode, status: nil))
        #expect(m.nextDeadline == t0 + .milliseconds(20))
        #expect(m.tick(at: t0 + .milliseconds(10), sockets: idle) == .none)
        #expect(m.tick(at: t0 + .milliseconds(20), sockets: idle).upstream
            == .acquire(a1, .retry, cursor: 0, excluding: 0b1, mayQueue: false))
        #expect(m.acquired(.node(cursor: 0, node: 1), at: t0).upstream == .connect(a1))
        #expect(m.log.retries == 1)
    }

    @Test func whenThePlannerGivesUpTheClientGetsTheErrorForTheFailure() {
        for (failure, code) in [(NodeFailure.connect("refused"), S3Error.Code.serviceUnavailable), (.timeout("slow"), .gatewayTimeout), (.malformedResponse, .badGateway)] {
            var m = startedGET()
            _ = m.attemptFailed(a0, failure, at: t0)
            let a = m.planned(.giveUp(.attemptsExhausted), at: t0)
            guard case .respond(let error, close: false) = a.client else {
                Issue.record("no answer for \(failure): \(a)")
                continue
            }
            #expect(error.code == code)
            #expect(a.finished && m.log.status == code.status)
        }
    }

    @Test func aNodesErrorAnswerIsRetriedOrPassedThrough() {
        var m = startedGET()
        let slowDown = NodeResponse(status: 503, framing: .length(100), contentLength: 100, retryAfterSeconds: 2)
        let head = m.nodeHead(a0, slowDown, at: t0 + .milliseconds(5))
        #expect(head.health == HealthReport(attempt: a0, outcome: .throttled(retryAfter: .seconds(2)), firstByte: .milliseconds(5)))
        guard case .plan(.failed(.throttled, attempts: 1), _, _) = head.upstream else {
            Issue.record("no plan: \(head)")
            return
        }
        // The machine is not copyable: a second one, brought to the same point, takes the retry.
        var retried = startedGET()
        _ = retried.nodeHead(a0, slowDown, at: t0 + .milliseconds(5))
        let retry = retried.planned(.retry(after: .zero), at: t0)
        #expect(retry.attempt == .drop(a0) && retry.upstream == .acquire(a1, .retry, cursor: 0, excluding: 0b1, mayQueue: false))
        // No retry: the node's own SlowDown goes to the client.
        #expect(m.planned(.giveUp(.budgetExhausted), at: t0).client == .writeHead(close: false, dechunk: false))
        #expect(m.isResponding && m.log.status == 503)
    }

    @Test func noNodeAnywhereIsA503() {
        var m = ExchangeMachine(plan: ExchangePlan(), at: t0)
        _ = m.start(.admitted(pacesReads: false, pacesWrites: false), limited: false, at: t0)
        let a = m.acquired(.none, at: t0)
        guard case .respond(let error, close: false) = a.client else {
            Issue.record("\(a)")
            return
        }
        #expect(error.code == .serviceUnavailable && error.retryAfterSeconds == 1)
    }

    @Test func readsFailOverAlongTheRoutesPools() {
        var m = ExchangeMachine(plan: ExchangePlan(poolCount: 2), at: t0)
        _ = m.start(.admitted(pacesReads: false, pacesWrites: false), limited: false, at: t0)
        let moved = m.acquired(.node(cursor: 1, node: 0), at: t0)
        #expect(moved.note == .failedOver(from: 0, to: 1))
        _ = m.connected(a0, reused: false, at: t0)
        _ = m.attemptFailed(a0, .closedByNode, at: t0)
        // The retry stays on the new pool and does not try its node 0 again.
        #expect(m.planned(.retry(after: .zero), at: t0).upstream == .acquire(a1, .retry, cursor: 1, excluding: 0b1, mayQueue: false))
        #expect(m.log.cursor == 1)
    }

    @Test func aRequestWaitsInTheQueueAndIsShedWhenItWaitsTooLong() {
        func queued() -> ExchangeMachine {
            var m = ExchangeMachine(plan: ExchangePlan(mayQueue: true, queueTimeout: .seconds(2)), at: t0)
            #expect(m.start(.admitted(pacesReads: false, pacesWrites: false), limited: true, at: t0).upstream
                == .acquire(a0, .first, cursor: 0, excluding: 0, mayQueue: true))
            #expect(m.acquired(.queued, at: t0) == .none)
            return m
        }
        var m = queued()
        #expect(m.log.decision == .queued)
        #expect(m.nextDeadline == t0 + .seconds(2))
        var dispatched = queued()
        #expect(dispatched.dispatched(1, at: t0 + .seconds(1))?.upstream == .connect(a0))
        #expect(m.tick(at: t0 + .seconds(2), sockets: idle).upstream == .abandonQueue)
        let shed = m.queueTimedOut(at: t0 + .seconds(2))
        guard case .respond(let error, _) = shed.client else {
            Issue.record("\(shed)")
            return
        }
        #expect(error.code == .slowDown && m.log.decision == .shed)
        // A node dispatched after the wait ended is given back.
        #expect(m.dispatched(0, at: t0 + .seconds(3)) == nil)
    }

    @Test func aFullPoolAndAPushedOutWaiterAreShed() {
        var full = ExchangeMachine(plan: ExchangePlan(mayQueue: true), at: t0)
        _ = full.start(.admitted(pacesReads: false, pacesWrites: false), limited: true, at: t0)
        #expect(full.acquired(.full, at: t0).finished)
        #expect(full.log.decision == .shed)
        var pushed = ExchangeMachine(plan: ExchangePlan(mayQueue: true), at: t0)
        _ = pushed.start(.admitted(pacesReads: false, pacesWrites: false), limited: true, at: t0)
        _ = pushed.acquired(.queued, at: t0)
        #expect(pushed.dispatched(nil, at: t0)?.finished == true)
    }
}

@Suite("The exchange, decided: hedges and timeouts")
struct ExchangeHedgeTests {
    @Test func aSlowReadIsHedgedAndTheFirstAnswerWins() {
        var m = startedGET(hedge: .milliseconds(50))
        #expect(m.nextDeadline == t0 + .milliseconds(50))
        let slow = m.tick(at: t0 + .milliseconds(50), sockets: idle)
        guard case .plan(.slowRead(attempts: 1), _, cursor: 0) = slow.upstream else {
            Issue.record("\(slow)")
            return
        }
        let hedge = m.planned(.hedge, at: t0 + .milliseconds(50))
        #expect(hedge.upstream == .acquire(a1, .hedge, cursor: 0, excluding: 0b1, mayQueue: false) && hedge.note == .hedging)
        _ = m.acquired(.node(cursor: 0, node: 1), at: t0)
        _ = m.connected(a1, reused: false, at: t0)
        let won = m.nodeHead(a1, ok(10), at: t0 + .milliseconds(60))
        #expect(won.attempt == .drop(a0) && won.client == .writeHead(close: false, dechunk: false))
        #expect(m.log.hedged && m.log.hedgeWon)
        // The loser's late answer is ignored.
        #expect(m.nodeHead(a0, ok(10), at: t0 + .milliseconds(70)) == .none)
    }

    @Test func aHedgeThatErrsLetsTheFirstAttemptAnswer() {
        var m = startedGET(hedge: .milliseconds(50))
        _ = m.tick(at: t0 + .milliseconds(50), sockets: idle)
        _ = m.planned(.hedge, at: t0)
        _ = m.acquired(.node(cursor: 0, node: 1), at: t0)
        _ = m.connected(a1, reused: false, at: t0)
        #expect(m.nodeHead(a1, NodeResponse(status: 500, framing: .none), at: t0).attempt == .drop(a1))
        #expect(m.nodeHead(a0, ok(10), at: t0).client == .writeHead(close: false, dechunk: false))
        #expect(!m.log.hedgeWon)
    }

    @Test func writesAreNeverHedged() {
        let m = startedGET(ExchangePlan(idempotent: true, isRead: false, hasBody: true, bodyLength: 5), hedge: .milliseconds(50))
        #expect(m.nextDeadline != t0 + .milliseconds(50))
    }

    @Test func theFirstByteAndAttemptDeadlinesFailTheAttempt() {
        let plan = ExchangePlan(wholeObjectGET: true, timeouts: .init(firstByte: .seconds(2), idle: .seconds(30), attempt: .seconds(5)))
        var m = startedGET(plan)
        #expect(m.nextDeadline == t0 + .seconds(2))
        let late = m.tick(at: t0 + .seconds(2), sockets: idle)
        #expect(late.health == HealthReport(attempt: a0, outcome: .timeout) && late.attempt == .drop(a0))
        var long = startedGET(plan)
        _ = long.nodeHead(a0, ok(1 << 20), at: t0 + .seconds(1))
        _ = long.nodeBody(a0, 100, at: t0 + .seconds(4))
        let cut = long.tick(at: t0 + .seconds(5), sockets: idle)
        #expect(cut.health?.outcome == .timeout)
        guard case .plan(.cutMidBody(sent: 100, total: 1 << 20, resumes: 0, resumable: true), _, _) = cut.upstream else {
            Issue.record("\(cut)")
            return
        }
    }
}
