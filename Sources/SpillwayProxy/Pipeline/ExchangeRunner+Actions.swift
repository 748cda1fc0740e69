import Logging
import NIOCore
import SpillwayExchange
import SpillwayHTTP1
import SpillwayPolicy
import SpillwayS3

/// Doing what the machine says. An action whose answer is at hand (a node picked, the planner's
/// decision) is answered at once, and the machine's next action done in turn.
extension ExchangeRunner {
    /// Does `action` and whatever follows from it. `body`: the bytes of the event (client body or
    /// node body); `response`: the node head of the event and its bytes.
    func run(_ first: consuming ExchangeAction, at now: NIODeadline, body: ByteBuffer? = nil, response: (ResponseHead, ByteBuffer)? = nil) {
        var action = first
        var body = body
        while let next = perform(action, at: now, body: body, response: response) {
            action = next
            body = nil
        }
        if !machine.isFinished, let deadline = machine.nextDeadline {
            source.armTimer(NIODeadline.uptimeNanoseconds(deadline.nanoseconds))
        }
    }

    /// One action, in order: health, the attempt, upstream, the client, the end. Returns the
    /// machine's next action when this one was a question answered at once.
    private func perform(_ action: ExchangeAction, at now: NIODeadline, body: ByteBuffer?, response: (ResponseHead, ByteBuffer)?) -> ExchangeAction? {
        if let report = action.health, let link = links[report.attempt] {
            link.pool.record(report.outcome, node: link.node, firstByte: report.firstByte, at: Moment(now))
        }
        if let note = action.note { log(note) }
        switch action.attempt {
        case .none: break
        case .drop(let id): links.remove(id).map(drop)
        case .park(let id): links.remove(id).map { park($0, at: now) }
        case .dropAll:
            let (a, b) = links.removeAll()
            a.map(drop)
            b.map(drop)
        }
        let answer = performUpstream(action.upstream, at: now, body: body)
        // Recorded (and the tenant's limits given back) before the client connection moves on to
        // its next request, which its last bytes may start at once.
        if action.finished { finish(at: now) }
        performClient(action.client, at: now, body: body, response: response)
        return answer
    }

    // MARK: - Upstream

    private func performUpstream(_ action: UpstreamAction, at now: NIODeadline, body: ByteBuffer?) -> ExchangeAction? {
        switch action {
        case .none:
            return nil
        case .acquire(let id, let kind, let cursor, let excluding, let mayQueue):
            return machine.acquired(acquire(id, kind, cursor: cursor, excluding: excluding, mayQueue: mayQueue, at: now), at: Moment(now))
        case .connect(let id):
            connect(id, at: now)
            return nil
        case .send(let id, let replayed, let complete):
            send(id, replayed: replayed, complete: complete)
            return nil
        case .forward(let id):
            guard let body else { return nil }
            keepForReplay(body)
            if let link = links[id] { write(body, to: link) }
            return nil
        case .hold:
            guard let body else { return nil }
            if machine.keepsBodyForReplay { keepForReplay(body) } else { holdUnsent(body) }
            return nil
        case .flush(let id):
            links[id]?.connection?.flush()
            return nil
        case .plan(let situation, let traits, let cursor):
            let decision = context.pools[cursor].plan(situation, traits: traits, at: Moment(now), unit: worker.random())
            return machine.planned(decision, at: Moment(now))
        case .abandonQueue:
            guard let wait = queueWait, wait.pool.cancelWait(wait.id) else { return nil }
            queueWait = nil
            return machine.queueTimedOut(at: Moment(now))
        }
    }

    /// A node for an attempt: from the first pool's queue when it caps requests in flight, else
    /// along the route's pools with the panic rule.
    private func acquire(_ id: AttemptID, _ kind: AttemptKind, cursor: Int, excluding: UInt64, mayQueue: Bool, at now: NIODeadline)
        -> ExchangeMachine.Acquired
    {
        let result = choose(id, kind, cursor: cursor, excluding: excluding, mayQueue: mayQueue, at: now)
        if let span = context.span, let link = links[id] { span.attempt(node: link.backend.url, kind: kind.name) }
        return result
    }

    private func choose(_ id: AttemptID, _ kind: AttemptKind, cursor: Int, excluding: UInt64, mayQueue: Bool, at now: NIODeadline)
        -> ExchangeMachine.Acquired
    {
        let pools = context.pools
        if mayQueue {
            let pool = pools[0]
            let deadline = Moment(now) + pool.policy.queueTimeout
            let bound = NIOLoopBound(self, eventLoop: worker.eventLoop)
            let loop = worker.eventLoop
            let waiter = PoolRuntime.Waiter { node in loop.execute { bound.value.dispatched(node) } }
            switch pool.acquire(excluding: excluding, at: Moment(now), queueAs: context.identity, deadline: deadline, waiter: waiter) {
            case .node(let node, _):
                links.insert(AttemptLink(id: id, runner: self, pool: pool, node: node))
                return .node(cursor: 0, node: node)
            case .queued(let waitID):
                queueWait = (pool, waitID)
                return .queued
            case .shed:
                return .full
            case .none:
                break
            }
        }
        let at = Moment(now)
        guard let choice = RouteFailover.choose(
            from: cursor, count: pools.count, tried: excluding,
            pick: { pools[$0].pick(excluding: $1, at: at) }, release: { pools[$0].release($1, at: at) })
        else { return .none }
        links.insert(AttemptLink(id: id, runner: self, pool: pools[choice.cursor], node: choice.node))
        return .node(cursor: choice.cursor, node: choice.node)
    }

