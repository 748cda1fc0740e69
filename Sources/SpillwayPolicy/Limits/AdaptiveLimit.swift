/// An in-flight cap for one node that follows its latency (AIMD, in the manner of TCP's congestion
/// control and Netflix's concurrency-limits): while responses come back near the node's best latency
/// the cap grows by about one per round of requests; when latency climbs past `tolerance` times the
/// best, or requests time out, it shrinks by `backoff`. The node is kept near its best throughput
/// instead of being pushed into collapse.
public struct AdaptiveLimit: Sendable, Equatable {
    public let minimum: Int
    public let maximum: Int
    public let tolerance: Double
    public let backoff: Double
    public private(set) var value: Double
    /// The best time to first byte seen lately; forgotten slowly so a node that got faster for good
    /// is judged by its new speed.
    public private(set) var bestNanos: Double?
    private var lastDecrease: Moment?

    public init(minimum: Int = 4, maximum: Int = 256, initial: Int? = nil, tolerance: Double = 2, backoff: Double = 0.9) {
        let low = max(1, minimum)
        let high = max(low, maximum)
        self.minimum = low
        self.maximum = high
        self.tolerance = tolerance
        self.backoff = backoff
        self.value = Double(initial.map { min(max($0, low), high) } ?? high)
    }

    public var limit: Int { Int(value) }

    public mutating func record(firstByte: Duration?, inFlight: Int, at now: Moment) {
        guard let firstByte else {
            decrease(at: now)  // a timeout or a reset: the node is in trouble
            return
        }
        let rtt = Double(firstByte.nanoseconds)
        bestNanos = min(bestNanos.map { $0 * 1.0005 } ?? rtt, rtt)  // drifts up 0.05 % per sample
        if let best = bestNanos, rtt > best * tolerance {
            decrease(at: now)
        } else if Double(inFlight) >= value * 0.5 {
            // Only grow a limit that is being used.
            value = min(Double(maximum), value + 1 / value)
        }
    }

    /// At most one decrease per `best latency` window, so one burst of slow answers counts once.
    private mutating func decrease(at now: Moment) {
        let window = Duration.nanoseconds(Int64(max(bestNanos ?? 1_000_000, 1_000_000)))
        if let last = lastDecrease, now.since(last) < window { return }
        lastDecrease = now
        value = max(Double(minimum), value * backoff)
    }
}
