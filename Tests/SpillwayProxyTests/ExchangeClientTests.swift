import SpillwayExchange
import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3
import Testing

/// A PUT of `length` bytes, admitted, with `connected` attempts.
func startedPUT(_ length: Int, replayLimit: Int = 8 << 20, continue expects: Bool = false, minRate: Int = 0,
                idle: Duration = .seconds(60)) -> ExchangeMachine {
    let plan = ExchangePlan(
        idempotent: true, isRead: false, hasBody: true, bodyLength: length, replayLimit: replayLimit, expectsContinue: expects,
        timeouts: .init(idle: idle), minClientRate: minRate, minRateWindow: .seconds(2))
    var m = ExchangeMachine(plan: plan, at: t0)
    _ = m.start(.admitted(pacesReads: false, pacesWrites: false), limited: false, at: t0)
    return m
}

@Suite("The exchange, decided: the client's side")
struct ExchangeClientTests {
    @Test func bodyBytesWaitForANodeThenFlowToIt() {
        var m = startedPUT(10)
        #expect(m.clientBody(4, last: false, at: t0).upstream == .hold)
        _ = m.acquired(.node(cursor: 0, node: 0), at: t0)
        // The held bytes go with the head (they are in the replay copy).
        #expect(m.connected(a0, reused: false, at: t0).upstream == .send(a0, replay: true, complete: false))
        #expect(m.bodyTarget == a0)
        #expect(m.clientBody(6, last: true, at: t0).upstream == .forward(a0))
        #expect(m.clientEnd(at: t0).upstream == .flush(a0))
        #expect(m.bodyTarget == nil)
        #expect(m.nextDeadline == t0 + .seconds(60))
    }

    @Test func aBodyOverTheReplayLimitCannotBeSentAgainOnceItLeft() {
        var m = startedPUT(100, replayLimit: 50)
        #expect(m.keepsBodyForReplay == false)
        _ = m.acquired(.node(cursor: 0, node: 0), at: t0)
        _ = m.connected(a0, reused: false, at: t0)
        _ = m.clientBody(60, last: false, at: t0)
        guard case .plan(_, let traits, _) = m.attemptFailed(a0, .closedByNode, at: t0).upstream else {
            Issue.record("no plan")
            return
        }
        #expect(!traits.canResend)
        // A chunked body is held until it outgrows the limit.
        var chunked = ExchangeMachine(plan: ExchangePlan(isRead: false, hasBody: true, replayLimit: 50), at: t0)
        _ = chunked.start(.admitted(pacesReads: false, pacesWrites: false), limited: false, at: t0)
        _ = chunked.clientBody(40, last: false, at: t0)
        #expect(chunked.keepsBodyForReplay == true)
        _ = chunked.clientBody(40, last: false, at: t0)
        #expect(chunked.keepsBodyForReplay == false)
    }

    @Test func continueIsRelayedOnceAndOnlyWhenAskedFor() {
        var m = startedPUT(10, continue: true)
        _ = m.acquired(.node(cursor: 0, node: 0), at: t0)
        _ = m.connected(a0, reused: false, at: t0)
        #expect(m.nodeInterim(a0, status: 100, at: t0).client == .sendContinue)
        #expect(m.nodeInterim(a0, status: 100, at: t0) == .none)
        #expect(m.nodeInterim(a0, status: 103, at: t0).client == .forwardInterim)
        var unasked = startedPUT(10)
        _ = unasked.acquired(.node(cursor: 0, node: 0), at: t0)
        _ = unasked.connected(a0, reused: false, at: t0)
        #expect(unasked.nodeInterim(a0, status: 100, at: t0) == .none)
    }

    @Test func aBrokenChunkChainOrACutUploadNeverCompletesAtTheNode() {
        var bad = startedPUT(10)
        _ = bad.acquired(.node(cursor: 0, node: 0), at: t0)
        _ = bad.connected(a0, reused: false, at: t0)
        let forged = bad.clientBody(10, last: true, chain: .badSignature, at: t0)
        #expect(forged.attempt == .dropAll && forged.upstream == .none)
        #expect(forged.client == .respond(S3Error(.signatureDoesNotMatch, "A chunk signature does not match its data."), close: true))
        var cut = startedPUT(10)
        let short = cut.clientBody(10, last: true, chain: .cutShort, at: t0)
        guard case .respond(let error, close: true) = short.client else {
            Issue.record("\(short)")
            return
        }
        #expect(error.code == .incompleteBody)
    }