    /// A queued request was given a node (nil: pushed out by a more important one).
    private func dispatched(_ node: Int?) {
        guard let wait = queueWait else {
            if let node { context.pools[0].release(node, at: Moment(now)) }  // the wait had already ended
            return
        }
        queueWait = nil
        let now = self.now
        let id = AttemptID(machine.log.attempts.count)
        if let node { links.insert(AttemptLink(id: id, runner: self, pool: wait.pool, node: node)) }
        guard let action = machine.dispatched(node, at: Moment(now)) else {
            // The machine no longer waits: the node goes back.
            if let link = links.remove(id) { release(link, at: now) }
            return
        }
        run(action, at: now)
    }

    private func connect(_ id: AttemptID, at now: NIODeadline) {
        guard let link = links[id] else { return }
        if let connection = worker.nodes.takeIdle(for: link.backend, now: now) {
            attach(link, connection, reused: true, at: now)
            return
        }
        let (connection, connected) = worker.nodes.connect(to: link.backend, timeout: TimeAmount(context.route.timeouts.connect))
        connected.assumeIsolated().whenComplete { result in
            guard self.links[id] === link, link.connection == nil else {
                connection.close()
                return
            }
            switch result {
            case .success: self.attach(link, connection, reused: false, at: self.now)
            case .failure(let error): self.nodeFailed(link, .connect("\(error)"))
            }
        }
    }

    private func attach(_ link: AttemptLink, _ connection: NodeConnection, reused: Bool, at now: NIODeadline) {
        link.connection = connection
        connection.begin(link, requestIsHEAD: context.head.method == .head, dechunk: context.head.minorVersion == 0, limits: context.http.head)
        run(machine.connected(link.id, reused: reused, at: Moment(now)), at: now)
    }

    /// The attempt's head, then the body held for it.
    private func send(_ id: AttemptID, replayed: Bool, complete: Bool) {
        guard let link = links[id], let connection = link.connection, let target = machine.target(of: id) else { return }
        let policy = link.pool.policy
        if let resign, let decision = resign.decisions[target.cursor], let credentials = policy.credentials, let signing = policy.signing,
           let made = ResignedHead.make(
               resign.source, forwarded: context.forwardHead, decision: decision, credentials: credentials, signing: signing,
               authority: link.backend.authority, kind: target.kind, etag: upstream.etag,
               trialETag: upstream.trialETag,
               unixSeconds: WallClock.millis() / 1000,
               keys: &worker.signingKeys, allocator: sink.allocator)
        {
            // Signed afresh for this attempt's pool, node and time.
            connection.write(made.head)
            link.transform = BodyTransform(
                decision.body, signed: made.signed, maxChunkSize: signing.maxChunkSize,
                chunkedTransfer: resign.source.chunkedTransfer)
        } else {
            connection.write(upstream.head(for: target.kind, allocator: sink.allocator))
        }
        if replayed, let replay {
            for part in replay { write(part, to: link) }
        } else if var waiting = unsent {
            while let part = waiting.popFirst() { write(part, to: link) }
            unsent = nil
        }
        connection.flush()
        source.resumeReads()
    }

    /// Body bytes to an attempt's node, through its transform if it has one.
    private func write(_ bytes: ByteBuffer, to link: AttemptLink) {
        guard let connection = link.connection else { return }
        guard link.transform != nil else { return connection.write(bytes) }
        do {
            for piece in try link.transform!.feed(bytes, allocator: sink.allocator) { connection.write(piece) }
        } catch {
            // The request's own checks read these bytes first and passed them, so this is a bug: the
            // node must not take what follows for a whole body.
            worker.logger.error("body transform refused bytes the edge accepted", metadata: ["request-id": "\(requestID)", "error": "\(error)"])
            connection.close()
        }
    }

    private func keepForReplay(_ bytes: ByteBuffer) {
        if machine.keepsBodyForReplay {
            replay?.append(bytes)
        } else if replay != nil {
            // Past the replay limit: the request can no longer be sent again once its body is out.
            replay = nil
        }
    }

    private func holdUnsent(_ bytes: ByteBuffer) {
        if var parts = replay {
            // The replay copy held everything so far; it becomes what is still to be sent.
            parts.append(bytes)
            unsent = parts
            replay = nil
            return
        }
        if unsent == nil { unsent = CircularBuffer(initialCapacity: 4) }
        unsent!.append(bytes)
    }

    // MARK: - Attempts

    func drop(_ link: AttemptLink) {
        if let connection = link.connection {
            link.connection = nil
            connection.close()
        }
        release(link, at: now)
    }

    private func park(_ link: AttemptLink, at now: NIODeadline) {
        if let connection = link.connection {
            link.connection = nil
            connection.detach()
            worker.nodes.release(connection, maxIdle: link.pool.policy.maxIdlePerNode, now: now)
        }
        release(link, at: now)
    }

    private func release(_ link: AttemptLink, at now: NIODeadline) {
        guard !link.released else { return }
        link.released = true
        link.pool.release(link.node, at: Moment(now))
    }
}
