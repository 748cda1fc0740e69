import Logging
import SpillwayConfig
import NIOCore
import SpillwayExchange
import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3

/// The client's side of doing what the machine says: the response head and body, errors, the end.
extension ExchangeRunner {
    /// Responses whose head and first body bytes fit in this many bytes go out in one buffer:
    /// copying a few KiB costs less than several writes through the channel.
    static let coalesceLimit = 32 * 1024

    func performClient(_ action: ClientAction, at now: NIODeadline, body: ByteBuffer?, response: (ResponseHead, ByteBuffer)?) {
        if let read = flightRead, read.phase == .probing, trialTakes(action, read, response: response, at: now) { return }
        switch action {
        case .none:
            break
        case .sendContinue:
            sink.write(StaticBytes.continue100)
            sink.flush()
        case .forwardInterim:
            guard let (head, bytes) = response else { return }
            HeadWriter.write(bytes, dropping: head.dropLines, adding: nil) { sink.write($0) }
            sink.flush()
        case .writeHead(let close, let dechunk):
            guard let (head, bytes) = response else { return }
            writeHead(head, bytes, close: close || sink.willCloseAfterExchange, dechunk: dechunk)
            if head.status == 200, let config = context.route.split, let total = machine.resumableLength, total > config.above,
                let etag = upstream.etag
            {
                splitDownload(total: total, etag: etag, config: config, at: now)
            }
        case .deliver:
            guard let body else { return }
            deliver(body)
        case .hold:
            guard let body else { return }
            if let head = pendingHead {
                pendingHead = nil
                sink.writeHead(head)
                sink.flush()
            }
            if held == nil { held = CircularBuffer(initialCapacity: 4) }
            held!.append(body)
        case .releaseHeld(let count, let thenEnd):
            for _ in 0..<count {
                guard let piece = held?.popFirst() else { break }
                sink.write(piece)
            }
            sink.flush()
            if let keepAlive = thenEnd { sink.finish(self, keepAlive: keepAlive && !sink.willCloseAfterExchange) }
        case .respond(let error, let close):
            sink.respond(self, error, resource: context.resource, requestID: requestID, close: close || sink.willCloseAfterExchange)
        case .end(let keepAlive):
            flushPendingHead()
            sink.finish(self, keepAlive: keepAlive && !sink.willCloseAfterExchange)
        case .abort:
            sink.abort()
        case .resumeReads:
            links.forEach { $0.connection?.resumeReads() }
            source.resumeReads()
        }
    }

    /// The response head, without the node's hop-by-hop lines (and its `Transfer-Encoding` when the
    /// body is re-framed for an HTTP/1.0 client), kept to go out with the first body bytes.
    private func writeHead(_ head: ResponseHead, _ bytes: ByteBuffer, close: Bool, dechunk: Bool) {
        // The ETag a resume, a split download's parts or a flight's followers hold the object to.
        if head.status == 200 && machine.plan.wholeObjectGET || head.status == 206 && isFetch, let etag = head.etag {
            upstream.etag = bytes.getSlice(at: bytes.readerIndex + etag.lowerBound, length: etag.count)
        }
        if isFetch { fetchedLength = head.contentLength }
        sniffsErrorCode = head.status >= 400 && !machine.plan.isHEAD
        var drop = head.dropLines
        if dechunk, let line = head.transferEncodingLine {
            drop.append(line)
            drop.sort()
        }
        let extra: ByteBuffer? = close ? StaticBytes.connectionClose : context.head.minorVersion == 0 ? StaticBytes.connectionKeepAlive : nil
        guard drop.isEmpty && extra == nil else {
            var out = sink.allocator.buffer(capacity: bytes.readableBytes + 32)
            HeadWriter.write(bytes, dropping: drop, adding: extra) { piece in
                var piece = piece
                out.writeBuffer(&piece)
            }
            pendingHead = out
            return
        }
        pendingHead = bytes
    }

    private func deliver(_ body: ByteBuffer) {
        guard var head = pendingHead else {
            sink.write(body)
            return
        }
        pendingHead = nil
        if head.readableBytes + body.readableBytes <= Self.coalesceLimit && !sink.takesHeadApart {
            var out = sink.allocator.buffer(capacity: head.readableBytes + body.readableBytes)
            out.writeBuffer(&head)
            var body = body
            out.writeBuffer(&body)
            sink.write(out)
        } else {
            sink.writeHead(head)
            sink.write(body)
        }
    }

    /// A head not yet out (its body had no bytes in the same read) goes now.
    func flushPendingHead() {
        guard let head = pendingHead else { return }
        pendingHead = nil
        sink.writeHead(head)
    }

    /// The rest of this large download comes in ranged parts from several nodes: the head goes
    /// now, the node that answered is let go.
    private func splitDownload(total: Int, etag: ByteBuffer, config: SplitConfig, at now: NIODeadline) {
        let transfer = SplitTransfer(runner: self, total: total, etag: etag, config: config)
        split = transfer
        run(machine.beginSplit(at: Moment(now)), at: now)
        flushPendingHead()
        transfer.start()
    }

    // MARK: - The end

    /// The exchange is over. Attempts hold their runner strongly (a node connection reaches it
    /// through them), so the references back are cut here; nothing may keep the pair alive.
    func finish(at now: NIODeadline) {
        split?.finish()
        if let wait = queueWait, wait.pool.cancelWait(wait.id) { queueWait = nil }
        let (a, b) = links.removeAll()
        a.map(drop)
        b.map(drop)
        record(at: now)
    }

    func log(_ note: ExchangeNote) {
        let logger = worker.logger
        switch note {
        case .retrying(let failure, let status):
            logger.info(
                status.map { "node answered \($0); retrying on another node" } ?? "attempt failed; retrying on another node",
                metadata: ["request-id": "\(requestID)", "error": "\(failure.map { "\($0)" } ?? "-")"])
        case .hedging:
            logger.debug("hedging a slow read", metadata: ["request-id": "\(requestID)"])
        case .resuming(let from):
            logger.info("node failed mid-download; resuming from another node", metadata: ["request-id": "\(requestID)", "sent": "\(from)"])
        case .resumed(let from):
            logger.info("download resumed on another node", metadata: ["request-id": "\(requestID)", "from-byte": "\(from)"])
        case .cannotResume(let status):
            logger.warning(
                "cannot resume download: the object changed or the node refused the range; closing the client connection",
                metadata: ["request-id": "\(requestID)", "status": "\(status)"])
        case .cutMidResponse(let failure):
            logger.warning(
                "storage node failed mid-response; closing the client connection", metadata: ["request-id": "\(requestID)", "error": "\(failure)"])
        case .failedOver(let from, let to):
            logger.notice("failing over to another pool", metadata: ["from": "\(context.pools[from].name)", "to": "\(context.pools[to].name)"])
        case .clientStalled(let why):
            logger.info("client stalled; ending its request", metadata: ["request-id": "\(requestID)", "why": "\(why)"])
        case .failed(let error):
            logger.warning(
                "request failed",
                metadata: [
                    "request-id": "\(requestID)", "code": "\(error.code.rawValue)", "operation": "\(context.request.operation)",
                    "message": "\(error.message)",
                ])
        }
    }
}
