import SpillwayPolicy
import SpillwayS3

/// The client's side: its body, its end, its hang-up, its stalls, and the errors it is answered with.
extension ExchangeMachine {
    /// How the `aws-chunked` body of an upload the gateway checks (a verified signature chain, a
    /// trailing checksum it verifies itself) stands after these bytes.
    public enum ChainCheck: Sendable, Equatable {
        /// Nothing to check, or it is sound so far.
        case ok
        case badSignature
        /// The trailing checksum does not match the data.
        case badDigest
        /// A chunk is larger than the pool allows to be held.
        case chunkTooLarge(limit: Int)
        /// The `aws-chunked` framing is broken.
        case badFraming
        /// The request's framing ended before the chain's final chunk.
        case cutShort

        public init(_ problem: AwsChunkedParser.Problem) {
            switch problem {
            case .badSignature: self = .badSignature
            case .badDigest: self = .badDigest
            case .chunkTooLarge(let limit): self = .chunkTooLarge(limit: limit)
            case .badFraming: self = .badFraming
            }
        }

        /// The S3 error the client is answered with.
        var error: S3Error? {
            switch self {
            case .ok: nil
            case .badSignature: S3Error(.signatureDoesNotMatch, "A chunk signature does not match its data.")
            case .badDigest: S3Error(.badDigest, "The trailing checksum does not match the data sent.")
            case .chunkTooLarge(let limit): S3Error(.invalidRequest, "An aws-chunked chunk is larger than this gateway holds (\(limit) bytes); send smaller chunks.")
            case .badFraming: S3Error(.incompleteBody, "The aws-chunked body's framing is not valid.")
            case .cutShort: S3Error(.incompleteBody, "The aws-chunked body ended before its final chunk.")
            }
        }
    }

    /// `count` body bytes arrived; `last` when they end the request's framing. `paceDelay`: how long
    /// the tenant's write bandwidth says to wait after them (asked only when `pacesWrites`).
    public mutating func clientBody(_ count: Int, last: Bool, chain: ChainCheck = .ok, paceDelay: Duration? = nil, at now: Moment) -> ExchangeAction {
        guard !stage.isFinished, !upload.ended else { return .none }
        lastActivity = now
        upload.received += count
        log.bytesIn += count
        // These bytes never reach the node, so no node gets a complete body that failed its check.
        if let error = chain.error { return fail(error, at: now) }
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
