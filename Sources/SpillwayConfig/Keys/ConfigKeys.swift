/// Every config key of Spillway, in the order the reference lists them.
public enum ConfigKeys {
    public static let listen = ConfigKey("listen", .list("`host:port` addresses, or `{address, tls}`"), .required, "Addresses to accept S3 clients on: `host:port`, `[v6]:port`, or `{ address: host:port, tls: {...} }` for HTTPS. Port 0 picks a free port.")
    public static let workers = ConfigKey("workers", .int(1...256), .text("cores"), "Event-loop threads. A client connection and its node connections share one thread.")
    public static let s3 = ConfigKey("s3", .section, .none, "How S3 requests are addressed.")
    public static let virtualHostDomains = ConfigKey("s3.virtual_host_domains", .list("domains"), .none, "Base domains for virtual-hosted-style requests: with `s3.local`, `Host: photos.s3.local` names bucket `photos`. Every other request is path-style.")

    public enum HTTP {
        public static let section = ConfigKey("http", .section, .none, "How much of HTTP/1.1 a client (or a node's response) may use; see docs/security.md.")
        public static let maxHeadSize = ConfigKey("http.max_head_size", .size(1024...(1 << 20)), .size(64 * 1024), "Largest head, client request and node response alike. Over it: `431` to a client, `502` for a node.")
        public static let maxHeaders = ConfigKey("http.max_headers", .int(8...10_000), .int(128), "Most header fields in one head.")
        public static let maxTargetLength = ConfigKey("http.max_target_length", .size(256...(1 << 20)), .size(16 * 1024), "Longest request target (path and query); over it: `414`.")
        public static let maxPipelined = ConfigKey("http.max_pipelined", .int(1...10_000), .int(16), "Pipelined requests answered before Spillway waits for their answers to leave, so a client that never reads holds at most this many.")
        public static let minClientRate = ConfigKey("http.min_client_rate", .size(0...(1 << 30)), .size(1024), "While Spillway waits on a client (its body, or its reading of a response), the client must move this many bytes a second over the window; `0` turns it off.")
        public static let minRateWindow = ConfigKey("http.min_rate_window", .duration(min: .seconds(1)), .duration(.seconds(30)), "The window `min_client_rate` is averaged over.")
    }

    public enum Timeouts {
        public static let section = ConfigKey("timeouts", .section, .none, "Time limits for every request; a route may override `connect`, `first_byte`, `idle` and `attempt`.")
        public static let connect = ConfigKey("timeouts.connect", .duration(min: .milliseconds(1)), .duration(.seconds(3)), "TCP connect to a node. When it expires, Spillway tries the next node.")
        public static let firstByte = ConfigKey("timeouts.first_byte", .duration(min: .milliseconds(1)), .duration(.seconds(60)), "From the last request byte sent to the first response byte. When it expires, the attempt fails (retried when safe; otherwise `504 GatewayTimeout`).")
        public static let idle = ConfigKey("timeouts.idle", .duration(min: .milliseconds(1)), .duration(.seconds(60)), "Longest time with no body byte moving. A stalled node is retried or resumed around; a stalled client (one that stopped sending its body or reading) ends its own request with `400 RequestTimeout` or a close, and the node is not blamed.")
        public static let clientIdle = ConfigKey("timeouts.client_idle", .duration(min: .milliseconds(1)), .duration(.seconds(120)), "A client keep-alive connection with no request for this long is closed.")
        public static let attempt = ConfigKey("timeouts.attempt", .duration(min: .milliseconds(1)), .duration(.seconds(3600)), "Total time for one attempt on one node, from connect to the end of the response; on expiry the attempt fails (retried or resumed when safe).")
        public static let requestHead = ConfigKey("timeouts.request_head", .duration(min: .milliseconds(1)), .duration(.seconds(10)), "From a request head's first byte to its last. A head that trickles in slower gets `400 RequestTimeout` and the connection closes.")
    }

    public static let shutdownDelay = ConfigKey("shutdown_delay", .duration(min: .zero), .duration(.seconds(5)), "On SIGTERM, how long Spillway keeps accepting and serving before it stops accepting: `/readyz` fails at once and every response says `Connection: close`, so a Service's endpoints move away without a refused connection. A second signal skips the rest.")
    public static let drainTimeout = ConfigKey("drain_timeout", .duration(min: .zero), .duration(.seconds(30)), "After the shutdown delay (or on SIGINT), how long requests in flight may run before Spillway closes them.")

