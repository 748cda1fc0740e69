/// One config key, declared once: where it is, what it takes, its default and what it does. The
/// loader checks values through it; the keys a section allows (and the "did you mean" list) are
/// the keys declared under it; the configuration reference (`docs/configuration.md`) is rendered
/// from it; and a test checks that the example config names every key. The config structs take
/// their defaults from here.
public struct ConfigKey: Sendable, Hashable {
    /// `pools[].retry.max_attempts`: `[]` marks a list of mappings.
    public let path: String
    public let value: Kind
    public let defaultValue: Default
    public let doc: String

    public enum Kind: Sendable, Hashable {
        case duration(min: Duration)
        case int(ClosedRange<Int>)
        case size(ClosedRange<Int>)
        case rate(ClosedRange<Double>)
        case bool
        case string
        case choice([String])
        case hostPort
        case url
        /// A list (or one value standing for a list) of `what`.
        case list(String)
        /// A mapping of the keys declared under this one.
        case section
        /// A list of mappings of the keys declared under `path[]`.
        case sections
        /// A mapping the user names the keys of (access key ids to secrets).
        case freeMapping(String)
    }

    public enum Default: Sendable, Hashable {
        case int(Int)
        case duration(Duration)
        case size(Int)
        case bool(Bool)
        case text(String)
        /// No default: the key must be given.
        case required
        /// Absent means off, or none.
        case none
    }

    public init(_ path: String, _ value: Kind, _ defaultValue: Default, _ doc: String) {
        self.path = path
        self.value = value
        self.defaultValue = defaultValue
        self.doc = doc
    }

    /// The key's own name (`max_attempts`).
    public var name: Substring { path.split(separator: ".").last.map { $0.hasSuffix("[]") ? $0.dropLast(2) : $0 } ?? "" }

    /// The section it is in (`pools[].retry`; empty at the top level).
    public var section: String {
        guard let dot = path.lastIndex(of: ".") else { return "" }
        return String(path[..<dot])
    }

    /// The path as a section of further keys (`pools[]` for a list of mappings).
    public var asSection: String { value == .sections ? path + "[]" : path }

    // MARK: - Defaults, for the config structs

    public var int: Int {
        if case .int(let v) = defaultValue { return v }
        preconditionFailure("\(path) has no whole-number default")
    }

    public var duration: Duration {
        if case .duration(let v) = defaultValue { return v }
        preconditionFailure("\(path) has no duration default")
    }

    public var size: Int {
        if case .size(let v) = defaultValue { return v }
        preconditionFailure("\(path) has no size default")
    }

    public var bool: Bool {
        if case .bool(let v) = defaultValue { return v }
        preconditionFailure("\(path) has no true/false default")
    }

    // MARK: - For the reference

    /// What the key accepts, as a reader would say it.
    public var accepts: String {
        switch value {
        case .duration(let min): "a duration (\(Self.render(min)) to 30 days)"
        case .int(let r): "a whole number, \(r.lowerBound) to \(r.upperBound)"
        case .size(let r): "a size (`64KiB`, `8MiB`), \(Self.render(size: r.lowerBound)) to \(Self.render(size: r.upperBound))"
        case .rate(let r): "a number per second, \(Self.render(r.lowerBound)) to \(Self.render(r.upperBound))"
        case .bool: "true or false"
        case .string: "text"
        case .choice(let options): options.map { "`\($0)`" }.joined(separator: ", ")
        case .hostPort: "`host:port`"
        case .url: "a URL"
        case .list(let what): "a list of \(what)"
        case .section: "a section"
        case .sections: "a list of sections"
        case .freeMapping(let what): "a mapping of \(what)"
        }
    }

    public var defaultText: String {
        switch defaultValue {
        case .int(let v): "`\(v)`"
        case .duration(let d): "`\(Self.render(d))`"
        case .size(let s): "`\(Self.render(size: s))`"
        case .bool(let b): "`\(b)`"
        case .text(let t): t
        case .required: "required"
        case .none: "none"
        }
    }

    static func render(_ d: Duration) -> String {
        let ms = d.nanoseconds / 1_000_000
        if ms % 3_600_000 == 0 && ms > 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 && ms > 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }

    static func render(size: Int) -> String {
        for (unit, scale) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where size >= scale && size % scale == 0 {
            return "\(size / scale)\(unit)"
        }
        return "\(size)"
    }

    static func render(_ x: Double) -> String { x == x.rounded() && x < 1e15 ? String(Int(x)) : String(x) }
}
