/// A short list of byte ranges (header lines to drop) that stays inline for up to four entries, so
/// the common head (zero or one hop-by-hop line) costs no allocation.
public struct LineRanges: Sendable, Equatable, Sequence {
    private var inline: (Range<Int>, Range<Int>, Range<Int>, Range<Int>) = (0..<0, 0..<0, 0..<0, 0..<0)
    private var overflow: [Range<Int>] = []
    public private(set) var count = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }

    public mutating func append(_ r: Range<Int>) {
        switch count {
        case 0: inline.0 = r
        case 1: inline.1 = r
        case 2: inline.2 = r
        case 3: inline.3 = r
        default: overflow.append(r)
        }
        count += 1
    }

    public subscript(i: Int) -> Range<Int> {
        switch i {
        case 0: inline.0
        case 1: inline.1
        case 2: inline.2
        case 3: inline.3
        default: overflow[i - 4]
        }
    }

    /// A plain iterator: `AnyIterator` cost an allocation each time a head was written.
    public struct Iterator: IteratorProtocol {
        let ranges: LineRanges
        var position = 0

        public mutating func next() -> Range<Int>? {
            guard position < ranges.count else { return nil }
            defer { position += 1 }
            return ranges[position]
        }
    }

    public func makeIterator() -> Iterator { Iterator(ranges: self) }

    public func contains(_ r: Range<Int>) -> Bool { (0..<count).contains { self[$0] == r } }

    /// Ascending by start, as `HeadWriter` needs.
    public mutating func sort() {
        let sorted = (0..<count).map { self[$0] }.sorted { $0.lowerBound < $1.lowerBound }
        self = LineRanges()
        for r in sorted { append(r) }
    }

    public static func == (a: LineRanges, b: LineRanges) -> Bool {
        a.count == b.count && (0..<a.count).allSatisfy { a[$0] == b[$0] }
    }
}
