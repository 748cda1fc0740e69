import NIOCore
import SpillwayS3

/// Where an exchange's response goes, and whose backpressure holds the node's reads. Today the
/// client connection is the only sink; a coalescing flight that feeds several clients will be one
/// too. Loop-confined: the exchange and its sink share an event loop.
protocol ResponseSink: AnyObject {
    /// The sink can take more bytes now; when it cannot, the exchange stops reading from the node
    /// until `exchange.sinkBecameWritable()`.
    var isWritable: Bool { get }
    var allocator: ByteBufferAllocator { get }
    /// The connection will close after this response (the gateway is draining), so responses
    /// announce `Connection: close`.
    var willCloseAfterExchange: Bool { get }
    func write(_ bytes: ByteBuffer)
    /// Whether the response head must come by `writeHead`, never merged with body bytes (a
    /// flight sends it to each reader apart from the body).
    var takesHeadApart: Bool { get }
    func writeHead(_ head: ByteBuffer)
    func flush()
    /// The response is complete; the sink keeps its connection for the next request, or closes it
    /// once the bytes are out.
    func finish(_ exchange: ExchangeRunner, keepAlive: Bool)
    /// Answers with an S3 error (a complete response) and finishes.
    func respond(_ exchange: ExchangeRunner, _ error: S3Error, resource: String, requestID: String, close: Bool)
    /// Cuts the connection without a clean end of message, so a short body reads as an error.
    func abort()
}

/// Where an exchange's request body comes from, and whose reads it holds while no node can take
/// more (today: the client connection).
protocol RequestSource: AnyObject {
    var remoteIP: String? { get }
    /// Reads may go on again, if the exchange wants them (`ExchangeRunner.wantsClientBytes`).
    func resumeReads()
    /// The connection's one timer fires no later than `deadline` (for the exchange's deadlines).
    func armTimer(_ deadline: NIODeadline)
}
