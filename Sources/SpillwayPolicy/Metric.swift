/// One metric Spillway exports, declared once: its name, type, labels and what it counts. The data
/// plane, the admin listener and the CLI name metrics only through these; `/metrics` carries the
/// help text; the table in docs/observability.md is rendered from them (a test checks it).
public struct Metric: Sendable, Hashable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public let name: String
    public let kind: Kind
    public let labels: [String]
    public let help: String

    init(_ name: String, _ kind: Kind, _ labels: [String], _ help: String) {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.help = help
    }

    /// The label pairs for `values`, in the declared order.
    public func dimensions(_ values: String...) -> [(String, String)] {
        precondition(values.count == labels.count, "\(name) takes \(labels.count) labels")
        return Array(zip(labels, values))
    }
}

public enum MetricCatalog {
    public static let requests = Metric("spillway_requests_total", .counter, ["s3_operation", "bucket", "tenant", "pool", "node", "status"], "Finished requests, by the node that answered and the status class (`2xx`…).")
    public static let errors = Metric("spillway_errors_total", .counter, ["s3_operation", "pool", "code"], "Answers of 4xx and 5xx by S3 error code (`NoSuchKey`, `SlowDown`, …; read from the node's error body as it passes, or `http_<status>`).")
    public static let duration = Metric("spillway_request_duration_seconds", .histogram, ["s3_operation", "pool", "node"], "Total time of requests (0.5 ms to 30 s).")
    public static let firstByte = Metric("spillway_first_byte_seconds", .histogram, ["s3_operation", "pool", "node"], "Time to the first response byte.")
    public static let bytesReceived = Metric("spillway_bytes_received_total", .counter, ["s3_operation", "bucket", "tenant"], "Body bytes from clients.")
    public static let bytesSent = Metric("spillway_bytes_sent_total", .counter, ["s3_operation", "bucket", "tenant"], "Body bytes to clients.")
    public static let inFlight = Metric("spillway_in_flight", .gauge, ["s3_operation", "bucket", "tenant"], "Requests in the gateway now, waiting in a queue or at a node.")
    public static let retries = Metric("spillway_retries_total", .counter, ["pool"], "Attempts made again after a failure.")
    public static let hedges = Metric("spillway_hedges_total", .counter, ["pool"], "Reads that got a hedge (a second attempt racing the first).")
    public static let hedgeWins = Metric("spillway_hedge_wins_total", .counter, ["pool"], "Hedges whose answer won.")
    public static let resumes = Metric("spillway_resumes_total", .counter, ["pool"], "Downloads continued from another node after a failure mid-body.")
    public static let resumedBytes = Metric("spillway_resumed_bytes_total", .counter, ["pool"], "Bytes those resumes delivered.")
    public static let limiterDecisions = Metric("spillway_limiter_decisions_total", .counter, ["tenant", "class", "decision"], "Storage protection at work: `admitted`, `queued` (then admitted), `shed`, `refused` (at the edge).")
    public static let connectionsOpened = Metric("spillway_node_connections_opened_total", .counter, ["pool", "node"], "Connections dialled to a node.")
    public static let connectionsReused = Metric("spillway_node_connections_reused_total", .counter, ["pool", "node"], "Requests that reused a parked keep-alive connection.")
    public static let healthEvents = Metric("spillway_health_events_total", .counter, ["pool", "node", "kind"], "What happened to nodes: `ejected`, `ejection_refused`, `readmitted`, `probe_down`, `probe_up`, `throttled`, `drained`, `undrained`, `weight`.")
    public static let configReloads = Metric("spillway_config_reloads_total", .counter, ["result"], "Config changes (SIGHUP, the admin API) `applied` or `refused`.")
    public static let nodeUp = Metric("spillway_node_up", .gauge, ["pool", "node"], "1 while the node takes requests (healthy, not ejected, drained or throttling).")
    public static let nodeHealthy = Metric("spillway_node_healthy", .gauge, ["pool", "node"], "1 while the node passes its health checks.")
    public static let nodeDrained = Metric("spillway_node_drained", .gauge, ["pool", "node"], "1 while the node is drained.")
    public static let nodeEjected = Metric("spillway_node_ejected", .gauge, ["pool", "node"], "1 while the node is ejected.")
    public static let nodeEjections = Metric("spillway_node_ejections", .gauge, ["pool", "node"], "Ejections of the node so far.")
    public static let nodeInFlight = Metric("spillway_node_in_flight", .gauge, ["pool", "node"], "Requests at the node now.")
    public static let nodeInFlightLimit = Metric("spillway_node_in_flight_limit", .gauge, ["pool", "node"], "The node's in-flight cap now (adaptive, when set).")
    public static let nodeLatency = Metric("spillway_node_latency_ewma_seconds", .gauge, ["pool", "node"], "The balancer's latency estimate for the node.")
    public static let budgetBalance = Metric("spillway_retry_budget_balance", .gauge, ["pool"], "Retries the pool's budget would allow now.")
    public static let budgetWithdrawn = Metric("spillway_retry_budget_withdrawn", .gauge, ["pool"], "Retries, hedges and resumes the budget paid for.")
    public static let budgetRefused = Metric("spillway_retry_budget_refused", .gauge, ["pool"], "Retries, hedges and resumes the budget refused.")
    public static let queueDepth = Metric("spillway_queue_depth", .gauge, ["pool"], "Requests waiting for a node with room.")
    public static let tlsHandshakes = Metric("spillway_node_tls_handshakes_total", .counter, ["pool", "node"], "TLS handshakes with an `https://` node: one per connection opened, so keep-alive reuse keeps it low.")
    public static let tlsCertificateExpiry = Metric("spillway_tls_certificate_expiry_timestamp_seconds", .gauge, ["listener"], "When the certificate a TLS listener serves stops being valid (seconds since 1970).")
    public static let tlsReloads = Metric("spillway_tls_reloads_total", .counter, ["result"], "Certificate reloads after a watched file changed: `applied`, or `refused` (the previous certificate stays).")
    public static let tlsHandshakeFailures = Metric("spillway_tls_handshake_failures_total", .counter, ["listener"], "Client TLS handshakes that failed (no or bad client certificate, no common version or cipher, timed out).")
    public static let coalesceFlights = Metric("spillway_coalesce_flights_total", .counter, ["pool"], "Fetches from storage that coalesced GETs of one object could share.")
    public static let coalesceFollowers = Metric("spillway_coalesce_followers_total", .counter, ["pool"], "GETs that asked to join a fetch already in flight.")
    public static let coalesceDetached = Metric("spillway_coalesce_detached_total", .counter, ["pool"], "Readers of a flight that fell a ring behind, or were not let in, and went on with their own fetch.")
    public static let coalesceStorageBytes = Metric("spillway_coalesce_storage_bytes_total", .counter, ["pool"], "Body bytes flights read from storage.")
    public static let coalesceClientBytes = Metric("spillway_coalesce_client_bytes_total", .counter, ["pool"], "Body bytes flights delivered to their readers (against `storage_bytes`: what coalescing saved).")
    public static let splitTransfers = Metric("spillway_split_downloads_total", .counter, ["pool"], "GETs whose body was fetched as ranged parts from several nodes.")
    public static let splitParts = Metric("spillway_split_parts_total", .counter, ["pool"], "Ranged parts those downloads fetched.")
    public static let splitPartRetries = Metric("spillway_split_part_retries_total", .counter, ["pool"], "Parts fetched again from where they stopped, after a failure or a stall.")
    public static let configVersion = Metric("spillway_config_version", .gauge, [], "The version of the config in force.")
    public static let redisReachable = Metric("spillway_fleet_redis_reachable", .gauge, [], "1 while fleet-wide limits reach Redis.")

