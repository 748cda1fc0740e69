import Logging
import NIOCore
import NIOPosix
import SpillwayConfig
import SpillwayHTTP1
import SpillwayPolicy
import Synchronization

/// Probes every node of every pool with health checks enabled: one small HTTP request per interval
/// (plus jitter, so gateways do not probe in step), judged by its status; the verdicts go to the
/// pool's `PoolHealth`, whose rise/fall rule decides. Each probe uses a fresh connection, so it tests
/// what a new request would meet. The same tick readmits nodes whose ejection has run out.
final class ActiveProber: Sendable {
    private let pools: [PoolRuntime]
    private let group: EventLoopGroup
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)

    init(pools: [PoolRuntime], group: EventLoopGroup, logger: Logger) {
        self.pools = pools
        self.group = group
        self.logger = logger
    }

    func start() {
        for pool in pools where pool.config.health.enabled {
            for node in pool.backends.indices {
                let loop = group.next()
                // Spread the first probes over one interval.
                let interval = TimeAmount(pool.config.health.interval).nanoseconds
                let first = TimeAmount.nanoseconds(interval * Int64(node + 1) / Int64(pool.backends.count + 1))
                schedule(pool: pool, node: node, on: loop, after: first)
            }
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    private func schedule(pool: PoolRuntime, node: Int, on loop: EventLoop, after delay: TimeAmount) {
        guard !stopped.load(ordering: .relaxed) else { return }
        loop.scheduleTask(in: delay) {
            self.probe(pool: pool, node: node, on: loop).whenComplete { result in
                let success = (try? result.get()) ?? false
                pool.probe(node, success: success, at: .now())
                let health = pool.config.health
                let jitter = Double(health.jitter.nanoseconds) * Double.random(in: 0..<1)
                self.schedule(pool: pool, node: node, on: loop, after: TimeAmount(health.interval) + .nanoseconds(Int64(jitter)))
            }
        }
    }

    /// One probe: connect, send the request, read the status line; true if the status is expected.
    private func probe(pool: PoolRuntime, node: Int, on loop: EventLoop) -> EventLoopFuture<Bool> {
        let health = pool.config.health
        let backend = pool.backends[node]
        let promise = loop.makePromise(of: Bool.self)
        let request = "\(health.method) \(health.path) HTTP/1.1\r\nHost: \(backend.authority)\r\nUser-Agent: spillway-health\r\nConnection: close\r\n\r\n"
        let timeout = TimeAmount(health.timeout)
        let expect = health.expect
        let timer = loop.scheduleTask(in: timeout) { promise.succeed(false) }
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ProbeHandler(request: request, expect: expect, promise: promise))
                }
            }
            .connect(to: backend.address)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                case .failure:
                    promise.succeed(false)
                }
            }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }
}

/// Sends the probe request and reads the response head.
private final class ProbeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: String
    private let expect: [ClosedRange<Int>]
    private let promise: EventLoopPromise<Bool>
    private var received: ByteBuffer?

    init(request: String, expect: [ClosedRange<Int>], promise: EventLoopPromise<Bool>) {
        self.request = request
        self.expect = expect
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if received == nil { received = bytes } else { received!.writeBuffer(&bytes) }
        guard let received, let end = received.withUnsafeReadableBytes({ HeadScanner.endOfHead($0) }) else {
            if (received?.readableBytes ?? 0) > 64 * 1024 { promise.succeed(false) }
            return
        }
        let head = received.getSlice(at: received.readerIndex, length: end)!
        let status = head.withUnsafeReadableBytes { b in try? ResponseHead.parse(b) }?.status
        promise.succeed(status.map { s in expect.contains { $0.contains(s) } } ?? false)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(false)  // no effect if already answered
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.succeed(false)
        context.close(promise: nil)
    }
}
