import SpillwayPolicy
import SpillwayS3

/// Admission, finding nodes, connecting, and what happens when an attempt fails.
extension ExchangeMachine {
    /// The answer to `.acquire`.
    public enum Acquired: Sendable, Equatable {
        /// A node of the pool at `cursor` (counted in flight for this attempt).
        case node(cursor: Int, node: Int)
        /// Waiting in the first pool's queue; `dispatched` follows.
        case queued
        /// Every node is at its in-flight cap and the queue is full.
        case full
        /// No pool of the route has a node that could take it.
        case none
    }

    // MARK: - Start

    /// The signature check and admission are done: refuse, shed, or look for the first node.
    public mutating func start(_ verdict: ExchangeVerdict, limited: Bool, at now: Moment) -> ExchangeAction {
        guard stage.isCreated else { return .none }
        stage = .attempting(Attempts())
        switch verdict {
        case .refused(let error):
            log.decision = .refused
            return fail(error, at: now)
        case .shed(let error):
            log.decision = .shed
            return fail(error, at: now)
        case .admitted(let reads, let writes):
            log.decision = limited ? .admitted : .none
            pacesReads = reads
            pacesWrites = writes
            return search(.first)
        }
    }

    /// A response already begun elsewhere (the coalesced fetch this request read from, until it fell
    /// behind) continues on this request's own attempt: a resume from `offset` of `total` bytes, with
    /// the same checks as any resume (the same ETag, exactly the range still missing, or the client
    /// connection is cut).
    public mutating func continueDetached(from offset: Int, total: Int, at now: Moment) -> ExchangeAction {
        guard stage.isCreated, offset < total else { return .none }
        log.status = 200
        log.firstByteAt = now
        log.bytesOut = offset
        stage = .responding(Response(keepAlive: plan.clientKeepAlive, total: total, sent: offset, source: .resuming(.none, nil)))
        rateWindowStart = now
        lastActivity = now
        return search(.resume(offset: offset, total: total))
    }

    /// Starts looking for a node for an attempt of `kind`.
    mutating func search(_ kind: AttemptKind) -> ExchangeAction {
        let mayQueue = plan.mayQueue && cursor == 0
        let acquire = UpstreamAction.acquire(AttemptID(attemptsMade), kind, cursor: cursor, excluding: tried, mayQueue: mayQueue)
        switch stage {
        case .attempting(var a):
            a.search = .acquiring(kind)
            stage = .attempting(a)
        case .responding(var r):
            r.source = .resuming(.acquiring(kind), nil)
            stage = .responding(r)
        case .created, .finished:
            return .none
        }
        return ExchangeAction(upstream: acquire)
    }

    /// The answer to `.acquire`.
    public mutating func acquired(_ result: Acquired, at now: Moment) -> ExchangeAction {
        guard let kind = searchingKind, case .acquiring = currentSearch else { return .none }
        switch result {
        case .node(let c, let node):
            return begin(kind, cursor: c, node: node, at: now)
        case .queued:
            setSearch(.queued(kind, deadline: now + plan.queueTimeout))
            if log.decision == .admitted || log.decision == .none { log.decision = .queued }
            return .none
        case .full:
            setSearch(.none)
            log.decision = .shed
            return fail(S3Error(.slowDown, "Please reduce your request rate: every node of the pool is at its in-flight limit.", retryAfterSeconds: 1), at: now)
        case .none:
            setSearch(.none)
            return nothingToTry(at: now)
        }
    }

    /// A queued request was given a node (nil: a more important request took its place). Nil when
    /// it no longer waits: the caller gives the node back.
    public mutating func dispatched(_ node: Int?, at now: Moment) -> ExchangeAction? {
        guard case .queued(let kind, _) = currentSearch else { return nil }
        guard let node else {
            setSearch(.none)
            log.decision = .shed
            return fail(S3Error(.slowDown, "Please reduce your request rate: a more important request took this one's place in the queue.", retryAfterSeconds: 1), at: now)
        }
        return begin(kind, cursor: 0, node: node, at: now)
    }

    /// The queue wait ran out and was withdrawn.
    public mutating func queueTimedOut(at now: Moment) -> ExchangeAction {
        guard case .queued = currentSearch else { return .none }
        setSearch(.none)
        log.decision = .shed
        return fail(S3Error(.slowDown, "Please reduce your request rate: no node of the pool had room in time.", retryAfterSeconds: 1), at: now)
    }

