import SpillwayS3
import Yams

/// Routes: what each takes, where it sends it, its own timeouts.
extension ConfigLoader {
    static func readRoute(_ node: Node, index: Int, _ r: YAMLReader) -> (RouteConfig, poolNodes: [Node])? {
        typealias Keys = ConfigKeys.Route
        var name = "route-\(index + 1)"
        var match = RouteMatch()
        var pools: [(String, Node)] = []
        var overrides = TimeoutOverrides()
        var priorityClass: String?
        var coalesce: CoalesceConfig?
        var split: SplitConfig?
        for (key, keyNode, value) in r.entries(node, of: "routes[]", named: "a route") {
            switch key {
            case "name": name = r.string(value, Keys.name) ?? name
            case "class": priorityClass = r.string(value, Keys.priorityClass)
            case "pool", "pools":
                if !pools.isEmpty {
                    r.report(keyNode, "route '\(name)' has both pool and pools", fix: "use 'pools: [first, second]' alone")
                    continue
                }
                for item in r.list(value) {
                    if let p = r.string(item, "a route pool") { pools.append((p, item)) }
                }
            case "match": match = readMatch(value, r)
            case "coalesce": coalesce = readCoalesce(value, r)
            case "split":
                var config = SplitConfig()
                r.fill(&config, from: value, of: "routes[].split", named: "split", [
                    .size(Keys.splitAbove, \.above), .size(Keys.splitPart, \.part), .int(Keys.splitParallel, \.parallel),
                ])
                split = config
            case "timeouts":
                r.fill(&overrides, from: value, of: "routes[].timeouts", named: "route timeouts", [
                    .duration(Keys.timeoutConnect, \.connect), .duration(Keys.timeoutFirstByte, \.firstByte),
                    .duration(Keys.timeoutAttempt, \.attempt), .duration(Keys.timeoutIdle, \.idle),
                ])
            default: break
            }
        }
        guard !pools.isEmpty else {
            r.report(node, "route '\(name)' names no pool", fix: "add 'pool: <a pool name>'")
            return nil
        }
        return (
            RouteConfig(name: name, match: match, pools: pools.map(\.0), timeouts: overrides, priorityClass: priorityClass, coalesce: coalesce, split: split),
            pools.map(\.1)
        )
    }

    /// `coalesce:` (nil when not enabled).
    static func readCoalesce(_ node: Node, _ r: YAMLReader) -> CoalesceConfig? {
        typealias Keys = ConfigKeys.Route
        struct Read { var enabled = Keys.coalesceEnabled.bool; var config = CoalesceConfig() }
        var read = Read()
        r.fill(&read, from: node, of: "routes[].coalesce", named: "coalesce", [
            .bool(Keys.coalesceEnabled, \.enabled), .size(Keys.coalesceRing, \.config.ring),
            .bool(Keys.coalesceTrustVerified, \.config.trustVerified),
        ])
        return read.enabled ? read.config : nil
    }

    static func readMatch(_ node: Node, _ r: YAMLReader) -> RouteMatch {
        typealias Keys = ConfigKeys.Route
        var match = RouteMatch()
        for (key, _, value) in r.entries(node, of: "routes[].match", named: "match") {
            switch key {
            case "bucket": match.bucket = r.string(value, Keys.bucket)
            case "prefix": match.prefix = r.string(value, Keys.prefix)
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
