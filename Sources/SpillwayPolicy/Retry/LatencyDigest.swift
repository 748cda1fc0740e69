/// Recent time-to-first-byte samples of a pool, for the hedge delay ("send a second attempt when the
/// first has not answered by the p95"). A fixed ring of samples; the percentile is recomputed at most
/// once per `refresh` so the sort stays off the per-request path.
public struct LatencyDigest: Sendable, Equatable {
    private var samples: [Int64]
    private var next = 0
    private var filled = 0
    private var cached: Duration?
    private var cachedAt: Moment?
    public let percentile: Double
    public let refresh: Duration

    public init(capacity: Int = 512, percentile: Double = 0.95, refresh: Duration = .milliseconds(250)) {
        samples = Array(repeating: 0, count: max(8, capacity))
        self.percentile = min(max(percentile, 0), 1)
        self.refresh = refresh
    }

    public var count: Int { filled }

    public mutating func record(_ d: Duration) {
        samples[next] = d.nanoseconds
        next = (next + 1) % samples.count
        filled = min(filled + 1, samples.count)
    }

    /// The percentile of recent samples; nil until there are enough to say anything (16).
    public mutating func value(at now: Moment) -> Duration? {
        guard filled >= 16 else { return nil }
        if let cached, let cachedAt, now.since(cachedAt) < refresh { return cached }
        let sorted = samples[0..<filled].sorted()
        let index = min(filled - 1, Int((Double(filled - 1) * percentile).rounded(.up)))
        let v = Duration.nanoseconds(sorted[index])
        cached = v
        cachedAt = now
        return v
    }
}