    public enum Pool {
        public static let list = ConfigKey("pools", .sections, .required, "Pools of storage nodes that share one namespace (the nodes of one ObjectScale, Ceph RGW or MinIO cluster).")
        public static let name = ConfigKey("pools[].name", .string, .required, "Unique name that routes refer to.")
        public static let balancer = ConfigKey("pools[].balancer", .choice(["peak_ewma", "least_outstanding", "round_robin"]), .text("`peak_ewma`"), "`peak_ewma`: power of two choices over a peak-EWMA of time to first byte × requests in flight; a slow node loses traffic within seconds and wins it back. `least_outstanding`: the fewest requests in flight per unit of weight. `round_robin`: smooth weighted round-robin.")
        public static let nodes = ConfigKey("pools[].nodes", .sections, .required, "`http://host[:port]`, or `{url, weight, drain}`. At most 64 nodes per pool.")
        public static let nodeURL = ConfigKey("pools[].nodes[].url", .url, .required, "The node: `http://host[:port]`, no path.")
        public static let nodeWeight = ConfigKey("pools[].nodes[].weight", .int(1...1000), .int(1), "The node's share of requests, relative to the others.")
        public static let nodeDrain = ConfigKey("pools[].nodes[].drain", .bool, .bool(false), "A drained node takes no new requests; those in flight finish.")
        public static let maxIdlePerNode = ConfigKey("pools[].max_idle_per_node", .int(0...100_000), .int(256), "Idle keep-alive connections each worker keeps per node.")
        public static let health = ConfigKey("pools[].health", .section, .none, "Active probes of every node.")
        public static let healthPreset = ConfigKey("pools[].health.preset", .choice(["s3", "minio", "objectscale", "ceph", "none"]), .text("`s3`"), "`s3`: `HEAD /`, any status below 500 means alive. `minio`: `GET /minio/health/ready` → 200. `objectscale`: `GET /?ping` → 200. `ceph`: `HEAD /` → below 500. `none`: no probes.")
        public static let healthMethod = ConfigKey("pools[].health.method", .choice(["GET", "HEAD"]), .text("per preset"), "Overrides the preset's probe method.")
        public static let healthPath = ConfigKey("pools[].health.path", .string, .text("per preset"), "Overrides the preset's probe path.")
        public static let healthExpect = ConfigKey("pools[].health.expect", .list("statuses or classes (`200`, `2xx`)"), .text("per preset"), "Statuses that mean alive.")
        public static let healthInterval = ConfigKey("pools[].health.interval", .duration(min: .milliseconds(100)), .duration(.seconds(5)), "A probe every interval, plus a random share of `jitter` so gateways do not probe in step.")
        public static let healthJitter = ConfigKey("pools[].health.jitter", .duration(min: .zero), .duration(.seconds(1)), "The random share added to each interval.")
        public static let healthTimeout = ConfigKey("pools[].health.timeout", .duration(min: .milliseconds(1)), .duration(.seconds(2)), "A probe with no answer within this fails.")
        public static let healthRise = ConfigKey("pools[].health.rise", .int(1...100), .int(2), "Good probes in a row that bring a node back.")
        public static let healthFall = ConfigKey("pools[].health.fall", .int(1...100), .int(3), "Bad probes in a row that take it out.")
        public static let outlier = ConfigKey("pools[].outlier", .section, .none, "Passive health from real traffic: connect failures, resets, timeouts, 500/502/504.")
        public static let consecutiveFailures = ConfigKey("pools[].outlier.consecutive_failures", .int(1...1000), .int(5), "Failures in a row that eject a node.")
        public static let baseEjection = ConfigKey("pools[].outlier.base_ejection", .duration(min: .milliseconds(1)), .duration(.seconds(10)), "The first ejection lasts this long; each later one a further `base_ejection`, up to `max_ejection`.")
        public static let maxEjection = ConfigKey("pools[].outlier.max_ejection", .duration(min: .milliseconds(1)), .duration(.seconds(300)), "The longest ejection.")
        public static let maxEjectedPercent = ConfigKey("pools[].outlier.max_ejected_percent", .int(0...100), .int(50), "Spillway never ejects more than this share of the pool at once.")
        public static let retry = ConfigKey("pools[].retry", .section, .none, "How failed attempts are tried again; see docs/failure-handling.md.")
        public static let maxAttempts = ConfigKey("pools[].retry.max_attempts", .int(1...10), .int(3), "Attempts per request, the first included (retries and hedges count).")
        public static let maxResumes = ConfigKey("pools[].retry.max_resumes", .int(0...100), .int(3), "Times one download may continue from another node after its node failed mid-body.")
        public static let budgetPercent = ConfigKey("pools[].retry.budget_percent", .int(0...100), .int(20), "Retries, hedges and resumes allowed: this share of the pool's recent requests (over 10 s), plus `min_per_second`. When spent, errors pass through.")
        public static let minPerSecond = ConfigKey("pools[].retry.min_per_second", .int(0...100_000), .int(10), "Retries always allowed per second.")
        public static let backoffBase = ConfigKey("pools[].retry.backoff_base", .duration(min: .zero), .duration(.milliseconds(20)), "Backoff before retry n: random in [0, min(max, base·2ⁿ⁻¹)] (full jitter).")
        public static let backoffMax = ConfigKey("pools[].retry.backoff_max", .duration(min: .zero), .duration(.seconds(1)), "The longest backoff.")
        public static let replayBuffer = ConfigKey("pools[].retry.replay_buffer", .size(0...(1 << 30)), .size(8 << 20), "Request bodies up to this size are held so a write can be retried on another node; `0` never holds one.")
        public static let hedge = ConfigKey("pools[].hedge", .section, .none, "Hedged reads.")
        public static let hedgeEnabled = ConfigKey("pools[].hedge.enabled", .bool, .bool(false), "A read with no answer by the pool's recent percentile time to first byte gets a second attempt on another node; the first answer wins.")
        public static let hedgePercentile = ConfigKey("pools[].hedge.percentile", .int(50...99), .int(95), "The percentile to hedge at.")
        public static let hedgeMinDelay = ConfigKey("pools[].hedge.min_delay", .duration(min: .zero), .duration(.milliseconds(20)), "Never hedge sooner than this.")
        public static let protection = ConfigKey("pools[].protection", .section, .none, "How the pool protects its nodes.")
        public static let maxInFlightPerNode = ConfigKey("pools[].protection.max_in_flight_per_node", .int(1...100_000), .none, "Requests in flight per node; more wait in the queue.")
        public static let adaptive = ConfigKey("pools[].protection.adaptive", .bool, .bool(false), "Lower the in-flight cap below `max_in_flight_per_node` when a node's latency rises.")
        public static let queue = ConfigKey("pools[].protection.queue", .section, .none, "The queue for requests that find every node at its cap.")
        public static let queueMax = ConfigKey("pools[].protection.queue.max", .int(0...1_000_000), .int(1000), "Requests that may wait (by class, fair across tenants).")
        public static let queueTimeout = ConfigKey("pools[].protection.queue.timeout", .duration(min: .milliseconds(1)), .duration(.seconds(2)), "A request that waits longer is shed with `503 SlowDown`.")
    }

