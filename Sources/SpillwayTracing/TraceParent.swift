/// A W3C Trace Context `traceparent` (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`).
public struct TraceParent: Sendable, Hashable {
    public var traceID: String
    public var spanID: String
    public var sampled: Bool

    public init(traceID: String, spanID: String, sampled: Bool) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
    }

    /// Nil for anything that is not a valid version-00 header (all-zero ids are invalid too).
    public init?(header: String) {
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isHexDigit) }), parts[1].contains(where: { $0 != "0" }),
            parts[2].contains(where: { $0 != "0" }), let flags = UInt8(parts[3], radix: 16)
        else { return nil }
        traceID = parts[1].lowercased()
        spanID = parts[2].lowercased()
        sampled = flags & 1 == 1
    }

    public var header: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }

    /// Random ids, lowercase hex, never all zero.
    public static func randomID(bytes: Int, using generator: inout some RandomNumberGenerator) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        repeat {
            text = String((0..<(bytes * 2)).map { _ in digits[Int(generator.next() & 15)] })
        } while !text.contains(where: { $0 != "0" })
        return text
    }
}
