import Logging
import NIOCore
import NIOPosix
import SpillwayConfig
import SpillwayRESP

/// The smallest Redis client the fleet limiter needs: one connection, commands pipelined, RESP2
/// integer and error replies, reconnect on failure. Everything runs on one event loop.
final class RedisClient: @unchecked Sendable {
    typealias Completion = @Sendable (Result<Int, RedisError>) -> Void

    enum RedisError: Error, CustomStringConvertible {
        case unreachable(String)
        case server(String)
        case timeout

        var description: String {
            switch self {
            case .unreachable(let why): "unreachable: \(why)"
            case .server(let message): "error reply: \(message)"
            case .timeout: "no reply in time"
            }
        }
    }

    private let address: HostPort
    private let loop: EventLoop
    private let logger: Logger
    // Loop-confined state.
    private var channel: Channel?
    private var connecting = false
    private var waitingToSend: [(ByteBuffer, Completion)] = []
    private var awaitingReply: [Completion] = []
    /// Commands written and commands answered (or failed), ever: a timeout watches its own command,
    /// not whichever happens to be pending 500 ms later under steady traffic.
    private var written = 0
    private var settled = 0
    private var lastFailure: NIODeadline?
    static let replyTimeout = TimeAmount.milliseconds(500)

    init(address: HostPort, group: EventLoopGroup, logger: Logger) {
        self.address = address
        self.loop = group.next()
        self.logger = logger
    }

    /// `INCRBY key amount` and `EXPIRE key expiry`, atomically; replies with the new value.
    func incrementWithExpiry(_ key: String, by amount: Int, expirySeconds: Int, completion: @escaping Completion) {
        let script = "local v = redis.call('INCRBY', KEYS[1], ARGV[1]); redis.call('EXPIRE', KEYS[1], ARGV[2]); return v"
        let command = Self.encode(["EVAL", script, "1", key, String(amount), String(expirySeconds)])
        loop.execute { self.send(command, completion) }
    }

    private func send(_ command: ByteBuffer, _ completion: @escaping Completion) {
        if let channel, channel.isActive {
            awaitingReply.append(completion)
            channel.writeAndFlush(command, promise: nil)
            written += 1
            armTimeout(for: written)
            return
        }
        // Do not hammer an unreachable Redis: after a failure, wait a second before connecting again.
        if let lastFailure, NIODeadline.now() - lastFailure < .seconds(1) {
            completion(.failure(.unreachable("recently failed")))
            return
        }
        waitingToSend.append((command, completion))
        guard !connecting else { return }
        connecting = true
        let bound = NIOLoopBound(self, eventLoop: loop)
        ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(500))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ReplyHandler(client: bound.value))
                }
            }
            .connect(host: address.host, port: address.port)
            .whenComplete { result in
                let client = bound.value
                client.connecting = false
                switch result {
                case .success(let channel):
                    client.channel = channel
                    let queued = client.waitingToSend
                    client.waitingToSend = []
                    for (command, completion) in queued { client.send(command, completion) }
                case .failure(let error):
                    client.lastFailure = .now()
                    let queued = client.waitingToSend
                    client.waitingToSend = []
                    for (_, completion) in queued { completion(.failure(.unreachable("\(error)"))) }
                }
            }
    }

    private func armTimeout(for command: Int) {
        let bound = NIOLoopBound(self, eventLoop: loop)
        let channel = self.channel
        loop.scheduleTask(in: Self.replyTimeout) {
            let client = bound.value
            // This command is still unanswered on the same connection: Redis is stuck.
            if client.channel === channel, client.settled < command {
                client.failAll(.timeout)
                channel?.close(promise: nil)
            }
        }
    }

    fileprivate func reply(_ result: Result<Int, RedisError>) {
        guard !awaitingReply.isEmpty else { return }
        settled += 1
        awaitingReply.removeFirst()(result)
    }

    fileprivate func connectionLost() {
        channel = nil
        lastFailure = .now()
        failAll(.unreachable("connection lost"))
    }

    private func failAll(_ error: RedisError) {
        let pending = awaitingReply
        awaitingReply = []
        settled += pending.count
        for completion in pending { completion(.failure(error)) }
    }

    static func encode(_ parts: [String]) -> ByteBuffer {
        var out = ByteBuffer()
        out.writeString("*\(parts.count)\r\n")
        for part in parts { out.writeString("$\(part.utf8.count)\r\n\(part)\r\n") }
        return out
    }
}

/// Hands Redis's replies, read by the pure `RESPReader`, to the client; a reply that breaks the
/// protocol (or is absurdly long) drops the connection, and the fleet falls back to local limits.
private final class ReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let client: RedisClient
    private var reader = RESPReader()

    init(client: RedisClient) { self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let incoming = unwrapInboundIn(data)
        let replies: [RESPReader.Reply]
        do {
            replies = try reader.read(incoming.readableBytesView)
        } catch {
            context.close(promise: nil)
            return
        }
        for reply in replies {
            switch reply {
            case .integer(let n): client.reply(.success(n))
            case .simple: client.reply(.success(0))
            case .error(let message): client.reply(.failure(.server(message)))
            case .bulk(let bytes):
                let value = bytes.flatMap { Int(String(decoding: $0, as: UTF8.self)) }
                client.reply(value.map { .success($0) } ?? .failure(.server("unexpected reply")))
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.connectionLost()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
