import NIOHTTP1
import SpillwayS3

/// Prepares header blocks for the other side of the proxy: hop-by-hop fields dropped, everything else
/// (every field a SigV4 signature may cover, `Host` included) passed byte for byte.
enum HeaderRewriting {
    /// Request headers for the node. A chunked request body stays chunked (the encoder re-frames it).
    static func forNode(_ headers: HTTPHeaders) -> HTTPHeaders {
        rewrite(headers, keepChunked: true)
    }

    /// Response headers for the client. Framing is re-applied by the response encoder.
    static func forClient(_ headers: HTTPHeaders) -> HTTPHeaders {
        rewrite(headers, keepChunked: false)
    }

    private static func rewrite(_ headers: HTTPHeaders, keepChunked: Bool) -> HTTPHeaders {
        // Most requests carry no hop-by-hop field at all: return the same storage, no copy.
        guard headers.contains(where: { HopByHop.isAlwaysHopByHop($0.name) }) else { return headers }
        var listed: [String] = []
        for value in headers["connection"] { listed += HopByHop.connectionTokens(value) }
        var chunked = false
        var out = HTTPHeaders()
        out.reserveCapacity(headers.count)
        for (name, value) in headers {
            if HopByHop.isAlwaysHopByHop(name) {
                if HopByHop.equalsIgnoringCase(name, "transfer-encoding"), value.lowercased().contains("chunked") {
                    chunked = true
                }
                continue
            }
            if !listed.isEmpty, listed.contains(name.lowercased()) { continue }
            out.add(name: name, value: value)
        }
        if chunked && keepChunked { out.add(name: "Transfer-Encoding", value: "chunked") }
        return out
    }
}

extension HTTPRequestHead {
    /// True when the request carries a body (a positive Content-Length, or chunked framing).
    var hasBody: Bool {
        if let length = headers.first(name: "content-length") { return Int(length).map { $0 > 0 } ?? true }
        return headers.contains(name: "transfer-encoding")
    }
}