    public enum Route {
        public static let list = ConfigKey("routes", .sections, .none, "Tried top to bottom; the first that matches wins.")
        public static let name = ConfigKey("routes[].name", .string, .text("`route-N`"), "The route's name, for logs and errors.")
        public static let match = ConfigKey("routes[].match", .section, .text("everything"), "What the route takes; every stated condition must hold.")
        public static let bucket = ConfigKey("routes[].match.bucket", .string, .text("any"), "A bucket name, or a glob with `*` and `?`.")
        public static let prefix = ConfigKey("routes[].match.prefix", .string, .text("any"), "Key prefix, compared with the decoded key.")
        public static let operation = ConfigKey("routes[].match.operation", .list("S3 operations or classes"), .text("any"), "S3 API names (`GetObject`, `UploadPart`, …) or classes: `read`, `write`, `list`, `delete`, `other`.")
        public static let method = ConfigKey("routes[].match.method", .list("methods"), .text("any"), "`GET`, `HEAD`, `PUT`, `POST`, `DELETE`.")
        public static let pool = ConfigKey("routes[].pool", .string, .required, "The pool the route sends to (or `pools`).")
        public static let pools = ConfigKey("routes[].pools", .list("pool names"), .none, "Instead of `pool`: pools in order of preference. Reads fail over to the next when a pool has no healthy node; writes stay on the first.")
        public static let timeouts = ConfigKey("routes[].timeouts", .section, .text("global"), "Overrides `connect`, `first_byte`, `idle` and `attempt` for this route.")
        public static let timeoutConnect = ConfigKey("routes[].timeouts.connect", .duration(min: .milliseconds(1)), .text("global"), "As `timeouts.connect`.")
        public static let timeoutFirstByte = ConfigKey("routes[].timeouts.first_byte", .duration(min: .milliseconds(1)), .text("global"), "As `timeouts.first_byte`.")
        public static let timeoutIdle = ConfigKey("routes[].timeouts.idle", .duration(min: .milliseconds(1)), .text("global"), "As `timeouts.idle`.")
        public static let timeoutAttempt = ConfigKey("routes[].timeouts.attempt", .duration(min: .milliseconds(1)), .text("global"), "As `timeouts.attempt`.")
        public static let coalesce = ConfigKey("routes[].coalesce", .section, .none, "Identical concurrent GETs of one object share one fetch from storage (see docs/throughput.md).")
        public static let coalesceEnabled = ConfigKey("routes[].coalesce.enabled", .bool, .bool(false), "GETs of the same object, version, checksum mode and byte range (a range whose answer fits the ring) share the fetch in flight. Each follower first sends its own request with `If-None-Match: <flight ETag>` and joins only on storage's `304`, so it gets only what storage would give it, and never an object older than its request.")
        public static let coalesceRing = ConfigKey("routes[].coalesce.ring", .size((64 << 10)...(1 << 30)), .size(32 << 20), "Bytes of a flight kept for its readers. A reader this far behind the fastest one detaches onto its own fetch from where it is; a reader arriving while the object's first byte is still kept joins.")
        public static let coalesceTrustVerified = ConfigKey("routes[].coalesce.trust_verified", .bool, .bool(false), "Followers whose signature Spillway verified skip their own conditional request (`If-None-Match: <flight ETag>`, joining on `304`): the same verified key (or any tenant its access policy lets in, on a pool Spillway signs for) shares at once. Saves a small request per follower; a follower may then get the object as it was when the flight began.")
        public static let split = ConfigKey("routes[].split", .section, .none, "Large whole-object GETs are fetched as ranged parts from several nodes and delivered in order as one response (see docs/throughput.md).")
        public static let splitAbove = ConfigKey("routes[].split.above", .size(1...(1 << 50)), .size(64 << 20), "Objects larger than this are split; the size comes from the first node's answer, so smaller ones cost nothing.")
        public static let splitPart = ConfigKey("routes[].split.part", .size((64 << 10)...(1 << 30)), .size(8 << 20), "Bytes per ranged part.")
        public static let splitParallel = ConfigKey("routes[].split.parallel", .int(1...64), .int(8), "Parts in flight at most per download. It starts at two and grows only while the client takes bytes faster than they come.")
        public static let priorityClass = ConfigKey("routes[].class", .string, .text("the tenant's"), "Priority class of the requests this route takes.")
    }

