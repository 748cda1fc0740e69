import SpillwayPolicy
import SpillwayS3
import Yams

/// Turns config text into a `GatewayConfig`, or refuses it with every problem and its line.
public enum ConfigLoader {
    public static let topLevelKeys =
        ["listen", "workers", "s3", "http", "timeouts", "drain_timeout", "pools", "routes", "default_pool", "admin", "access_log", "metrics", "tracing"]
        + protectionKeys
    static let timeoutKeys = ["connect", "first_byte", "idle", "client_idle", "attempt", "request_head"]
    static let httpKeys = ["max_head_size", "max_headers", "max_target_length", "max_pipelined", "min_client_rate", "min_rate_window"]
    static let routeTimeoutKeys = ["connect", "first_byte", "idle", "attempt"]
    static let poolKeys = ["name", "balancer", "nodes", "max_idle_per_node", "health", "outlier", "retry", "hedge", "protection"]
    static let nodeKeys = ["url", "weight", "drain"]
    static let routeKeys = ["name", "match", "pool", "pools", "timeouts", "class"]
    static let healthKeys = ["preset", "method", "path", "expect", "interval", "jitter", "timeout", "rise", "fall"]
    static let outlierKeys = ["consecutive_failures", "base_ejection", "max_ejection", "max_ejected_percent"]
    static let retryKeys = ["max_attempts", "max_resumes", "budget_percent", "min_per_second", "backoff_base", "backoff_max", "replay_buffer"]
    static let hedgeKeys = ["enabled", "percentile", "min_delay"]
    static let matchKeys = ["bucket", "prefix", "operation", "method"]

    public static func load(text: String, file: String) -> Result<GatewayConfig, ConfigError> {
        let reader = YAMLReader(file: file)
        guard let root = reader.parse(text) else { return .failure(ConfigError(issues: reader.issues)) }
        let config = read(root, reader)
        if let config, reader.issues.isEmpty { return .success(config) }
        return .failure(ConfigError(issues: reader.issues))
    }

