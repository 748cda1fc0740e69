/// Which header fields belong to one connection and must not be forwarded (RFC 9110 §7.6.1).
///
/// SigV4 never signs these (SDKs exclude them), so dropping them keeps signatures valid, while every
/// other field passes untouched.
public enum HopByHop {
    /// Fields that are always connection-specific. `transfer-encoding` is re-applied by the forwarding
    /// side for framing; `connection` may list further fields to drop.
    public static func isAlwaysHopByHop(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard let first = utf8.first else { return false }
        switch first | 0x20 {
        case UInt8(ascii: "c"): return equalsIgnoringCase(name, "connection")
        case UInt8(ascii: "k"): return equalsIgnoringCase(name, "keep-alive")
        case UInt8(ascii: "p"): return equalsIgnoringCase(name, "proxy-connection")
        case UInt8(ascii: "t"): return equalsIgnoringCase(name, "te") || equalsIgnoringCase(name, "transfer-encoding")
        case UInt8(ascii: "u"): return equalsIgnoringCase(name, "upgrade")
        default: return false
        }
    }

    /// The field names a `Connection` header value lists (`close` and `keep-alive` are options, not fields).
    public static func connectionTokens(_ value: String) -> [String] {
        value.split(separator: ",").compactMap { token in
            let name = token.trimmingSpaces().lowercased()
            return name.isEmpty || name == "close" || name == "keep-alive" ? nil : name
        }
    }

    public static func equalsIgnoringCase(_ a: String, _ b: StaticString) -> Bool {
        let lhs = a.utf8
        guard lhs.count == b.utf8CodeUnitCount else { return false }
        return b.withUTF8Buffer { rhs in
            zip(lhs, rhs).allSatisfy { $0 | 0x20 == $1 | 0x20 }
        }
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
