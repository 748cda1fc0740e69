import SpillwayPolicy

/// A split download: once the head of a large whole-object GET is out, the body comes in ranged
/// parts that the runner fetches from several nodes and delivers in order. The machine drops the
/// first attempt and keeps what it keeps for any response: the bytes owed, the client's deadlines,
/// the end.
extension ExchangeMachine {
    /// The response (a `200` of known length with an ETag) goes on in parts. The attempt that
    /// answered is dropped: its body is not read further.
    public mutating func beginSplit(at now: Moment) -> ExchangeAction {
        guard case .responding(var r) = stage, case .streaming(let attempt) = r.source, r.total != nil, r.sent == 0 else { return .none }
        r.source = .split
        stage = .responding(r)
        lastActivity = now
        return ExchangeAction(attempt: .drop(attempt.id))
    }

    /// A part received bytes, or a part was started: the download is moving.
    public mutating func splitMoved(at now: Moment) {
        guard case .responding(let r) = stage, case .split = r.source else { return }
        lastActivity = now
    }

    /// `count` bytes, in order, went to the client. Ends the response when they were the last.
    public mutating func splitDelivered(_ count: Int, at now: Moment) -> ExchangeAction {
        guard case .responding(var r) = stage, case .split = r.source else { return .none }
        r.sent += count
        log.bytesOut += count
        lastActivity = now
        guard let total = r.total, r.sent >= total else {
            stage = .responding(r)
            return .none
        }
        stage = .finished
        return ExchangeAction(client: .end(keepAlive: r.keepAlive && upload.ended), finished: true)
    }

    /// A part cannot be had (`status`: the node's answer, `412` when the object changed): the
    /// client connection is cut, never given a spliced or short body.
    public mutating func splitFailed(status: Int?, at now: Moment) -> ExchangeAction {
        guard case .responding(let r) = stage, case .split = r.source else { return .none }
        if let status { return abort(note: .cannotResume(status: status)) }
        return abort(note: .cutMidResponse(lastFailure ?? .malformedResponse))
    }

    /// Before `start`: these nodes (a bit per node of the first pool) are not tried, as if they had
    /// failed already (a part fetched again after its node failed goes to another).
    public mutating func avoid(nodes: UInt64) {
        guard stage.isCreated else { return }
        tried |= nodes
    }

    /// Whether the response goes on in parts now.
    public var isSplit: Bool {
        if case .responding(let r) = stage, case .split = r.source { return true }
        return false
    }
}
