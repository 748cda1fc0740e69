import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SpillwayConfig
import SpillwayPolicy
import Synchronization

/// The admin listener: `/metrics`, the JSON admin API under `/api`, the live dashboard at `/`, and a
/// server-sent event stream of the status. Never S3 traffic. The API needs `Authorization: Bearer
/// <token>` when a token is configured; `/metrics` and the dashboard page itself do not.
public final class AdminServer: Sendable {
    private let address: HostPort
    let token: String
    /// Whether reading calls (`GET /api/...`) need the token too. True when the operator set one;
    /// false when Spillway generated it (quick mode, or no token configured): then only the calls
    /// that change or validate config need it.
    let tokenGuardsReads: Bool
    let limits: AdminConfig
    let connections = Atomic<Int>(0)
    let backend: any AdminBackend
    let metrics: MetricsExport?
    let logger: Logger
    /// The control plane runs on a thread of its own, never on the data plane's event loops.
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel = Mutex<Channel?>(nil)
    private let history = Mutex(StatusHistory())
    private let sampler = Mutex<RepeatedTask?>(nil)

    /// `token` nil: a random one is made (`generatedToken` says what it is, for the operator).
    public init(config: AdminConfig, token: String?, backend: any AdminBackend, metrics: MetricsExport?, logger: Logger) {
        self.address = config.listen
        self.limits = config
        self.token = token ?? Self.randomToken()
        self.tokenGuardsReads = token != nil
        self.backend = backend
        self.metrics = metrics
        self.logger = logger
    }

    /// The token Spillway made up because none was configured, for printing once at start.
    public var generatedToken: String? { tokenGuardsReads ? nil : token }

    private static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined()
    }

    @discardableResult
    public func start() async throws -> SocketAddress? {
        let server = self
        let idle = TimeAmount.nanoseconds(limits.idleTimeout.nanoseconds)
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Over the cap: closed before a byte is read. The data plane has its own loops;
                    // this bounds what the admin thread holds.
                    guard server.connections.wrappingAdd(1, ordering: .relaxed).newValue <= server.limits.maxConnections else {
                        server.connections.subtract(1, ordering: .relaxed)
                        channel.close(promise: nil)
                        return
                    }
                    channel.closeFuture.whenComplete { _ in server.connections.subtract(1, ordering: .relaxed) }
                    try channel.pipeline.syncOperations.addHandler(AdminDeadline(requestTimeout: .seconds(10)))
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idle))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(server: server))
                }
            }
            .bind(host: address.host, port: address.port).get()
        channel.withLock { $0 = bound }
        // One sample a second for the dashboard's charts, whether or not a page is open.
        let task = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { _ in
            let status = server.backend.status()
            server.history.withLock { $0.add(status, atUnixMillis: Int64(Date().timeIntervalSince1970 * 1000)) }
        }
        sampler.withLock { $0 = task }
        logger.info("admin listening", metadata: ["address": "\(address)"])
        return bound.localAddress
    }

    public func stop() async {
        sampler.withLock { $0?.cancel() }
        let current = channel.withLock { $0 }
        try? await current?.close()
        try? await group.shutdownGracefully()
    }

    // MARK: - Routing (called by the handler with a complete request)

    struct Response {
        var status: HTTPResponseStatus
        var contentType: String
        var body: [UInt8]
        var stream: Bool = false

        static func json(_ value: some Encodable, status: HTTPResponseStatus = .ok) -> Response {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
            return Response(status: status, contentType: "application/json", body: Array(data))
        }

        static func error(_ status: HTTPResponseStatus, _ message: String) -> Response {
            json(["error": message], status: status)
        }
    }

    func route(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8], client: String) -> Response {
        let (path, query) = split(uri)
        if method == .GET && (path == "/" || path == "/dashboard") {
            return Response(status: .ok, contentType: "text/html; charset=utf-8", body: Array(Dashboard.html.utf8))
        }
        if method == .GET && path == "/metrics" {
            return Response(status: .ok, contentType: "text/plain; version=0.0.4", body: metrics?.render(backend.status()) ?? [])
        }
        if method == .GET && (path == "/livez" || path == "/readyz") {
            // Probes carry no token; the body says why when the answer is no.
            let health = backend.health()
            let problems = path == "/livez" ? health.live : health.ready
            let body = problems.isEmpty ? "ok\n" : problems.joined(separator: "\n") + "\n"
            return Response(status: problems.isEmpty ? .ok : .serviceUnavailable, contentType: "text/plain; charset=utf-8", body: Array(body.utf8))
        }
        guard path.hasPrefix("/api/") else { return .error(.notFound, "no such path; see the admin API in the README") }
        // The config may hold secrets (pool credentials, client keys): reading it always needs the token.
        let guarded = tokenGuardsReads || method != .GET || path == "/api/config"
        if guarded, !Self.authorized(headers.first(name: "authorization"), token: token) {
            return .error(.unauthorized, "the admin API needs 'Authorization: Bearer <token>'")
        }
        let parts = path.split(separator: "/").map(String.init)  // ["api", ...]
        switch (method, parts.dropFirst().first ?? "") {
        case (.GET, "status"):
            return .json(backend.status())
        case (.GET, "history"):
            return .json(history.withLock { $0.samples })
        case (.GET, "events"):
            return Response(status: .ok, contentType: "text/event-stream", body: [], stream: true)
        case (.GET, "config"):
            let current = backend.currentConfig()
            return .json(ConfigView(version: current.version, config: current.text))
        case (.POST, "config"):
            guard let text = String(bytes: body, encoding: .utf8), !text.isEmpty else { return .error(.badRequest, "send the YAML as the body") }
            if query.contains("dry_run=true") {
                let issues = backend.validate(text)
                return .json(Validation(valid: issues.isEmpty, issues: issues.map(\.description)), status: issues.isEmpty ? .ok : .unprocessableEntity)
            }
            do {
                let version = try backend.apply(text)
                logger.notice("admin: config applied", metadata: ["who": "\(client)", "version": "\(version)"])
                return .json(["version": version])
            } catch let refused as ConfigRefused {
                return .json(Validation(valid: false, issues: refused.issues.map(\.description)), status: .unprocessableEntity)
            } catch {
                return .error(.unprocessableEntity, "\(error)")
            }
        case (.POST, "reload"):
            do {
                let version = try backend.reload()
                logger.notice("admin: config reloaded from file", metadata: ["who": "\(client)", "version": "\(version)"])
                return .json(["version": version])
            } catch {
                return .error(.unprocessableEntity, "\(error)")
            }
        case (.POST, "pools"):
            // /api/pools/<pool>/nodes/<index>/(drain|undrain|weight)
            guard parts.count == 6, parts[3] == "nodes", let node = Int(parts[4]) else {
                return .error(.notFound, "use /api/pools/<pool>/nodes/<index>/drain|undrain|weight")
            }
            let pool = parts[2]
            do {
                switch parts[5] {
                case "drain", "undrain":
                    try backend.setDrained(pool: pool, node: node, parts[5] == "drain")
                    logger.notice("admin: node \(parts[5])ed", metadata: ["who": "\(client)", "pool": "\(pool)", "node": "\(node)"])
                case "weight":
                    guard let request = try? JSONDecoder().decode([String: Int].self, from: Data(body)), let weight = request["weight"],
                        (1...1000).contains(weight)
                    else { return .error(.badRequest, "send {\"weight\": 1...1000}") }
                    try backend.setWeight(pool: pool, node: node, weight)
                    logger.notice("admin: node weight changed", metadata: ["who": "\(client)", "pool": "\(pool)", "node": "\(node)", "weight": "\(weight)"])
                default:
                    return .error(.notFound, "use drain, undrain or weight")
                }
                return .json(backend.status().pools.first { $0.name == pool }?.nodes[node])
            } catch {
                return .error(.notFound, "\(error)")
            }
        default:
            return .error(.notFound, "no such API call; see the admin API in the README")
        }
    }

    /// Compares in constant time, so the token cannot be guessed byte by byte from response times.
    static func authorized(_ header: String?, token: String) -> Bool {
        let given = Array((header ?? "").utf8)
        let expected = Array("Bearer \(token)".utf8)
        var diff = UInt8(given.count == expected.count ? 0 : 1)
        for i in 0..<expected.count { diff |= expected[i] ^ (i < given.count ? given[i] : 0) }
        return diff == 0
    }

    private func split(_ uri: String) -> (String, String) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, "") }
        return (String(uri[..<q]), String(uri[uri.index(after: q)...]))
    }

    struct ConfigView: Encodable {
        let version: Int
        let config: String?
    }

    struct Validation: Encodable {
        let valid: Bool
        let issues: [String]
    }
}

