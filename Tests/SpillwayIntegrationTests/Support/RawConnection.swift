import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to the gateway, for bytes no well-behaved client would send: malformed
/// framing, smuggling attempts, trickled heads, pipelines that are never read.
final class RawConnection: @unchecked Sendable {
    private let fd: Int32
    var descriptor: Int32 { fd }
    private(set) var closedByPeer = false
    /// The peer reset the connection (ECONNRESET), rather than closing it cleanly.
    private(set) var resetByPeer = false

    init(port: Int, receiveBuffer: Int? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawError.socket(errno) }
        if let receiveBuffer {
            var size = Int32(receiveBuffer)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw RawError.connect(e)
        }
    }

    deinit { close(fd) }

    /// Sends all of `bytes`; false when the gateway closed the connection first.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// The string's bytes as Latin-1 (so `\u{FF}` is the byte 0xFF).
    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })) }

    /// Reads until the gateway closes the connection, or until nothing arrives for `idle` seconds.
    func read(idle: TimeInterval = 2, upTo limit: Int = 64 << 20) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(idle * 1000))
            if ready <= 0 { break }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 {
                closedByPeer = true
                if n < 0 && errno == ECONNRESET { resetByPeer = true }
                break
            }
            out += buffer[0..<n]
        }
        return out
    }

    /// Reads until `count` complete responses arrived (or the connection closed, or `idle` passed).
    func responses(_ count: Int, idle: TimeInterval = 5) -> [RawResponse] {
        var bytes: [UInt8] = []
        while true {
            let parsed = RawResponse.parseAll(bytes)
            if parsed.count >= count || closedByPeer { return parsed }
            let more = read(idle: idle, upTo: 1)
            if more.isEmpty && !closedByPeer { return parsed }
            bytes += more
            // Drain whatever else is already there without waiting.
            bytes += read(idle: 0.05)
        }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }
}

enum RawError: Error { case socket(Int32), connect(Int32) }

/// One HTTP/1.1 response as a client reads it.
struct RawResponse: Sendable {
    let status: Int
    let headers: [(name: String, value: String)]
    let body: [UInt8]
    let headText: String

    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Every complete response in `bytes`, in order (1xx included). A body without framing runs to the end.
    static func parseAll(_ bytes: [UInt8], requestWasHEAD: Bool = false) -> [RawResponse] {
        var out: [RawResponse] = []
        var i = 0
        while i < bytes.count {
            guard let end = find([13, 10, 13, 10], in: bytes, from: i) else { break }
            let headText = String(decoding: bytes[i..<end], as: UTF8.self)
            var lines = headText.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst().split(separator: " ")
            let status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
            let headers = lines.map { line -> (String, String) in
                let parts = line.split(separator: ":", maxSplits: 1)
                return (String(parts.first ?? ""), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
            }
            var j = end + 4
            var body: [UInt8] = []
            let te = headers.first { $0.0.lowercased() == "transfer-encoding" }?.1.lowercased()
            let cl = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) }
            if (100..<200).contains(status) || status == 204 || status == 304 || requestWasHEAD {
                // no body
            } else if te == "chunked" {
                var complete = false
                while let lineEnd = find([13, 10], in: bytes, from: j) {
                    let sizeText = String(decoding: bytes[j..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                    guard let size = Int(sizeText, radix: 16) else { break }
                    j = lineEnd + 2
                    if size == 0 {
                        guard let trailerEnd = find([13, 10], in: bytes, from: j) else { break }
                        j = trailerEnd + 2
                        complete = true
                        break
                    }
                    guard j + size + 2 <= bytes.count else { break }
                    body += bytes[j..<(j + size)]
                    j += size + 2
                }
                if !complete { break }
            } else if let cl {
                guard j + cl <= bytes.count else { break }
                body = Array(bytes[j..<(j + cl)])
                j += cl
            } else {
                body = Array(bytes[j...])
                j = bytes.count
            }
            out.append(RawResponse(status: status, headers: headers, body: body, headText: headText))
            i = j
        }
        return out
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = start
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}

/// Resident memory of a process, from /proc.
func residentKiB(pid: Int32) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ")[1]) ?? 0
    }
    return 0
}
