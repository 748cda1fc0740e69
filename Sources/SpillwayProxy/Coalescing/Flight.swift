import NIOCore
import SpillwayS3

/// One fetch from storage shared by every GET of the same object that arrives while it is in
/// flight. The fetch is an ordinary `ExchangeRunner` (retries, hedges, resumes, failover, every
/// deadline), and this is its response sink: a ring of the last `capacity` body bytes, from which
/// each reader is sent what it has not had yet, on the reader's own loop.
///
/// The fetch reads from storage only while the ring has room behind its slowest reader. A reader
/// that pins the ring while another is waiting for more is detached: it continues on its own fetch
/// from where it is, so a slow client never holds the others back and memory never grows with it.
/// A reader arriving while the object's first byte is still in the ring joins from the start.
///
/// Loop-confined to the loop of the request that started it; other loops reach it by `FlightHandle`.
final class Flight {
    struct Reader {
        let handle: FlightReaderHandle
        /// Body bytes sent to it.
        var sent = 0
        /// Of those, the bytes it said it wrote on (it is sent at most `window` ahead of them).
        var acked = 0
        var headSent = false
        /// Not yet let in: waiting for the response head, or trying its own signature. It pins the
        /// start of the ring and is sent nothing.
        var onTrial: Bool

        var inFlight: Int { sent - acked }
    }

    let key: FlightKey
    let id: UInt64
    let worker: Worker
    let capacity: Int
    /// Bytes a reader may be sent ahead of what it wrote on.
    static let window = 1 << 20
    var fetch: ExchangeRunner?
    private(set) var readers: [UInt64: Reader] = [:]
    private var leaderID: UInt64?
    private var pieces = CircularBuffer<ByteBuffer>(initialCapacity: 16)
    /// The body offset of the first byte in the ring, and one past its last.
    private var ringStart = 0
    private var ringEnd = 0
    private var head: FlightMessage?
    private var etag: ByteBuffer?
    private var outcome: FlightMessage?
    private var open = true
    /// The fetch was told it cannot write; it is told when it can again.
    private var held = false
    /// Since when the ring has been full behind a laggard while another reader waited.
    private var fullSince: NIODeadline?
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture

    init(key: FlightKey, id: UInt64, worker: Worker, capacity: Int) {
        self.key = key
        self.id = id
        self.worker = worker
        self.capacity = capacity
    }

    var handle: FlightHandle { FlightHandle(id: id, flight: NIOLoopBound(self, eventLoop: worker.eventLoop)) }

    // MARK: - Readers

    /// The request that started the flight reads from it from the start.
    func addLeader(_ reader: FlightReaderHandle) {
        readers[reader.id] = Reader(handle: reader, onTrial: false)
        leaderID = reader.id
    }

    /// A request wants to read. Verified readers share at once; `probed` ones are let in after a
    /// `304` to their own request with `If-None-Match: <flight ETag>`.
    func join(_ reader: FlightReaderHandle, onTrial: Bool) {
        guard open, ringStart == 0, outcome == nil || isWhole else { return reader.send(.refused) }
        readers[reader.id] = Reader(handle: reader, onTrial: onTrial)
        worker.telemetry.countCoalesce(.followers, pool: key.pool)
        if !onTrial {
            reader.send(.accepted)
            pump(reader.id)
        } else if let etag {
            reader.send(.probe(etag: etag))
        } else if head != nil {
            // The answer is not one a follower can be sure of sharing (no ETag, not a 200).
            detach(reader.id)
        }
    }

    /// Storage answered the reader's own request `304`: the object is the flight's, and theirs to read.
    func trialPassed(_ id: UInt64) {
        guard readers[id] != nil else { return }
        readers[id]!.onTrial = false
        readers[id]!.handle.send(.accepted)
        pump(id)
    }

    /// The reader wrote on `bytes` more.
    func acked(_ id: UInt64, _ bytes: Int) {
        guard readers[id] != nil else { return }
        readers[id]!.acked += bytes
        pump(id)
        rebalance()
    }