    private mutating func begin(_ kind: AttemptKind, cursor c: Int, node: Int, at now: Moment) -> ExchangeAction {
        var note: ExchangeNote?
        if c != cursor {
            note = .failedOver(from: cursor, to: c)
            cursor = c
            tried = 0
        }
        tried |= 1 << UInt64(node)
        lastActivity = now  // the idle clock starts again with each attempt
        let attempt = AttemptState(id: AttemptID(attemptsMade), kind: kind, cursor: c, node: node, startedAt: now, phase: .connecting)
        attemptsMade += 1
        log.attempts.append(.init(cursor: c, node: node, kind: kind, reused: nil))
        log.cursor = c
        switch kind {
        case .first: break
        case .retry: log.retries += 1
        case .hedge: log.hedged = true
        case .resume: log.resumes += 1
        }
        switch stage {
        case .attempting(var a):
            a.search = .none
            if kind == .hedge { a.hedge = attempt } else { a.primary = attempt }
            stage = .attempting(a)
        case .responding(var r):
            r.source = .resuming(.none, attempt)
            stage = .responding(r)
        case .created, .finished:
            return ExchangeAction(attempt: .drop(attempt.id))
        }
        return ExchangeAction(upstream: .connect(attempt.id), note: note)
    }

    // MARK: - Connected

    /// The attempt's connection is ready (`reused`: a parked one). The request goes out now: its
    /// head and whatever body is here; the rest follows as it arrives.
    public mutating func connected(_ id: AttemptID, reused: Bool, at now: Moment) -> ExchangeAction {
        guard var attempt = live(id), attempt.phase == .connecting else { return .none }
        if id.number < log.attempts.count { log.attempts[id.number].reused = reused }  // attempts are logged in order
        let replay = upload.replay && upload.received > 0
        if upload.received > 0 { upload.leftGateway = true }
        if upload.ended {
            attempt.phase = .waiting(since: now)
            update(attempt)
            if attempt.kind == .first, let hedgeDelay, case .attempting(var a) = stage {
                a.hedgeAt = now + hedgeDelay
                stage = .attempting(a)
            }
        } else {
            attempt.phase = .sending
            update(attempt)
        }
        return ExchangeAction(upstream: .send(id, replay: replay, complete: upload.ended))
    }

    // MARK: - Failures

    /// An attempt failed (connect, reset, malformed response, a deadline).
    public mutating func attemptFailed(_ id: AttemptID, _ failure: NodeFailure, at now: Moment) -> ExchangeAction {
        guard let attempt = live(id) else { return .none }
        lastFailure = failure
        let health = HealthReport(attempt: id, outcome: failure.outcome)
        remove(id)
        switch stage {
        case .responding(var r):
            // Mid-body (the winner), or a resume that did not get going: resume from yet another node.
            r.source = .resuming(.none, nil)
            stage = .responding(r)
            pending = .cutMidBody
            let cut = RecoveryPlanner.Situation.cutMidBody(sent: r.sent, total: r.total ?? 0, resumes: log.resumes, resumable: r.total != nil)
            return ExchangeAction(health: health, attempt: .drop(id), upstream: .plan(cut, traits, cursor: attempt.cursor))
        case .attempting:
            if hasLiveAttempt { return ExchangeAction(health: health, attempt: .drop(id)) }  // a hedge may still answer
            pending = .failed(failure)
            let situation = RecoveryPlanner.Situation.failed(failure.outcome, attempts: attemptsMade)
            return ExchangeAction(health: health, attempt: .drop(id), upstream: .plan(situation, traits, cursor: attempt.cursor))
        case .created, .finished:
            return ExchangeAction(attempt: .drop(id))
        }
    }

