/// Everything Spillway knows about the health and load of one pool's nodes, and every decision made
/// from it: which node takes the next request, when a node is ejected or readmitted, how much retry
/// budget is left. Pure: time and randomness come in as arguments; the data plane keeps one of these
/// per pool behind a lock and acts on the events it returns, after the lock.
public struct PoolHealth: Sendable {
    public struct Policy: Sendable, Equatable {
        public var rise: Int
        public var fall: Int
        public var outlier: OutlierPolicy
        /// At most this share of the pool may be ejected at once; further ejections are refused.
        public var maxEjectedFraction: Double
        public var retryBudget: RetryBudget.Policy
        public var hedgePercentile: Double

        public init(
            rise: Int = 2, fall: Int = 3, outlier: OutlierPolicy = .init(), maxEjectedFraction: Double = 0.5,
            retryBudget: RetryBudget.Policy = .init(), hedgePercentile: Double = 0.95
        ) {
            self.rise = rise
            self.fall = fall
            self.outlier = outlier
            self.maxEjectedFraction = maxEjectedFraction
            self.retryBudget = retryBudget
            self.hedgePercentile = hedgePercentile
        }
    }

    public struct Node: Sendable, Equatable {
        public var weight: Int
        public var drained: Bool
        public var probe: ProbeState
        public var outlier: OutlierState
        public var throttledUntil: Moment?
        public var latency: PeakEWMA
        public var inFlight = 0
        public var ejections = 0
        /// The most requests in flight this node may have (nil: no limit), and the adaptive limit below it.
        public var maxInFlight: Int?
        public var adaptive: AdaptiveLimit?

        /// The in-flight cap now: the adaptive limit, never above the configured one.
        public var limit: Int? {
            guard let maxInFlight else { return nil }
            return min(maxInFlight, adaptive?.limit ?? maxInFlight)
        }

        public var hasRoom: Bool { limit.map { inFlight < $0 } ?? true }

        public func isEligible(at now: Moment) -> Bool {
            !drained && probe.healthy && !outlier.isEjected(at: now) && !(throttledUntil.map { now < $0 } ?? false)
        }
    }

    public enum Event: Sendable, Equatable {
        case ejected(node: Int, until: Moment)
        case ejectionRefused(node: Int)
        case readmitted(node: Int)
        case probeDown(node: Int)
        case probeUp(node: Int)
        case throttled(node: Int, until: Moment)
    }

    public let policy: Policy
    public let kind: BalancerKind
    public private(set) var nodes: [Node]
    public private(set) var budget: RetryBudget
    public private(set) var latencies: LatencyDigest
    private var balancer: Balancer
    private var ticket: UInt64 = 0
    private var rng: SplitMix64

    public init(
        kind: BalancerKind, weights: [Int], drained: [Bool]? = nil, policy: Policy, maxInFlight: Int? = nil,
        adaptive: Bool = false, at now: Moment, seed: UInt64 = 0x5EED
    ) {
        self.policy = policy
        self.kind = kind
        self.balancer = Balancer(kind: kind == .roundRobin ? .roundRobin : .leastOutstanding, weights: weights)
        self.nodes = weights.enumerated().map { i, w in
            Node(
                weight: max(1, w), drained: drained?[i] ?? false, probe: ProbeState(rise: policy.rise, fall: policy.fall),
                outlier: OutlierState(policy: policy.outlier), throttledUntil: nil, latency: PeakEWMA(at: now),
                maxInFlight: maxInFlight,
                adaptive: adaptive ? AdaptiveLimit(minimum: 1, maximum: maxInFlight ?? 256, initial: maxInFlight) : nil)
        }
        self.budget = RetryBudget(policy: policy.retryBudget, at: now)
        self.latencies = LatencyDigest(percentile: policy.hedgePercentile)
        self.rng = SplitMix64(seed: seed)
    }

    // MARK: - Picking

    public struct Pick: Sendable, Equatable {
        public var node: Int
        /// No node was healthy, so health was ignored (the panic rule): better to try a node that may
        /// have recovered than to refuse every request.
        public var panic: Bool

