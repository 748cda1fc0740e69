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

/// A span of time in whole nanoseconds (never negative). Deadlines on the request path are sums of
/// a moment and one of these: turning a `Duration` into nanoseconds costs a 128-bit division, so
/// the config's durations are turned once, when it is compiled, not at every event.
public struct Nanos: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64

    public init(_ duration: Duration) { value = UInt64(max(0, duration.nanoseconds)) }

    public static func < (a: Nanos, b: Nanos) -> Bool { a.value < b.value }

    public var duration: Duration { .nanoseconds(Int64(clamping: value)) }
    public var seconds: Double { Double(value) / 1e9 }
    public var description: String { duration.description }
}

extension Moment {
    public static func + (a: Moment, d: Nanos) -> Moment { Moment(nanoseconds: a.nanoseconds &+ d.value) }
}

/// The time limits of one attempt, compiled from a route's timeouts.
public struct AttemptDeadlines: Sendable, Equatable {
    public var connect: Nanos
    public var firstByte: Nanos
    public var idle: Nanos
    public var attempt: Nanos

    public init(connect: Duration = .seconds(3), firstByte: Duration = .seconds(60), idle: Duration = .seconds(60), attempt: Duration = .seconds(3600)) {
        self.connect = Nanos(connect)
        self.firstByte = Nanos(firstByte)
        self.idle = Nanos(idle)
        self.attempt = Nanos(attempt)
    }
}