    /// The reader is gone (its client hung up, or it went its own way). With no reader left the
    /// fetch is stopped: nobody wants its bytes.
    func leave(_ id: UInt64) {
        guard readers.removeValue(forKey: id) != nil else { return }
        if readers.isEmpty, outcome == nil, let fetch {
            outcome = .abort
            self.fetch = nil
            closeToJoiners()
            fetch.clientClosed()
        }
        rebalance()
        endIfDone()
    }

    // MARK: - Sending

    /// Sends `id` what it has not had, within its window, and the end once it has had everything.
    private func pump(_ id: UInt64) {
        guard var reader = readers[id], !reader.onTrial else { return }
        if !reader.headSent {
            if let head {
                reader.headSent = true
                reader.handle.send(head)
            } else {
                // Before a response: only an error can have ended the fetch.
                if let outcome { finish(id, with: outcome) }
                return
            }
        }
        var batch: [ByteBuffer] = []
        // Readers are usually near the end of the ring: find their piece from there.
        var index = pieces.endIndex
        var offset = ringEnd
        while index != pieces.startIndex, offset > reader.sent {
            index = pieces.index(before: index)
            offset -= pieces[index].readableBytes
        }
        while reader.sent < ringEnd, reader.inFlight < Self.window, index != pieces.endIndex {
            let piece = pieces[index]
            let end = offset + piece.readableBytes
            if end > reader.sent, let slice = piece.getSlice(at: piece.readerIndex + (reader.sent - offset), length: end - reader.sent) {
                batch.append(slice)
                reader.sent = end
            }
            offset = end
            index = pieces.index(after: index)
        }
        if !batch.isEmpty { reader.handle.send(.body(batch)) }
        readers[id] = reader
        if reader.sent == ringEnd, let outcome { finish(id, with: outcome) }
    }

    private func finish(_ id: UInt64, with outcome: FlightMessage) {
        guard let reader = readers.removeValue(forKey: id) else { return }
        reader.handle.send(outcome)
        endIfDone()
    }

    private func pumpAll() {
        for id in Array(readers.keys) { pump(id) }
    }

    /// Frees ring bytes no reader needs any more, detaching readers that pin the ring while another
    /// waits for more, and lets the fetch read again when there is room.
    private func rebalance() {
        let hungry = readers.values.contains { !$0.onTrial && $0.headSent && $0.sent == ringEnd && $0.inFlight < Self.window }
        if hungry, ringEnd - lowestNeeded >= capacity {
            detachLaggards()
        } else {
            fullSince = nil
        }
        let keepFrom = min(lowestNeeded, ringEnd - capacity)
        while let first = pieces.first, ringStart + first.readableBytes <= keepFrom {
            ringStart += first.readableBytes
            pieces.removeFirst()
        }
        if ringStart > 0 { closeToJoiners() }
        if held, isWritable {
            held = false
            fetch?.sinkBecameWritable()
        }
    }

    /// The ring is full behind its slowest readers while another waits for more. A reader that is
    /// only a moment behind (a client's scheduling jitter) gets `detachGrace` to catch up, which
    /// costs the others that pause once; one still pinning the ring then goes on alone. Readers on
    /// trial are never the ones let go: the fetch waits for their checks (bounded by the
    /// route's first-byte timeout), or every follower would miss a fast flight.
    private func detachLaggards() {
        let now = worker.eventLoop.now
        guard let since = fullSince else {
            fullSince = now
            worker.eventLoop.assumeIsolated().scheduleTask(in: Self.detachGrace) { [self] in rebalance() }
            return
        }
        guard now - since >= Self.detachGrace else { return }
        fullSince = nil
        while ringEnd - lowestNeeded >= capacity,
            let laggard = readers.filter({ !$0.value.onTrial }).min(by: { $0.value.sent < $1.value.sent })?.key,
            readers[laggard]!.sent == lowestNeeded
        {
            worker.telemetry.countCoalesce(.detached, pool: key.pool)
            detach(laggard)
        }
    }

    static let detachGrace = TimeAmount.milliseconds(250)

    /// The offset below which no reader needs bytes (the end of the ring when none does).
    private var lowestNeeded: Int { readers.values.map(\.sent).min() ?? ringEnd }

