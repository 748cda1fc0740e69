import NIOCore
import SpillwayExchange
import SpillwayHTTP1
import SpillwayPolicy
import Synchronization

/// A request served from a coalesced flight: what it was told so far, and what it wrote on.
final class FlightRead {
    enum Phase: Equatable {
        /// Asked to join; the flight's answer is on its way.
        case waiting
        /// Sending its own request with `If-None-Match: <flight ETag>`: a `304` lets it in.
        case probing
        /// Being sent the flight's response.
        case reading
        case done
    }

    let flight: FlightHandle
    let readerID: UInt64
    var phase: Phase
    /// Storage answered the trial `304`: the reader is let in once the trial's exchange ends.
    var passedTrial = false
    /// The flight let this reader go while its trial was out: once the trial ends, it fetches alone.
    var dismissed = false
    var headWritten = false
    var status = 0
    var firstByteAt: NIODeadline?
    var node: (cursor: Int, node: Int)?
    var resumable: (total: Int, etag: ByteBuffer)?
    /// Body bytes written to the client, and of those, the ones not yet acknowledged to the flight.
    var received = 0
    var unacked = 0

    /// Acknowledgements go in batches, so a reader costs the flight's loop one message per this many bytes.
    static let ackEvery = 256 << 10
    private static let ids = Atomic<UInt64>(1)
    static func nextID() -> UInt64 { ids.add(1, ordering: .relaxed).oldValue }

    init(flight: FlightHandle, readerID: UInt64, phase: Phase) {
        self.flight = flight
        self.readerID = readerID
        self.phase = phase
    }

    func ack() {
        guard phase == .reading, unacked > 0 else { return }
        let (id, bytes) = (readerID, unacked)
        unacked = 0
        flight.send { $0.acked(id, bytes) }
    }

    func leave() {
        let id = readerID
        flight.send { $0.leave(id) }
    }
}

extension ExchangeRunner {
    /// The key this request would share a fetch by, if its route coalesces and it may.
    func flightKey() -> FlightKey? {
        guard context.route.coalesce != nil else { return nil }
        let verified = context.protection.config.identity.verifySignatures
        return FlightKey.make(context, verifiedKey: verified ? context.claimedKey.map(String.init) : nil, signedForPool: verified && resign != nil)
    }

    /// Joins the flight in progress for `key`, or starts one. False: fetch on its own.
    func readFromFlight(_ key: FlightKey, at now: NIODeadline) -> Bool {
        let me = FlightReaderHandle(id: FlightRead.nextID(), runner: NIOLoopBound(self, eventLoop: worker.eventLoop))
        let onTrial = key.sharing == .probed
        let board = worker.flights
        if let open = board.open(key) { return join(open, me, onTrial: onTrial) }
        // A range's answer is held whole (with room for an error's body), not a whole ring's worth.
        let routeRing = context.route.coalesce?.ring ?? 0
        let ring = key.range?.length.map { min(routeRing, max($0 + 1, 64 << 10)) } ?? routeRing
        let worker = self.worker
        var made: Flight?
        switch board.register(key, ring: ring, limit: worker.state.load().snapshot.config.coalesceMemory, make: { id in
            let flight = Flight(key: key, id: id, worker: worker, capacity: ring)
            made = flight
            return flight.handle
        }) {
        case .overBudget: return false
        case .join(let other): return join(other, me, onTrial: onTrial)
        case .registered(let handle):
            guard let flight = made, let fetch = makeFetch(head: context.forwardHead, sink: flight, at: now) else {
                board.close(key, id: handle.id)
                board.release(ring: ring)
                return false
            }
            flight.fetch = fetch
            flight.addLeader(me)
            flightRead = FlightRead(flight: handle, readerID: me.id, phase: .reading)
            worker.telemetry.countCoalesce(.flights, pool: key.pool)
            fetch.startFetch(at: now)
            return true
        }
    }

    private func join(_ flight: FlightHandle, _ me: FlightReaderHandle, onTrial: Bool) -> Bool {
        flightRead = FlightRead(flight: flight, readerID: me.id, phase: .waiting)
        flight.send { $0.join(me, onTrial: onTrial) }
        return true
    }

    /// A fetch on this request's behalf, admitted already (the request was): `head` as it goes to
    /// storage (this request's own, or with a range), run with `sink` as its response sink. A
    /// flight's fetch, or a part of a split download.
    func makeFetch<Sink: ResponseSink & RequestSource>(head bytes: ByteBuffer, sink: Sink, at now: NIODeadline) -> ExchangeRunner? {
        let limits = context.http.head
        guard let head = bytes.withUnsafeReadableBytes({ b in try? RequestHead.parse(b, limits: limits) }) else { return nil }
        let fetchContext = RequestContext(
            head: head, headBytes: bytes, state: worker.state.load(), remoteIP: context.remoteIP, telemetry: worker.telemetry,
            cachedSlot: context.traffic, allocator: worker.allocator, now: now)
        let fetch = ExchangeRunner(context: fetchContext, worker: worker, sink: sink, source: sink, isFetch: true, now: now)
        fetch.resign = resign
        return fetch
    }

