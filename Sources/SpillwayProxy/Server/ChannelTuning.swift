import NIOCore

/// Every buffer size and watermark of the data plane, in one place, with the memory bound they imply.
///
/// Per proxied request at most one read buffer per direction is in Spillway's hands (reads stop while
/// the other side is unwritable), plus what sits in the outbound buffer up to the high watermark.
/// So a transfer of any size holds at most about
/// `upstreamReadMax + downstreamReadMax + 2 * writeHigh` ≈ 2.5 MiB, and an idle connection holds
/// only its shrunken read buffer.
public enum ChannelTuning {
    /// Client-facing reads: request heads are small, PUT bodies large.
    static let downstreamRead = AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16 * 1024, maximum: 256 * 1024)
    /// Node-facing reads: GET bodies dominate, so allow large reads (fewer syscalls per GB).
    static let upstreamRead = AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 * 1024, maximum: 1024 * 1024)
    /// A channel is unwritable above `high` queued bytes and writable again below `low`.
    static let writeWatermarks = ChannelOptions.Types.WriteBufferWaterMark(low: 128 * 1024, high: 512 * 1024)
    static let maxMessagesPerRead: UInt = 8
    static let listenBacklog: Int32 = 4096
    /// Keep-alive connections to nodes idle longer than this are closed rather than reused: servers
    /// commonly drop idle connections after 60–75 s, and reusing one they are closing fails the request.
    static let upstreamIdleLimit = TimeAmount.seconds(50)
}
