import SpillwayPolicy
import SpillwayS3

/// The client's side: its body, its end, its hang-up, its stalls, and the errors it is answered with.
extension ExchangeMachine {
    /// How the `aws-chunked` chain of a verified streaming upload stands after these bytes.
    public enum ChainCheck: Sendable, Equatable {
        /// No chain to check, or it is sound so far.
        case ok
        case badSignature
        /// The request's framing ended before the chain's final chunk.
        case cutShort
    }

    /// `count` body bytes arrived; `last` when they end the request's framing. `paceDelay`: how long
    /// the tenant's write bandwidth says to wait after them (asked only when `pacesWrites`).
    public mutating func clientBody(_ count: Int, last: Bool, chain: ChainCheck = .ok, paceDelay: Duration? = nil, at now: Moment) -> ExchangeAction {
        guard !stage.isFinished, !upload.ended else { return .none }
        lastActivity = now
        upload.received += count
        log.bytesIn += count
        switch chain {
        case .ok: break
        case .badSignature:
            // The node never gets a complete body.
            return fail(S3Error(.signatureDoesNotMatch, "A chunk signature does not match its data."), at: now)
        case .cutShort:
            // The last bytes never reach the node, so no node can take the cut upload for a whole one.
            return fail(S3Error(.incompleteBody, "The aws-chunked body ended before its final chunk."), at: now)
        }
        if let paceDelay, paceDelay > .milliseconds(1) { pause(until: now + paceDelay) }
        if upload.replay, upload.received > plan.replayLimit { upload.replay = false }
        guard let target = bodyTarget else { return ExchangeAction(upstream: .hold) }
        upload.leftGateway = true
        return ExchangeAction(upstream: .forward(target))
    }

    /// The request's body is complete (or it had none).
    public mutating func clientEnd(at now: Moment) -> ExchangeAction {
        guard !stage.isFinished, !upload.ended else { return .none }
        upload.ended = true
        guard let target = bodyTarget, var attempt = live(target) else { return .none }
        attempt.phase = .waiting(since: now)
        update(attempt)
        return ExchangeAction(upstream: .flush(target))
    }

    /// The client's chunked framing broke mid-body: no node may get a complete request, and the
    /// client gets a 400 if no response has started.
    public mutating func clientBrokeFraming(at now: Moment) -> ExchangeAction {
        guard !stage.isFinished else { return .none }
        return fail(S3Error(.badRequest, "The request body's chunked framing is not valid HTTP/1.1."), at: now)
    }

    /// The client went away: every node request is cancelled (their connections cannot be reused mid-exchange).
    public mutating func clientClosed(at now: Moment) -> ExchangeAction {
        guard !stage.isFinished else { return .none }
        if isResponding { log.aborted = true }
        stage = .finished
        return ExchangeAction(attempt: .dropAll, finished: true)
    }

    /// What the client is failing to do, if the exchange is waiting on the client right now.
    func clientStall(clientWritable: Bool, targetWritable: Bool) -> String? {
        if !upload.ended, pausedUntil == nil, bodyTarget != nil, targetWritable { return "the client stopped sending its body" }
        if case .responding(let r) = stage, case .streaming = r.source, held.isEmpty, !clientWritable {
            return "the client stopped reading the response"
        }
        return nil
    }

    /// The client stalled: its request ends, and neither node health nor the retry budget is touched.
    mutating func endForClient(_ why: String, at now: Moment) -> ExchangeAction {
        if isResponding { return abort(note: .clientStalled(why)) }
        var action = fail(
            S3Error(.requestTimeout, "Your socket connection to the server was not read from or written to within the timeout period: \(why)."),
            at: now)
        action.note = .clientStalled(why)
        return action
    }

    // MARK: - Endings

    /// Answers with an S3 error; only possible before the response head went out (after it, the
    /// client is mid-body and an error now would corrupt it: the connection is cut instead).
    mutating func fail(_ error: S3Error, at now: Moment) -> ExchangeAction {
        if isResponding { return abort(note: .failed(error)) }
        guard !stage.isFinished else { return .none }
        log.status = error.code.status
        log.errorCode = error.code.rawValue
        log.firstByteAt = now
        stage = .finished
        let close = !(upload.ended && plan.clientKeepAlive)
        let note: ExchangeNote? = log.decision == .shed || log.decision == .refused ? nil : .failed(error)
        return ExchangeAction(attempt: .dropAll, client: .respond(error, close: close), finished: true, note: note)
    }

    /// Ends the client connection without a clean end of message.
    mutating func abort(note: ExchangeNote?) -> ExchangeAction {
        guard !stage.isFinished else { return .none }
        log.aborted = true
        stage = .finished
        return ExchangeAction(attempt: .dropAll, client: .abort, finished: true, note: note)
    }

    mutating func pause(until: Moment) {
        pausedUntil = max(pausedUntil ?? until, until)
    }
}