    func startFetch(at now: NIODeadline) {
        context.pools[0].depositRetryBudget(at: Moment(now))
        runAlone(at: now)
    }

    // MARK: - What the flight says

    func flightSaid(_ message: FlightMessage) {
        guard let read = flightRead, read.phase != .done else { return }
        let now = self.now
        if read.phase == .probing {
            // The trial's own exchange is running; it decides what follows when it ends.
            if case .detach = message { read.dismissed = true }
            if case .refused = message { read.dismissed = true }
            return
        }
        switch message {
        case .refused:
            flightRead = nil
            runAlone(at: now)
        case .accepted:
            read.phase = .reading
        case .probe(let etag):
            read.phase = .probing
            upstream.trialETag = etag
            runAlone(at: now)
        case .head(let bytes, let status, let resumable, let node):
            read.status = status
            read.resumable = resumable
            read.node = node
            read.firstByteAt = now
            read.headWritten = true
            if !context.head.keepAlive || sink.willCloseAfterExchange {
                HeadWriter.write(bytes, dropping: LineRanges(), adding: StaticBytes.connectionClose) { sink.write($0) }
            } else {
                sink.write(bytes)
            }
        case .body(let pieces):
            for piece in pieces {
                read.received += piece.readableBytes
                read.unacked += piece.readableBytes
                sink.write(piece)
            }
            sink.flush()
            if read.unacked >= FlightRead.ackEvery && sink.isWritable { read.ack() }
        case .end(let keepAlive):
            endFlightRead(read, aborted: false, at: now)
            sink.finish(self, keepAlive: keepAlive && context.head.keepAlive && !sink.willCloseAfterExchange)
        case .error(let error):
            read.status = error.code.status
            endFlightRead(read, aborted: false, at: now)
            sink.respond(self, error, resource: context.resource, requestID: requestID, close: !context.head.keepAlive || sink.willCloseAfterExchange)
        case .abort:
            endFlightRead(read, aborted: true, at: now)
            sink.abort()
        case .detach:
            continueAlone(read, at: now)
        }
    }

    /// Fell behind the flight: the rest comes from this request's own fetch, from exactly where
    /// its client is, with the flight's ETag (a resume), or the whole object when nothing was sent yet.
    private func continueAlone(_ read: FlightRead, at now: NIODeadline) {
        flightRead = nil
        worker.telemetry.countCoalesce(.clientBytes, pool: context.pools[0].name, by: read.received)
        guard read.headWritten else { return runAlone(at: now) }
        guard let resumable = read.resumable, read.received < resumable.total else {
            read.phase = .done
            endFlightRead(read, aborted: true, at: now)
            return sink.abort()
        }
        upstream.etag = resumable.etag
        run(machine.continueDetached(from: read.received, total: resumable.total, at: Moment(now)), at: now)
    }

    private func endFlightRead(_ read: FlightRead, aborted: Bool, at now: NIODeadline) {
        read.phase = .done
        worker.telemetry.countCoalesce(.clientBytes, pool: context.pools[0].name, by: read.received)
        var log = ExchangeLog()
        log.status = read.status
        log.bytesOut = read.received
        log.firstByteAt = read.firstByteAt.map(Moment.init)
        log.aborted = aborted
        if case .admitted = verdict, context.protection.isActive { log.decision = .admitted }
        if let node = read.node {
            log.attempts = [.init(cursor: node.cursor, node: node.node, kind: .first, reused: nil)]
            log.cursor = node.cursor
        }
        record(log, at: now)
    }

    /// The client hung up while reading from a flight, or waiting to: the flight goes on for the
    /// others. False when the request is not reading from a flight.
    func flightClientClosed() -> Bool {
        guard let read = flightRead, read.phase != .done else { return false }
        read.leave()
        if read.phase == .probing {
            flightRead = nil
            return false
        }
        endFlightRead(read, aborted: read.headWritten, at: now)
        return true
    }

    /// While a follower tries the flight's ETag with its own request: a `304` (storage let it read,
    /// and the object is the flight's) lets it in; any other answer is the follower's own (a
    /// refusal, or the object that replaced the flight's) and goes to its client as it comes. True
    /// when the action was the trial's and is done.
    func trialTakes(_ action: ClientAction, _ read: FlightRead, response: (ResponseHead, ByteBuffer)?, at now: NIODeadline) -> Bool {
        switch action {
        case .writeHead:
            guard response?.0.status == 304 else {
                read.leave()
                flightRead = nil
                return false
            }
            read.passedTrial = true
            return true
        case .deliver, .hold, .sendContinue, .forwardInterim, .resumeReads, .none:
            return read.passedTrial
        case .end, .releaseHeld:
            guard read.passedTrial else { return false }
            // The trial is over; the request starts again, from the flight or alone.
            machine = ExchangeMachine(plan: context.plan(), at: Moment(now))
            upstream.trialETag = nil
            pendingHead = nil
            read.passedTrial = false
            if !read.dismissed {
                read.phase = .reading
                let id = read.readerID
                read.flight.send { $0.trialPassed(id) }
            } else {
                read.leave()
                flightRead = nil
                runAlone(at: now)
            }
            return true
        case .respond, .abort:
            read.leave()
            flightRead = nil
            return false
        }
    }
}