    /// The planner's answer to `.plan`.
    public mutating func planned(_ decision: RecoveryPlanner.Decision, at now: Moment) -> ExchangeAction {
        let asked = pending
        pending = .none
        switch (asked, decision) {
        case (.failed(let failure), .retry(let delay)):
            return retry(after: delay, note: .retrying(after: failure, status: nil), at: now)
        case (.failed(let failure), .giveUp(let reason)):
            return fail(Self.error(for: failure, reason: reason), at: now)
        case (.errorHead(let id, let head), .retry(let delay)):
            remove(id)
            var action = retry(after: delay, note: .retrying(after: nil, status: head.status), at: now)
            action.attempt = .drop(id)
            return action
        case (.errorHead(let id, let head), _):
            // No retry: the node's own answer (SlowDown, 500, …) goes to the client.
            return win(id, head, at: now)
        case (.slowRead, .hedge):
            var action = search(.hedge)
            action.note = .hedging
            return action
        case (.cutMidBody, .resume):
            guard case .responding(let r) = stage else { return .none }
            var action = search(.resume(offset: r.sent, total: r.total ?? r.sent))
            action.note = .resuming(from: r.sent)
            return action
        case (.cutMidBody, _):
            return abort(note: lastFailure.map { .cutMidResponse($0) })
        default:
            return .none
        }
    }

    private mutating func retry(after delay: Duration, note: ExchangeNote, at now: Moment) -> ExchangeAction {
        if delay <= .zero {
            var action = search(.retry)
            action.note = note
            return action
        }
        setSearch(.backingOff(until: now + delay))
        return ExchangeAction(note: note)
    }

    /// No node could be found for the attempt that was wanted.
    private mutating func nothingToTry(at now: Moment) -> ExchangeAction {
        switch stage {
        case .attempting:
            if hasLiveAttempt { return .none }  // a hedge found nothing; the first attempt goes on
            if let lastFailure { return fail(Self.error(for: lastFailure, reason: .attemptsExhausted), at: now) }
            return fail(S3Error(.serviceUnavailable, "No storage node could take the request.", retryAfterSeconds: 1), at: now)
        case .responding:
            return abort(note: lastFailure.map { .cutMidResponse($0) })  // no node left to resume from
        case .created, .finished:
            return .none
        }
    }

    static func error(for failure: NodeFailure, reason: RecoveryPlanner.Reason) -> S3Error {
        let why = "(\(reason.rawValue.replacingOccurrences(of: "_", with: " ")))"
        switch failure {
        case .connect:
            return S3Error(.serviceUnavailable, "No storage node could take the request \(why).", retryAfterSeconds: 1)
        case .timeout(let what):
            return S3Error(.gatewayTimeout, "The storage node did not answer in time: \(what) \(why).")
        case .closedByNode, .io, .malformedResponse:
            return S3Error(.badGateway, "The storage node failed before answering: \(failure) \(why).")
        }
    }

    // MARK: - Bookkeeping

    var currentSearch: Search {
        switch stage {
        case .attempting(let a): return a.search
        case .responding(let r):
            if case .resuming(let s, _) = r.source { return s }
            return .none
        default: return .none
        }
    }

    var searchingKind: AttemptKind? {
        switch currentSearch {
        case .acquiring(let k), .queued(let k, _): k
        case .backingOff: .retry
        case .none: nil
        }
    }

    mutating func setSearch(_ search: Search) {
        switch stage {
        case .attempting(var a):
            a.search = search
            stage = .attempting(a)
        case .responding(var r):
            if case .resuming(_, let attempt) = r.source {
                r.source = .resuming(search, attempt)
                stage = .responding(r)
            }
        default: break
        }
    }

    mutating func update(_ attempt: AttemptState) {
        switch stage {
        case .attempting(var a):
            if a.primary?.id == attempt.id { a.primary = attempt } else if a.hedge?.id == attempt.id { a.hedge = attempt }
            stage = .attempting(a)
        case .responding(var r):
            switch r.source {
            case .streaming(let s) where s.id == attempt.id: r.source = .streaming(attempt)
            case .resuming(let search, let s) where s?.id == attempt.id: r.source = .resuming(search, attempt)
            default: return
            }
            stage = .responding(r)
        default: break
        }
    }

    mutating func remove(_ id: AttemptID) {
        switch stage {
        case .attempting(var a):
            if a.primary?.id == id { a.primary = nil }
            if a.hedge?.id == id { a.hedge = nil }
            if a.primary == nil, let hedge = a.hedge {
                // The hedge carries on alone.
                a.primary = hedge
                a.hedge = nil
            }
            if a.primary == nil || a.hedge != nil { a.hedgeAt = nil }
            stage = .attempting(a)
        case .responding(var r):
            switch r.source {
            case .streaming(let s) where s.id == id: r.source = .resuming(.none, nil)
            case .resuming(let search, let s) where s?.id == id: r.source = .resuming(search, nil)
            default: return
            }
            stage = .responding(r)
        default: break
        }
    }
}
