import NIOCore
import SpillwayConfig
import SpillwayExchange
import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3

/// What one request is, found once from its head (Pingora's CTX): the S3 operation, bucket and
/// key; the route and its pools; who sent it; what it counts toward. Read by the runner; never
/// changed after the head arrived, so a reload never changes the rules under a request.
struct RequestContext: ~Copyable {
    let head: RequestHead
    /// The head as it goes to the node: the client's bytes, minus hop-by-hop lines.
    let forwardHead: ByteBuffer
    let target: String
    let request: S3Request
    let route: RouteTable.Entry
    /// The route's pools in order of preference; reads fail over along them.
    let pools: RoutePools
    /// For CopyObject and UploadPartCopy: the object copied, and whether its route starts at
    /// another pool than this request's (a node cannot copy from a pool it is not in).
    let copySource: S3Request?
    let copySourceElsewhere: Bool
    let http: HTTPConfig
    let protection: Protection
    let identity: Identity
    let remoteIP: String?
    /// The access key the request claims; limits are charged to it, so it must be the one verified.
    let claimedKey: Substring?
    /// The request names its credential twice: refused, since a node might read the other one.
    let ambiguousCredential: Bool
    let authorization: Substring?
    /// What this request counts toward; it is in flight there from arrival until it is recorded.
    let traffic: Telemetry.TrafficSlot
    let span: RequestSpan?
    let traceID: String?
    let startedAt: NIODeadline
    let startedAtWallMillis: Int64

    init(head: RequestHead, headBytes: ByteBuffer, state: ProxyState, remoteIP: String?, telemetry: Telemetry,
         cachedSlot: Telemetry.TrafficSlot?, allocator: ByteBufferAllocator, now: NIODeadline) {
        self.head = head
        let snapshot = state.snapshot
        let base = headBytes.readerIndex
        target = headBytes.getString(at: base + head.targetRange.lowerBound, length: head.targetRange.count) ?? "/"
        let host = head.hostRange.flatMap { headBytes.getString(at: base + $0.lowerBound, length: $0.count) }.map { Substring($0) }
        let method = S3Method(head.method)
        // Read through a local, not `request`: Swift 6.3's optimizer miscompiles reading
        // `request.inMultipartUpload` from this partly initialised ~Copyable value (release builds
        // crashed on every request; the release smoke in scripts/test.sh guards it).
        let classified = snapshot.classifier.classify(method: method, target: target, host: host, hasCopySource: head.hasCopySource)
        request = classified
        let routed = snapshot.routes.route(for: classified, method: method)
        route = routed
        http = snapshot.config.http
        let operationClass = classified.operation.operationClass
        let isRead = operationClass == .read || operationClass == .list
        // A multipart upload lives on the pool that created it, so its requests never fail over.
        let failsOver = isRead && !classified.inMultipartUpload
        pools = RoutePools(all: state.pools, order: routed.poolIndices, count: failsOver ? routed.poolIndices.count : 1)
        let copied = head.hasCopySource ? Self.copySource(in: headBytes, routes: snapshot.routes, firstPool: routed.poolIndices.first) : nil
        copySource = copied?.source
        copySourceElsewhere = copied?.elsewhere ?? false
        forwardHead = HeadWriter.rebuilt(headBytes, dropping: head.dropLines, allocator: allocator)
        protection = state.protection
        authorization = head.authorizationRange.flatMap { headBytes.getString(at: base + $0.lowerBound, length: $0.count) }.map { Substring($0) }
        let claim = SignedRequest.claim(authorization: authorization, query: RequestClassifier.split(target).query)
        claimedKey = if case .key(let key) = claim { key } else { nil }
        ambiguousCredential = claim == .ambiguous
        identity = protection.identify(accessKey: claimedKey, address: remoteIP, routeClass: route.priorityClass)
        self.remoteIP = remoteIP
        traffic = telemetry.began(
            operation: request.operation.name, bucket: request.bucket, tenant: identity.tenant, className: identity.className,
            cached: cachedSlot)
        startedAt = now
        startedAtWallMillis = WallClock.millis()
        let traceparent = head.traceparentRange.flatMap { headBytes.getString(at: base + $0.lowerBound, length: $0.count) }
        span = telemetry.startSpan(operation: request.operation.name, traceparent: traceparent)
        traceID = span?.traceID ?? traceparent.flatMap { text -> String? in
            // version "-" trace-id (32 hex) "-" parent-id "-" flags
            let parts = text.split(separator: "-")
            return parts.count >= 4 && parts[1].count == 32 ? String(parts[1]) : nil
        }
    }

    /// The object an `x-amz-copy-source` names, and whether its route starts at another pool.
    static func copySource(in headBytes: ByteBuffer, routes: RouteTable, firstPool: Int?) -> (source: S3Request, elsewhere: Bool)? {
        let value = headBytes.withUnsafeReadableBytes { RequestHead.fieldIndex(in: $0)["x-amz-copy-source"]?.first }
        guard let source = value.flatMap({ RequestClassifier.copySource(Substring(decoding: $0, as: UTF8.self)) }) else { return nil }
        return (source, routes.route(for: source, method: .get).poolIndices.first != firstPool)
    }

    /// The machine's fixed inputs, from the request and the compiled route and pool policies.
    func plan() -> ExchangePlan {
        let operation = request.operation
        let pool = pools[0]
        let hasBody = head.bodyFraming != .none
        return ExchangePlan(
            idempotent: operation.isIdempotent, isRead: operation.operationClass == .read || operation.operationClass == .list,
            isHEAD: head.method == .head, hasBody: hasBody, bodyLength: head.contentLength,
            replayLimit: pool.policy.replayLimit, expectsContinue: head.expectsContinue, clientKeepAlive: head.keepAlive,
            clientIsHTTP10: head.minorVersion == 0, wholeObjectGET: head.method == .get && !head.hasRangeOrCondition,
            poolCount: pools.count, mayQueue: pool.policy.queue != nil, queueTimeout: pool.policy.queue?.timeout ?? .zero,
            timeouts: route.deadlines, recovery: pool.policy.recovery, minClientRate: http.minClientRate, minRateWindow: http.minRateWindow)
    }

    /// The request's path, for the `Resource` of an error body.
    var resource: String { String(RequestClassifier.split(target).path) }
}

/// A route's pools in order of preference, read through the state's pool list, so that a request
/// builds no array of its own.
struct RoutePools {
    let all: [PoolRuntime]
    let order: [Int]
    /// Writes use the first pool only.
    let count: Int

    subscript(i: Int) -> PoolRuntime { all[order[i]] }
}

extension S3Method {
    init(_ method: HTTPMethodKind) {
        switch method {
        case .get: self = .get
        case .head: self = .head
        case .put: self = .put
        case .post: self = .post
        case .delete: self = .delete
        case .other: self = .other
        }
    }
}
