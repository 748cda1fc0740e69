import Yams

/// Walks a YAML tree and collects every problem with its line, instead of stopping at the first.
/// Only this file knows about Yams; the rest of the loader asks it for typed values.
final class YAMLReader {
    let file: String
    private(set) var issues: [ConfigIssue] = []

    init(file: String) { self.file = file }

    func parse(_ text: String) -> Node? {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                report(line: 1, column: 1, "the file is empty", fix: "start from config/spillway.example.yaml")
                return nil
            }
            return node
        } catch let error as YamlError {
            let (line, column, message) = Self.location(of: error)
            report(line: line, column: column, "not valid YAML: \(message)")
            return nil
        } catch {
            report(line: 1, column: 1, "not valid YAML: \(error)")
            return nil
        }
    }

    private static func location(of error: YamlError) -> (Int, Int, String) {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return (mark.line, mark.column, problem)
        case .composer(_, let problem, let mark, _):
            return (mark.line, mark.column, problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return (context.mark.line, context.mark.column,
                    "key '\(duplicates.joined(separator: "', '"))' appears twice in one mapping; keep one of them")
        default:
            return (1, 1, "\(error)")
        }
    }

    // MARK: - Reporting

    func report(_ node: Node?, _ message: String, fix: String? = nil) {
        report(line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1, message, fix: fix)
    }

    func report(line: Int, column: Int, _ message: String, fix: String? = nil) {
        issues.append(ConfigIssue(file: file, line: line, column: column, message: message, fix: fix))
    }

    // MARK: - Shapes

    /// The entries of a mapping, in file order. Unknown and repeated keys are reported here, once,
    /// so that every section gets the same strictness.
    func mapping(_ node: Node, section: String, allowed: [String]) -> [(key: String, keyNode: Node, value: Node)] {
        guard case .mapping(let mapping) = node else {
            report(node, "\(section) must be a mapping of keys to values", fix: "allowed keys: \(allowed.joined(separator: ", "))")
            return []
        }
        var seen: [String: Int] = [:]
        var entries: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                report(keyNode, "\(section) has a key that is not a string")
                continue
            }
            if let firstLine = seen[key] {
                report(keyNode, "'\(key)' appears twice in \(section) (first on line \(firstLine))", fix: "keep one of them")
                continue
            }
            seen[key] = keyNode.mark?.line ?? 0
            guard allowed.contains(key) else {
                var fix = "allowed keys in \(section): \(allowed.joined(separator: ", "))"
                if let near = Self.nearest(key, in: allowed) { fix = "did you mean '\(near)'? " + fix }
                report(keyNode, "unknown key '\(key)' in \(section)", fix: fix)
                continue
            }
            entries.append((key, keyNode, value))
        }
        return entries
    }

    /// A sequence, or a single value standing for a one-element sequence (`listen: 127.0.0.1:9000`).
    func list(_ node: Node) -> [Node] {
        if case .sequence(let seq) = node { return Array(seq) }
        return [node]
    }

    func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty else {
            report(node, "\(what) must be a non-empty string")
            return nil
        }
        return scalar.string
    }

    func int(_ node: Node, _ what: String, range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            report(node, "\(what) must be a whole number", fix: "use a number between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        guard range.contains(value) else {
            report(node, "\(what) is \(value), outside \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return value
    }

    func bool(_ node: Node, _ what: String) -> Bool? {
        guard case .scalar(let scalar) = node else {
            report(node, "\(what) must be true or false")
            return nil
        }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            report(node, "\(what) must be true or false, not '\(scalar.string)'")
            return nil
        }
    }

    func duration(_ node: Node, _ what: String) -> Duration? {
        guard let text = string(node, what) else { return nil }
        guard let value = ValueParsers.duration(text) else {
            report(node, "\(what) '\(text)' is not a duration of at most 30 days", fix: "write a number with a unit: 250ms, 5s, 2m, 1h")
            return nil
        }
        return value
    }

    /// A size (`64KiB`, `4096`) within `range` bytes.
    func size(_ node: Node, _ what: String, range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, what) else { return nil }
        guard let value = ValueParsers.size(text), range.contains(value) else {
            report(node, "\(what) '\(text)' is not a size between \(range.lowerBound) and \(range.upperBound) bytes", fix: "for example 64KiB")
            return nil
        }
        return value
    }

    /// Levenshtein distance ≤ 2: close enough to be a typo.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var previous = Array(0...b.count)
            for (i, ca) in a.enumerated() {
                var current = [i + 1]
                for (j, cb) in b.enumerated() {
                    current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
                }
                previous = current
            }
            return previous[b.count]
        }
        let scored = candidates.map { ($0, distance(Array(word), Array($0))) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }
}
