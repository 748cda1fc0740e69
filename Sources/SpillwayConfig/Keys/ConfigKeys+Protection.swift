/// The keys of storage protection and QoS. `limits.*` stands for the same keys under
/// `tenants[].limits`, `default_limits` and `buckets[].limits`.
extension ConfigKeys {
    public static let classes = ConfigKey("classes", .list("class names"), .text("`[interactive, standard, batch]`"), "Priority classes, most important first.")
    public static let defaultClass = ConfigKey("default_class", .string, .text("`standard`"), "The class of tenants and routes that name none.")

    public enum Tenant {
        public static let list = ConfigKey("tenants", .sections, .none, "Named tenants; every other access key, and every anonymous address, is a tenant of its own under `default_limits`.")
        public static let name = ConfigKey("tenants[].name", .string, .required, "The tenant's name, in metrics and logs.")
        public static let accessKeys = ConfigKey("tenants[].access_keys", .list("access key ids"), .none, "The access keys that are this tenant.")
        public static let priorityClass = ConfigKey("tenants[].class", .string, .text("`default_class`"), "Its priority class.")
        public static let weight = ConfigKey("tenants[].weight", .int(1...1000), .int(1), "Its share against the other tenants of its class when requests queue.")
        public static let limits = ConfigKey("tenants[].limits", .section, .none, "Its limits (the `limits.*` keys).")
    }

    public static let defaultLimits = ConfigKey("default_limits", .section, .none, "Limits for tenants not named (the `limits.*` keys).")

    public enum Bucket {
        public static let list = ConfigKey("buckets", .sections, .none, "Limits shared by everyone using a bucket.")
        public static let bucket = ConfigKey("buckets[].bucket", .string, .required, "A bucket name, or a glob.")
        public static let limits = ConfigKey("buckets[].limits", .section, .none, "Its limits (the `limits.*` keys).")
    }

    public enum Limits {
        public static let requests = ConfigKey("limits.requests", .section, .none, "Requests per second, per operation class.")
        public static let read = ConfigKey("limits.requests.read", .rate(0.001...1e9), .none, "GET and HEAD of objects and buckets.")
        public static let write = ConfigKey("limits.requests.write", .rate(0.001...1e9), .none, "PUT, POST, copies, multipart uploads.")
        public static let list = ConfigKey("limits.requests.list", .rate(0.001...1e9), .none, "Listings.")
        public static let delete = ConfigKey("limits.requests.delete", .rate(0.001...1e9), .none, "Deletes.")
        public static let other = ConfigKey("limits.requests.other", .rate(0.001...1e9), .none, "Anything else.")
        public static let burst = ConfigKey("limits.burst", .duration(min: .milliseconds(1)), .duration(.seconds(1)), "A rate's bucket holds this many seconds of it (at least one request).")
        public static let bandwidth = ConfigKey("limits.bandwidth", .section, .none, "Bytes per second.")
        public static let bandwidthRead = ConfigKey("limits.bandwidth.read", .size(1...(1 << 50)), .none, "Response bodies are paced to this rate.")
        public static let bandwidthWrite = ConfigKey("limits.bandwidth.write", .size(1...(1 << 50)), .none, "Request bodies are paced to this rate.")
        public static let concurrency = ConfigKey("limits.concurrency", .int(1...1_000_000), .none, "Requests in flight at once.")
        public static let global = ConfigKey("limits.global", .bool, .bool(false), "The request rates hold across every gateway sharing the fleet's Redis.")
    }

    public static let clients = ConfigKey("clients", .section, .none, "Limits per client address.")
    public static let maxConnectionsPerAddress = ConfigKey("clients.max_connections_per_address", .int(1...1_000_000), .none, "Client connections per IP address; more are answered `SlowDown`.")

    public enum Auth {
        public static let section = ConfigKey("auth", .section, .none, "Who sends each request, and how Spillway checks it.")
        public static let verifySignatures = ConfigKey("auth.verify_signatures", .bool, .bool(false), "Verify SigV4 signatures at the edge: a forged or expired request never reaches storage.")
        public static let credentials = ConfigKey("auth.credentials", .freeMapping("access key ids to secrets"), .none, "The secrets to verify with.")
        public static let credentialsFile = ConfigKey("auth.credentials_file", .string, .none, "A YAML file of access key ids to secrets (relative to the config's directory).")
        public static let maxClockSkew = ConfigKey("auth.max_clock_skew", .duration(min: .seconds(1)), .duration(.seconds(900)), "How far a request's signing time may be from the gateway's clock.")
    }