        public init(node: Int, panic: Bool) {
            self.node = node
            self.panic = panic
        }
    }

    /// Picks a node for a new attempt and counts it in flight. `excluding` is a bit per node already tried.
    /// Nil when no node can take it: none is undrained, or every healthy one is at its in-flight limit
    /// (then `isFull` says so, and the request may queue).
    public mutating func pick(excluding: UInt64 = 0, at now: Moment) -> Pick? {
        ticket &+= 1
        let healthy = View(pool: self, excluding: excluding, now: now, ignoreHealth: false)
        var chosen = choose(healthy, at: now).map { Pick(node: $0, panic: false) }
        if chosen == nil && !isFull(excluding: excluding, at: now) {
            let anyUndrained = View(pool: self, excluding: excluding, now: now, ignoreHealth: true)
            chosen = choose(anyUndrained, at: now).map { Pick(node: $0, panic: true) }
        }
        if let chosen { nodes[chosen.node].inFlight += 1 }
        return chosen
    }

    private mutating func choose(_ view: View, at now: Moment) -> Int? {
        guard kind == .peakEWMA else { return balancer.pick(view, ticket: ticket) }
        // Two random eligible nodes, the cheaper wins; found by counting, with no array per request.
        var eligible = 0
        for i in nodes.indices where view.isEligible(i) { eligible += 1 }
        switch eligible {
        case 0: return nil
        case 1: return nodes.indices.first { view.isEligible($0) }
        default:
            let a = Int(rng.next() % UInt64(eligible))
            var b = Int(rng.next() % UInt64(eligible - 1))
            if b >= a { b += 1 }
            let (x, y) = (nthEligible(a, view), nthEligible(b, view))
            return cost(x, at: now) <= cost(y, at: now) ? x : y
        }
    }

    private func nthEligible(_ n: Int, _ view: View) -> Int {
        var seen = 0
        for i in nodes.indices where view.isEligible(i) {
            if seen == n { return i }
            seen += 1
        }
        preconditionFailure("fewer eligible nodes than counted")
    }

    /// Peak-EWMA latency times the requests it would have in flight, per unit of weight.
    public func cost(_ i: Int, at now: Moment) -> Double {
        nodes[i].latency.estimate(at: now) * Double(nodes[i].inFlight + 1) / Double(nodes[i].weight)
    }

    /// Every healthy node (not excluded) is at its in-flight limit.
    public func isFull(excluding: UInt64 = 0, at now: Moment) -> Bool {
        var healthy = 0
        for i in nodes.indices where excluding & (1 << UInt64(i)) == 0 && nodes[i].isEligible(at: now) {
            if nodes[i].hasRoom { return false }
            healthy += 1
        }
        return healthy > 0
    }

    struct View: BackendLoadView {
        let pool: PoolHealth
        let excluding: UInt64
        let now: Moment
        let ignoreHealth: Bool
        var backendCount: Int { pool.nodes.count }
        func isEligible(_ i: Int) -> Bool {
            guard excluding & (1 << UInt64(i)) == 0, pool.nodes[i].hasRoom else { return false }
            return ignoreHealth ? !pool.nodes[i].drained : pool.nodes[i].isEligible(at: now)
        }
        func inFlight(_ i: Int) -> Int { pool.nodes[i].inFlight }
        func weight(_ i: Int) -> Int { pool.nodes[i].weight }
    }

    // MARK: - Outcomes

    /// The attempt on `node` is over; it no longer counts in flight.
    public mutating func release(_ node: Int) {
        nodes[node].inFlight = max(0, nodes[node].inFlight - 1)
    }

