/// Passive health of one node, fed by real request outcomes (Envoy's outlier detection): a run of
/// failures asks for ejection; each ejection lasts longer than the last, up to a cap; a node that
/// stays clean for a while earns its multiplier back.
public struct OutlierPolicy: Sendable, Equatable {
    public var consecutiveFailures: Int
    public var baseEjection: Duration
    public var maxEjection: Duration

    public init(consecutiveFailures: Int = 5, baseEjection: Duration = .seconds(10), maxEjection: Duration = .seconds(300)) {
        self.consecutiveFailures = max(1, consecutiveFailures)
        self.baseEjection = baseEjection
        self.maxEjection = maxEjection
    }
}

public struct OutlierState: Sendable, Equatable {
    public enum Action: Sendable, Equatable { case none, requestEjection }

    public let policy: OutlierPolicy
    public private(set) var failures = 0
    public private(set) var ejectedUntil: Moment?
    /// How many ejections in a row without a clean spell; sets the next ejection's length.
    public private(set) var timesEjected = 0
    private var lastEjectionEnded: Moment?

    public init(policy: OutlierPolicy) { self.policy = policy }

    public func isEjected(at now: Moment) -> Bool { ejectedUntil.map { now < $0 } ?? false }

    public mutating func record(failure: Bool, at now: Moment) -> Action {
        guard !isEjected(at: now) else { return .none }  // stragglers of an ejected node
        guard failure else {
            failures = 0
            // A full base interval clean since the last ejection ended: forgive one step.
            if timesEjected > 0, let ended = lastEjectionEnded, now.since(ended) >= policy.baseEjection * timesEjected {
                timesEjected -= 1
                lastEjectionEnded = now
            }
            return .none
        }
        failures += 1
        return failures >= policy.consecutiveFailures ? .requestEjection : .none
    }

    /// Only `PoolHealth` calls this: it alone knows how much of the pool is already out.
    public mutating func eject(at now: Moment) {
        timesEjected += 1
        let length = min(policy.baseEjection * timesEjected, policy.maxEjection)
        ejectedUntil = now + length
        lastEjectionEnded = ejectedUntil
        failures = 0
    }

    /// Ends an ejection whose time is up; true if the node came back.
    public mutating func readmitIfDue(at now: Moment) -> Bool {
        guard let until = ejectedUntil, now >= until else { return false }
        ejectedUntil = nil
        return true
    }
}
