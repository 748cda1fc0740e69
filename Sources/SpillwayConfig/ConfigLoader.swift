import SpillwayPolicy
import SpillwayS3
import Yams

/// Turns config text into a `GatewayConfig`, or refuses it with every problem and its line.
public enum ConfigLoader {
    public static func load(text: String, file: String) -> Result<GatewayConfig, ConfigError> {
        let reader = YAMLReader(file: file)
        guard let root = reader.parse(text) else { return .failure(ConfigError(issues: reader.issues)) }
        let config = read(root, reader)
        if let config, reader.issues.isEmpty { return .success(config) }
        return .failure(ConfigError(issues: reader.issues))
    }

    static func read(_ root: Node, _ r: YAMLReader) -> GatewayConfig? {
        var listeners: [Listener] = []
        var workers: Int?
        var domains: [String] = []
        var timeouts = Timeouts()
        var drain = Duration.seconds(30)
        var shutdownDelay = ConfigKeys.shutdownDelay.duration
        var coalesceMemory = ConfigKeys.coalesceMemory.size
        var splitMemory = ConfigKeys.splitMemory.size
        var pools: [(PoolConfig, Node)] = []
        var routes: [(RouteConfig, poolNodes: [Node])] = []
        var defaultPool: (String, Node)?
        var listenNode: Node?
        var observability = ObservabilityConfig()
        var http = HTTPConfig()
        let top = r.entries(root, of: "")
        let protection = readProtection(top.filter { protectionKeys.contains($0.key) }, r)

        for (key, keyNode, value) in top {
            switch key {
            case "listen":
                listenNode = keyNode
                listeners = readListeners(value, r)
            case "workers":
                workers = r.int(value, ConfigKeys.workers)
            case "s3":
                for (k, _, v) in r.entries(value, of: "s3") where k == "virtual_host_domains" {
                    domains = r.list(v).compactMap { r.string($0, "a virtual host domain") }
                }
            case "http":
                http = readHTTP(value, r)
            case "timeouts":
                timeouts = readTimeouts(value, r)
            case "drain_timeout":
                drain = r.duration(value, ConfigKeys.drainTimeout) ?? drain
            case "split_memory":
                splitMemory = r.size(value, ConfigKeys.splitMemory) ?? splitMemory
            case "coalesce_memory":
                coalesceMemory = r.size(value, ConfigKeys.coalesceMemory) ?? coalesceMemory
            case "shutdown_delay":
                shutdownDelay = r.duration(value, ConfigKeys.shutdownDelay) ?? shutdownDelay
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
                if let name = r.string(value, ConfigKeys.defaultPool) { defaultPool = (name, value) }
            case "admin":
                observability.admin = readAdmin(value, r)
            case "access_log":
                var log = AccessLogConfig()
                for (k, _, v) in r.entries(value, of: "access_log") {
                    if k == "path" { log.path = r.string(v, ConfigKeys.AccessLog.path) ?? log.path }
                    if k == "hash_keys" { log.hashKeys = r.bool(v, ConfigKeys.AccessLog.hashKeys) ?? log.hashKeys }
                }
                observability.accessLog = log
            case "metrics":
                for (k, _, v) in r.entries(value, of: "metrics") where k == "top_n" {
                    observability.topN = r.int(v, ConfigKeys.topN) ?? observability.topN
                }
            case "tracing":
                observability.tracing = readTracing(value, r)
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
        checkSigning(pools, verifySignatures: protection.identity.verifySignatures, r)
        if let admin = observability.admin, listeners.contains(where: { $0.address == admin.listen }), admin.listen.port != 0 {
            r.report(root, "admin.listen \(admin.listen) is also an S3 listen address", fix: "give the admin listener an address of its own")
        }
        guard r.issues.isEmpty else { return nil }
        var config = GatewayConfig(
            listen: [], workers: workers, virtualHostDomains: domains, timeouts: timeouts, drainTimeout: drain,
            pools: pools.map(\.0), routes: routes.map(\.0), defaultPool: defaultName, protection: protection)
        config.listeners = listeners
        config.shutdownDelay = shutdownDelay
        config.coalesceMemory = coalesceMemory
        config.splitMemory = splitMemory
        config.observability = observability
        config.http = http
        return config
    }

    static func readTimeouts(_ node: Node, _ r: YAMLReader) -> Timeouts {
        typealias Keys = ConfigKeys.Timeouts
        var t = Timeouts()
        r.fill(&t, from: node, of: "timeouts", [
            .duration(Keys.connect, \.connect), .duration(Keys.firstByte, \.firstByte), .duration(Keys.idle, \.idle),
            .duration(Keys.clientIdle, \.clientIdle), .duration(Keys.attempt, \.attempt), .duration(Keys.requestHead, \.requestHead),
        ])
        return t
    }

    static func readHTTP(_ node: Node, _ r: YAMLReader) -> HTTPConfig {
        typealias Keys = ConfigKeys.HTTP
        var h = HTTPConfig()
        r.fill(&h, from: node, of: "http", [
            .size(Keys.maxHeadSize, \.head.maxHeadBytes), .int(Keys.maxHeaders, \.head.maxHeaders),
            .size(Keys.maxTargetLength, \.head.maxTargetBytes), .int(Keys.maxPipelined, \.maxPipelined),
            .size(Keys.minClientRate, \.minClientRate), .duration(Keys.minRateWindow, \.minRateWindow),
        ])
        return h
    }

    static func readAdmin(_ node: Node, _ r: YAMLReader) -> AdminConfig {
        typealias Keys = ConfigKeys.Admin
        var listen: HostPort?
        var admin = AdminConfig(listen: HostPort(host: "127.0.0.1", port: 9901))
        r.fill(&admin, from: node, of: "admin", [
            .custom(Keys.listen) { _, v, r in listen = r.hostPort(v, Keys.listen, allowPortZero: true) },
            .string(Keys.token, \.token), .string(Keys.tokenEnv, \.tokenEnvironment),
            .int(Keys.maxConnections, \.maxConnections), .duration(Keys.idleTimeout, \.idleTimeout),
        ])
        if let listen { admin.listen = listen } else { r.report(node, "admin has no listen address", fix: "add 'listen: 127.0.0.1:9901'") }
        return admin
    }

    static func readTracing(_ node: Node, _ r: YAMLReader) -> TracingConfig {
        typealias Keys = ConfigKeys.Tracing
        var tracing = TracingConfig(endpoint: HostPort(host: "127.0.0.1", port: 4318))
        var endpoint: HostPort?
        r.fill(&tracing, from: node, of: "tracing", [
            .custom(Keys.endpoint) { _, v, r in
                guard let text = r.string(v, Keys.endpoint) else { return }
                switch ValueParsers.nodeURL(text) {
                case .success(let url) where url.secure:
                    r.report(v, "tracing.otlp_endpoint: spans are sent over plain HTTP only", fix: "use the collector's http:// OTLP address")
                case .success(let url): endpoint = HostPort(host: url.host, port: url.port)
                case .failure(let problem):
                    r.report(v, "tracing.otlp_endpoint: \(problem.message.replacingOccurrences(of: "node URL", with: "collector URL"))",
                             fix: "the collector's OTLP/HTTP address, e.g. http://127.0.0.1:4318 (spans go to /v1/traces)")
                }
            },
            .string(Keys.serviceName, \.serviceName), .int(Keys.samplePercent, \.samplePercent),
        ])
        if let endpoint { tracing.endpoint = endpoint } else {
            r.report(node, "tracing has no otlp_endpoint", fix: "add 'otlp_endpoint: http://127.0.0.1:4318'")
        }
        return tracing
    }
}