    static func read(_ root: Node, _ r: YAMLReader) -> GatewayConfig? {
        var listen: [HostPort] = []
        var workers: Int?
        var domains: [String] = []
        var timeouts = Timeouts()
        var drain = Duration.seconds(30)
        var pools: [(PoolConfig, Node)] = []
        var routes: [(RouteConfig, poolNodes: [Node])] = []
        var defaultPool: (String, Node)?
        var listenNode: Node?
        var observability = ObservabilityConfig()
        var http = HTTPConfig()
        let top = r.mapping(root, section: "the top level", allowed: topLevelKeys)
        let protection = readProtection(top.filter { protectionKeys.contains($0.key) }, r)

        for (key, keyNode, value) in top {
            switch key {
            case "listen":
                listenNode = keyNode
                for item in r.list(value) {
                    guard let text = r.string(item, "a listen address") else { continue }
                    if let hp = ValueParsers.hostPort(text, allowPortZero: true) {
                        listen.append(HostPort(host: hp.host, port: hp.port))
                    } else {
                        r.report(item, "listen address '\(text)' is not host:port", fix: "for example 127.0.0.1:9000 or [::1]:9000")
                    }
                }
            case "workers":
                workers = r.int(value, "workers", range: 1...256)
            case "s3":
                for (k, _, v) in r.mapping(value, section: "s3", allowed: ["virtual_host_domains"]) where k == "virtual_host_domains" {
                    domains = r.list(v).compactMap { r.string($0, "a virtual host domain") }
                }
            case "http":
                http = readHTTP(value, r)
            case "timeouts":
                timeouts = readTimeouts(value, r)
            case "drain_timeout":
                drain = r.duration(value, "drain_timeout") ?? drain
            case "pools":
                guard case .sequence(let seq) = value else {
                    r.report(value, "pools must be a list", fix: "write each pool as '- name: ...'")
                    continue
                }
                for item in seq { if let pool = readPool(item, r) { pools.append((pool, item)) } }
            case "routes":
                guard case .sequence(let seq) = value else {
                    r.report(value, "routes must be a list", fix: "write each route as '- match: ...'")
                    continue
                }
                for (i, item) in seq.enumerated() { if let route = readRoute(item, index: i, r) { routes.append(route) } }
            case "default_pool":
                if let name = r.string(value, "default_pool") { defaultPool = (name, value) }
            case "admin":
                var listen: HostPort?
                var admin = AdminConfig(listen: HostPort(host: "127.0.0.1", port: 9901))
                for (k, _, v) in r.mapping(value, section: "admin", allowed: ["listen", "token", "token_env", "max_connections", "idle_timeout"]) {
                    switch k {
                    case "listen":
                        if let text = r.string(v, "admin.listen") {
                            if let hp = ValueParsers.hostPort(text, allowPortZero: true) { listen = HostPort(host: hp.host, port: hp.port) } else {
                                r.report(v, "admin.listen '\(text)' is not host:port", fix: "for example 127.0.0.1:9901")
                            }
                        }
                    case "token": admin.token = r.string(v, "admin.token")
                    case "token_env": admin.tokenEnvironment = r.string(v, "admin.token_env")
                    case "max_connections": admin.maxConnections = r.int(v, "admin.max_connections", range: 1...10_000) ?? admin.maxConnections
                    case "idle_timeout":
                        if let d = r.duration(v, "admin.idle_timeout") {
                            if d < .milliseconds(100) { r.report(v, "admin.idle_timeout must be at least 100ms", fix: "for example 30s") } else { admin.idleTimeout = d }
                        }
                    default: break
                    }
                }
                if let listen { admin.listen = listen } else { r.report(value, "admin has no listen address", fix: "add 'listen: 127.0.0.1:9901'") }
                observability.admin = admin
            case "access_log":
                var log = AccessLogConfig()
                for (k, _, v) in r.mapping(value, section: "access_log", allowed: ["path", "hash_keys"]) {
                    if k == "path" { log.path = r.string(v, "access_log.path") ?? log.path }
                    if k == "hash_keys" { log.hashKeys = r.bool(v, "access_log.hash_keys") ?? false }
                }
                observability.accessLog = log
            case "metrics":
                for (k, _, v) in r.mapping(value, section: "metrics", allowed: ["top_n"]) where k == "top_n" {
                    observability.topN = r.int(v, "metrics.top_n", range: 1...1000) ?? observability.topN
                }
            case "tracing":
                var tracing = TracingConfig(endpoint: HostPort(host: "127.0.0.1", port: 4318))
                var endpoint: HostPort?
                for (k, _, v) in r.mapping(value, section: "tracing", allowed: ["otlp_endpoint", "service_name", "sample_percent"]) {
                    switch k {
                    case "otlp_endpoint":
                        guard let text = r.string(v, "tracing.otlp_endpoint") else { break }
                        switch ValueParsers.nodeURL(text) {
                        case .success(let hp): endpoint = HostPort(host: hp.host, port: hp.port)
                        case .failure(let problem):
                            r.report(v, "tracing.otlp_endpoint: \(problem.message.replacingOccurrences(of: "node URL", with: "collector URL"))",
                                     fix: "the collector's OTLP/HTTP address, e.g. http://127.0.0.1:4318 (spans go to /v1/traces)")
                        }
                    case "service_name": tracing.serviceName = r.string(v, "tracing.service_name") ?? tracing.serviceName
                    case "sample_percent": tracing.samplePercent = r.int(v, "tracing.sample_percent", range: 0...100) ?? tracing.samplePercent
                    default: break
                    }
                }
                if let endpoint { tracing.endpoint = endpoint } else {
                    r.report(value, "tracing has no otlp_endpoint", fix: "add 'otlp_endpoint: http://127.0.0.1:4318'")
                }
                observability.tracing = tracing
            default:
                break
            }
        }

        if listenNode == nil {
            r.report(root, "no listen address", fix: "add 'listen: 127.0.0.1:9000'")
        }
        if pools.isEmpty {
            r.report(root, "no pools: Spillway needs at least one pool of storage nodes",
                     fix: "add 'pools: [{name: primary, nodes: [http://127.0.0.1:9001]}]'")
        }
        var poolLines: [String: Int] = [:]
        for (pool, node) in pools {
            if let first = poolLines[pool.name] {
                r.report(node, "pool name '\(pool.name)' is used twice (first on line \(first))", fix: "give each pool its own name")
            } else {
                poolLines[pool.name] = node.mark?.line ?? 0
            }
        }
        var routeNames: [String: Int] = [:]
        for (route, poolNodes) in routes {
            let poolNode = poolNodes[0]
            for (poolName, node) in zip(route.pools, poolNodes) where poolLines[poolName] == nil {
                r.report(node, "route '\(route.name)' sends to pool '\(poolName)', which is not defined",
                         fix: "define it under pools, or use one of: \(poolLines.keys.sorted().joined(separator: ", "))")
            }
            if Set(route.pools).count != route.pools.count {
                r.report(poolNode, "route '\(route.name)' lists a pool twice", fix: "list each pool once, in order of preference")
            }
            if let first = routeNames[route.name] {
                r.report(poolNode, "route name '\(route.name)' is used twice (first route on line \(first))", fix: "give each route its own name")
            } else {
                routeNames[route.name] = poolNode.mark?.line ?? 0
            }
        }
        let defaultName: String
        if let (name, node) = defaultPool {
            if poolLines[name] == nil, !pools.isEmpty {
                r.report(node, "default_pool '\(name)' is not defined",
                         fix: "use one of: \(poolLines.keys.sorted().joined(separator: ", "))")
            }
            defaultName = name
        } else if pools.count > 1 {
            r.report(root, "several pools but no default_pool", fix: "add 'default_pool: \(pools[0].0.name)'")
            defaultName = pools[0].0.name
        } else {
            defaultName = pools.first?.0.name ?? ""
        }
        for (route, poolNodes) in routes {
            if let cls = route.priorityClass, !protection.classes.contains(cls) {
                r.report(poolNodes[0], "route '\(route.name)' has class '\(cls)', which is not among the classes",
                         fix: "use one of: \(protection.classes.joined(separator: ", "))")
            }
        }
        if let admin = observability.admin, listen.contains(admin.listen), admin.listen.port != 0 {
            r.report(root, "admin.listen \(admin.listen) is also an S3 listen address", fix: "give the admin listener an address of its own")
        }
        guard r.issues.isEmpty else { return nil }
        var config = GatewayConfig(
            listen: listen, workers: workers, virtualHostDomains: domains, timeouts: timeouts, drainTimeout: drain,
            pools: pools.map(\.0), routes: routes.map(\.0), defaultPool: defaultName, protection: protection)
        config.observability = observability
        config.http = http
        return config
    }

