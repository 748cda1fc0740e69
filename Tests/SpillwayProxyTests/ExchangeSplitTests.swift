import SpillwayExchange
import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3
import Testing

/// The machine's part in split downloads and in coalesced reads that fall behind their flight.
@Suite("The exchange, decided: split downloads and detached readers")
struct ExchangeSplitTests {
    @Test func aSplitDropsTheFirstAttemptAndEndsWhenEveryByteIsDelivered() {
        var m = startedGET()
        _ = m.nodeHead(a0, ok(100), at: t0)
        let split = m.beginSplit(at: t0)
        let isSplit = m.isSplit
        #expect(split.attempt == .drop(a0) && isSplit)
        #expect(m.nodeBody(a0, 10, at: t0) == .none, "the dropped attempt's bytes are not the client's any more")
        #expect(m.splitDelivered(60, at: t0) == .none)
        let end = m.splitDelivered(40, at: t0)
        #expect(end.client == .end(keepAlive: true) && end.finished)
        let log = m.log
        #expect(log.bytesOut == 100 && log.status == 200)
    }

    @Test func onlyAResumableResponseNotYetBegunIsSplit() {
        var noETag = startedGET()
        _ = noETag.nodeHead(a0, ok(100, etag: false), at: t0)
        #expect(noETag.beginSplit(at: t0) == .none)
        #expect(noETag.resumableLength == nil)
        var begun = startedGET()
        _ = begun.nodeHead(a0, ok(100), at: t0)
        _ = begun.nodeBody(a0, 1, at: t0)
        #expect(begun.beginSplit(at: t0) == .none)
    }

    @Test func aPartThatCannotBeHadCutsTheClient() {
        var m = startedGET()
        _ = m.nodeHead(a0, ok(100), at: t0)
        _ = m.beginSplit(at: t0)
        _ = m.splitDelivered(30, at: t0)
        let cut = m.splitFailed(status: 412, at: t0)
        let aborted = m.log.aborted
        #expect(cut.client == .abort && cut.note == .cannotResume(status: 412) && aborted)
    }

    @Test func aSplitNobodyMovesEndsOnTheIdleTimeoutBlamingWhoStalled() {
        let plan = ExchangePlan(wholeObjectGET: true, timeouts: .init(idle: .seconds(5)))
        for clientWritable in [false, true] {
            var m = startedGET(plan)
            _ = m.nodeHead(a0, ok(100), at: t0)
            _ = m.beginSplit(at: t0 + .seconds(1))
            m.splitMoved(at: t0 + .seconds(3))
            let next = m.nextDeadline
            #expect(next == t0 + .seconds(8))
            let sockets = ExchangeMachine.Sockets(clientWritable: clientWritable, targetWritable: false)
            #expect(m.tick(at: t0 + .seconds(7), sockets: sockets) == .none)
            let due = m.tick(at: t0 + .seconds(8), sockets: sockets)
            #expect(due.client == .abort)
            if clientWritable {
                #expect(due.note == .cutMidResponse(.timeout("no part of the split download moved for 5.0 seconds")))
            } else {
                #expect(due.note == .clientStalled("the client stopped reading the response"))
            }
        }
    }

    @Test func aPartFetchedAgainAvoidsTheNodeItFailedOn() {
        var m = ExchangeMachine(plan: ExchangePlan(), at: t0)
        m.avoid(nodes: 0b10)
        let go = m.start(.admitted(pacesReads: false, pacesWrites: false), limited: false, at: t0)
        #expect(go.upstream == .acquire(a0, .first, cursor: 0, excluding: 0b10, mayQueue: false))
        m.avoid(nodes: 0b100)
        _ = m.acquired(.node(cursor: 0, node: 0), at: t0)
        _ = m.connected(a0, reused: false, at: t0)
        _ = m.attemptFailed(a0, .closedByNode, at: t0)
        #expect(m.planned(.retry(after: .zero), at: t0).upstream == .acquire(a1, .retry, cursor: 0, excluding: 0b11, mayQueue: false),
                "only before the start")
    }

    @Test func aReaderDetachedFromItsFlightResumesExactlyWhereItsClientIs() {
        var m = ExchangeMachine(plan: ExchangePlan(wholeObjectGET: true), at: t0)
        let go = m.continueDetached(from: 300, total: 1000, at: t0)
        #expect(go.upstream == .acquire(a0, .resume(offset: 300, total: 1000), cursor: 0, excluding: 0, mayQueue: false))
        let responding = m.isResponding
        #expect(responding, "the client already has the head and 300 bytes")
        _ = m.acquired(.node(cursor: 0, node: 2), at: t0)
        _ = m.connected(a0, reused: false, at: t0)
        let head = m.nodeHead(a0, NodeResponse(status: 206, framing: .length(700), contentLength: 700, hasETag: true, contentRange: (300, 999, 1000)), at: t0)
        #expect(head.client == .none, "no second head goes to the client")
        #expect(m.nodeBody(a0, 700, at: t0).client == .deliver)
        #expect(m.nodeEnd(a0, at: t0).client == .end(keepAlive: true))
        let sent = m.log.bytesOut
        #expect(sent == 1000)
    }

    @Test func aDetachedReaderWhoseObjectChangedIsCut() {
        var m = ExchangeMachine(plan: ExchangePlan(wholeObjectGET: true), at: t0)
        _ = m.continueDetached(from: 300, total: 1000, at: t0)
        _ = m.acquired(.node(cursor: 0, node: 0), at: t0)
        _ = m.connected(a0, reused: false, at: t0)
        let changed = m.nodeHead(a0, NodeResponse(status: 412, framing: .length(0)), at: t0)
        #expect(changed.client == .abort && changed.note == .cannotResume(status: 412))
        var nothingLeft = ExchangeMachine(plan: ExchangePlan(wholeObjectGET: true), at: t0)
        #expect(nothingLeft.continueDetached(from: 1000, total: 1000, at: t0) == .none)
    }
}
