/// Latency of one node as a peak-sensitive moving average (Finagle's and Linkerd's PeakEWMA): a slow
/// response raises the estimate at once, fast ones lower it gradually (time constant `decay`, 5 s: a
/// node that stops being slow wins its share back within about 40 seconds), and
/// with no traffic the estimate decays towards zero, so an idle node that was slow is tried again.
public struct PeakEWMA: Sendable, Equatable {
    public let decay: Duration
    public private(set) var nanos: Double
    private var stamp: Moment

    public init(decay: Duration = .seconds(5), initial: Duration = .milliseconds(1), at now: Moment) {
        self.decay = decay
        self.nanos = Double(initial.nanoseconds)
        self.stamp = now
    }

    public mutating func observe(_ rtt: Duration, at now: Moment) {
        let sample = Double(rtt.nanoseconds)
        if sample > nanos {
            nanos = sample
        } else {
            let w = weight(at: now)
            nanos = nanos * w + sample * (1 - w)
        }
        stamp = max(stamp, now)
    }

    /// The estimate now, decayed for the time since the last observation.
    public func estimate(at now: Moment) -> Double { nanos * weight(at: now) }

    private func weight(at now: Moment) -> Double {
        let elapsed = Double(now.since(stamp).nanoseconds)
        let tau = Double(max(1, decay.nanoseconds))
        return expApprox(-elapsed / tau)
    }
}

/// e^x for the weights above, without Foundation.
@inline(__always) func expApprox(_ x: Double) -> Double {
    if x < -40 { return 0 }
    // e^x = (e^(x/2^k))^(2^k); a short Taylor series is exact enough for weights in [0, 1].
    var y = x / 1024
    let term = 1 + y + y * y / 2 + y * y * y / 6 + y * y * y * y / 24
    y = term
    for _ in 0..<10 { y *= y }
    return y
}