    /// What one attempt on `node` came to. `firstByte` is its time to first byte, if it got a response.
    public mutating func record(_ outcome: AttemptOutcome, node: Int, firstByte: Duration?, at now: Moment) -> [Event] {
        var events: [Event] = []
        if let firstByte {
            nodes[node].latency.observe(firstByte, at: now)
            if outcome == .success { latencies.record(firstByte) }
        }
        let inFlight = nodes[node].inFlight
        switch outcome {
        case .success, .throttled: nodes[node].adaptive?.record(firstByte: firstByte, inFlight: inFlight, at: now)
        case .timeout, .reset, .serverError: nodes[node].adaptive?.record(firstByte: nil, inFlight: inFlight, at: now)
        case .connectFailed: break
        }
        switch outcome {
        case .throttled(let retryAfter):
            // Storage asked for less: keep new requests away for Retry-After, and make the latency
            // estimate remember it, so traffic returns gradually.
            let until = now + retryAfter
            nodes[node].throttledUntil = max(nodes[node].throttledUntil ?? until, until)
            nodes[node].latency.observe(retryAfter, at: now)
            events.append(.throttled(node: node, until: until))
        case .success:
            _ = nodes[node].outlier.record(failure: false, at: now)
        case .serverError, .connectFailed, .reset, .timeout:
            if nodes[node].outlier.record(failure: true, at: now) == .requestEjection {
                events.append(eject(node, at: now))
            }
        }
        return events
    }

    private mutating func eject(_ node: Int, at now: Moment) -> Event {
        let ejectedNow = nodes.indices.filter { nodes[$0].outlier.isEjected(at: now) }.count
        let limit = Int((Double(nodes.count) * policy.maxEjectedFraction).rounded(.down))
        guard ejectedNow + 1 <= max(limit, 0) else { return .ejectionRefused(node: node) }
        nodes[node].outlier.eject(at: now)
        nodes[node].ejections += 1
        return .ejected(node: node, until: nodes[node].outlier.ejectedUntil ?? now)
    }

    /// An active probe of `node` succeeded or failed.
    public mutating func probe(_ node: Int, success: Bool, at now: Moment) -> [Event] {
        switch nodes[node].probe.record(success: success) {
        case .none: return []
        case .becameHealthy: return [.probeUp(node: node)]
        case .becameUnhealthy: return [.probeDown(node: node)]
        }
    }

    /// Readmits nodes whose ejection is over. Call it now and then (the prober's tick does).
    public mutating func tick(at now: Moment) -> [Event] {
        var events: [Event] = []
        for i in nodes.indices where nodes[i].outlier.readmitIfDue(at: now) { events.append(.readmitted(node: i)) }
        return events
    }

    public mutating func setDrained(_ node: Int, _ drained: Bool) { nodes[node].drained = drained }

    /// The new weight holds from the next pick (round robin rebuilds its cycle).
    public mutating func setWeight(_ node: Int, _ weight: Int) {
        nodes[node].weight = max(1, weight)
        balancer = Balancer(kind: balancer.kind, weights: nodes.map(\.weight))
    }

    // MARK: - Retries and hedges

    /// Every original request earns the pool a share of a retry.
    public mutating func depositRetryBudget(at now: Moment) { budget.deposit(at: now) }

    public mutating func withdrawRetryBudget(at now: Moment) -> Bool { budget.withdraw(at: now) }

    /// How long to wait before hedging a read: the pool's recent time-to-first-byte percentile.
    public mutating func hedgeDelay(at now: Moment) -> Duration? { latencies.value(at: now) }
}

/// What one attempt against one node came to, as health and balancing see it.
public enum AttemptOutcome: Sendable, Equatable {
    /// A response below 500 (other than 429), or 501 and 505, which are about the request.
    case success
    /// `503 SlowDown` / `503 ServiceUnavailable` or `429`: the node asks for less load.
    case throttled(retryAfter: Duration)
    /// 500, 502, 504 and the like.
    case serverError
    case connectFailed
    /// Closed or reset before the response completed, or a response that was not HTTP.
    case reset
    /// No answer, or no progress, within the route's limits.
    case timeout

    /// Classifies a response status (the node answered).
    public static func response(status: Int, retryAfter: Duration) -> AttemptOutcome {
        switch status {
        case 429, 503: .throttled(retryAfter: retryAfter)
        case 501, 505: .success
        case 500...599: .serverError
        default: .success
        }
    }
}