    public enum Fleet {
        public static let section = ConfigKey("fleet", .section, .none, "A Redis shared by several gateways, through which `global` limits hold across the fleet.")
        public static let redis = ConfigKey("fleet.redis", .hostPort, .required, "The Redis address.")
        public static let batch = ConfigKey("fleet.batch", .int(1...10_000), .int(10), "Tokens leased per round trip, so a request never waits on Redis.")
        public static let localSharePercent = ConfigKey("fleet.local_share_percent", .int(1...100), .int(100), "This gateway's share of a global limit while Redis is unreachable.")
    }

    /// Every key, in the order of the reference.
    public static let all: [ConfigKey] = [
        listen, Listen.address, Listen.tls, Listen.certificate, Listen.key, Listen.clientCA, Listen.minVersion,
        workers, s3, virtualHostDomains,
        HTTP.section, HTTP.maxHeadSize, HTTP.maxHeaders, HTTP.maxTargetLength, HTTP.maxPipelined, HTTP.minClientRate, HTTP.minRateWindow,
        Timeouts.section, Timeouts.connect, Timeouts.firstByte, Timeouts.idle, Timeouts.clientIdle, Timeouts.attempt, Timeouts.requestHead,
        shutdownDelay, drainTimeout,
        Pool.list, Pool.name, Pool.balancer, Pool.nodes, Pool.nodeURL, Pool.nodeWeight, Pool.nodeDrain, Pool.maxIdlePerNode,
        Pool.health, Pool.healthPreset, Pool.healthMethod, Pool.healthPath, Pool.healthExpect, Pool.healthInterval, Pool.healthJitter,
        Pool.healthTimeout, Pool.healthRise, Pool.healthFall,
        Pool.outlier, Pool.consecutiveFailures, Pool.baseEjection, Pool.maxEjection, Pool.maxEjectedPercent,
        Pool.retry, Pool.maxAttempts, Pool.maxResumes, Pool.budgetPercent, Pool.minPerSecond, Pool.backoffBase, Pool.backoffMax, Pool.replayBuffer,
        Pool.hedge, Pool.hedgeEnabled, Pool.hedgePercentile, Pool.hedgeMinDelay,
        Pool.protection, Pool.maxInFlightPerNode, Pool.adaptive, Pool.queue, Pool.queueMax, Pool.queueTimeout,
        Security.tls, Security.caFile, Security.verifyHostname, Security.serverName, Security.certificate, Security.key, Security.minVersion,
        Security.credentials, Security.accessKeyID, Security.secret, Security.secretFile, Security.secretEnv,
        Security.sessionToken, Security.sessionTokenFile, Security.sessionTokenEnv,
        Security.signing, Security.region, Security.service, Security.addressing, Security.payload, Security.unsignedOverHTTP,
        Security.maxChunkSize,
        Route.list, Route.name, Route.match, Route.bucket, Route.prefix, Route.operation, Route.method, Route.pool, Route.pools,
        Route.timeouts, Route.timeoutConnect, Route.timeoutFirstByte, Route.timeoutIdle, Route.timeoutAttempt, Route.priorityClass,
        Route.coalesce, Route.coalesceEnabled, Route.coalesceRing, Route.coalesceTrustVerified, coalesceMemory,
        Route.split, Route.splitAbove, Route.splitPart, Route.splitParallel, splitMemory,
        defaultPool,
        classes, defaultClass,
        Tenant.list, Tenant.name, Tenant.accessKeys, Tenant.priorityClass, Tenant.weight, Tenant.limits,
        Access.allow, Access.buckets, Access.prefixes, Access.operations,
        defaultLimits, Bucket.list, Bucket.bucket, Bucket.limits,
        Limits.requests, Limits.read, Limits.write, Limits.list, Limits.delete, Limits.other, Limits.burst, Limits.bandwidth,
        Limits.bandwidthRead, Limits.bandwidthWrite, Limits.concurrency, Limits.global,
        clients, maxConnectionsPerAddress,
        Auth.section, Auth.verifySignatures, Auth.credentials, Auth.credentialsFile, Auth.maxClockSkew,
        Fleet.section, Fleet.redis, Fleet.batch, Fleet.localSharePercent,
        Admin.section, Admin.listen, Admin.token, Admin.tokenEnv, Admin.maxConnections, Admin.idleTimeout,
        AccessLog.section, AccessLog.path, AccessLog.hashKeys,
        metrics, topN,
        Tracing.section, Tracing.endpoint, Tracing.serviceName, Tracing.samplePercent,
    ]

    /// The keys a section allows, by their names (`""` is the top level; `limits` stands for every
    /// limits section).
    public static func names(in section: String) -> [String] {
        all.filter { $0.section == section }.map { String($0.name) }
    }
}