    public static let all: [Metric] = [
        requests, errors, duration, firstByte, bytesReceived, bytesSent, inFlight, retries, hedges, hedgeWins, resumes, resumedBytes,
        limiterDecisions, connectionsOpened, connectionsReused, healthEvents, configReloads, nodeUp, nodeHealthy, nodeDrained,
        nodeEjected, nodeEjections, nodeInFlight, nodeInFlightLimit, nodeLatency, budgetBalance, budgetWithdrawn, budgetRefused,
        queueDepth, tlsHandshakes, tlsCertificateExpiry, tlsReloads, tlsHandshakeFailures, coalesceFlights, coalesceFollowers,
        coalesceDetached, coalesceStorageBytes, coalesceClientBytes, splitTransfers, splitParts, splitPartRetries, configVersion,
        redisReachable,
    ]

    public static let tableBegin = "<!-- metrics: generated from Sources/SpillwayPolicy/Metric.swift -->"
    public static let tableEnd = "<!-- end of metrics -->"

    /// The metrics table of docs/observability.md.
    public static func markdown() -> String {
        var out = "\(tableBegin)\n\n| Metric | Type | Labels | What it counts |\n|---|---|---|---|\n"
        for m in all {
            out += "| `\(m.name)` | \(m.kind.rawValue) | \(m.labels.map { "`\($0)`" }.joined(separator: ", ")) | \(m.help) |\n"
        }
        return out + "\n" + tableEnd
    }

    /// `# HELP` lines for the Prometheus exposition (the backend knows names, not what they mean).
    public static func help(for name: String) -> String? { all.first { $0.name == name }?.help }
}

extension MetricCatalog {
    /// The generated table in a document, markers included.
    public static func section(of document: String) -> String? {
        guard let start = document.firstRange(of: tableBegin), let stop = document.firstRange(of: tableEnd),
              start.lowerBound < stop.lowerBound else { return nil }
        return String(document[start.lowerBound..<stop.upperBound])
    }
}
