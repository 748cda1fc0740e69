import Yams

/// Reading values by their declared key: the bounds and the name in messages come from the key,
/// so a value is checked the same way wherever the key is read.
extension YAMLReader {
    /// The entries of a section, allowing exactly the keys declared under it. `section` is the
    /// section's path (`pools[].retry`; `""` for the top level; `limits` for any limits section).
    func entries(_ node: Node, of section: String, named name: String? = nil) -> [(key: String, keyNode: Node, value: Node)] {
        mapping(node, section: name ?? (section.isEmpty ? "the top level" : section.replacingOccurrences(of: "[]", with: "")),
                allowed: ConfigKeys.names(in: section))
    }

    func int(_ node: Node, _ key: ConfigKey) -> Int? {
        guard case .int(let range) = key.value else { preconditionFailure("\(key.path) is not a whole number") }
        return int(node, display(key), range: range)
    }

    func size(_ node: Node, _ key: ConfigKey) -> Int? {
        guard case .size(let range) = key.value else { preconditionFailure("\(key.path) is not a size") }
        return size(node, display(key), range: range)
    }

    func bool(_ node: Node, _ key: ConfigKey) -> Bool? { bool(node, display(key)) }

    func string(_ node: Node, _ key: ConfigKey) -> String? { string(node, display(key)) }

    func duration(_ node: Node, _ key: ConfigKey) -> Duration? {
        guard case .duration(let minimum) = key.value else { preconditionFailure("\(key.path) is not a duration") }
        guard let d = duration(node, display(key)) else { return nil }
        guard d >= minimum else {
            report(node, "\(display(key)) must be at least \(ConfigKey.render(minimum))", fix: "for example \(key.defaultText.replacingOccurrences(of: "`", with: ""))")
            return nil
        }
        return d
    }

    /// A number per second within the key's bounds.
    func rate(_ node: Node, _ key: ConfigKey) -> Double? {
        guard case .rate(let range) = key.value else { preconditionFailure("\(key.path) is not a rate") }
        guard case .scalar(let scalar) = node, let rate = Double(scalar.string), range.contains(rate) else {
            report(node, "\(display(key)) must be a number of requests per second between \(ConfigKey.render(range.lowerBound)) and \(ConfigKey.render(range.upperBound))",
                   fix: "for example 100")
            return nil
        }
        return rate
    }

    /// One of the key's choices.
    func choice(_ node: Node, _ key: ConfigKey) -> String? {
        guard case .choice(let options) = key.value else { preconditionFailure("\(key.path) is not a choice") }
        guard let text = string(node, key) else { return nil }
        guard options.contains(text) else {
            var fix = "use one of: \(options.joined(separator: ", "))"
            if let near = Self.nearest(text, in: options) { fix = "did you mean '\(near)'? " + fix }
            report(node, "unknown \(key.name) '\(text)'", fix: fix)
            return nil
        }
        return text
    }

    /// `host:port`.
    func hostPort(_ node: Node, _ key: ConfigKey, allowPortZero: Bool = false) -> HostPort? {
        guard let text = string(node, key) else { return nil }
        guard let hp = ValueParsers.hostPort(text, allowPortZero: allowPortZero) else {
            report(node, "\(display(key)) '\(text)' is not host:port", fix: "for example 127.0.0.1:9000")
            return nil
        }
        return HostPort(host: hp.host, port: hp.port)
    }

    /// How a key is named in a message: its path, without the list markers.
    func display(_ key: ConfigKey) -> String { key.path.replacingOccurrences(of: "[]", with: "") }
}
