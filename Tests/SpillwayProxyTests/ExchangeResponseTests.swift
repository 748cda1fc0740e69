import SpillwayExchange
import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3
import Testing

@Suite("The exchange, decided: responses, resumes and pacing")
struct ExchangeResponseTests {
    @Test func aResponseStreamsAndEndsKeepingTheConnection() {
        var m = startedGET()
        #expect(m.nodeHead(a0, ok(10), at: t0).client == .writeHead(close: false, dechunk: false))
        #expect(m.nodeBody(a0, 4, at: t0).client == .deliver)
        #expect(m.nodeBody(a0, 6, at: t0).client == .deliver)
        let end = m.nodeEnd(a0, at: t0)
        #expect(end.attempt == .park(a0) && end.client == .end(keepAlive: true) && end.finished)
        #expect(m.log.bytesOut == 10 && m.log.status == 200)
    }

    @Test func closeDelimitedAndDechunkedBodiesCloseTheClientConnection() {
        var m = startedGET(ExchangePlan(clientIsHTTP10: true))
        #expect(m.nodeHead(a0, NodeResponse(status: 200, framing: .chunked), at: t0).client == .writeHead(close: true, dechunk: true))
        var untilClose = startedGET()
        #expect(untilClose.nodeHead(a0, NodeResponse(status: 200, framing: .untilClose), at: t0).client == .writeHead(close: true, dechunk: false))
        #expect(untilClose.nodeEnd(a0, at: t0).client == .end(keepAlive: false))
    }

    @Test func aDownloadCutMidBodyIsResumedExactlyFromAnotherNode() {
        var m = startedGET()
        _ = m.nodeHead(a0, ok(1000), at: t0)
        _ = m.nodeBody(a0, 300, at: t0)
        let cut = m.attemptFailed(a0, .closedByNode, at: t0)
        guard case .plan(.cutMidBody(sent: 300, total: 1000, resumes: 0, resumable: true), let traits, _) = cut.upstream else {
            Issue.record("\(cut)")
            return
        }
        #expect(traits.responseCommitted)
        #expect(m.planned(.resume, at: t0).upstream == .acquire(a1, .resume(offset: 300, total: 1000), cursor: 0, excluding: 0b1, mayQueue: false))
        _ = m.acquired(.node(cursor: 0, node: 1), at: t0)
        #expect(m.connected(a1, reused: false, at: t0).upstream == .send(a1, replay: false, complete: true))
        let resumed = m.nodeHead(a1, NodeResponse(status: 206, framing: .length(700), contentLength: 700, hasETag: true, contentRange: (300, 999, 1000)), at: t0)
        #expect(resumed.note == .resumed(from: 300) && resumed.client == .none)
        #expect(m.nodeBody(a1, 700, at: t0).client == .deliver)
        #expect(m.nodeEnd(a1, at: t0).client == .end(keepAlive: true))
        #expect(m.log.resumes == 1 && m.log.resumedBytes == 700 && m.log.bytesOut == 1000)
    }

    @Test func aResumeThatIsNotTheSameObjectOrNotExactlyTheRestClosesTheClient() {
        let wrong: [NodeResponse] = [
            NodeResponse(status: 412, framing: .length(0)),  // the object changed (If-Match)
            NodeResponse(status: 206, framing: .length(110), contentLength: 110, contentRange: (300, 999, 1000)),  // a short part
            NodeResponse(status: 206, framing: .length(700), contentLength: 700, contentRange: (0, 699, 1000)),  // the wrong range
            NodeResponse(status: 206, framing: .untilClose, contentRange: (300, 999, 1000)),  // no way to tell a cut
            NodeResponse(status: 200, framing: .length(1000), contentLength: 1000),
        ]
        for head in wrong {
            var m = startedGET()
            _ = m.nodeHead(a0, ok(1000), at: t0)
            _ = m.nodeBody(a0, 300, at: t0)
            _ = m.attemptFailed(a0, .closedByNode, at: t0)
            _ = m.planned(.resume, at: t0)
            _ = m.acquired(.node(cursor: 0, node: 1), at: t0)
            _ = m.connected(a1, reused: false, at: t0)
            let a = m.nodeHead(a1, head, at: t0)
            #expect(a.client == .abort && a.attempt == .dropAll && a.finished, "for \(head.status)")
            #expect(m.log.aborted)
        }
    }

