import Logging
import NIOCore
import SpillwayConfig
import SpillwayHTTP1
import SpillwayPolicy
import Synchronization

/// Probes every node of every pool with health checks enabled: one small HTTP request per interval
/// (plus jitter, so gateways do not probe in step), judged by its status; the verdicts go to the
/// pool's `PoolHealth`, whose rise/fall rule decides. Each probe uses a fresh connection from the
/// same `NodeConnector` as the data plane, so it meets a node as a new request would. The same
/// tick readmits nodes whose ejection has run out.
final class ActiveProber: Sendable {
    private let pools: [PoolRuntime]
    private let group: EventLoopGroup
    private let connector: NodeConnector
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)

    init(pools: [PoolRuntime], group: EventLoopGroup, connector: NodeConnector, logger: Logger) {
        self.pools = pools
        self.group = group
        self.connector = connector
        self.logger = logger
    }

    func start() {
        for pool in pools {
            guard let probe = pool.policy.probe else { continue }
            for node in pool.backends.indices {
                let loop = group.next()
                // Spread the first probes over one interval.
                let interval = TimeAmount(probe.interval).nanoseconds
                let first = TimeAmount.nanoseconds(interval * Int64(node + 1) / Int64(pool.backends.count + 1))
                schedule(pool: pool, probe: probe, node: node, on: loop, after: first)
            }
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    private func schedule(pool: PoolRuntime, probe: PoolPolicy.Probe, node: Int, on loop: EventLoop, after delay: TimeAmount) {
        guard !stopped.load(ordering: .relaxed) else { return }
        loop.scheduleTask(in: delay) {
            self.check(pool: pool, probe: probe, node: node, on: loop).whenComplete { result in
                let success = (try? result.get()) ?? false
                pool.probe(node, success: success, at: Moment(loop.now))
                let jitter = Double(probe.jitter.nanoseconds) * Double.random(in: 0..<1)
                self.schedule(pool: pool, probe: probe, node: node, on: loop, after: TimeAmount(probe.interval) + .nanoseconds(Int64(jitter)))
            }
        }
    }

    /// One probe: connect, send the request, read the status line; true if the status is expected.
    private func check(pool: PoolRuntime, probe: PoolPolicy.Probe, node: Int, on loop: EventLoop) -> EventLoopFuture<Bool> {
        let backend = pool.backends[node]
        let promise = loop.makePromise(of: Bool.self)
        let request = "\(probe.method) \(probe.path) HTTP/1.1\r\nHost: \(backend.authority)\r\nUser-Agent: spillway-health\r\nConnection: close\r\n\r\n"
        let timeout = TimeAmount(probe.timeout)
        let timer = loop.scheduleTask(in: timeout) { promise.succeed(false) }
        connector.connect(to: backend, on: loop, timeout: timeout) { ProbeHandler(request: request, probe: probe, promise: promise) }
            .whenComplete { result in
                switch result {
                case .success(let channel): promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                case .failure: promise.succeed(false)
                }
            }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }
}

/// Sends the probe request and reads the response head with the data plane's framer and parser.
private final class ProbeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: String
    private let probe: PoolPolicy.Probe
    private let promise: EventLoopPromise<Bool>
    private var received: ByteBuffer?
    private var framer = MessageFramer(maxHeadBytes: HeadLimits().maxHeadBytes)

    init(request: String, probe: PoolPolicy.Probe, promise: EventLoopPromise<Bool>) {
        self.request = request
        self.probe = probe
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if received == nil { received = bytes } else { received!.writeBuffer(&bytes) }
        guard let received else { return }
        let step = received.withUnsafeReadableBytes { b in try? framer.read(b) }
        switch step {
        case .none:
            promise.succeed(false)  // not HTTP, or a head over the limit
        case .needMore?, .body?:
            return
        case .head(let length)?:
            let status = received.getSlice(at: received.readerIndex, length: length)!.withUnsafeReadableBytes { b in try? ResponseHead.parse(b) }?.status
            promise.succeed(status.map(probe.accepts) ?? false)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(false)  // no effect if already answered
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.succeed(false)
        context.close(promise: nil)
    }
}
