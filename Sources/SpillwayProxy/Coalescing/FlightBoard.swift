import NIOCore
import SpillwayS3
import Synchronization

/// The flights in progress across all event loops, by what they fetch, and the memory their rings
/// may take together. A GET looks here once; everything after is messages between loops.
final class FlightBoard: Sendable {
    private struct State {
        var flights: [FlightKey: FlightHandle] = [:]
        var reserved = 0
        var nextID: UInt64 = 1
    }

    private let state = Mutex(State())

    /// The flight a request with `key` may join, if one is open to joiners.
    func open(_ key: FlightKey) -> FlightHandle? {
        state.withLock { $0.flights[key] }
    }

    /// Registers a new flight for `key` with a ring of `ring` bytes, if the rings together stay
    /// within `limit`. Another flight registered meanwhile wins: `.join` it.
    func register(_ key: FlightKey, ring: Int, limit: Int, make: (UInt64) -> FlightHandle) -> Registered {
        state.withLock { st in
            if let other = st.flights[key] { return .join(other) }
            guard st.reserved + ring <= limit else { return .overBudget }
            st.reserved += ring
            let handle = make(st.nextID)
            st.nextID += 1
            st.flights[key] = handle
            return .registered(handle)
        }
    }

    enum Registered {
        case registered(FlightHandle)
        case join(FlightHandle)
        case overBudget
    }

    /// The flight takes no more joiners (its first byte left its ring, or it ended).
    func close(_ key: FlightKey, id: UInt64) {
        state.withLock { st in
            if st.flights[key]?.id == id { st.flights[key] = nil }
        }
    }

    /// The flight is over: its ring's memory is free again.
    func release(ring: Int) {
        state.withLock { $0.reserved -= ring }
    }

    /// Bytes reserved by the rings of flights now (for tests and status).
    var reservedBytes: Int { state.withLock { $0.reserved } }
}

/// A flight, as other loops reach it: every call goes through its own loop.
struct FlightHandle: Sendable {
    let id: UInt64
    let flight: NIOLoopBound<Flight>

    var loop: EventLoop { flight.eventLoop }

    /// Runs `body` with the flight, on the flight's loop.
    func send(_ body: @escaping @Sendable (Flight) -> Void) {
        let flight = self.flight
        flight.eventLoop.execute { body(flight.value) }
    }
}

/// A reader of a flight, as the flight's loop reaches it.
struct FlightReaderHandle: Sendable {
    let id: UInt64
    let runner: NIOLoopBound<ExchangeRunner>

    func send(_ message: FlightMessage) {
        let runner = self.runner
        runner.eventLoop.execute { runner.value.flightSaid(message) }
    }
}

/// What a flight tells one of its readers, in order.
enum FlightMessage: Sendable {
    /// Not joined: the flight is past its first byte, or over. The reader fetches on its own.
    case refused
    /// Joined, reading from the start.
    case accepted
    /// Joined on trial: send your own request with `If-None-Match: <flight ETag>` first.
    case probe(etag: ByteBuffer)
    /// The response head, without hop-by-hop lines. `resumable`: the object's length and ETag when
    /// a reader that falls behind can continue on its own from where it is.
    case head(ByteBuffer, status: Int, resumable: (total: Int, etag: ByteBuffer)?, node: (cursor: Int, node: Int)?)
    case body([ByteBuffer])
    /// The whole response was delivered.
    case end(keepAlive: Bool)
    /// The fetch failed before its response began.
    case error(S3Error)
    /// The fetch was cut and could not be resumed: end without a clean end of message.
    case abort
    /// Fell behind the ring (or was never let in): continue on your own from the body bytes sent so far.
    case detach(sent: Int)
}
