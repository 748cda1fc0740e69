#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import SpillwayS3
import Synchronization

/// One JSON line per request, written off the event loops: requests append to a buffer under a lock,
/// and a background timer writes it out every 100 ms (or sooner when it grows). A file target is
/// reopened on `reopen()` (SIGHUP), so log rotation needs no restart. If the writer falls behind,
/// lines are dropped and counted rather than letting memory grow.
/// `@unchecked Sendable`: the timer is set up in `init` and only cancelled in `deinit`; all else is locked.
final class AccessLog: @unchecked Sendable {
    private struct Buffer: Sendable {
        var bytes: [UInt8] = []
        var dropped = 0
    }

    private let path: String
    private let hashKeys: Bool
    private let buffer = Mutex(Buffer())
    private let fd = Mutex<Int32>(-1)
    private let queue = DispatchQueue(label: "spillway.access-log")
    private let timer: any DispatchSourceTimer
    static let maxBuffered = 16 * 1024 * 1024

    init(path: String, hashKeys: Bool) {
        self.path = path
        self.hashKeys = hashKeys
        timer = DispatchSource.makeTimerSource(queue: queue)
        openTarget()
        timer.schedule(deadline: .now() + .milliseconds(100), repeating: .milliseconds(100))
        timer.setEventHandler { [weak self] in self?.flush() }
        timer.resume()
    }

    deinit { timer.cancel() }

    func write(_ s: RequestSummary) {
        let line = Self.json(s, hashKeys: hashKeys)
        buffer.withLock { b in
            guard b.bytes.count + line.utf8.count < Self.maxBuffered else {
                b.dropped += 1
                return
            }
            b.bytes.append(contentsOf: line.utf8)
        }
    }

    /// Reopens the file (after rotation).
    func reopen() { queue.async { self.openTarget() } }

    var droppedLines: Int { buffer.withLock { $0.dropped } }

    /// Writes out what is buffered (also called at shutdown).
    func flush() {
        let pending = buffer.withLock { b -> [UInt8] in
            defer { b.bytes.removeAll(keepingCapacity: true) }
            return b.bytes
        }
        guard !pending.isEmpty else { return }
        fd.withLock { fd in
            pending.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n <= 0 { break }
                    offset += n
                }
            }
        }
    }

    private func openTarget() {
        fd.withLock { fd in
            if path == "stdout" {
                fd = 1
                return
            }
            if fd > 2 { close(fd) }
            fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
    }

    static func json(_ s: RequestSummary, hashKeys: Bool) -> String {
        var out = "{"
        func field(_ name: String, _ value: String?) {
            out += "\"\(name)\":" + (value.map { "\"" + escape($0) + "\"" } ?? "null") + ","
        }
        func number(_ name: String, _ value: Double?) {
            out += "\"\(name)\":" + (value.map { $0 == $0.rounded() ? String(Int64($0)) : String($0) } ?? "null") + ","
        }
        field("time", iso8601(millis: s.startedAtUnixMillis))
        field("request_id", s.requestID)
        field("trace_id", s.traceID)
        field("tenant", s.tenant)
        field("class", s.className)
        field("client", s.clientAddress)
        field("operation", s.operation)
        field("bucket", s.bucket)
        if let key = s.key, hashKeys {
            field("key_sha256", String(SigV4.sha256Hex(Array(key.utf8)).prefix(16)))
        } else {
            field("key", s.key)
        }
        number("status", Double(s.status))
        field("error_code", s.errorCode)
        number("bytes_in", Double(s.bytesIn))
        number("bytes_out", Double(s.bytesOut))
        number("ttfb_ms", s.firstByteNanos.map { (Double($0) / 1e3).rounded() / 1e3 })
        number("total_ms", (Double(s.totalNanos) / 1e3).rounded() / 1e3)
        field("pool", s.pool)
        out += "\"nodes\":[" + s.attempts.map { "\"" + escape($0.url) + "\"" }.joined(separator: ",") + "],"
        number("retries", Double(s.retries))
        out += "\"hedged\":\(s.hedged),\"hedge_won\":\(s.hedgeWon),"
        number("resumes", Double(s.resumes))
        number("resumed_bytes", Double(s.resumedBytes))
        field("limiter", s.decision.rawValue)
        out += "\"aborted\":\(s.aborted)}\n"
        return out
    }

    static func escape(_ text: String) -> String { JSONEscaping.escape(text) }

    /// `2026-11-25T08:55:10.123Z`, without Foundation.
    static func iso8601(millis: Int64) -> String {
        let seconds = millis / 1000
        let ms = Int(millis % 1000)
        var days = Int(seconds / 86400)
        let rem = Int(seconds % 86400)
        // Civil from days (Howard Hinnant).
        days += 719468
        let era = (days >= 0 ? days : days - 146096) / 146097
        let doe = days - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(y)-\(two(m))-\(two(d))T\(two(rem / 3600)):\(two(rem / 60 % 60)):\(two(rem % 60)).\(msText)Z"
    }
}
