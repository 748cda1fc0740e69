import SpillwayPolicy
import SpillwayS3

/// Every time limit of the exchange. The runner keeps one timer at `nextDeadline` and calls `tick`
/// when it fires, until `tick` has nothing more to do; each call handles the first thing that is due.
extension ExchangeMachine {
    /// What the runner knows of the sockets now: whether the client can take bytes, and whether the
    /// body target's connection can.
    public struct Sockets: Sendable, Equatable {
        public var clientWritable: Bool
        public var targetWritable: Bool
        public init(clientWritable: Bool, targetWritable: Bool) {
            self.clientWritable = clientWritable
            self.targetWritable = targetWritable
        }
    }

    public mutating func tick(at now: Moment, sockets: Sockets) -> ExchangeAction {
        guard !stage.isFinished, !stage.isCreated else { return .none }
        if case .queued(_, let deadline) = currentSearch, now >= deadline {
            // The runner withdraws the wait, and answers with `queueTimedOut` if it was still waiting.
            return ExchangeAction(upstream: .abandonQueue)
        }
        if let due = held.first, now >= due {
            var count = 0
            while let first = held.first, first <= now {
                held.removeFirst()
                count += 1
            }
            if held.isEmpty, case .responding(let r) = stage, case .complete(let keepAlive) = r.source {
                stage = .finished
                return ExchangeAction(client: .releaseHeld(count: count, thenEnd: keepAlive), finished: true)
            }
            return ExchangeAction(client: .releaseHeld(count: count, thenEnd: nil))
        }
        if let until = pausedUntil {
            if now >= until {
                pausedUntil = nil
                lastActivity = now
                return ExchangeAction(client: .resumeReads)
            }
            lastActivity = now  // pausing on purpose is not a stall
        }
        if let action = attemptDeadlines(at: now) { return action }
        if case .responding(let r) = stage, case .split = r.source, now >= lastActivity + plan.timeouts.idle {
            // No part moved and nothing went to the client: the client stopped reading, or every
            // part stalled past its own retries.
            if !sockets.clientWritable { return endForClient("the client stopped reading the response", at: now) }
            return abort(note: .cutMidResponse(.timeout("no part of the split download moved for \(plan.timeouts.idle)")))
        }
        if hasLiveAttempt, now >= lastActivity + plan.timeouts.idle {
            // Whoever the exchange waits on has stalled: a client that stopped sending or reading
            // ends its own request; only a node that stopped counts against the node.
            if let stall = clientStall(clientWritable: sockets.clientWritable, targetWritable: sockets.targetWritable) {
                return endForClient(stall, at: now)
            }
            if let attempt = stalledAttempt {
                return attemptFailed(attempt, .timeout("no data moved for \(plan.timeouts.idle)"), at: now)
            }
        }
        if plan.minClientRate > 0, now >= rateWindowStart + plan.minRateWindow {
            let moved = upload.received + log.bytesOut - rateWindowBytes
            if let stall = clientStall(clientWritable: sockets.clientWritable, targetWritable: sockets.targetWritable),
                Double(moved) < Double(plan.minClientRate) * plan.minRateWindow.seconds
            {
                return endForClient(stall + " (below \(plan.minClientRate) bytes a second)", at: now)
            }
            rateWindowStart = now
            rateWindowBytes = upload.received + log.bytesOut
        }
        if case .backingOff(let until) = currentSearch, now >= until {
            return search(.retry)
        }
        if case .attempting(var a) = stage, let at = a.hedgeAt, now >= at {
            a.hedgeAt = nil
            stage = .attempting(a)
            guard a.hedge == nil, let primary = a.primary else { return .none }
            pending = .slowRead
            return ExchangeAction(upstream: .plan(.slowRead(attempts: attemptsMade), traits, cursor: primary.cursor))
        }
        return .none
    }

    /// The first attempt past its time to first byte or its total time.
    private mutating func attemptDeadlines(at now: Moment) -> ExchangeAction? {
        for attempt in liveAttempts {
            if case .waiting(let since) = attempt.phase, now >= since + plan.timeouts.firstByte {
                return attemptFailed(attempt.id, .timeout("the node sent no response within \(plan.timeouts.firstByte)"), at: now)
            }
            if now >= attempt.startedAt + plan.timeouts.attempt {
                return attemptFailed(attempt.id, .timeout("the attempt took longer than \(plan.timeouts.attempt)"), at: now)
            }
        }
        return nil
    }

    /// The live attempts, at most two (no array: this runs on every timer).
    var liveAttempts: LiveAttempts {
        switch stage {
        case .attempting(let a): return LiveAttempts(first: a.primary, second: a.hedge)
        case .responding(let r):
            switch r.source {
            case .streaming(let s): return LiveAttempts(first: s, second: nil)
            case .resuming(_, let s): return LiveAttempts(first: s, second: nil)
            case .complete, .split: return LiveAttempts(first: nil, second: nil)
            }
        default: return LiveAttempts(first: nil, second: nil)
        }
    }

    /// The attempt a stall is blamed on: the one streaming, or the newest.
    private var stalledAttempt: AttemptID? {
        switch stage {
        case .attempting(let a): return (a.hedge ?? a.primary)?.id
        case .responding(let r):
            switch r.source {
            case .streaming(let s): return s.id
            case .resuming(_, let s): return s?.id
            case .complete, .split: return nil
            }
        default: return nil
        }
    }

    struct LiveAttempts: Sequence, IteratorProtocol {
        var first: AttemptState?
        var second: AttemptState?
        mutating func next() -> AttemptState? {
            if let f = first {
                first = nil
                return f
            }
            if let s = second {
                second = nil
                return s
            }
            return nil
        }
    }
}
