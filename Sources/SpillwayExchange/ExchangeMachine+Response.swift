import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3

/// The node's side: interim responses, the head (which attempt wins), the body, the end.
extension ExchangeMachine {
    /// A `1xx` from the node, before its final response.
    public mutating func nodeInterim(_ id: AttemptID, status: Int, at now: Moment) -> ExchangeAction {
        guard case .attempting = stage, live(id) != nil else { return .none }
        lastActivity = now
        if status == 100 {
            guard plan.expectsContinue, !upload.sentContinue else { return .none }
            upload.sentContinue = true
            return ExchangeAction(client: .sendContinue)
        }
        // 103 Early Hints and the like, for HTTP/1.1 clients only.
        return plan.clientIsHTTP10 ? .none : ExchangeAction(client: .forwardInterim)
    }

    /// The node's final response head. The first good one wins the race; an error answer is
    /// retried on another node when the planner says so, and otherwise goes to the client.
    public mutating func nodeHead(_ id: AttemptID, _ head: NodeResponse, at now: Moment) -> ExchangeAction {
        guard var attempt = live(id) else { return .none }
        lastActivity = now
        let sentAt: Moment
        if case .waiting(let since) = attempt.phase { sentAt = since } else { sentAt = attempt.startedAt }
        attempt.phase = .answered
        update(attempt)
        if case .resume(let offset, let total) = attempt.kind { return continueResumed(attempt, head, offset: offset, total: total) }
        let outcome = AttemptOutcome.response(status: head.status, retryAfter: RetryAfter.delay(header: head.retryAfterSeconds))
        let health = HealthReport(attempt: id, outcome: outcome, firstByte: now.since(sentAt))
        guard case .attempting(let a) = stage else { return ExchangeAction(health: health) }
        if outcome != .success {
            if a.primary != nil && a.hedge != nil {
                // The other attempt is still running: let it answer instead of this one.
                remove(id)
                return ExchangeAction(health: health, attempt: .drop(id))
            }
            pending = .errorHead(id, head)
            let situation = RecoveryPlanner.Situation.failed(outcome, attempts: attemptsMade)
            return ExchangeAction(health: health, upstream: .plan(situation, traits, cursor: attempt.cursor))
        }
        var action = win(id, head, at: now)
        action.health = health
        return action
    }

    /// `id`'s response goes to the client: the other attempt (a hedge, or the one it raced) is dropped.
    mutating func win(_ id: AttemptID, _ head: NodeResponse, at now: Moment) -> ExchangeAction {
        guard case .attempting(let a) = stage, let winner = live(id) else { return .none }
        let loser = a.primary?.id == id ? a.hedge : a.primary
        if winner.kind == .hedge { log.hedgeWon = true }
        log.status = head.status
        log.firstByteAt = now
        // A body that ends only when the node closes cannot be delimited for a keep-alive client;
        // nor can a chunked one for an HTTP/1.0 client (it gets the data, ended by the close).
        let dechunk = plan.clientIsHTTP10 && head.framing == .chunked
        let keepAlive = plan.clientKeepAlive && head.framing != .untilClose && !dechunk
        let resumable = plan.wholeObjectGET && head.status == 200 && head.hasETag
        stage = .responding(Response(keepAlive: keepAlive, total: resumable ? head.contentLength : nil, source: .streaming(winner)))
        rateWindowStart = now
        rateWindowBytes = upload.received
        return ExchangeAction(attempt: loser.map { .drop($0.id) } ?? .none, client: .writeHead(close: !keepAlive, dechunk: dechunk))
    }

    /// The head of a resumed download: it must be the same object, from exactly where the client is,
    /// framed so that its end can be told from a cut.
    private mutating func continueResumed(_ attempt: AttemptState, _ head: NodeResponse, offset: Int, total: Int) -> ExchangeAction {
        let exact = head.framing == .length(total - offset) || head.framing == .chunked
        guard head.status == 206, let range = head.contentRange, range.first == offset, range.last == total - 1,
            range.total == nil || range.total == total, exact, case .responding(var r) = stage
        else {
            // The object changed (412), or the node refused the range: never a spliced mix.
            return abort(note: .cannotResume(status: head.status))
        }
        r.source = .streaming(attempt)
        stage = .responding(r)
        return ExchangeAction(health: HealthReport(attempt: attempt.id, outcome: .success), note: .resumed(from: offset))
    }

    /// `count` response body bytes arrived from `id`. `paceDelay`: how long the tenant's read
    /// bandwidth says to wait after them (asked only when `pacesReads`).
    public mutating func nodeBody(_ id: AttemptID, _ count: Int, paceDelay: Duration? = nil, at now: Moment) -> ExchangeAction {
        guard case .responding(var r) = stage, case .streaming(let attempt) = r.source, attempt.id == id else { return .none }
        lastActivity = now
        r.sent += count
        stage = .responding(r)
        log.bytesOut += count
        if case .resume = attempt.kind { log.resumedBytes += count }
        if let paceDelay, paceDelay > .milliseconds(1) || !held.isEmpty {
            // Bytes already read run ahead of the rate: they wait here until paid for, in order.
            let due = max(now + paceDelay, held.last ?? now)
            held.append(due)
            pause(until: due)
            return ExchangeAction(client: .hold(until: due))
        }
        return ExchangeAction(client: .deliver)
    }

    /// `id`'s response is complete.
    public mutating func nodeEnd(_ id: AttemptID, at now: Moment) -> ExchangeAction {
        guard case .responding(var r) = stage, case .streaming(let attempt) = r.source, attempt.id == id else { return .none }
        // A connection whose request was not all sent cannot be reused.
        let release: AttemptAction = upload.ended ? .park(id) : .drop(id)
        if let total = r.total, r.sent != total {
            // A download of known length ends cleanly only when exactly that many bytes went out.
            var action = abort(note: .cutMidResponse(.malformedResponse))
            action.attempt = release
            return action
        }
        // A response that ends before its request did leaves the client mid-body: close after it.
        let keepAlive = r.keepAlive && upload.ended
        if !held.isEmpty {
            r.source = .complete(keepAlive: keepAlive)
            stage = .responding(r)
            return ExchangeAction(attempt: release)
        }
        stage = .finished
        return ExchangeAction(attempt: release, client: .end(keepAlive: keepAlive), finished: true)
    }
}
