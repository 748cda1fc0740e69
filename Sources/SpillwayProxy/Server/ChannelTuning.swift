#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Every buffer size and watermark of the data plane, in one place, with the memory bound they imply.
///
/// Per proxied request at most one read cycle per direction is in Spillway's hands (reads stop while
/// the other side is unwritable), plus what sits in the outbound buffer up to the high watermark.
/// So a transfer of any size holds at most about
/// `maxMessagesPerRead * (upstreamReadMax + downstreamReadMax) + 2 * writeHigh` ≈ 2 MiB, and an
/// idle connection holds only its shrunken read buffer. The exception: when a node closes its
/// connection after a response, NIO reads the rest of that socket at once (up to the kernel's receive
/// buffer), whatever the backpressure.
///
/// The `SPILLWAY_TUNE_*` environment variables override the sizes for benchmarking experiments.
public enum ChannelTuning {
    /// Client-facing reads start small (request heads are a few hundred bytes; a thousand idle
    /// keep-alive connections should cost little) and grow for PUT bodies.
    static let downstreamRead = AdaptiveRecvByteBufferAllocator(
        minimum: 1024, initial: 4 * 1024, maximum: kib("SPILLWAY_TUNE_DOWNSTREAM_READ_KIB", 256))
    /// Node-facing reads grow for GET bodies. Larger reads mean fewer syscalls per GB, but past the
    /// L2 cache the copies in and out of the kernel slow down.
    static let upstreamRead = AdaptiveRecvByteBufferAllocator(
        minimum: 1024, initial: 8 * 1024, maximum: kib("SPILLWAY_TUNE_UPSTREAM_READ_KIB", 256))
    /// A channel is unwritable above `high` queued bytes and writable again below `low`.
    static let writeWatermarks = ChannelOptions.Types.WriteBufferWaterMark(
        low: kib("SPILLWAY_TUNE_WRITE_HIGH_KIB", 512) / 4, high: kib("SPILLWAY_TUNE_WRITE_HIGH_KIB", 512))
    static let maxMessagesPerRead = UInt(number("SPILLWAY_TUNE_MAX_MESSAGES_PER_READ", 2))
    static let listenBacklog: Int32 = 4096
    /// Keep-alive connections to nodes idle longer than this are closed rather than reused: servers
    /// commonly drop idle connections after 60–75 s, and reusing one they are closing fails the request.
    static let upstreamIdleLimit = TimeAmount.seconds(50)

    private static func number(_ name: String, _ fallback: Int) -> Int {
        guard let raw = getenv(name), let value = Int(String(cString: raw)), value > 0 else { return fallback }
        return value
    }

    private static func kib(_ name: String, _ fallback: Int) -> Int { number(name, fallback) * 1024 }
}
