import Logging
import NIOCore
import SpillwayS3
import SpillwayPolicy
import Synchronization

/// Everything one event-loop thread owns: its client connections, its keep-alive connections to nodes,
/// its request-id sequence. A client connection and all of its node connections live on the same loop,
/// so bytes move between them by plain function calls, with no locks and no thread hops.
///
/// `@unchecked Sendable`: handed to its own loop's channel initialisers; every mutable field is only
/// touched on `eventLoop`.
final class Worker: @unchecked Sendable {
    let eventLoop: EventLoop
    let state: ProxyStateStore
    let logger: Logger
    let nodes: NodePool
    let telemetry: Telemetry
    /// The coalescing flights of every loop (one board per gateway).
    let flights: FlightBoard
    /// What split downloads' parts may hold together (one budget per gateway).
    let splitBudget: ByteBudget
    let allocator = ByteBufferAllocator()
    private(set) var connections: [ObjectIdentifier: ClientConnection] = [:]
    private(set) var draining = false
    /// Shutting down, still accepting (endpoints are moving away): every response says `Connection: close`.
    private(set) var closing = false
    /// When this loop last ran its heartbeat (monotonic nanoseconds), read by `/livez` from any thread.
    let heartbeat = Atomic<UInt64>(0)
    private var requestIDs: RequestIDGenerator
    private var rng = SplitMix64(seed: UInt64.random(in: 1...UInt64.max))
    /// Sheds and refusals at the edge come in floods: one log line a second each, with a count.
    var shedLog = LogThrottle()
    var refusalLog = LogThrottle()
    /// SigV4 signing keys derived on this loop (for verifying clients and signing for pools).
    var signingKeys = SigningKeyCache()
    /// Live connection count readable from other threads (for shutdown progress).
    let connectionCount = Atomic<Int>(0)

    init(eventLoop: EventLoop, index: Int, state: ProxyStateStore, telemetry: Telemetry, connector: NodeConnector, logger: Logger,
         flights: FlightBoard = FlightBoard(), splitBudget: ByteBudget = ByteBudget(1 << 30)) {
        self.telemetry = telemetry
        self.flights = flights
        self.splitBudget = splitBudget
        self.eventLoop = eventLoop
        self.state = state
        self.logger = logger
        self.nodes = NodePool(eventLoop: eventLoop, connector: connector)
        self.requestIDs = RequestIDGenerator(worker: index)
    }

    func nextRequestID() -> String { requestIDs.next() }

    /// A random number in [0, 1), for jitter.
    func random() -> Double { rng.unit() }

    func register(_ handler: ClientConnection) {
        connections[ObjectIdentifier(handler)] = handler
        connectionCount.add(1, ordering: .relaxed)
    }

    func unregister(_ handler: ClientConnection) {
        if connections.removeValue(forKey: ObjectIdentifier(handler)) != nil {
            connectionCount.subtract(1, ordering: .relaxed)
        }
    }

    /// Graceful shutdown: idle client connections close now, busy ones after their current response.
    /// Beats every half second on the loop, so a stuck loop shows as a stale heartbeat.
    func startHeartbeat() {
        heartbeat.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
        eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(500), delay: .milliseconds(500)) { [weak self] _ in
            self?.heartbeat.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
        }
    }

    func beginClosing() {
        eventLoop.assertInEventLoop()
        closing = true
    }

    func beginDrain() {
        eventLoop.assertInEventLoop()
        draining = true
        for handler in Array(connections.values) { handler.drain() }
    }

    /// The drain time is up: cut what is left.
    func forceClose() {
        eventLoop.assertInEventLoop()
        for handler in Array(connections.values) { handler.forceClose() }
        nodes.closeAll()
    }
}

/// S3-style request ids: 16 upper-case hex digits, unique per process (worker, random start, sequence).
struct RequestIDGenerator {
    private var sequence: UInt64

    init(worker: Int) {
        sequence = (UInt64(worker & 0xFF) << 56) | (UInt64.random(in: 0..<(1 << 32)) << 24)
    }

    mutating func next() -> String {
        sequence &+= 1
        return String(unsafeUninitializedCapacity: 16) { buffer in
            var value = sequence
            for i in stride(from: 15, through: 0, by: -1) {
                let digit = UInt8(truncatingIfNeeded: value & 0xF)
                buffer[i] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "A") + digit - 10
                value >>= 4
            }
            return 16
        }
    }
}
