/// Capped exponential backoff with full jitter (AWS's recommendation): retry `n` waits a uniformly
/// random time in [0, min(cap, base * 2^(n-1))]. The random draw is an argument.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .milliseconds(20), cap: Duration = .seconds(1)) {
        self.base = base
        self.cap = cap
    }

    /// `retry` counts from 1; `unit` is a random number in [0, 1).
    public func delay(retry: Int, unit: Double) -> Duration {
        let exponent = min(max(0, retry - 1), 30)
        let ceiling = min(Double(cap.nanoseconds), Double(base.nanoseconds) * Double(1 << exponent))
        return .nanoseconds(Int64(ceiling * min(max(unit, 0), 1)))
    }
}

/// What an S3 node's `Retry-After` asks for, bounded so a node cannot park a request for minutes.
public enum RetryAfter {
    /// Seconds in the header, or the default when absent or unreadable; never more than `limit`.
    public static func delay(header: Int?, default fallback: Duration = .seconds(1), limit: Duration = .seconds(30)) -> Duration {
        guard let header, header >= 0 else { return fallback }
        return min(.seconds(header), limit)
    }
}