    @Test func brokenFramingIsA400AndAClosedConnection() {
        var m = startedPUT(10)
        let a = m.clientBrokeFraming(at: t0)
        guard case .respond(let error, close: true) = a.client else {
            Issue.record("\(a)")
            return
        }
        #expect(error.code == .badRequest && a.attempt == .dropAll)
    }

    @Test func aClientThatStopsSendingEndsItsOwnRequest() {
        var m = startedPUT(1000, idle: .seconds(1))
        _ = m.acquired(.node(cursor: 0, node: 0), at: t0)
        _ = m.connected(a0, reused: false, at: t0)
        _ = m.clientBody(500, last: false, at: t0)
        let stalled = m.tick(at: t0 + .seconds(1), sockets: idle)
        // No health report and no plan: the node is not blamed, the budget not touched.
        #expect(stalled.health == nil && stalled.attempt == .dropAll)
        guard case .respond(let error, close: true) = stalled.client else {
            Issue.record("\(stalled)")
            return
        }
        #expect(error.code == .requestTimeout)
        #expect(stalled.note == .clientStalled("the client stopped sending its body"))
    }

    @Test func aNodeThatStopsReadingTheUploadIsTheNodesFault() {
        var m = startedPUT(1000, idle: .seconds(1))
        _ = m.acquired(.node(cursor: 0, node: 0), at: t0)
        _ = m.connected(a0, reused: false, at: t0)
        _ = m.clientBody(500, last: false, at: t0)
        let stalled = m.tick(at: t0 + .seconds(1), sockets: .init(clientWritable: true, targetWritable: false))
        #expect(stalled.health == HealthReport(attempt: a0, outcome: .timeout))
    }

    @Test func aClientThatStopsReadingIsClosedNotResumed() {
        var m = startedGET(ExchangePlan(wholeObjectGET: true, timeouts: .init(idle: .seconds(1))))
        _ = m.nodeHead(a0, ok(1 << 20), at: t0)
        _ = m.nodeBody(a0, 1000, at: t0)
        let stalled = m.tick(at: t0 + .seconds(1), sockets: .init(clientWritable: false, targetWritable: false))
        #expect(stalled.client == .abort && stalled.health == nil)
        #expect(m.log.resumes == 0)
        // Whereas a node that stops sending to a reading client is resumed around.
        var node = startedGET(ExchangePlan(wholeObjectGET: true, timeouts: .init(idle: .seconds(1))))
        _ = node.nodeHead(a0, ok(1 << 20), at: t0)
        _ = node.nodeBody(a0, 1000, at: t0)
        guard case .plan(.cutMidBody, _, _) = node.tick(at: t0 + .seconds(1), sockets: idle).upstream else {
            Issue.record("the stalled node was not planned around")
            return
        }
    }

    @Test func aBodyBelowTheMinimumRateEndsTheRequest() {
        var m = startedPUT(100_000, minRate: 1024)
        _ = m.acquired(.node(cursor: 0, node: 0), at: t0)
        _ = m.connected(a0, reused: false, at: t0)
        for second in 0..<2 { _ = m.clientBody(1, last: false, at: t0 + .seconds(second)) }
        #expect(m.nextDeadline == t0 + .seconds(2))
        let slow = m.tick(at: t0 + .seconds(2), sockets: idle)
        guard case .respond(let error, close: true) = slow.client else {
            Issue.record("\(slow)")
            return
        }
        #expect(error.code == .requestTimeout)
        // A fast enough client opens a new window instead.
        var fast = startedPUT(100_000, minRate: 1024)
        _ = fast.acquired(.node(cursor: 0, node: 0), at: t0)
        _ = fast.connected(a0, reused: false, at: t0)
        _ = fast.clientBody(4096, last: false, at: t0 + .seconds(1))
        #expect(fast.tick(at: t0 + .seconds(2), sockets: idle) == .none)
        #expect(fast.nextDeadline == t0 + .seconds(4))
    }

    @Test func readHoldingFollowsTheTargetAndTheRequestsEnd() {
        var m = startedPUT(10)
        #expect(m.wantsClientBytes(targetWritable: true) == false)  // no node yet
        _ = m.acquired(.node(cursor: 0, node: 0), at: t0)
        _ = m.connected(a0, reused: false, at: t0)
        #expect(m.wantsClientBytes(targetWritable: true) == true)
        #expect(m.wantsClientBytes(targetWritable: false) == false)
        _ = m.clientBody(10, last: true, at: t0)
        _ = m.clientEnd(at: t0)
        #expect(m.wantsClientBytes(targetWritable: false) == true)  // after the request, reads notice a hang-up
    }
}
