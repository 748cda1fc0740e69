/// A token bucket: `rate` tokens per second, holding at most `capacity` (the burst). Requests take
/// one token each; bandwidth spends bytes as tokens and may run into debt, which is paid back by
/// waiting (pacing), so a stream slows to the rate instead of being refused after the fact.
public struct TokenBucket: Sendable, Equatable {
    public let rate: Double
    public let capacity: Double
    public private(set) var tokens: Double
    private var stamp: Moment

    public init(rate: Double, capacity: Double, at now: Moment) {
        self.rate = max(rate, 0.000_001)
        self.capacity = max(capacity, 1)
        self.tokens = self.capacity
        self.stamp = now
    }

    /// Takes `n` tokens if they are there; otherwise takes nothing.
    public mutating func take(_ n: Double = 1, at now: Moment) -> Bool {
        refill(at: now)
        guard tokens >= n - 1e-9 else { return false }
        tokens -= n
        return true
    }

    /// How long until `n` tokens will be there (zero if they are now).
    public mutating func wait(for n: Double = 1, at now: Moment) -> Duration {
        refill(at: now)
        guard tokens < n else { return .zero }
        return .saturating(seconds: (n - tokens) / rate)
    }

    /// Spends `n` tokens even into debt; returns how long to pause so the spending keeps to the rate.
    public mutating func spend(_ n: Double, at now: Moment) -> Duration {
        refill(at: now)
        tokens -= n
        guard tokens < 0 else { return .zero }
        return .saturating(seconds: -tokens / rate)
    }

    /// Gives tokens back (a request admitted here but shed by a later limit).
    public mutating func refund(_ n: Double = 1) { tokens = min(capacity, tokens + n) }

    private mutating func refill(at now: Moment) {
        let elapsed = now.since(stamp).seconds
        guard elapsed > 0 else { return }
        tokens = min(capacity, tokens + elapsed * rate)
        stamp = now
    }
}
