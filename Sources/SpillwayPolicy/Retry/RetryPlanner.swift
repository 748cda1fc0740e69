/// The one gate every retry passes (Pingora's safety rules, linkerd's budget): whether a failed
/// attempt may be tried again on another node, and after how long.
public enum RetryPlanner {
    public struct Policy: Sendable, Equatable {
        /// Attempts in all, the first included.
        public var maxAttempts: Int
        public var backoff: Backoff

        public init(maxAttempts: Int = 3, backoff: Backoff = .init()) {
            self.maxAttempts = max(1, maxAttempts)
            self.backoff = backoff
        }
    }

    /// What the gateway knows about the request when an attempt fails.
    public struct Traits: Sendable, Equatable {
        /// Sending it twice leaves storage as sending it once would (judged per S3 operation).
        public var idempotent: Bool
        /// The whole request can be sent again: it has no body, its body is held in the replay
        /// buffer, or none of its body has left the gateway yet.
        public var canResend: Bool
        /// Bytes of the response already went to the client.
        public var responseCommitted: Bool

        public init(idempotent: Bool, canResend: Bool, responseCommitted: Bool) {
            self.idempotent = idempotent
            self.canResend = canResend
            self.responseCommitted = responseCommitted
        }
    }

    public enum Decision: Sendable, Equatable {
        case retry(after: Duration)
        case giveUp(Reason)
    }

    public enum Reason: String, Sendable, Equatable {
        case responseAlreadyStarted = "response_started"
        case attemptsExhausted = "attempts_exhausted"
        case notSafeToResend = "not_safe_to_resend"
        case budgetExhausted = "budget_exhausted"
    }

    /// `attempts` is how many attempts were made so far; `unit` a random number in [0, 1) for jitter.
    public static func plan(
        after outcome: AttemptOutcome, attempts: Int, traits: Traits, policy: Policy,
        budget: inout PoolHealth, at now: Moment, unit: Double
    ) -> Decision {
        if traits.responseCommitted { return .giveUp(.responseAlreadyStarted) }
        if attempts >= policy.maxAttempts { return .giveUp(.attemptsExhausted) }
        guard traits.canResend else { return .giveUp(.notSafeToResend) }
        switch outcome {
        case .connectFailed:
            // Nothing reached the node: another node is always safe, and a refused connect costs
            // storage nothing, so it does not draw on the budget.
            return .retry(after: .zero)
        case .throttled:
            // SlowDown means the node did not act on the request: safe even for non-idempotent ones.
            break
        case .serverError, .reset, .timeout:
            guard traits.idempotent else { return .giveUp(.notSafeToResend) }
        case .success:
            return .giveUp(.notSafeToResend)
        }
        guard budget.withdrawRetryBudget(at: now) else { return .giveUp(.budgetExhausted) }
        return .retry(after: policy.backoff.delay(retry: attempts, unit: unit))
    }
}
