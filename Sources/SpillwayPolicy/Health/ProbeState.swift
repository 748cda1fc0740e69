/// Active health of one node: a run of `rise` good probes makes it healthy, a run of `fall` bad ones
/// makes it unhealthy (HAProxy's and Pingora's consecutive-flip rule). Nodes start healthy, so a
/// gateway that just started serves at once and learns from the first probes.
public struct ProbeState: Sendable, Equatable {
    public enum Change: Sendable, Equatable { case none, becameHealthy, becameUnhealthy }

    public private(set) var healthy = true
    private var run = 0  // consecutive results contradicting the current state
    public let rise: Int
    public let fall: Int

    public init(rise: Int, fall: Int) {
        self.rise = max(1, rise)
        self.fall = max(1, fall)
    }

    public mutating func record(success: Bool) -> Change {
        if success == healthy {
            run = 0
            return .none
        }
        run += 1
        if healthy, run >= fall {
            healthy = false
            run = 0
            return .becameUnhealthy
        }
        if !healthy, run >= rise {
            healthy = true
            run = 0
            return .becameHealthy
        }
        return .none
    }
}
