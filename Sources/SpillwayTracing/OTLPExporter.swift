import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Sends finished spans to an OpenTelemetry collector over OTLP/HTTP with JSON bodies
/// (`POST <endpoint>/v1/traces`), in batches, once a second or when 512 are waiting, on a thread
/// of its own. It never holds more than `maxQueued` spans: when the collector is slow or gone,
/// the newest spans are dropped and counted, and requests never wait for tracing.
public final class OTLPExporter: Sendable {
    public struct Endpoint: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// The path prefix; spans go to `<path>/v1/traces`.
        public var path: String

        public init(host: String, port: Int, path: String = "") {
            self.host = host
            self.port = port
            self.path = path
        }
    }

    private struct Queue {
        var spans: [FinishedSpan] = []
        var dropped = 0
        var sending = false
    }

    public let endpoint: Endpoint
    let serviceName: String
    let version: String
    static let batchSize = 512
    static let maxQueued = 10_000
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let queue = Mutex(Queue())
    private let timer = Mutex<RepeatedTask?>(nil)
    private let logger: Logger

    public init(endpoint: Endpoint, serviceName: String, version: String, logger: Logger) {
        self.endpoint = endpoint
        self.serviceName = serviceName
        self.version = version
        self.logger = logger
        let exporter = self
        timer.withLock {
            $0 = group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in exporter.flush() }
        }
    }

    /// Spans dropped because the queue was full.
    public var droppedSpans: Int { queue.withLock { $0.dropped } }

    func add(_ span: FinishedSpan) {
        let full = queue.withLock { q -> Bool in
            guard q.spans.count < Self.maxQueued else {
                q.dropped += 1
                return false
            }
            q.spans.append(span)
            return q.spans.count >= Self.batchSize && !q.sending
        }
        if full { group.next().execute { self.flush() } }
    }

    /// Sends what is queued, one batch at a time.
    public func flush() {
        let batch = queue.withLock { q -> [FinishedSpan] in
            guard !q.sending, !q.spans.isEmpty else { return [] }
            q.sending = true
            let batch = Array(q.spans.prefix(Self.batchSize))
            q.spans.removeFirst(batch.count)
            return batch
        }
        guard !batch.isEmpty else { return }
        let body = OTLPJSON.body(batch, serviceName: serviceName, version: version)
        post(body).whenComplete { result in
            let more = self.queue.withLock { q -> Bool in
                q.sending = false
                return q.spans.count >= Self.batchSize
            }
            switch result {
            case .success(let status) where (200..<300).contains(status): break
            case .success(let status):
                self.logger.warning("OTLP collector refused spans", metadata: ["status": "\(status)", "spans": "\(batch.count)"])
            case .failure(let error):
                self.logger.warning("OTLP collector unreachable; spans dropped", metadata: ["error": "\(error)", "spans": "\(batch.count)"])
            }
            if more { self.flush() }
        }
    }

    public func shutdown() async {
        timer.withLock { $0?.cancel() }
        flush()
        try? await Task.sleep(for: .milliseconds(200))
        try? await group.shutdownGracefully()
    }

    /// One POST on a fresh connection; succeeds with the response status.
    private func post(_ body: String) -> EventLoopFuture<Int> {
        let loop = group.next()
        let promise = loop.makePromise(of: Int.self)
        let request =
            "POST \(endpoint.path)/v1/traces HTTP/1.1\r\nHost: \(endpoint.host):\(endpoint.port)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\nUser-Agent: spillway\r\n\r\n" + body
        let timeout = loop.scheduleTask(in: .seconds(5)) { promise.fail(ChannelError.connectTimeout(.seconds(5))) }
        ClientBootstrap(group: loop)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StatusLineReader(promise: promise))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                case .failure(let error):
                    promise.fail(error)
                }
            }
        promise.futureResult.whenComplete { _ in timeout.cancel() }
        return promise.futureResult
    }
}

/// Reads the status code of the collector's answer.
private final class StatusLineReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let promise: EventLoopPromise<Int>
    private var head = ByteBuffer()
    private var done = false

    init(promise: EventLoopPromise<Int>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        var bytes = unwrapInboundIn(data)
        head.writeBuffer(&bytes)
        guard let text = head.getString(at: head.readerIndex, length: head.readableBytes), let end = text.firstIndex(of: "\r\n") else {
            return
        }
        done = true
        let parts = text[..<end].split(separator: " ")
        if parts.count >= 2, let status = Int(parts[1]) { promise.succeed(status) } else { promise.fail(ChannelError.inappropriateOperationForState) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done { promise.fail(ChannelError.eof) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            promise.fail(error)
        }
        context.close(promise: nil)
    }
}
