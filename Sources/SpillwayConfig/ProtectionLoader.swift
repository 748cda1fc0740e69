import SpillwayS3
import Yams

/// The storage-protection part of the config: classes, tenants, limits, identity, fleet.
extension ConfigLoader {
    static let protectionKeys = ["classes", "default_class", "tenants", "default_limits", "buckets", "clients", "auth", "fleet"]
    static let limitKeys = ["requests", "burst", "bandwidth", "concurrency", "global"]
    static let tenantKeys = ["name", "access_keys", "class", "weight", "limits"]

    static func readProtection(_ entries: [(key: String, keyNode: Node, value: Node)], _ r: YAMLReader) -> ProtectionConfig {
        var p = ProtectionConfig()
        var classNodes: [Node] = []
        for (key, _, value) in entries {
            switch key {
            case "classes":
                let names = r.list(value).compactMap { r.string($0, "a class name") }
                if Set(names).count != names.count { r.report(value, "a class is listed twice", fix: "list each class once, most important first") }
                if !names.isEmpty { p.classes = names }
            case "default_class":
                if let name = r.string(value, "default_class") {
                    p.defaultClass = name
                    classNodes.append(value)
                }
            case "tenants":
                var seen: [String: Int] = [:]
                var keys: [String: String] = [:]
                for item in r.list(value) {
                    guard let tenant = readTenant(item, r, classNodes: &classNodes) else { continue }
                    if let line = seen[tenant.name] {
                        r.report(item, "tenant '\(tenant.name)' is defined twice (first on line \(line))", fix: "merge them")
                    }
                    seen[tenant.name] = item.mark?.line ?? 0
                    for key in tenant.accessKeys {
                        if let other = keys[key] {
                            r.report(item, "access key \(key) belongs to both '\(other)' and '\(tenant.name)'", fix: "give each key one tenant")
                        }
                        keys[key] = tenant.name
                    }
                    p.tenants.append(tenant)
                }
            case "default_limits":
                p.defaultLimits = readLimits(value, r)
            case "buckets":
                for item in r.list(value) {
                    var bucket: String?
                    var limits = LimitsConfig()
                    for (k, _, v) in r.mapping(item, section: "a bucket limit", allowed: ["bucket", "limits"]) {
                        if k == "bucket" { bucket = r.string(v, "bucket") } else { limits = readLimits(v, r) }
                    }
                    guard let bucket else {
                        r.report(item, "a bucket limit names no bucket", fix: "add 'bucket: <name or glob>'")
                        continue
                    }
                    p.buckets.append(BucketLimitsConfig(bucket: bucket, limits: limits))
                }
            case "clients":
                for (k, _, v) in r.mapping(value, section: "clients", allowed: ["max_connections_per_address"]) where k == "max_connections_per_address" {
                    p.maxConnectionsPerAddress = r.int(v, "clients.max_connections_per_address", range: 1...1_000_000)
                }
            case "auth":
                for (k, _, v) in r.mapping(value, section: "auth", allowed: ["verify_signatures", "credentials", "credentials_file", "max_clock_skew"]) {
                    switch k {
                    case "verify_signatures": p.identity.verifySignatures = r.bool(v, "auth.verify_signatures") ?? false
                    case "credentials": p.identity.credentials.merge(readCredentials(v, r)) { $1 }
                    case "credentials_file": p.identity.credentialsFile = r.string(v, "auth.credentials_file")
                    case "max_clock_skew": p.identity.maxClockSkew = r.duration(v, "auth.max_clock_skew") ?? p.identity.maxClockSkew
                    default: break
                    }
                }
            case "fleet":
                var redis: HostPort?
                var batch = 10
                var share = 1.0
                for (k, _, v) in r.mapping(value, section: "fleet", allowed: ["redis", "batch", "local_share_percent"]) {
                    switch k {
                    case "redis":
                        if let text = r.string(v, "fleet.redis") {
                            if let hp = ValueParsers.hostPort(text) { redis = HostPort(host: hp.host, port: hp.port) } else {
                                r.report(v, "fleet.redis '\(text)' is not host:port", fix: "for example 127.0.0.1:6379")
                            }
                        }
                    case "batch": batch = r.int(v, "fleet.batch", range: 1...10_000) ?? batch
                    case "local_share_percent": share = Double(r.int(v, "fleet.local_share_percent", range: 1...100) ?? 100) / 100
                    default: break
                    }
                }
                if let redis {
                    var fleet = FleetConfig(redis: redis)
                    fleet.batch = batch
                    fleet.localShare = share
                    p.fleet = fleet
                } else {
                    r.report(value, "fleet has no redis address", fix: "add 'redis: 127.0.0.1:6379'")
                }
            default:
                break
            }
        }
        for node in classNodes {
            if let name = node.string, !p.classes.contains(name) {
                r.report(node, "class '\(name)' is not among the classes", fix: "use one of: \(p.classes.joined(separator: ", "))")
            }
        }
        if !p.classes.contains(p.defaultClass) {
            p.defaultClass = p.classes[min(1, p.classes.count - 1)]
        }
        if p.identity.verifySignatures && p.identity.credentials.isEmpty && p.identity.credentialsFile == nil {
            r.report(line: 1, column: 1, "auth.verify_signatures is on but no credentials are given",
                     fix: "add auth.credentials or auth.credentials_file")
        }
        return p
    }