    static func readTimeouts(_ node: Node, _ r: YAMLReader) -> Timeouts {
        var t = Timeouts()
        for (key, _, value) in r.mapping(node, section: "timeouts", allowed: timeoutKeys) {
            guard let d = r.duration(value, "timeouts.\(key)") else { continue }
            switch key {
            case "connect": t.connect = d
            case "first_byte": t.firstByte = d
            case "idle": t.idle = d
            case "client_idle": t.clientIdle = d
            case "attempt": t.attempt = d
            case "request_head": t.requestHead = d
            default: break
            }
            if d < .milliseconds(1) { r.report(value, "timeouts.\(key) must be at least 1ms", fix: "for example 5s") }
        }
        return t
    }

    static func readHTTP(_ node: Node, _ r: YAMLReader) -> HTTPConfig {
        var h = HTTPConfig()
        for (key, _, value) in r.mapping(node, section: "http", allowed: httpKeys) {
            switch key {
            case "max_head_size": h.head.maxHeadBytes = r.size(value, "http.max_head_size", range: 1024...(1 << 20)) ?? h.head.maxHeadBytes
            case "max_headers": h.head.maxHeaders = r.int(value, "http.max_headers", range: 8...10_000) ?? h.head.maxHeaders
            case "max_target_length":
                h.head.maxTargetBytes = r.size(value, "http.max_target_length", range: 256...(1 << 20)) ?? h.head.maxTargetBytes
            case "max_pipelined": h.maxPipelined = r.int(value, "http.max_pipelined", range: 1...10_000) ?? h.maxPipelined
            case "min_client_rate": h.minClientRate = r.size(value, "http.min_client_rate", range: 0...(1 << 30)) ?? h.minClientRate
            case "min_rate_window":
                if let d = r.duration(value, "http.min_rate_window") {
                    if d < .seconds(1) { r.report(value, "http.min_rate_window must be at least 1s", fix: "for example 30s") } else { h.minRateWindow = d }
                }
            default: break
            }
        }
        return h
    }

