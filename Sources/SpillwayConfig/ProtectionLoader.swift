import SpillwayS3
import Yams

/// The storage-protection part of the config: classes, tenants, limits, identity, fleet.
extension ConfigLoader {
    static let protectionKeys = ["classes", "default_class", "tenants", "default_limits", "buckets", "clients", "auth", "fleet"]

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
                if let name = r.string(value, ConfigKeys.defaultClass) {
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
                    for (k, _, v) in r.entries(item, of: "buckets[]", named: "a bucket limit") {
                        if k == "bucket" { bucket = r.string(v, ConfigKeys.Bucket.bucket) } else { limits = readLimits(v, r) }
                    }
                    guard let bucket else {
                        r.report(item, "a bucket limit names no bucket", fix: "add 'bucket: <name or glob>'")
                        continue
                    }
                    p.buckets.append(BucketLimitsConfig(bucket: bucket, limits: limits))
                }
            case "clients":
                for (k, _, v) in r.entries(value, of: "clients") where k == "max_connections_per_address" {
                    p.maxConnectionsPerAddress = r.int(v, ConfigKeys.maxConnectionsPerAddress)
                }
            case "auth":
                for (k, _, v) in r.entries(value, of: "auth") {
                    switch k {
                    case "verify_signatures": p.identity.verifySignatures = r.bool(v, ConfigKeys.Auth.verifySignatures) ?? false
                    case "credentials": p.identity.credentials.merge(readCredentials(v, r)) { $1 }
                    case "credentials_file": p.identity.credentialsFile = r.string(v, ConfigKeys.Auth.credentialsFile)
                    case "max_clock_skew": p.identity.maxClockSkew = r.duration(v, ConfigKeys.Auth.maxClockSkew) ?? p.identity.maxClockSkew
                    default: break
                    }
                }
            case "fleet":
                var redis: HostPort?
                var batch = ConfigKeys.Fleet.batch.int
                var share = Double(ConfigKeys.Fleet.localSharePercent.int) / 100
                for (k, _, v) in r.entries(value, of: "fleet") {
                    switch k {
                    case "redis": redis = r.hostPort(v, ConfigKeys.Fleet.redis)
                    case "batch": batch = r.int(v, ConfigKeys.Fleet.batch) ?? batch
                    case "local_share_percent": share = Double(r.int(v, ConfigKeys.Fleet.localSharePercent) ?? 100) / 100
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
        for (key, _, value) in r.entries(node, of: "tenants[]", named: "a tenant") {
            switch key {
            case "name": t.name = r.string(value, ConfigKeys.Tenant.name) ?? ""
            case "access_keys": t.accessKeys = r.list(value).compactMap { r.string($0, "an access key") }
            case "class":
                t.priorityClass = r.string(value, ConfigKeys.Tenant.priorityClass)
                classNodes.append(value)
            case "weight": t.weight = r.int(value, ConfigKeys.Tenant.weight) ?? 1
            case "limits": t.limits = readLimits(value, r)
            case "allow": t.allow = readAllow(value, r)
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
        typealias Keys = ConfigKeys.Limits
        var l = LimitsConfig()
        for (key, _, value) in r.entries(node, of: "limits") {
            switch key {
            case "requests":
                let keys: [S3OperationClass: ConfigKey] = [.read: Keys.read, .write: Keys.write, .list: Keys.list, .delete: Keys.delete, .other: Keys.other]
                for (k, _, v) in r.entries(value, of: "limits.requests") {
                    guard let cls = S3OperationClass(rawValue: k), let rateKey = keys[cls] else { continue }
                    if let rate = r.rate(v, rateKey) { l.requestsPerSecond[cls] = rate }
                }
            case "burst": l.burst = r.duration(value, Keys.burst) ?? l.burst
            case "bandwidth":
                for (k, _, v) in r.entries(value, of: "limits.bandwidth") {
                    guard let bytes = r.size(v, k == "read" ? Keys.bandwidthRead : Keys.bandwidthWrite) else { continue }
                    if k == "read" { l.readBytesPerSecond = Double(bytes) } else { l.writeBytesPerSecond = Double(bytes) }
                }
            case "concurrency": l.concurrency = r.int(value, Keys.concurrency)
            case "global": l.global = r.bool(value, Keys.global) ?? false
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

}
