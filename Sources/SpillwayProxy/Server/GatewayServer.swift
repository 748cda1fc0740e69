import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SpillwayConfig
import Synchronization
import SpillwayPolicy
import Tracing

/// Binds the listeners, runs the workers, and drains them on shutdown.
public final class GatewayServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let workers: [ObjectIdentifier: Worker]
    let store: ProxyStateStore
    let logger: Logger
    private let serverChannels = Mutex<[Channel]>([])
    private let listening = Atomic<Bool>(false)
    private let shuttingDown = Atomic<Bool>(false)
    private let slots = SlotAllocator()
    private let prober: Mutex<ActiveProber>
    let telemetry: Telemetry
    private let connector: NodeConnector
    private let startedAt = ContinuousClock.now
    /// The listeners' TLS contexts, and the watcher that reloads them when their files change.
    let serverTLS = ServerTLS()
    let certificateWatcher = Mutex<CertificateWatcher?>(nil)

    /// `tracer`: spans for every request (nil: none).
    public init(snapshot: Snapshot, tracer: (any Tracer)? = nil, logger: Logger) throws {
        self.logger = logger
        let threads = snapshot.config.workers ?? System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        self.group = group
        let accessLog = snapshot.config.observability.accessLog.map { AccessLog(path: $0.path, hashKeys: $0.hashKeys) }
        let telemetry = Telemetry(topN: snapshot.config.observability.topN, accessLog: accessLog, tracer: tracer)
        self.telemetry = telemetry
        let fleet = snapshot.config.protection.fleet.map { FleetLimiter(config: $0, group: group, logger: logger) }
        let protection = Protection(config: snapshot.config.protection, fleet: fleet, logger: logger)
        store = ProxyStateStore(try ProxyState.build(snapshot: snapshot, slots: slots, protection: protection, telemetry: telemetry, logger: logger))
        serverTLS.install(try ServerTLS.prepare(snapshot.config.listeners).get())
        let connector = NodeDialer { backend in telemetry.countHandshake(backend) }
        self.connector = connector
        prober = Mutex(ActiveProber(pools: store.load().pools, group: group, connector: connector, logger: logger))
        var workers: [ObjectIdentifier: Worker] = [:]
        let flights = FlightBoard()
        let splitBudget = ByteBudget(snapshot.config.splitMemory)
        for (index, loop) in group.makeIterator().enumerated() {
            workers[ObjectIdentifier(loop)] = Worker(
                eventLoop: loop, index: index, state: store, telemetry: telemetry, connector: connector, logger: logger, flights: flights,
                splitBudget: splitBudget)
        }
        self.workers = workers
    }

    /// Binds every listener. Returns the bound addresses (port 0 in the config becomes a real port),
    /// and whether each speaks TLS.
    @discardableResult
    public func start() async throws -> [(address: SocketAddress, tls: Bool)] {
        let listeners = store.load().snapshot.config.listeners
        var bound: [(address: SocketAddress, tls: Bool)] = []
        for (index, listener) in listeners.enumerated() {
            let address = listener.address
            let channel = try await makeBootstrap(listener: index).bind(host: address.host, port: address.port).get()
            serverChannels.withLock { $0.append(channel) }
            if let local = channel.localAddress {
                bound.append((local, listener.tls != nil))
                serverTLS.bound.withLock { $0[index] = "\(local.ipAddress ?? address.host):\(local.port ?? address.port)" }
            }
            logger.info("listening", metadata: ["address": "\(address)", "tls": "\(listener.tls != nil)"])
        }
        prober.withLock { $0.start() }
        watchCertificates()
        for worker in workers.values { worker.eventLoop.execute { worker.startHeartbeat() } }
        listening.store(true, ordering: .relaxed)
        return bound
    }

    /// The first step of a shutdown: `/readyz` fails at once, and every response from now on says
    /// `Connection: close`, while the listeners still accept (a Service keeps sending new
    /// connections until its endpoints have caught up).
    public func beginShutdown() {
        shuttingDown.store(true, ordering: .relaxed)
        for worker in workers.values { worker.eventLoop.execute { worker.beginClosing() } }
    }

    /// What `/livez` and `/readyz` say: each one's problems (empty: alive, ready).
    public func health() -> (live: [String], ready: [String]) {
        let beats = workers.values.map { $0.heartbeat.load(ordering: .relaxed) }
        let live = Readiness.liveness(heartbeats: beats, now: NIODeadline.now().uptimeNanoseconds, limit: .seconds(5))
        let status = status()
        let defaultPool = store.load().snapshot.config.defaultPool
        let ready = Readiness.problems(
            listening: listening.load(ordering: .relaxed), shuttingDown: shuttingDown.load(ordering: .relaxed),
            defaultPool: status.pools.first { $0.name == defaultPool })
        return (live, ready)
    }

    private func makeBootstrap(listener index: Int) -> ServerBootstrap {
        let workers = self.workers
        let tls = serverTLS
        let telemetry = self.telemetry
        let label = store.load().snapshot.config.listeners[index].address.description
        let handshakeTimeout = TimeAmount(store.load().snapshot.config.timeouts.requestHead)
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
                    let pipeline = channel.pipeline.syncOperations
                    // The context of this moment: a certificate reloaded later serves later handshakes.
                    if let context = tls.context(listener: index) {
                        try pipeline.addHandler(NIOSSLServerHandler(context: context))
                        try pipeline.addHandler(ClientHandshakeWatch(timeout: handshakeTimeout) {
                            telemetry.countHandshakeFailure(listener: tls.bound.withLock { $0[index] } ?? label)
                        })
                    }
                    try pipeline.addHandler(ClientConnection(worker: worker))
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
        let certificates = try ServerTLS.prepare(snapshot.config.listeners).get()
        let next = try ProxyState.build(
            snapshot: snapshot, slots: slots, protection: protection, telemetry: telemetry, logger: logger, previous: old)
        store.publish(next)
        serverTLS.install(certificates)
        watchCertificates()
        let newProber = ActiveProber(pools: next.pools, group: group, connector: connector, logger: logger)
        prober.withLock { current in
            current.stop()
            current = newProber
            current.start()
        }
        logger.notice("config applied", metadata: ["version": "\(snapshot.version)"])
    }

    // MARK: - Status and control (for the admin API)

    /// Health, load and traffic of every pool, node, tenant and bucket, now.
    public func status() -> GatewayStatus {
        let state = store.load()
        let counters = telemetry.counters()
        let now = Moment.now()
        var totals = counters.totals
        totals.inFlight = counters.inFlight.reduce(0) { $0 + $1.count }
        var pools: [PoolStatus] = []
        for pool in state.pools {
            let health = pool.snapshot()
            var nodes: [NodeStatus] = []
            for (i, node) in health.nodes.enumerated() {
                let ejected = node.outlier.ejectedUntil.flatMap { $0 > now ? $0.since(now).seconds : nil }
                var status = NodeStatus(
                    index: i, url: pool.backends[i].url, weight: node.weight, drained: node.drained, healthy: node.probe.healthy,
                    ejectedForSeconds: ejected, ejections: node.ejections, throttled: node.throttledUntil.map { $0 > now } ?? false,
                    inFlight: node.inFlight, inFlightLimit: node.limit, latencyEWMAms: node.latency.estimate(at: now) / 1e6)
                if let c = counters.nodes[Telemetry.NodeKey(pool: pool.name, url: pool.backends[i].url)] {
                    status.requests = c.requests
                    status.errors = c.errors
                    status.bytesIn = c.bytesIn
                    status.bytesOut = c.bytesOut
                    status.firstByteMsTotal = c.firstByteMsTotal
                    status.connectionsOpened = c.connectionsOpened
                    status.connectionsReused = c.connectionsReused
                    status.tlsHandshakes = c.tlsHandshakes
                }
                nodes.append(status)
            }
            pools.append(
                PoolStatus(
                    name: pool.name, balancer: pool.policy.balancer.rawValue, retryBudgetBalance: health.budget.balance,
                    retryBudgetWithdrawn: health.budget.withdrawn, retryBudgetRefused: health.budget.refused,
                    queueDepth: pool.queueDepth, nodes: nodes, events: pool.journal.recent))
        }
        var status = GatewayStatus(
            configVersion: state.snapshot.version, uptimeSeconds: (ContinuousClock.now - startedAt).seconds, pools: pools,
            tenants: counters.tenants.sorted { $0.requests > $1.requests }, buckets: counters.buckets.sorted { $0.requests > $1.requests },
            totals: totals, fleetRedisReachable: state.protection.fleet.map(\.isRedisReachable), inFlight: counters.inFlight)
        status.tls = serverTLS.status(state.snapshot.config.listeners)
        status.tlsReloads = serverTLS.reloads.load(ordering: .relaxed)
        status.tlsReloadRefusals = serverTLS.refusals.load(ordering: .relaxed)
        return status
    }

    public enum ControlError: Error, CustomStringConvertible {
        case noSuchPool(String)
        case noSuchNode(String, Int)
        public var description: String {
            switch self {
            case .noSuchPool(let p): "no pool named '\(p)'"
            case .noSuchNode(let p, let n): "pool '\(p)' has no node \(n)"
            }
        }
    }

    /// Takes a node out of rotation (requests in flight finish), or puts it back.
    public func setDrained(pool: String, node: Int, _ drained: Bool) throws {
        try runtime(pool, node).setDrained(node, drained)
    }

    public func setWeight(pool: String, node: Int, _ weight: Int) throws {
        try runtime(pool, node).setWeight(node, weight)
    }

    private func runtime(_ name: String, _ node: Int) throws -> PoolRuntime {
        guard let pool = store.load().pools.first(where: { $0.name == name }) else { throw ControlError.noSuchPool(name) }
        guard pool.backends.indices.contains(node) else { throw ControlError.noSuchNode(name, node) }
        return pool
    }

    /// Reopens the access log file (after log rotation).
    public func reopenAccessLog() { telemetry.accessLog?.reopen() }

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
        telemetry.accessLog?.flush()
        logger.info("stopped")
    }

    private var openConnections: Int {
        workers.values.reduce(0) { $0 + $1.connectionCount.load(ordering: .relaxed) }
    }
}
