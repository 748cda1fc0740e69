/// One gateway's part of a fleet-wide rate: tokens leased in batches from a counter that every
/// gateway adds to (Redis `INCRBY` on a key per second), and spent locally, so no request waits on
/// the counter. Pure: the caller sends the increments this asks for and reports the answers.
///
/// While a lease is on its way, up to one batch is admitted on credit. Credit is never forgiven:
/// it is added to the next increment (charged to the next second if this one has ended), so every
/// admitted request is counted once in the shared counter, and the fleet's long-run rate holds.
public struct FleetLease: Sendable, Equatable {
    /// An increment to send: `amount` added to the counter of `second`, of which `owed` pays for
    /// requests already admitted on credit.
    public struct Increment: Sendable, Equatable {
        public let second: Int64
        public let amount: Int
        public let owed: Int

        public init(second: Int64, amount: Int, owed: Int) {
            self.second = second
            self.amount = amount
            self.owed = owed
        }
    }

    public let batch: Int
    public private(set) var second: Int64 = .min
    public private(set) var tokens = 0
    /// The counter said this second's budget is spent.
    public private(set) var exhausted = false
    public private(set) var fetching = false
    /// Admitted on credit and not yet part of an increment.
    public private(set) var owed = 0

    public init(batch: Int) { self.batch = max(1, batch) }

    /// One request in wall-clock `second`, against `allowed` requests a second fleet-wide: whether it
    /// is admitted, and an increment to send now, if one is due.
    public mutating func take(second now: Int64, allowed: Int) -> (admitted: Bool, increment: Increment?) {
        // Threads may read the clock in one order and take the lock in another: never go back.
        let now = max(now, second)
        if now != second {
            // A new second: last second's tokens are gone; what it owes is carried into this one.
            second = now
            tokens = 0
            exhausted = false
        }
        let admitted: Bool
        if tokens > 0 {
            tokens -= 1
            admitted = true
        } else if !exhausted && owed < min(batch, max(1, allowed)) {
            owed += 1
            admitted = true
        } else {
            admitted = false
        }
        guard !fetching && !exhausted && tokens <= batch / 2 else { return (admitted, nil) }
        return (admitted, send(amount: min(batch, max(1, allowed)) + owed))
    }

    /// The counter answered `total` after adding `increment.amount`. Returns a further increment
    /// when requests admitted on credit meanwhile must still be counted.
    public mutating func answered(_ increment: Increment, total: Int, allowed: Int) -> Increment? {
        fetching = false
        guard increment.second == second else { return owed > 0 ? send(amount: owed) : nil }
        // Only the part of the increment inside the second's budget is ours; credit is paid first.
        let inBudget = max(0, min(increment.amount, allowed - (total - increment.amount)))
        tokens += max(0, inBudget - increment.owed)
        if total >= allowed { exhausted = true }
        return exhausted && owed > 0 ? send(amount: owed) : nil
    }

    /// The increment was lost (the counter is unreachable): the caller falls back to a local limit.
    public mutating func failed() {
        fetching = false
        owed = 0
    }

    private mutating func send(amount: Int) -> Increment {
        fetching = true
        let increment = Increment(second: second, amount: amount, owed: owed)
        owed = 0
        return increment
    }
}
