/// Parsers for the scalar forms config values take. Each returns nil on bad input; the caller
/// reports it with the line it came from.
public enum ValueParsers {
    /// The longest duration any key accepts: beyond it a timer or a token bucket could overflow,
    /// and no timeout or window of a gateway needs more.
    public static let maxDuration = Duration.seconds(30 * 24 * 3600)
    /// The largest size any key accepts (1 PiB): sizes are multiplied by rates and counts later.
    public static let maxSize = 1 << 50

    /// `250ms`, `2s`, `1.5s`, `5m`, `1h`, up to `maxDuration`. A bare number is refused: units keep
    /// configs readable.
    public static func duration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            // "ms" ends in "s": make sure "5ms" is not read as 5m + "s".
            if suffix == "s", number.hasSuffix("m") { continue }
            guard let value = Double(number), value >= 0, value.isFinite else { return nil }
            let millis = value * scale * 1000
            guard millis <= Double(maxDuration.nanoseconds / 1_000_000) else { return nil }
            return .milliseconds(Int64(millis.rounded()))
        }
        return nil
    }

    /// `8MiB`, `512KiB`, `1GiB`, `4096` (bytes), up to `maxSize`.
    public static func size(_ text: String) -> Int? {
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1000), ("B", 1)]
        var digits = Substring(text)
        var scale = 1
        if let unit = units.first(where: { text.hasSuffix($0.0) }) {
            digits = text.dropLast(unit.0.count).trimmingCharacters()
            scale = unit.1
        }
        guard digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(digits) else { return nil }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: scale)
        guard !overflow, bytes <= maxSize else { return nil }
        return bytes
    }

    /// `host:port`, `[v6]:port`. Hosts are IPv4 literals, bracketed IPv6 literals or DNS names.
    /// Port 0 (any free port) is allowed only where Spillway listens.
    public static func hostPort(_ text: String, allowPortZero: Bool = false) -> (host: String, port: Int)? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
            guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard isHostName(host) else { return nil }
        }
        guard let port = Int(portText), ((allowPortZero ? 0 : 1)...65535).contains(port) else { return nil }
        return (String(host), port)
    }

    static func isHostName(_ host: Substring) -> Bool {
        guard !host.isEmpty, host.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count == 4, labels.allSatisfy({ $0.allSatisfy(\.isNumber) }) {
            return labels.allSatisfy { Int($0).map { (0...255).contains($0) } ?? false }
        }
        if labels.last?.allSatisfy(\.isNumber) == true { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    /// `http://host[:port][/]`. The node URL names a server, not a path on it.
    public struct NodeURL: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var secure: Bool
    }

    /// `http://host[:port]` or `https://host[:port]`, no path.
    public static func nodeURL(_ text: String) -> Result<NodeURL, NodeURLProblem> {
        let lower = text.lowercased()
        let secure = lower.hasPrefix("https://")
        guard secure || lower.hasPrefix("http://") else { return .failure(.notHTTP) }
        var rest = text.dropFirst(secure ? "https://".count : "http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), !rest.contains("?"), !rest.contains("@") else { return .failure(.hasPath) }
        let defaultPort = secure ? 443 : 80
        let withPort: String
        if rest.hasPrefix("[") {
            withPort = rest.hasSuffix("]") ? "\(rest):\(defaultPort)" : String(rest)
        } else {
            withPort = rest.contains(":") ? String(rest) : "\(rest):\(defaultPort)"
        }
        guard let parsed = hostPort(withPort) else { return .failure(.badAddress) }
        return .success(NodeURL(host: parsed.host, port: parsed.port, secure: secure))
    }

    public enum NodeURLProblem: Error, Sendable {
        case notHTTP, hasPath, badAddress

        public var message: String {
            switch self {
            case .notHTTP: "a node URL must start with http:// or https://"
            case .hasPath: "a node URL names a server only, with no path, query or user"
            case .badAddress: "the node URL has no valid host and port"
            }
        }
    }

    /// Glob match for bucket names: `*` any run, `?` one character.
    public static func globMatches(_ pattern: Substring, _ text: Substring) -> Bool {
        var p = pattern.utf8[...]
        var t = text.utf8[...]
        var starP: Substring.UTF8View.SubSequence?
        var starT: Substring.UTF8View.SubSequence?
        while let c = t.first {
            if let pc = p.first, pc == UInt8(ascii: "?") || pc == c {
                p = p.dropFirst()
                t = t.dropFirst()
            } else if p.first == UInt8(ascii: "*") {
                p = p.dropFirst()
                starP = p
                starT = t
            } else if let sp = starP, let st = starT {
                p = sp
                t = st.dropFirst()
                starT = t
            } else {
                return false
            }
        }
        return p.allSatisfy { $0 == UInt8(ascii: "*") }
    }
}

extension Substring {
    func trimmingCharacters() -> Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
