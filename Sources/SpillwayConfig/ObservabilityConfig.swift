/// The admin listener: metrics, the admin API and the dashboard, on an address of its own.
public struct AdminConfig: Sendable, Equatable {
    public var listen: HostPort
    /// Bearer token the admin API requires for every call but `GET /metrics` and the dashboard page.
    /// Nil: the API is open (acceptable on loopback only).
    public var token: String?
    /// Environment variable to take the token from (keeps it out of the config file).
    public var tokenEnvironment: String?
    /// Admin connections open at once; more are closed at once.
    public var maxConnections = ConfigKeys.Admin.maxConnections.int
    /// An admin connection with nothing read or written for this long is closed.
    public var idleTimeout = ConfigKeys.Admin.idleTimeout.duration

    public init(listen: HostPort, token: String? = nil, tokenEnvironment: String? = nil) {
        self.listen = listen
        self.token = token
        self.tokenEnvironment = tokenEnvironment
    }
}

/// One JSON line per request.
public struct AccessLogConfig: Sendable, Equatable {
    /// `stdout`, or a file path (reopened on SIGHUP, for log rotation).
    public var path: String
    /// Log a hash of the key instead of the key.
    public var hashKeys: Bool

    public init(path: String = "stdout", hashKeys: Bool = false) {
        self.path = path
        self.hashKeys = hashKeys
    }
}

/// Spans for every request, sent to an OpenTelemetry collector over OTLP/HTTP (JSON).
public struct TracingConfig: Sendable, Equatable {
    public var endpoint: HostPort
    public var serviceName = "spillway"
    /// Share of requests without a sampled `traceparent` that start a trace (a client's sampled
    /// trace is always continued, an unsampled one never).
    public var samplePercent = ConfigKeys.Tracing.samplePercent.int

    public init(endpoint: HostPort) { self.endpoint = endpoint }
}

public struct ObservabilityConfig: Sendable, Equatable {
    public var admin: AdminConfig?
    public var accessLog: AccessLogConfig?
    public var tracing: TracingConfig?
    /// Buckets and tenants get their own metric label up to this many; the rest are counted as `other`.
    public var topN = ConfigKeys.topN.int

    public init() {}
}