/// One admin connection: reads a request (body capped at 1 MiB), answers it, or streams events.
private final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let maxBody = 1 << 20
    private let server: AdminServer
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false
    private var streaming: RepeatedTask?

    init(server: AdminServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            tooLarge = false
        case .body(var bytes):
            guard !tooLarge else { return }
            guard body.count + bytes.readableBytes <= Self.maxBody else {
                // Never validate what is left of a truncated config: refuse it whole, and close
                // (the rest of the body would otherwise be read as the next request).
                tooLarge = true
                body = []
                respond(context: context, .error(.payloadTooLarge, "the body is over 1 MiB"), keepAlive: false)
                return
            }
            body += bytes.readBytes(length: bytes.readableBytes) ?? []
        case .end:
            context.triggerUserOutboundEvent(AdminDeadline.RequestDone(), promise: nil)
            guard let head, !tooLarge else { return }
            let client = context.channel.remoteAddress?.description ?? "?"
            let response = server.route(method: head.method, uri: head.uri, headers: head.headers, body: body, client: client)
            if response.stream {
                startStream(context: context)
            } else {
                respond(context: context, response, keepAlive: head.isKeepAlive)
            }
            self.head = nil
        }
    }

    private func respond(context: ChannelHandlerContext, _ r: AdminServer.Response, keepAlive: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: r.contentType)
        headers.add(name: "Content-Length", value: String(r.body.count))
        headers.add(name: "Cache-Control", value: "no-store")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: r.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: r.body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        let channel = context.channel
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }

    /// Server-sent events: the status every second, until the client goes away.
    private func startStream(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/event-stream")
        headers.add(name: "Cache-Control", value: "no-store")
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        let server = self.server
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        streaming = context.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { _ in
            let context = bound.value
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            guard let data = try? encoder.encode(server.backend.status()) else { return }
            var buffer = context.channel.allocator.buffer(capacity: data.count + 16)
            buffer.writeString("data: ")
            buffer.writeBytes(data)
            buffer.writeString("\n\n")
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        streaming?.cancel()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Nothing read or written for the idle timeout (an event stream writes every second).
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }
}

/// A request must arrive whole within `requestTimeout` of its first byte, so a trickle cannot
/// hold an admin connection; the deadline is cleared when the request has been read.
private final class AdminDeadline: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = Any
    struct RequestDone {}

    private let requestTimeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(requestTimeout: TimeAmount) { self.requestTimeout = requestTimeout }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if deadline == nil {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: requestTimeout) { bound.value.close(promise: nil) }
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is RequestDone {
            deadline?.cancel()
            deadline = nil
            promise?.succeed()
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }
}
