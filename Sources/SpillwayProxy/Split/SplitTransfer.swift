import NIOCore
import SpillwayConfig
import SpillwayExchange
import SpillwayHTTP1
import SpillwayPolicy
import Synchronization

/// One split download: the body of a large whole-object GET, fetched as ranged parts (`Range` +
/// `If-Match` with the object's ETag) from the pool's nodes, and written to the client in order.
/// The head the client gets is the first node's own answer to its GET, so the full-object checksum
/// it asked for (`x-amz-checksum-mode`) is there and its own validation checks what was assembled.
///
/// At most `parallel` parts are in flight, each held whole until its turn (`part` bytes), so memory
/// is bounded per download, and by `split_memory` across them: parts past the first need a share
/// of it. Parallelism starts at two and grows by one each time the client is waiting for bytes
/// that have not come, so a client slower than one connection never costs more than two.
/// A part that fails or stalls is fetched again from where it stopped, when the recovery planner
/// says so (the pool's `max_resumes` per part and its retry budget), on another node than the one
/// it failed on (when the pool has one);
/// a part answered with anything but the exact range (`412`: the object changed) cuts the client.
///
/// Loop-confined to the client's loop; parts are fetches run by `ExchangeRunner`s of their own.
final class SplitTransfer {
    final class Part {
        let first: Int
        let last: Int
        var pieces = CircularBuffer<ByteBuffer>(initialCapacity: 8)
        var received = 0
        var done = false
        var fetch: ExchangeRunner?
        var tries = 0
        /// Bytes of the budget this part holds (0 for the one part a download may always have).
        var reserved = 0
        /// The node its last fetch failed on, which the next one avoids (a bit per node).
        var avoid: UInt64 = 0

        init(first: Int, last: Int) {
            self.first = first
            self.last = last
        }

        var length: Int { last - first + 1 }
    }

    let runner: ExchangeRunner
    let total: Int
    let etag: ByteBuffer
    let config: SplitConfig
    private var parts = CircularBuffer<Part>(initialCapacity: 8)
    private var nextOffset = 0
    private var parallel: Int
    private var over = false

    init(runner: ExchangeRunner, total: Int, etag: ByteBuffer, config: SplitConfig) {
        self.runner = runner
        self.total = total
        self.etag = etag
        self.config = config
        parallel = min(2, config.parallel)
    }

    var worker: Worker { runner.worker }
    private var pool: String { runner.context.pools[0].name }

    func start() {
        worker.telemetry.countSplit(.transfers, pool: pool)
        fill()
    }

    // MARK: - Parts

    /// Starts parts until `parallel` are in flight or the object is covered.
    private func fill() {
        while !over, nextOffset < total, parts.count < parallel {
            let reserve = parts.isEmpty ? 0 : config.part
            guard reserve == 0 || worker.splitBudget.take(reserve) else { break }
            let part = Part(first: nextOffset, last: min(total, nextOffset + config.part) - 1)
            part.reserved = reserve
            nextOffset = part.last + 1
            parts.append(part)
            launch(part)
        }
    }

    private func launch(_ part: Part) {
        let now = runner.now
        part.tries += 1
        runner.machine.splitMoved(at: Moment(now))
        var edit = HeadEdit()
        edit.add("Range", "bytes=\(part.first + part.received)-\(part.last)")
        var etag = self.etag
        edit.add("If-Match", &etag)
        let head = edit.applied(to: runner.context.forwardHead, allocator: worker.allocator)
        guard let fetch = runner.makeFetch(head: head, sink: PartSink(self, part), at: now) else { return fail(status: nil) }
        fetch.machine.avoid(nodes: part.avoid)
        part.fetch = fetch
        worker.telemetry.countSplit(part.tries == 1 ? .parts : .partRetries, pool: pool)
        fetch.startFetch(at: now)
    }

    // MARK: - What parts report

    func partHead(_ part: Part, status: Int) {
        guard status == 206 else { return fail(status: status) }
    }

    func partBytes(_ part: Part, _ bytes: ByteBuffer) {
        part.pieces.append(bytes)
        part.received += bytes.readableBytes
        runner.machine.splitMoved(at: Moment(runner.now))
        if part === parts.first { deliver() }
    }

    func partEnded(_ part: Part, complete: Bool) {
        // Fetched again, the part goes to another node than the one it just failed on, when the
        // pool has another.
        if let node = part.fetch?.machine.log.attempts.last?.node, runner.context.pools[0].backends.count > 1, node < 64 {
            part.avoid = 1 << UInt64(node)
        }
        part.fetch = nil
        guard !over else { return }
        if complete && part.received == part.length {
            part.done = true
            deliver()
            return
        }
        // The planner decides, as for any download cut mid-body: within the pool's resumes and
        // its retry budget, the part is fetched again from where it stopped.
        let now = runner.now
        let cut = RecoveryPlanner.Situation.cutMidBody(sent: part.received, total: part.length, resumes: part.tries - 1, resumable: true)
        let traits = RecoveryPlanner.Traits(idempotent: true, isRead: true, canResend: true, responseCommitted: true)
        if runner.context.pools[0].plan(cut, traits: traits, at: Moment(now), unit: worker.random()) == .resume {
            launch(part)
        } else {
            fail(status: nil)
        }
    }

    // MARK: - To the client

    /// Writes the parts' bytes in order while the client takes them.
    func deliver() {
        guard !over else { return }
        var wrote = 0
        while let part = parts.first, runner.sink.isWritable {
            if let piece = part.pieces.popFirst() {
                runner.sink.write(piece)
                wrote += piece.readableBytes
                continue
            }
            guard part.done else {
                // The client waits for bytes that have not come: one more part in flight helps.
                if parallel < config.parallel {
                    parallel += 1
                    fill()
                }
                break
            }
            parts.removeFirst()
            if part.reserved > 0 { worker.splitBudget.give(part.reserved) }
            fill()
        }
        guard wrote > 0 else { return }
        runner.sink.flush()
        let now = runner.now
        runner.run(runner.machine.splitDelivered(wrote, at: Moment(now)), at: now)
        if !runner.machine.isSplit { finish() }
    }

    private func fail(status: Int?) {
        guard !over else { return }
        let now = runner.now
        finish()
        runner.run(runner.machine.splitFailed(status: status, at: Moment(now)), at: now)
    }

    /// The download is over (done, failed, or the client left): parts still out are stopped.
    func finish() {
        guard !over else { return }
        over = true
        while let part = parts.popFirst() {
            if part.reserved > 0 { worker.splitBudget.give(part.reserved) }
            part.fetch?.clientClosed()
            part.fetch = nil
        }
        runner.split = nil
    }
}

/// A budget of bytes shared by every loop (split downloads' parts beyond their first).
final class ByteBudget: Sendable {
    private let available: Atomic<Int>

    init(_ bytes: Int) { available = Atomic(bytes) }

    func take(_ bytes: Int) -> Bool {
        var current = available.load(ordering: .relaxed)
        while current >= bytes {
            let (exchanged, now) = available.compareExchange(expected: current, desired: current - bytes, ordering: .relaxed)
            if exchanged { return true }
            current = now
        }
        return false
    }

    func give(_ bytes: Int) { available.add(bytes, ordering: .relaxed) }
}
