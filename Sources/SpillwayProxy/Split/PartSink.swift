import NIOCore
import SpillwayS3

/// Where one part of a split download goes: the part's buffer in its `SplitTransfer`. A part is
/// fetched only once there is room for all of it, so the sink always takes more.
final class PartSink: ResponseSink, RequestSource {
    let transfer: SplitTransfer
    let part: SplitTransfer.Part
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture

    init(_ transfer: SplitTransfer, _ part: SplitTransfer.Part) {
        self.transfer = transfer
        self.part = part
    }

    var isWritable: Bool { true }
    var allocator: ByteBufferAllocator { transfer.worker.allocator }
    var willCloseAfterExchange: Bool { false }
    var takesHeadApart: Bool { true }
    var remoteIP: String? { nil }

    func writeHead(_ head: ByteBuffer) {
        transfer.partHead(part, status: part.fetch?.machine.log.status ?? 0)
    }

    func write(_ bytes: ByteBuffer) {
        if bytes.readableBytes > 0 { transfer.partBytes(part, bytes) }
    }

    func flush() {}

    func finish(_ exchange: ExchangeRunner, keepAlive: Bool) { ended(exchange, complete: true) }

    func respond(_ exchange: ExchangeRunner, _ error: S3Error, resource: String, requestID: String, close: Bool) {
        ended(exchange, complete: false)
    }

    func abort() {
        if let fetch = part.fetch { ended(fetch, complete: false) }
    }

    private func ended(_ exchange: ExchangeRunner, complete: Bool) {
        timer?.cancel()
        guard part.fetch === exchange else { return }
        transfer.partEnded(part, complete: complete)
    }

    func resumeReads() {}

    func armTimer(_ deadline: NIODeadline) {
        guard deadline < timerDeadline || timer == nil else { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = transfer.worker.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timerDeadline = .distantFuture
            if let next = part.fetch?.checkDeadlines() { armTimer(next) }
        }
    }
}
