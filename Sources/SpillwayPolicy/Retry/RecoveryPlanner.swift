/// The one place that decides whether to try again, and how (Pingora's safety rules, linkerd's
/// budget): a retry after a failed attempt, a hedge for a read that has not answered, a resume for
/// a download cut mid-body. Each is judged from the S3 operation's traits, never the HTTP method,
/// within the attempt and resume limits, and every one of them draws on the same retry budget.
public enum RecoveryPlanner {
    public struct Policy: Sendable, Equatable {
        /// Attempts in all, the first included (retries and hedges count).
        public var maxAttempts: Int
        public var backoff: Backoff
        /// Times one download may be continued from another node.
        public var maxResumes: Int

        public init(maxAttempts: Int = 3, backoff: Backoff = .init(), maxResumes: Int = 3) {
            self.maxAttempts = max(1, maxAttempts)
            self.backoff = backoff
            self.maxResumes = max(0, maxResumes)
        }
    }

    /// What the gateway knows about the request when it considers trying again.
    public struct Traits: Sendable, Equatable {
        /// Sending it twice leaves storage as sending it once would (judged per S3 operation).
        public var idempotent: Bool
        /// A read (GetObject, HeadObject, a listing): a second copy in flight costs storage a read only.
        public var isRead: Bool
        /// The whole request can be sent again: it has no body, its body is held in the replay
        /// buffer, or none of its body has left the gateway yet.
        public var canResend: Bool
        /// Bytes of the response already went to the client.
        public var responseCommitted: Bool

        public init(idempotent: Bool, isRead: Bool = false, canResend: Bool, responseCommitted: Bool) {
            self.idempotent = idempotent
            self.isRead = isRead
            self.canResend = canResend
            self.responseCommitted = responseCommitted
        }
    }

    public enum Situation: Sendable, Equatable {
        /// An attempt failed before any of its response went to the client.
        case failed(AttemptOutcome, attempts: Int)
        /// A read has not answered by the pool's hedge delay, and this many attempts were made.
        case slowRead(attempts: Int)
        /// The node serving a download failed after `sent` of `total` bytes went to the client;
        /// the download was resumed `resumes` times already. `resumable`: the response can be
        /// continued exactly (a 200 with a length and an ETag, for a request without its own
        /// `Range` or conditions, which its signature may cover).
        case cutMidBody(sent: Int, total: Int, resumes: Int, resumable: Bool)
    }

    public enum Decision: Sendable, Equatable {
        case retry(after: Duration)
        case hedge
        case resume
        case giveUp(Reason)
    }

    public enum Reason: String, Sendable, Equatable {
        case responseAlreadyStarted = "response_started"
        case attemptsExhausted = "attempts_exhausted"
        case notSafeToResend = "not_safe_to_resend"
        case budgetExhausted = "budget_exhausted"
        case notHedgeable = "not_hedgeable"
        case notResumable = "not_resumable"
        case resumesExhausted = "resumes_exhausted"
    }

    /// `unit`: a random number in [0, 1), for the backoff's jitter.
    public static func plan(
        _ situation: Situation, traits: Traits, policy: Policy, budget: inout PoolHealth, at now: Moment, unit: Double
    ) -> Decision {
        switch situation {
        case .failed(let outcome, let attempts):
            if traits.responseCommitted { return .giveUp(.responseAlreadyStarted) }
            if attempts >= policy.maxAttempts { return .giveUp(.attemptsExhausted) }
            guard traits.canResend else { return .giveUp(.notSafeToResend) }
            switch outcome {
            case .connectFailed:
                // Nothing reached the node: another node is always safe, and a refused connect
                // costs storage nothing, so it does not draw on the budget.
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
        case .slowRead(let attempts):
            guard traits.isRead, traits.idempotent, traits.canResend, !traits.responseCommitted else { return .giveUp(.notHedgeable) }
            if attempts >= policy.maxAttempts { return .giveUp(.attemptsExhausted) }
            guard budget.withdrawRetryBudget(at: now) else { return .giveUp(.budgetExhausted) }
            return .hedge
        case .cutMidBody(let sent, let total, let resumes, let resumable):
            guard resumable, sent < total else { return .giveUp(.notResumable) }
            if resumes >= policy.maxResumes { return .giveUp(.resumesExhausted) }
            guard budget.withdrawRetryBudget(at: now) else { return .giveUp(.budgetExhausted) }
            return .resume
        }
    }
}