    @Test func aChunkedResumeMustAddUpToTheObjectsLength() {
        var m = startedGET()
        _ = m.nodeHead(a0, ok(1000), at: t0)
        _ = m.nodeBody(a0, 300, at: t0)
        _ = m.attemptFailed(a0, .closedByNode, at: t0)
        _ = m.planned(.resume, at: t0)
        _ = m.acquired(.node(cursor: 0, node: 1), at: t0)
        _ = m.connected(a1, reused: false, at: t0)
        _ = m.nodeHead(a1, NodeResponse(status: 206, framing: .chunked, contentRange: (300, 999, 1000)), at: t0)
        _ = m.nodeBody(a1, 600, at: t0)
        let short = m.nodeEnd(a1, at: t0)
        #expect(short.client == .abort && short.attempt == .park(a1))
    }

    @Test func aCutThatCannotBeResumedClosesTheClient() {
        // A ranged GET (the client's own Range may be signed), or a response without an ETag.
        for plan in [ExchangePlan(wholeObjectGET: false), ExchangePlan(wholeObjectGET: true)] {
            var m = startedGET(plan)
            _ = m.nodeHead(a0, ok(1000, etag: false), at: t0)
            _ = m.nodeBody(a0, 300, at: t0)
            guard case .plan(.cutMidBody(_, _, _, resumable: false), _, _) = m.attemptFailed(a0, .closedByNode, at: t0).upstream else {
                Issue.record("planned as resumable")
                continue
            }
            #expect(m.planned(.giveUp(.notResumable), at: t0).client == .abort)
        }
    }

    @Test func readPacingHoldsBytesUntilTheyArePaidFor() {
        var m = ExchangeMachine(plan: ExchangePlan(), at: t0)
        _ = m.start(.admitted(pacesReads: true, pacesWrites: false), limited: true, at: t0)
        _ = m.acquired(.node(cursor: 0, node: 0), at: t0)
        _ = m.connected(a0, reused: false, at: t0)
        _ = m.nodeHead(a0, ok(300), at: t0)
        #expect(m.nodeBody(a0, 100, paceDelay: .zero, at: t0).client == .deliver)
        #expect(m.nodeBody(a0, 100, paceDelay: .milliseconds(100), at: t0).client == .hold(until: t0 + .milliseconds(100)))
        // Once something is held, later bytes wait behind it even if paid for.
        #expect(m.nodeBody(a0, 100, paceDelay: .zero, at: t0).client == .hold(until: t0 + .milliseconds(100)))
        #expect(m.nodeMayRead(a0, clientWritable: true) == false)
        #expect(m.nodeEnd(a0, at: t0).client == .none)
        #expect(m.nextDeadline == t0 + .milliseconds(100))
        let released = m.tick(at: t0 + .milliseconds(100), sockets: idle)
        #expect(released.client == .releaseHeld(count: 2, thenEnd: true) && released.finished)
    }

    @Test func writePacingPausesClientReads() {
        var m = ExchangeMachine(plan: ExchangePlan(isRead: false, hasBody: true, bodyLength: 200), at: t0)
        _ = m.start(.admitted(pacesReads: false, pacesWrites: true), limited: true, at: t0)
        _ = m.acquired(.node(cursor: 0, node: 0), at: t0)
        #expect(m.connected(a0, reused: false, at: t0).upstream == .send(a0, replay: false, complete: false))
        #expect(m.clientBody(100, last: false, paceDelay: .milliseconds(50), at: t0).upstream == .forward(a0))
        #expect(m.wantsClientBytes(targetWritable: true) == false)
        #expect(m.tick(at: t0 + .milliseconds(50), sockets: idle).client == .resumeReads)
        #expect(m.wantsClientBytes(targetWritable: true) == true)
    }

    @Test func theClientHangingUpDropsEveryAttempt() {
        var m = startedGET()
        _ = m.nodeHead(a0, ok(1000), at: t0)
        let gone = m.clientClosed(at: t0)
        #expect(gone.attempt == .dropAll && gone.finished && m.log.aborted)
        #expect(m.nodeBody(a0, 10, at: t0) == .none)
    }
}