    public static let coalesceMemory = ConfigKey("coalesce_memory", .size((1 << 20)...(1 << 40)), .size(512 << 20), "All flights' rings together: a GET that would go over it is fetched on its own.")
    public static let splitMemory = ConfigKey("split_memory", .size((1 << 20)...(1 << 40)), .size(1 << 30), "Bytes all split downloads may hold in parts at once; beyond it each goes on with one part at a time.")
    public static let defaultPool = ConfigKey("default_pool", .string, .text("the only pool"), "Where a request goes when no route matches. Required with several pools.")

    public enum Admin {
        public static let section = ConfigKey("admin", .section, .none, "The admin listener: dashboard at `/`, `/metrics`, the API under `/api/`.")
        public static let listen = ConfigKey("admin.listen", .hostPort, .required, "Its address; must differ from `listen`.")
        public static let token = ConfigKey("admin.token", .string, .none, "Bearer token the API requires. Without one (or `token_env`), Spillway makes one up and prints it at start: reading calls stay open, changing or validating calls need it.")
        public static let tokenEnv = ConfigKey("admin.token_env", .string, .text("`SPILLWAY_ADMIN_TOKEN`"), "Environment variable to take the token from.")
        public static let maxConnections = ConfigKey("admin.max_connections", .int(1...10_000), .int(64), "Admin connections open at once; more are closed at once.")
        public static let idleTimeout = ConfigKey("admin.idle_timeout", .duration(min: .milliseconds(100)), .duration(.seconds(30)), "An admin connection idle this long is closed.")
    }

    public enum AccessLog {
        public static let section = ConfigKey("access_log", .section, .none, "One JSON line per request, written off the event loops.")
        public static let path = ConfigKey("access_log.path", .string, .text("`stdout`"), "`stdout` or a file (reopened on `SIGHUP`).")
        public static let hashKeys = ConfigKey("access_log.hash_keys", .bool, .bool(false), "Log a hash of each key instead of the key.")
    }

    public static let metrics = ConfigKey("metrics", .section, .none, "Metrics labels.")
    public static let topN = ConfigKey("metrics.top_n", .int(1...1000), .int(20), "Buckets and tenants that get a label of their own; the rest count as `other`.")

    public enum Tracing {
        public static let section = ConfigKey("tracing", .section, .none, "One span per request, over OTLP/HTTP.")
        public static let endpoint = ConfigKey("tracing.otlp_endpoint", .url, .required, "The collector: `http://host:port` (spans go to `/v1/traces`).")
        public static let serviceName = ConfigKey("tracing.service_name", .string, .text("`spillway`"), "The service name of the spans.")
        public static let samplePercent = ConfigKey("tracing.sample_percent", .int(0...100), .int(100), "Share of requests without a sampled `traceparent` that start a trace.")
    }
}
