/// A point on a monotonic clock, in nanoseconds. Pure code receives moments as arguments and never
/// reads a clock, so every state machine here can be driven by tests to any instant.
public struct Moment: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static func < (a: Moment, b: Moment) -> Bool { a.nanoseconds < b.nanoseconds }

    public static func + (a: Moment, d: Duration) -> Moment {
        Moment(nanoseconds: a.nanoseconds &+ UInt64(max(0, d.nanoseconds)))
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    public func since(_ earlier: Moment) -> Duration {
        .nanoseconds(Int64(bitPattern: nanoseconds >= earlier.nanoseconds ? nanoseconds - earlier.nanoseconds : 0))
    }

    public var description: String { "t+\(Double(nanoseconds) / 1e9)s" }
}

extension Duration {
    /// Saturates at `Int64.max` nanoseconds (292 years), so no duration from outside can trap.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? (seconds < 0 ? .min : .max) : total
    }

    /// `seconds` as a duration, saturating instead of trapping on huge, infinite or NaN values.
    public static func saturating(seconds: Double) -> Duration {
        guard seconds.isFinite else { return seconds.isNaN ? .zero : (seconds < 0 ? .zero : .nanoseconds(Int64.max)) }
        let nanos = seconds * 1e9
        if nanos >= 9.2e18 { return .nanoseconds(Int64.max) }
        if nanos <= -9.2e18 { return .nanoseconds(Int64.min) }
        return .nanoseconds(Int64(nanos.rounded(.up)))
    }

    public var seconds: Double { Double(nanoseconds) / 1e9 }
}

/// A small, fast, seedable generator (SplitMix64), so jitter is reproducible in tests.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A double in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
