import Logging
import NIOCore
import NIOPosix
import SpillwayConfig
import Synchronization

/// Binds the listeners, runs the workers, and drains them on shutdown.
public final class GatewayServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let workers: [ObjectIdentifier: Worker]
    private let store: ProxyStateStore
    private let logger: Logger
    private let serverChannels = Mutex<[Channel]>([])
    private let slots = SlotAllocator()
    private let prober: Mutex<ActiveProber>

    public init(snapshot: Snapshot, logger: Logger) throws {
        self.logger = logger
        let threads = snapshot.config.workers ?? System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        self.group = group
        let fleet = snapshot.config.protection.fleet.map { FleetLimiter(config: $0, group: group, logger: logger) }
        let protection = Protection(config: snapshot.config.protection, fleet: fleet, logger: logger)
        store = ProxyStateStore(try ProxyState.build(snapshot: snapshot, slots: slots, protection: protection, logger: logger))
        prober = Mutex(ActiveProber(pools: store.load().pools, group: group, logger: logger))
        var workers: [ObjectIdentifier: Worker] = [:]
        for (index, loop) in group.makeIterator().enumerated() {
            workers[ObjectIdentifier(loop)] = Worker(eventLoop: loop, index: index, state: store, logger: logger)
        }
        self.workers = workers
    }

    /// Binds every listener. Returns the bound addresses (port 0 in the config becomes a real port).
    @discardableResult
    public func start() async throws -> [SocketAddress] {
        let listen = store.load().snapshot.config.listen
        var bound: [SocketAddress] = []
        for address in listen {
            let channel = try await makeBootstrap().bind(host: address.host, port: address.port).get()
            serverChannels.withLock { $0.append(channel) }
            if let local = channel.localAddress { bound.append(local) }
            logger.info("listening", metadata: ["address": "\(address)"])
        }
        prober.withLock { $0.start() }
        return bound
    }

    private func makeBootstrap() -> ServerBootstrap {
        let workers = self.workers
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: ChannelTuning.listenBacklog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: ChannelTuning.downstreamRead)
            .childChannelOption(.writeBufferWaterMark, value: ChannelTuning.writeWatermarks)
            .childChannelOption(.maxMessagesPerRead, value: ChannelTuning.maxMessagesPerRead)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let worker = workers[ObjectIdentifier(channel.eventLoop)] else {
                        throw StartupError("no worker for event loop")
                    }
                    try channel.pipeline.syncOperations.addHandler(ClientConnection(worker: worker))
                }
            }
    }

    /// The config now in force.
    public var currentSnapshot: Snapshot { store.load().snapshot }

    /// Puts a new config in force for new requests; requests in flight finish under the one they
    /// started with. Pools that did not change keep their state. Listeners and worker count stay (a
    /// change to those needs a restart, and is refused here).
    public func apply(_ snapshot: Snapshot) throws {
        let old = store.load()
        guard snapshot.config.listen == old.snapshot.config.listen, snapshot.config.workers == old.snapshot.config.workers else {
            throw StartupError("listen addresses and workers cannot change on a reload; restart Spillway for that")
        }
        let fleet =
            snapshot.config.protection.fleet == old.snapshot.config.protection.fleet
            ? old.protection.fleet : snapshot.config.protection.fleet.map { FleetLimiter(config: $0, group: group, logger: logger) }
        let protection = old.protection.reconfigured(snapshot.config.protection, fleet: fleet)
        let next = try ProxyState.build(snapshot: snapshot, slots: slots, protection: protection, logger: logger, previous: old)
        store.publish(next)
        let newProber = ActiveProber(pools: next.pools, group: group, logger: logger)
        prober.withLock { current in
            current.stop()
            current = newProber
            current.start()
        }
        logger.notice("config applied", metadata: ["version": "\(snapshot.version)"])
    }

    /// Stops accepting, lets requests in flight finish for up to `drainTimeout`, then cuts the rest.
    public func shutdown(drainTimeout: Duration) async {
        prober.withLock { $0.stop() }
        let channels = serverChannels.withLock { $0 }
        for channel in channels { try? await channel.close() }
        logger.info("draining", metadata: ["connections": "\(openConnections)", "timeout": "\(drainTimeout)"])
        for worker in workers.values { worker.eventLoop.execute { worker.beginDrain() } }
        let deadline = ContinuousClock.now + drainTimeout
        while openConnections > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let left = openConnections
        if left > 0 { logger.warning("drain time is up; closing connections still open", metadata: ["connections": "\(left)"]) }
        for worker in workers.values {
            try? await worker.eventLoop.submit { worker.forceClose() }.get()
        }
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }

    private var openConnections: Int {
        workers.values.reduce(0) { $0 + $1.connectionCount.load(ordering: .relaxed) }
    }
}
