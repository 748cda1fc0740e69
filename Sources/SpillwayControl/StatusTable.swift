import SpillwayPolicy

/// The text `spillway top` shows: the gateway's totals, then one row per node, tenant and bucket.
/// Rates come from two samples `seconds` apart; with no earlier sample they show as `-`.
public enum StatusTable {
    public static func render(_ now: GatewayStatus, previous: GatewayStatus?, seconds: Double, width: Int = 120, rows: Int = 10) -> String {
        let rate = Rates(seconds: seconds)
        let t = now.totals
        let p = previous?.totals
        var out: [String] = []
        out.append(
            "spillway  config v\(now.configVersion)  up \(Int(now.uptimeSeconds)) s  in flight \(t.inFlight)  "
                + "req/s \(rate.of(t.requests, p?.requests))  MB/s \(rate.mb(t.bytesOut, p?.bytesOut))"
                + (now.fleetRedisReachable.map { $0 ? "  fleet ok" : "  fleet: Redis unreachable" } ?? ""))
        out.append(
            "requests \(t.requests)  errors \(t.errors)  retries \(t.retries)  hedges \(t.hedges) (won \(t.hedgeWins))  "
                + "resumes \(t.resumes)  queued \(t.queued)  shed \(t.shed)  refused \(t.refused)")
        out.append("")
        out.append(row(["POOL", "NODE", "STATE", "IN FLIGHT", "REQ/S", "MB/S", "EWMA MS", "ERRORS", "EJECTIONS", "WEIGHT"], [8, 26, 12, 10, 9, 9, 9, 8, 10, 6], left: 3))
        let before = Dictionary(
            (previous?.pools ?? []).flatMap { pool in pool.nodes.map { ("\(pool.name)|\($0.index)", $0) } }, uniquingKeysWith: { a, _ in a })
        for pool in now.pools {
            for node in pool.nodes {
                let o = before["\(pool.name)|\(node.index)"]
                let inFlight = node.inFlightLimit.map { "\(node.inFlight)/\($0)" } ?? "\(node.inFlight)"
                out.append(
                    row(
                        [pool.name, node.url, state(node), inFlight, rate.of(node.requests, o?.requests), rate.mb(node.bytesOut, o?.bytesOut),
                         fixed(node.latencyEWMAms, 1), "\(node.errors)", "\(node.ejections)", "\(node.weight)"],
                        [8, 26, 12, 10, 9, 9, 9, 8, 10, 6], left: 3))
            }
        }
        for (title, list, old) in [("TENANT", now.tenants, previous?.tenants), ("BUCKET", now.buckets, previous?.buckets)] {
            out.append("")
            out.append(row([title, "CLASS", "REQ/S", "MB/S", "REQUESTS", "ERRORS", "QUEUED", "SHED"], [26, 12, 9, 9, 10, 8, 8, 8]))
            let earlier = Dictionary((old ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for item in list.prefix(rows) {
                let o = earlier[item.name]
                out.append(
                    row(
                        [item.name, item.className ?? "", rate.of(item.requests, o?.requests), rate.mb(item.bytesOut, o?.bytesOut),
                         "\(item.requests)", "\(item.errors)", "\(item.queued)", "\(item.shed)"],
                        [26, 12, 9, 9, 10, 8, 8, 8]))
            }
        }
        return out.map { String($0.prefix(width)) }.joined(separator: "\n")
    }

    static func state(_ node: NodeStatus) -> String {
        if node.drained { return "drained" }
        if let seconds = node.ejectedForSeconds { return "ejected \(Int(seconds.rounded(.up)))s" }
        if !node.healthy { return "down" }
        if node.throttled { return "throttling" }
        return "up"
    }

    private struct Rates {
        let seconds: Double
        func of(_ now: Int, _ before: Int?) -> String {
            guard let before, seconds > 0 else { return "-" }
            return fixed(Double(max(0, now - before)) / seconds, 1)
        }
        func mb(_ now: Int, _ before: Int?) -> String {
            guard let before, seconds > 0 else { return "-" }
            return fixed(Double(max(0, now - before)) / seconds / 1e6, 2)
        }
    }

    private static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let whole = scaled / Int(scale)
        guard digits > 0 else { return "\(whole)" }
        let fraction = String(abs(scaled % Int(scale)))
        return "\(whole).\(String(repeating: "0", count: digits - fraction.count))\(fraction)"
    }

    /// The first `left` columns are names, left-aligned; the numbers after them are right-aligned.
    private static func row(_ cells: [String], _ widths: [Int], left: Int = 2) -> String {
        zip(cells, widths).enumerated().map { i, pair in
            let (cell, width) = pair
            let text = cell.count > width ? String(cell.prefix(width - 1)) + "…" : cell
            let pad = String(repeating: " ", count: max(0, width - text.count))
            return i < left ? text + pad : pad + text
        }.joined(separator: " ")
    }
}
