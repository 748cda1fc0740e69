import SpillwayPolicy
import Yams

/// Pools, their nodes, and the policies of each pool.
extension ConfigLoader {
    typealias Keys = ConfigKeys.Pool

    static func readPool(_ node: Node, _ r: YAMLReader) -> PoolConfig? {
        var name: String?
        var balancer = BalancerKind.peakEWMA
        var nodes: [NodeConfig] = []
        var health = HealthCheckConfig()
        var outlier = OutlierConfig()
        var retry = RetryConfig()
        var hedge = HedgeConfig()
        var maxIdle = Keys.maxIdlePerNode.int
        var nodeProtection = NodeProtectionConfig()
        var nodeEntries = 0
        var tls = NodeTLSConfig()
        var credentials: PoolCredentials?
        var signing: SigningConfig?
        for (key, _, value) in r.entries(node, of: "pools[]", named: "a pool") {
            switch key {
            case "name": name = r.string(value, Keys.name)
            case "balancer": balancer = r.choice(value, Keys.balancer).flatMap(BalancerKind.init(rawValue:)) ?? balancer
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
            case "max_idle_per_node": maxIdle = r.int(value, Keys.maxIdlePerNode) ?? maxIdle
            case "health": health = readHealth(value, r)
            case "outlier": outlier = readOutlier(value, r)
            case "retry": retry = readRetry(value, r)
            case "hedge": hedge = readHedge(value, r)
            case "protection": nodeProtection = readNodeProtection(value, r)
            case "tls": tls = readNodeTLS(value, r)
            case "credentials": credentials = readCredentials(pool: value, r)
            case "signing": signing = readSigning(value, r)
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
        var pool = PoolConfig(
            name: name, balancer: balancer, nodes: nodes, maxIdlePerNode: maxIdle, health: health, outlier: outlier,
            retry: retry, hedge: hedge, protection: nodeProtection)
        pool.tls = tls
        pool.credentials = credentials
        pool.signing = signing
        return pool
    }

    static func readNode(_ node: Node, _ r: YAMLReader) -> NodeConfig? {
        var urlNode = node
        var weight = Keys.nodeWeight.int
        var drain = Keys.nodeDrain.bool
        if case .mapping = node {
            var url: Node?
            for (key, _, value) in r.entries(node, of: "pools[].nodes[]", named: "a node") {
                switch key {
                case "url": url = value
                case "weight": weight = r.int(value, Keys.nodeWeight) ?? weight
                case "drain": drain = r.bool(value, Keys.nodeDrain) ?? drain
                default: break
                }
            }
            guard let url else {
                r.report(node, "a node has no url", fix: "add 'url: http://127.0.0.1:9001'")
                return nil
            }
            urlNode = url
        }
        guard let text = r.string(urlNode, "a node URL") else { return nil }
        switch ValueParsers.nodeURL(text) {
        case .success(let url):
            return NodeConfig(url: text, address: HostPort(host: url.host, port: url.port), secure: url.secure, weight: weight, drain: drain)
        case .failure(let problem):
            r.report(urlNode, "\(problem.message): '\(text)'", fix: "write it as http://host:port or https://host:port, e.g. http://10.0.0.5:9000")
            return nil
        }
    }

    static func readHealth(_ node: Node, _ r: YAMLReader) -> HealthCheckConfig {
        let entries = r.entries(node, of: "pools[].health", named: "health")
        var h = HealthCheckConfig()
        if let (_, _, value) = entries.first(where: { $0.key == "preset" }), let text = r.choice(value, Keys.healthPreset) {
            h = HealthCheckConfig(preset: HealthCheckConfig.Preset(rawValue: text) ?? .s3)
        }
        for (key, _, value) in entries {
            switch key {
            case "method":
                if let m = r.string(value, Keys.healthMethod) {
                    if ["GET", "HEAD"].contains(m.uppercased()) { h.method = m.uppercased() } else {
                        r.report(value, "health.method '\(m)' is not GET or HEAD", fix: "probe with GET or HEAD")
                    }
                }
            case "path":
                if let p = r.string(value, Keys.healthPath) {
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
            case "interval": h.interval = r.duration(value, Keys.healthInterval) ?? h.interval
            case "jitter": h.jitter = r.duration(value, Keys.healthJitter) ?? h.jitter
            case "timeout": h.timeout = r.duration(value, Keys.healthTimeout) ?? h.timeout
            case "rise": h.rise = r.int(value, Keys.healthRise) ?? h.rise
            case "fall": h.fall = r.int(value, Keys.healthFall) ?? h.fall
            default: break
            }
        }
        return h
    }

    static func readOutlier(_ node: Node, _ r: YAMLReader) -> OutlierConfig {
        var o = OutlierConfig()
        r.fill(&o, from: node, of: "pools[].outlier", named: "outlier", [
            .int(Keys.consecutiveFailures, \.consecutiveFailures), .duration(Keys.baseEjection, \.baseEjection),
            .duration(Keys.maxEjection, \.maxEjection), .int(Keys.maxEjectedPercent, \.maxEjectedPercent),
        ])
        return o
    }

    static func readRetry(_ node: Node, _ r: YAMLReader) -> RetryConfig {
        var c = RetryConfig()
        r.fill(&c, from: node, of: "pools[].retry", named: "retry", [
            .int(Keys.maxAttempts, \.maxAttempts), .int(Keys.maxResumes, \.maxResumes), .int(Keys.budgetPercent, \.budgetPercent),
            .int(Keys.minPerSecond, \.minPerSecond), .duration(Keys.backoffBase, \.backoffBase),
            .duration(Keys.backoffMax, \.backoffMax), .size(Keys.replayBuffer, \.replayBufferBytes),
        ])
        return c
    }

    static func readHedge(_ node: Node, _ r: YAMLReader) -> HedgeConfig {
        var h = HedgeConfig()
        r.fill(&h, from: node, of: "pools[].hedge", named: "hedge", [
            .bool(Keys.hedgeEnabled, \.enabled),
            .custom(Keys.hedgePercentile) { h, v, r in if let p = r.int(v, Keys.hedgePercentile) { h.percentile = Double(p) } },
            .duration(Keys.hedgeMinDelay, \.minDelay),
        ])
        return h
    }

    static func readNodeProtection(_ node: Node, _ r: YAMLReader) -> NodeProtectionConfig {
        var p = NodeProtectionConfig()
        for (key, _, value) in r.entries(node, of: "pools[].protection", named: "protection") {
            switch key {
            case "max_in_flight_per_node": p.maxInFlightPerNode = r.int(value, Keys.maxInFlightPerNode)
            case "adaptive": p.adaptive = r.bool(value, Keys.adaptive) ?? p.adaptive
            case "queue":
                for (k, _, v) in r.entries(value, of: "pools[].protection.queue", named: "protection.queue") {
                    if k == "max" { p.queueCapacity = r.int(v, Keys.queueMax) ?? p.queueCapacity }
                    if k == "timeout" { p.queueTimeout = r.duration(v, Keys.queueTimeout) ?? p.queueTimeout }
                }
            default: break
            }
        }
        if p.adaptive && p.maxInFlightPerNode == nil {
            r.report(node, "protection.adaptive needs max_in_flight_per_node as its ceiling", fix: "add 'max_in_flight_per_node: 128'")
        }
        return p
    }
}