    static func readPool(_ node: Node, _ r: YAMLReader) -> PoolConfig? {
        var name: String?
        var balancer = BalancerKind.peakEWMA
        var nodes: [NodeConfig] = []
        var health = HealthCheckConfig()
        var outlier = OutlierConfig()
        var retry = RetryConfig()
        var hedge = HedgeConfig()
        var maxIdle = 256
        var nodeProtection = NodeProtectionConfig()
        var nodeEntries = 0
        for (key, _, value) in r.mapping(node, section: "a pool", allowed: poolKeys) {
            switch key {
            case "name": name = r.string(value, "pool name")
            case "balancer":
                guard let text = r.string(value, "balancer") else { continue }
                if let kind = BalancerKind(rawValue: text) {
                    balancer = kind
                } else {
                    r.report(value, "unknown balancer '\(text)'",
                             fix: "use one of: \(BalancerKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            case "nodes":
                var seen: Set<HostPort> = []
                for item in r.list(value) {
                    nodeEntries += 1
                    guard let n = readNode(item, r) else { continue }
                    if !seen.insert(n.address).inserted {
                        r.report(item, "node \(n.url) is listed twice in this pool", fix: "list each node once; use weight to favour one")
                    }
                    nodes.append(n)
                }
            case "max_idle_per_node": maxIdle = r.int(value, "max_idle_per_node", range: 0...100_000) ?? maxIdle
            case "health": health = readHealth(value, r)
            case "outlier": outlier = readOutlier(value, r)
            case "retry": retry = readRetry(value, r)
            case "hedge": hedge = readHedge(value, r)
            case "protection": nodeProtection = readNodeProtection(value, r)
            default: break
            }
        }
        guard let name else {
            r.report(node, "a pool has no name", fix: "add 'name: primary'")
            return nil
        }
        if nodeEntries == 0 {
            r.report(node, "pool '\(name)' has no nodes", fix: "add 'nodes: [http://127.0.0.1:9001]'")
        }
        if nodes.count > 64 {
            r.report(node, "pool '\(name)' has \(nodes.count) nodes; a pool holds at most 64", fix: "split the nodes into several pools")
        }
        // Bad node entries were reported where they stand.
        guard !nodes.isEmpty else { return nil }
        return PoolConfig(
            name: name, balancer: balancer, nodes: nodes, maxIdlePerNode: maxIdle, health: health, outlier: outlier,
            retry: retry, hedge: hedge, protection: nodeProtection)
    }

    static func readNode(_ node: Node, _ r: YAMLReader) -> NodeConfig? {
        var urlNode = node
        var weight = 1
        var drain = false
        if case .mapping = node {
            var url: Node?
            for (key, _, value) in r.mapping(node, section: "a node", allowed: nodeKeys) {
                if key == "url" { url = value }
                if key == "weight" { weight = r.int(value, "weight", range: 1...1000) ?? weight }
                if key == "drain" { drain = r.bool(value, "drain") ?? drain }
            }
            guard let url else {
                r.report(node, "a node has no url", fix: "add 'url: http://127.0.0.1:9001'")
                return nil
            }
            urlNode = url
        }
        guard let text = r.string(urlNode, "a node URL") else { return nil }
        switch ValueParsers.nodeURL(text) {
        case .success(let hp):
            return NodeConfig(url: text, address: HostPort(host: hp.host, port: hp.port), weight: weight, drain: drain)
        case .failure(let problem):
            r.report(urlNode, "\(problem.message): '\(text)'", fix: "write it as http://host:port, e.g. http://10.0.0.5:9000")
            return nil
        }
    }

    static func readRoute(_ node: Node, index: Int, _ r: YAMLReader) -> (RouteConfig, poolNodes: [Node])? {
        var name = "route-\(index + 1)"
        var match = RouteMatch()
        var pools: [(String, Node)] = []
        var overrides = TimeoutOverrides()
        var priorityClass: String?
        for (key, keyNode, value) in r.mapping(node, section: "a route", allowed: routeKeys) {
            switch key {
            case "name": name = r.string(value, "route name") ?? name
            case "class": priorityClass = r.string(value, "route class")
            case "pool", "pools":
                if !pools.isEmpty {
                    r.report(keyNode, "route '\(name)' has both pool and pools", fix: "use 'pools: [first, second]' alone")
                    continue
                }
                for item in r.list(value) {
                    if let p = r.string(item, "a route pool") { pools.append((p, item)) }
                }
            case "match": match = readMatch(value, r)
            case "timeouts":
                for (k, _, v) in r.mapping(value, section: "route timeouts", allowed: routeTimeoutKeys) {
                    guard let d = r.duration(v, "timeouts.\(k)") else { continue }
                    switch k {
                    case "connect": overrides.connect = d
                    case "first_byte": overrides.firstByte = d
                    case "attempt": overrides.attempt = d
                    default: overrides.idle = d
                    }
                }
            default: break
            }
        }
        guard !pools.isEmpty else {
            r.report(node, "route '\(name)' names no pool", fix: "add 'pool: <a pool name>'")
            return nil
        }
        return (
            RouteConfig(name: name, match: match, pools: pools.map(\.0), timeouts: overrides, priorityClass: priorityClass),
            pools.map(\.1)
        )
    }

    static func readHealth(_ node: Node, _ r: YAMLReader) -> HealthCheckConfig {
        let entries = r.mapping(node, section: "health", allowed: healthKeys)
        var h = HealthCheckConfig()
        if let (_, _, value) = entries.first(where: { $0.key == "preset" }), let text = r.string(value, "health.preset") {
            if let preset = HealthCheckConfig.Preset(rawValue: text) {
                h = HealthCheckConfig(preset: preset)
            } else {
                r.report(value, "unknown health preset '\(text)'",
                         fix: "use one of: \(HealthCheckConfig.Preset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        for (key, _, value) in entries {
            switch key {
            case "method":
                if let m = r.string(value, "health.method") {
                    if ["GET", "HEAD"].contains(m.uppercased()) { h.method = m.uppercased() } else {
                        r.report(value, "health.method '\(m)' is not GET or HEAD", fix: "probe with GET or HEAD")
                    }
                }
            case "path":
                if let p = r.string(value, "health.path") {
                    if p.hasPrefix("/"), !p.contains(" ") { h.path = p } else {
                        r.report(value, "health.path '\(p)' must start with / and contain no spaces", fix: "for example /minio/health/ready")
                    }
                }
            case "expect":
                var ranges: [ClosedRange<Int>] = []
                for item in r.list(value) {
                    guard let text = r.string(item, "an expected status") else { continue }
                    if let code = Int(text), (100...599).contains(code) {
                        ranges.append(code...code)
                    } else if text.count == 3, text.hasSuffix("xx"), let digit = Int(text.prefix(1)), (1...5).contains(digit) {
                        ranges.append((digit * 100)...(digit * 100 + 99))
                    } else {
                        r.report(item, "expected status '\(text)' is not a status code or class", fix: "for example 200, 403 or 2xx")
                    }
                }
                if !ranges.isEmpty { h.expect = ranges }
            case "interval": h.interval = r.duration(value, "health.interval") ?? h.interval
            case "jitter": h.jitter = r.duration(value, "health.jitter") ?? h.jitter
            case "timeout": h.timeout = r.duration(value, "health.timeout") ?? h.timeout
            case "rise": h.rise = r.int(value, "health.rise", range: 1...100) ?? h.rise
            case "fall": h.fall = r.int(value, "health.fall", range: 1...100) ?? h.fall
            default: break
            }
        }
        if h.enabled && h.interval < .milliseconds(100) {
            r.report(node, "health.interval is below 100ms", fix: "probe at most ten times a second per node")
        }
        return h
    }

    static func readOutlier(_ node: Node, _ r: YAMLReader) -> OutlierConfig {
        var o = OutlierConfig()
        for (key, _, value) in r.mapping(node, section: "outlier", allowed: outlierKeys) {
            switch key {
            case "consecutive_failures": o.consecutiveFailures = r.int(value, "outlier.consecutive_failures", range: 1...1000) ?? o.consecutiveFailures
            case "base_ejection": o.baseEjection = r.duration(value, "outlier.base_ejection") ?? o.baseEjection
            case "max_ejection": o.maxEjection = r.duration(value, "outlier.max_ejection") ?? o.maxEjection
            case "max_ejected_percent": o.maxEjectedPercent = r.int(value, "outlier.max_ejected_percent", range: 0...100) ?? o.maxEjectedPercent
            default: break
            }
        }
        return o
    }

    static func readRetry(_ node: Node, _ r: YAMLReader) -> RetryConfig {
        var c = RetryConfig()
        for (key, _, value) in r.mapping(node, section: "retry", allowed: retryKeys) {
            switch key {
            case "max_attempts": c.maxAttempts = r.int(value, "retry.max_attempts", range: 1...10) ?? c.maxAttempts
            case "max_resumes": c.maxResumes = r.int(value, "retry.max_resumes", range: 0...100) ?? c.maxResumes
            case "budget_percent": c.budgetPercent = r.int(value, "retry.budget_percent", range: 0...100) ?? c.budgetPercent
            case "min_per_second": c.minPerSecond = r.int(value, "retry.min_per_second", range: 0...100_000) ?? c.minPerSecond
            case "backoff_base": c.backoffBase = r.duration(value, "retry.backoff_base") ?? c.backoffBase
            case "backoff_max": c.backoffMax = r.duration(value, "retry.backoff_max") ?? c.backoffMax
            case "replay_buffer":
                guard let text = r.string(value, "retry.replay_buffer") else { continue }
                if let bytes = ValueParsers.size(text), bytes <= 1 << 30 { c.replayBufferBytes = bytes } else {
                    r.report(value, "retry.replay_buffer '\(text)' is not a size up to 1GiB", fix: "for example 8MiB, or 0 to never replay bodies")
                }
            default: break
            }
        }
        return c
    }

    static func readHedge(_ node: Node, _ r: YAMLReader) -> HedgeConfig {
        var h = HedgeConfig()
        for (key, _, value) in r.mapping(node, section: "hedge", allowed: hedgeKeys) {
            switch key {
            case "enabled": h.enabled = r.bool(value, "hedge.enabled") ?? h.enabled
            case "percentile": h.percentile = Double(r.int(value, "hedge.percentile", range: 50...99) ?? Int(h.percentile))
            case "min_delay": h.minDelay = r.duration(value, "hedge.min_delay") ?? h.minDelay
            default: break
            }
        }
        return h
    }

    static func readMatch(_ node: Node, _ r: YAMLReader) -> RouteMatch {
        var match = RouteMatch()
        for (key, _, value) in r.mapping(node, section: "match", allowed: matchKeys) {
            switch key {
            case "bucket": match.bucket = r.string(value, "match.bucket")
            case "prefix": match.prefix = r.string(value, "match.prefix")
            case "operation":
                var mask: UInt64 = 0
                for item in r.list(value) {
                    guard let text = r.string(item, "an operation") else { continue }
                    if let op = S3Operation(name: text) {
                        mask |= op.bit
                    } else if let cls = S3OperationClass(rawValue: text.lowercased()) {
                        mask |= cls.mask
                    } else {
                        var fix = "use an S3 API name (GetObject, PutObject, UploadPart, ListObjectsV2, …) or a class: "
                            + S3OperationClass.allCases.map(\.rawValue).joined(separator: ", ")
                        if let near = YAMLReader.nearest(text, in: S3Operation.allCases.map(\.name)) {
                            fix = "did you mean '\(near)'? " + fix
                        }
                        r.report(item, "unknown S3 operation '\(text)'", fix: fix)
                    }
                }
                match.operations = mask
            case "method":
                var mask: UInt8 = 0
                for item in r.list(value) {
                    guard let text = r.string(item, "a method") else { continue }
                    let method = S3Method(text.uppercased())
                    if method == .other {
                        r.report(item, "unknown HTTP method '\(text)'", fix: "use GET, HEAD, PUT, POST or DELETE")
                    } else {
                        mask |= method.bit
                    }
                }
                match.methods = mask
            default: break
            }
        }
        return match
    }
}