    private func detach(_ id: UInt64) {
        guard let reader = readers.removeValue(forKey: id) else { return }
        reader.handle.send(.detach(sent: reader.headSent ? reader.sent : -1))
    }

    private func closeToJoiners() {
        guard open else { return }
        open = false
        worker.flights.close(key, id: id)
    }

    /// Nothing more to do: the ring's memory goes back to the board.
    private func endIfDone() {
        guard outcome != nil, readers.isEmpty, !released else { return }
        released = true
        closeToJoiners()
        pieces.removeAll()
        timer?.cancel()
        worker.flights.release(ring: capacity)
    }

    private var released = false

    // MARK: - The fetch's outcome

    /// The fetch ended well with every byte of its answer still in the ring (an object or range no
    /// larger than the ring) and its followers each check with storage: it can still be joined
    /// while a reader is reading it. Readers of one part of a download drift apart (boto3's parts
    /// come as each reader's connections free up), so most would miss a fetch that only lasted as
    /// long as storage took to send it. Each joiner's own `304` still says the object is the same;
    /// with `trust_verified` (no such check) a flight is closed when its fetch ends.
    private var isWhole: Bool {
        guard case .end = outcome, ringStart == 0, key.sharing == .probed else { return false }
        return true
    }

    private func ended(_ message: FlightMessage) {
        guard outcome == nil else { return }
        outcome = message
        if !isWhole { closeToJoiners() }
        fetch = nil
        // Readers on trial still find the whole response in the ring once they pass; when the
        // fetch failed, they try on their own.
        if case .end = message {} else {
            for (id, reader) in readers where reader.onTrial { detach(id) }
        }
        pumpAll()
        endIfDone()
    }
}

// MARK: - The seams the fetch sees

extension Flight: ResponseSink, RequestSource {
    /// Room behind the slowest reader. Saying no is remembered, so the fetch is told when there is
    /// room again (`rebalance`).
    var isWritable: Bool {
        let room = ringEnd - lowestNeeded < capacity
        if !room { held = true }
        return room
    }

    var allocator: ByteBufferAllocator { worker.allocator }
    var willCloseAfterExchange: Bool { false }
    var takesHeadApart: Bool { true }
    var remoteIP: String? { nil }

    func writeHead(_ bytes: ByteBuffer) {
        guard let fetch else { return }
        let status = fetch.machine.log.status
        // Followers may share a whole object's answer only if it can be resumed (a reader let go
        // must go on alone), and a range's only if it is the range (a `206`) and the ring holds it
        // whole. Followers of a range that does not fit go their own way before its first byte.
        let total = fetch.machine.resumableLength
        let fits = status == 206 && (fetch.fetchedLength ?? .max) < capacity
        if let etag = fetch.upstream.etag, key.range == nil ? total != nil : fits { self.etag = etag }
        head = .head(bytes, status: status, resumable: total.flatMap { total in etag.map { (total, $0) } }, node: fetch.machine.streamingTarget)
        if key.range != nil && !fits {
            closeToJoiners()
            for id in Array(readers.keys) where id != leaderID { detach(id) }
        }
        for (id, reader) in readers where reader.onTrial {
            if let etag { reader.handle.send(.probe(etag: etag)) } else { detach(id) }
        }
        pumpAll()
    }

    func write(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        pieces.append(bytes)
        ringEnd += bytes.readableBytes
        worker.telemetry.countCoalesce(.storageBytes, pool: key.pool, by: bytes.readableBytes)
        pumpAll()
        rebalance()
    }

    func flush() {}

    func finish(_ exchange: ExchangeRunner, keepAlive: Bool) { ended(.end(keepAlive: keepAlive)) }

    func respond(_ exchange: ExchangeRunner, _ error: S3Error, resource: String, requestID: String, close: Bool) {
        ended(.error(error))
    }

    func abort() { ended(.abort) }

    func resumeReads() {}

    func armTimer(_ deadline: NIODeadline) {
        guard deadline < timerDeadline || timer == nil else { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = worker.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timerDeadline = .distantFuture
            if let next = fetch?.checkDeadlines() { armTimer(next) }
        }
    }
}
