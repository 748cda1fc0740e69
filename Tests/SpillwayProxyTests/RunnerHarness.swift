import Logging
import NIOCore
import NIOEmbedded
import SpillwayConfig
import SpillwayHTTP1
import SpillwayPolicy
import Testing

@testable import SpillwayProxy

/// The data plane on `EmbeddedChannel`s: one client connection and the node connections its
/// runner dials, all on one `EmbeddedEventLoop` whose clock the test advances by hand.
final class RunnerHarness {
    let loop = EmbeddedEventLoop()
    let connector: EmbeddedConnector
    let worker: Worker
    let client: EmbeddedChannel
    let state: ProxyState

    init(_ yaml: String = "", pool: String = "", nodes: Int = 3) throws {
        let text = """
            listen: 127.0.0.1:0
            pools:
              - name: p
                nodes: [\((0..<nodes).map { "http://127.0.0.1:\(9001 + $0)" }.joined(separator: ", "))]
                health: { preset: none }
            \(pool.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            \(yaml)
            """
        let config = try ConfigLoader.load(text: text, file: "test.yaml").get()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let telemetry = Telemetry(topN: 20, accessLog: nil, tracer: nil)
        let protection = Protection(config: config.protection, fleet: nil, logger: logger)
        state = try ProxyState.build(
            snapshot: Snapshot(config: config, version: 1), slots: SlotAllocator(), protection: protection, telemetry: telemetry, logger: logger)
        connector = EmbeddedConnector(loop: loop)
        worker = Worker(
            eventLoop: loop, index: 0, state: ProxyStateStore(state), telemetry: telemetry, connector: connector, logger: logger)
        client = EmbeddedChannel(loop: loop)
        try client.pipeline.syncOperations.addHandler(ClientConnection(worker: worker))
        try client.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 40000)).wait()
    }

    /// Another client connection on the same loop (for requests that share a fetch).
    func addClient(port: Int = 40001) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(ClientConnection(worker: worker))
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: port)).wait()
        return channel
    }

    /// Everything the gateway wrote to `channel` since the last call.
    func received(on channel: EmbeddedChannel) throws -> String { try drain(channel) }

    /// The client sends bytes.
    func send(_ text: String) throws { try client.writeInbound(ByteBuffer(string: text)) }

    /// Everything the gateway wrote to the client since the last call.
    func received() throws -> String { try drain(client) }

    /// The client's responses so far (since the last call).
    func responses() throws -> [String] {
        try received().components(separatedBy: "HTTP/1.1 ").filter { !$0.isEmpty }.map { "HTTP/1.1 " + $0 }
    }

    /// The `i`-th node connection the runner dialled.
    func node(_ i: Int) -> EmbeddedChannel { connector.dialled[i].channel }

    /// Which node (0, 1, 2) the `i`-th connection went to.
    func nodeIndex(_ i: Int) -> Int { connector.dialled[i].port - 9001 }

    var dialled: Int { connector.dialled.count }

    /// What the gateway wrote to the `i`-th node connection since the last call.
    func nodeReceived(_ i: Int) throws -> String { try drain(node(i)) }

    /// The `i`-th node connection answers.
    func nodeSends(_ i: Int, _ text: String) throws { try node(i).writeInbound(ByteBuffer(string: text)) }

    func advance(_ amount: TimeAmount) { loop.advanceTime(by: amount) }

    /// The node connection the gateway wrote to last that has not been answered: the test answers it.
    func answerPending(_ text: String) throws {
        for i in (0..<dialled).reversed() where node(i).isActive {
            if try !nodeReceived(i).isEmpty {
                try nodeSends(i, text)
                return
            }
        }
        Issue.record("no node connection has a request waiting")
    }

    func inFlight(node: Int) -> Int { state.pools[0].snapshot().nodes[node].inFlight }

    private func drain(_ channel: EmbeddedChannel) throws -> String {
        var out = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out += String(buffer: buffer) }
        return out
    }
}

/// Dials `EmbeddedChannel`s on the test's loop instead of sockets, and keeps them for the test.
final class EmbeddedConnector: NodeConnector, @unchecked Sendable {
    let loop: EmbeddedEventLoop
    private(set) var dialled: [(channel: EmbeddedChannel, port: Int)] = []
    /// Ports whose connections are refused.
    var refusing: Set<Int> = []

    init(loop: EmbeddedEventLoop) { self.loop = loop }

    func connect(
        to backend: BackendRuntime, on loop: EventLoop, timeout: TimeAmount, handler: @escaping @Sendable () -> ChannelHandler
    ) -> EventLoopFuture<Channel> {
        let port = backend.address.port ?? 0
        if refusing.contains(port) {
            return loop.makeFailedFuture(ChannelError.connectTimeout(timeout))
        }
        let channel = EmbeddedChannel(loop: self.loop)
        do {
            try channel.pipeline.syncOperations.addHandler(handler())
            try channel.connect(to: backend.address).wait()
        } catch {
            return loop.makeFailedFuture(error)
        }
        dialled.append((channel, port))
        return loop.makeSucceededFuture(channel)
    }

    /// An embedded channel has no socket: nothing waits unread outside the pipeline.
    func hasUnreadBytes(_ options: NIOSynchronousChannelOptions) -> Bool { false }
}

func response(_ status: Int = 200, body: String, headers: String = "") -> String {
    "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\n\(headers)\r\n\(body)"
}