    static func readTenant(_ node: Node, _ r: YAMLReader, classNodes: inout [Node]) -> TenantConfig? {
        var t = TenantConfig(name: "")
        for (key, _, value) in r.mapping(node, section: "a tenant", allowed: tenantKeys) {
            switch key {
            case "name": t.name = r.string(value, "tenant name") ?? ""
            case "access_keys": t.accessKeys = r.list(value).compactMap { r.string($0, "an access key") }
            case "class":
                t.priorityClass = r.string(value, "tenant class")
                classNodes.append(value)
            case "weight": t.weight = r.int(value, "tenant weight", range: 1...1000) ?? 1
            case "limits": t.limits = readLimits(value, r)
            default: break
            }
        }
        guard !t.name.isEmpty else {
            r.report(node, "a tenant has no name", fix: "add 'name: team-a'")
            return nil
        }
        return t
    }

    static func readLimits(_ node: Node, _ r: YAMLReader) -> LimitsConfig {
        var l = LimitsConfig()
        for (key, _, value) in r.mapping(node, section: "limits", allowed: limitKeys) {
            switch key {
            case "requests":
                let classes = S3OperationClass.allCases.map(\.rawValue)
                for (k, _, v) in r.mapping(value, section: "limits.requests", allowed: classes) {
                    guard let cls = S3OperationClass(rawValue: k) else { continue }
                    if case .scalar(let scalar) = v, let rate = Double(scalar.string), rate >= 0.001, rate <= 1e9 {
                        l.requestsPerSecond[cls] = rate
                    } else {
                        r.report(v, "limits.requests.\(k) must be a number of requests per second between 0.001 and 1000000000", fix: "for example 100")
                    }
                }
            case "burst": l.burst = r.duration(value, "limits.burst") ?? l.burst
            case "bandwidth":
                for (k, _, v) in r.mapping(value, section: "limits.bandwidth", allowed: ["read", "write"]) {
                    guard let text = r.string(v, "limits.bandwidth.\(k)") else { continue }
                    guard let bytes = ValueParsers.size(text), bytes > 0 else {
                        r.report(v, "limits.bandwidth.\(k) '\(text)' is not a size per second", fix: "for example 100MiB")
                        continue
                    }
                    if k == "read" { l.readBytesPerSecond = Double(bytes) } else { l.writeBytesPerSecond = Double(bytes) }
                }
            case "concurrency": l.concurrency = r.int(value, "limits.concurrency", range: 1...1_000_000)
            case "global": l.global = r.bool(value, "limits.global") ?? false
            default: break
            }
        }
        return l
    }

    static func readCredentials(_ node: Node, _ r: YAMLReader) -> [String: String] {
        var out: [String: String] = [:]
        guard case .mapping(let mapping) = node else {
            r.report(node, "credentials must map access key ids to secrets", fix: "AKIAEXAMPLE: secret")
            return out
        }
        for (k, v) in mapping {
            guard let key = k.string, let secret = v.string, !key.isEmpty, !secret.isEmpty else {
                r.report(k, "a credential needs an access key id and a secret")
                continue
            }
            out[key] = secret
        }
        return out
    }

    /// A credentials file: a YAML mapping of access key ids to secrets.
    public static func loadCredentials(text: String, file: String) -> Result<[String: String], ConfigError> {
        let reader = YAMLReader(file: file)
        guard let root = reader.parse(text) else { return .failure(ConfigError(issues: reader.issues)) }
        let credentials = readCredentials(root, reader)
        return reader.issues.isEmpty ? .success(credentials) : .failure(ConfigError(issues: reader.issues))
    }

    static func readNodeProtection(_ node: Node, _ r: YAMLReader) -> NodeProtectionConfig {
        var p = NodeProtectionConfig()
        for (key, _, value) in r.mapping(node, section: "protection", allowed: ["max_in_flight_per_node", "adaptive", "queue"]) {
            switch key {
            case "max_in_flight_per_node": p.maxInFlightPerNode = r.int(value, "protection.max_in_flight_per_node", range: 1...100_000)
            case "adaptive": p.adaptive = r.bool(value, "protection.adaptive") ?? false
            case "queue":
                for (k, _, v) in r.mapping(value, section: "protection.queue", allowed: ["max", "timeout"]) {
                    if k == "max" { p.queueCapacity = r.int(v, "protection.queue.max", range: 0...1_000_000) ?? p.queueCapacity }
                    if k == "timeout" { p.queueTimeout = r.duration(v, "protection.queue.timeout") ?? p.queueTimeout }
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
