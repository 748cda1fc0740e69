import NIOCore

/// Response bytes that arrived ahead of their tenant's read bandwidth, each waiting until its bytes
/// are paid for. Pausing reads alone does not keep a download to its rate: what one read brought in
/// is already here, and when a node closes its connection after the response, NIO reads the rest of
/// the socket at once (on end of input it reads to the end, whatever the backpressure), which was
/// megabytes sent unpaced at the end of a download. Pieces go out in order.
struct PacedBytes {
    private var pieces = CircularBuffer<(bytes: ByteBuffer, due: NIODeadline)>()

    var isEmpty: Bool { pieces.isEmpty }

    /// When the first held piece may go.
    var nextDue: NIODeadline? { pieces.first?.due }

    /// Holds `bytes` until `due`, and never before the pieces held ahead of them.
    mutating func hold(_ bytes: ByteBuffer, until due: NIODeadline) {
        pieces.append((bytes, max(due, pieces.last?.due ?? due)))
    }

    /// The next piece whose time has come.
    mutating func popDue(at now: NIODeadline) -> ByteBuffer? {
        guard let first = pieces.first, first.due <= now else { return nil }
        return pieces.removeFirst().bytes
    }
}
