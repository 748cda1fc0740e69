import SpillwayPolicy

/// The config quick mode builds from command-line arguments: one listener, one pool of the given nodes.
public enum QuickConfig {
    /// `coalesce`: every GET may share a fetch (`--coalesce`); `splitAbove`: GETs of objects larger
    /// than it are split into ranged parts (`--split-above SIZE`). Both through one catch-all route.
    public static func make(listen: String, nodes: [String], balancer: String?, coalesce: Bool = false, splitAbove: String? = nil)
        -> Result<GatewayConfig, ConfigError>
    {
        var issues: [ConfigIssue] = []
        func fail(_ message: String, _ fix: String) {
            issues.append(ConfigIssue(file: "<command line>", line: 1, column: 1, message: message, fix: fix))
        }
        let address = ValueParsers.hostPort(listen, allowPortZero: true)
        if address == nil { fail("--listen '\(listen)' is not host:port", "for example --listen 127.0.0.1:9000") }
        if nodes.isEmpty { fail("no storage nodes given", "list node URLs after the options: http://127.0.0.1:9001 ...") }
        var nodeConfigs: [NodeConfig] = []
        for node in nodes {
            switch ValueParsers.nodeURL(node) {
            case .success(let url): nodeConfigs.append(NodeConfig(url: node, address: HostPort(host: url.host, port: url.port), secure: url.secure))
            case .failure(let problem): fail("\(problem.message): '\(node)'", "write nodes as http://host:port or https://host:port")
            }
        }
        var kind = BalancerKind.peakEWMA
        if let balancer {
            if let k = BalancerKind(rawValue: balancer) { kind = k } else {
                fail("unknown balancer '\(balancer)'", "use peak_ewma, least_outstanding or round_robin")
            }
        }
        var split: SplitConfig?
        if let splitAbove {
            if let above = ValueParsers.size(splitAbove), above > 0 { split = SplitConfig(above: above) } else {
                fail("--split-above '\(splitAbove)' is not a size", "for example --split-above 64MiB")
            }
        }
        guard issues.isEmpty, let address else { return .failure(ConfigError(issues: issues)) }
        let pool = PoolConfig(name: "default", balancer: kind, nodes: nodeConfigs)
        let routes = coalesce || split != nil
            ? [RouteConfig(name: "all", match: RouteMatch(), pools: ["default"], coalesce: coalesce ? CoalesceConfig() : nil, split: split)] : []
        return .success(
            GatewayConfig(listen: [HostPort(host: address.host, port: address.port)], pools: [pool], routes: routes, defaultPool: "default"))
    }

    /// `--admin HOST:PORT`: the admin listener (metrics, admin API, dashboard), in either mode.
    public static func adminAddress(_ text: String) -> Result<HostPort, ConfigError> {
        guard let hp = ValueParsers.hostPort(text, allowPortZero: true) else {
            return .failure(
                ConfigError(issues: [
                    ConfigIssue(file: "<command line>", line: 1, column: 1, message: "--admin '\(text)' is not host:port",
                                fix: "for example --admin 127.0.0.1:9901")
                ]))
        }
        return .success(HostPort(host: hp.host, port: hp.port))
    }
}
