/// How many retries a pool may spend: a share of its recent requests plus a small floor per second
/// (Finagle's and tower's retry budget). When it is spent, failures pass through instead of
/// multiplying load on storage that is already in trouble. Hedges draw from it too.
public struct RetryBudget: Sendable, Equatable {
    public struct Policy: Sendable, Equatable {
        /// Retries allowed per request, e.g. 0.2 for 20 %.
        public var ratio: Double
        /// Retries always allowed per second, so a quiet pool can still retry.
        public var minPerSecond: Double
        /// How long a deposit counts.
        public var window: Duration

        public init(ratio: Double = 0.2, minPerSecond: Double = 10, window: Duration = .seconds(10)) {
            self.ratio = ratio
            self.minPerSecond = minPerSecond
            self.window = window
        }
    }

    public let policy: Policy
    /// Tokens earned by requests; decays with the window so old traffic does not fund new retries.
    private var earned: Double = 0
    /// Tokens from the floor; refills at `minPerSecond`, holding at most one second's worth.
    private var floor: Double
    private var stamp: Moment
    public private(set) var withdrawn = 0
    public private(set) var refused = 0

    public init(policy: Policy, at now: Moment) {
        self.policy = policy
        self.floor = policy.minPerSecond
        self.stamp = now
    }

    public var balance: Double { earned + floor }

    public mutating func deposit(at now: Moment) {
        advance(to: now)
        earned += policy.ratio
    }

    /// Takes one retry's worth; false (and nothing taken) when the budget is spent.
    public mutating func withdraw(at now: Moment) -> Bool {
        advance(to: now)
        // The epsilon absorbs rounding: 100 deposits of 0.2 make 20 retries, not 19.
        if earned >= 1 - 1e-9 {
            earned = max(0, earned - 1)
        } else if floor >= 1 - 1e-9 {
            floor = max(0, floor - 1)
        } else {
            refused += 1
            return false
        }
        withdrawn += 1
        return true
    }

    private mutating func advance(to now: Moment) {
        let elapsed = now.since(stamp).seconds
        guard elapsed > 0 else { return }
        earned *= expApprox(-elapsed / max(0.001, policy.window.seconds))
        floor = min(policy.minPerSecond, floor + elapsed * policy.minPerSecond)
        stamp = now
    }
}
