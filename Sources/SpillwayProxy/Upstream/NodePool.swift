import Logging
import NIOCore

/// One worker's keep-alive connections to the storage nodes, most recently used first (the warmest
/// connection is reused, cold ones age out). Loop-confined: only its worker's event loop calls it.
final class NodePool {
    private let eventLoop: EventLoop
    private let connector: NodeConnector
    /// Idle connections per node, indexed by `BackendRuntime.slot`.
    private var idle: [[NodeConnection]] = []

    init(eventLoop: EventLoop, connector: NodeConnector) {
        self.eventLoop = eventLoop
        self.connector = connector
    }

    /// A live idle connection to `backend`, if one is parked here.
    func takeIdle(for backend: BackendRuntime, now: NIODeadline) -> NodeConnection? {
        guard backend.slot < idle.count else { return nil }
        while let connection = idle[backend.slot].popLast() {
            if connection.isUsable, now - connection.idleSince < ChannelTuning.upstreamIdleLimit,
                let options = connection.socketOptions, !connector.hasUnreadBytes(options)
            {
                return connection
            }
            connection.close()
        }
        return nil
    }

    /// Parks a connection whose last exchange ended cleanly, or closes it.
    func release(_ connection: NodeConnection, maxIdle: Int, now: NIODeadline) {
        let slot = connection.backend.slot
        guard connection.isUsable else {
            connection.close()
            return
        }
        if slot >= idle.count { idle.append(contentsOf: repeatElement([], count: slot + 1 - idle.count)) }
        guard idle[slot].count < maxIdle else {
            connection.close()
            return
        }
        connection.idleSince = now
        idle[slot].append(connection)
    }

    /// Called when a parked connection is closed by the node.
    func forget(_ connection: NodeConnection) {
        let slot = connection.backend.slot
        guard slot < idle.count, let index = idle[slot].firstIndex(where: { $0 === connection }) else { return }
        idle[slot].remove(at: index)
    }

    /// Starts a new connection. The handler is returned at once; the future says when it is usable.
    func connect(to backend: BackendRuntime, timeout: TimeAmount) -> (NodeConnection, EventLoopFuture<Channel>) {
        let handler = NodeConnection(backend: backend, pool: self)
        let bound = NIOLoopBound(handler, eventLoop: eventLoop)
        return (handler, connector.connect(to: backend, on: eventLoop, timeout: timeout) { bound.value })
    }

    func closeAll() {
        for list in idle { for connection in list { connection.close() } }
        idle.removeAll()
    }
}
