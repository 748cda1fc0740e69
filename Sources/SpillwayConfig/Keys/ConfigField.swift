import Yams

/// A config key bound to the field it sets, so that reading a section is a list of fields: the key's
/// name, bounds and messages come from its one declaration, never from a second spelling in a switch.
struct ConfigField<Target> {
    let key: ConfigKey
    let apply: (inout Target, Node, YAMLReader) -> Void

    /// A field read by hand (values that need more than the key's bounds).
    static func custom(_ key: ConfigKey, _ apply: @escaping (inout Target, Node, YAMLReader) -> Void) -> Self {
        Self(key: key, apply: apply)
    }

    static func duration(_ key: ConfigKey, _ field: WritableKeyPath<Target, Duration>) -> Self {
        Self(key: key) { target, node, r in if let v = r.duration(node, key) { target[keyPath: field] = v } }
    }

    static func duration(_ key: ConfigKey, _ field: WritableKeyPath<Target, Duration?>) -> Self {
        Self(key: key) { target, node, r in if let v = r.duration(node, key) { target[keyPath: field] = v } }
    }

    static func int(_ key: ConfigKey, _ field: WritableKeyPath<Target, Int>) -> Self {
        Self(key: key) { target, node, r in if let v = r.int(node, key) { target[keyPath: field] = v } }
    }

    static func size(_ key: ConfigKey, _ field: WritableKeyPath<Target, Int>) -> Self {
        Self(key: key) { target, node, r in if let v = r.size(node, key) { target[keyPath: field] = v } }
    }

    static func bool(_ key: ConfigKey, _ field: WritableKeyPath<Target, Bool>) -> Self {
        Self(key: key) { target, node, r in if let v = r.bool(node, key) { target[keyPath: field] = v } }
    }

    static func string(_ key: ConfigKey, _ field: WritableKeyPath<Target, String>) -> Self {
        Self(key: key) { target, node, r in if let v = r.string(node, key) { target[keyPath: field] = v } }
    }

    static func string(_ key: ConfigKey, _ field: WritableKeyPath<Target, String?>) -> Self {
        Self(key: key) { target, node, r in if let v = r.string(node, key) { target[keyPath: field] = v } }
    }
}

extension YAMLReader {
    /// Reads the section `node` into `target`, allowing exactly the keys declared under `section`.
    /// Keys of the section that no field binds are left to the caller, which gets all entries back.
    @discardableResult
    func fill<Target>(_ target: inout Target, from node: Node, of section: String, named name: String? = nil,
                      _ fields: [ConfigField<Target>]) -> [(key: String, keyNode: Node, value: Node)] {
        let entries = entries(node, of: section, named: name)
        for entry in entries {
            if let field = fields.first(where: { $0.key.name == entry.key }) {
                precondition(field.key.section == section, "\(field.key.path) is not in \(section)")
                field.apply(&target, entry.value, self)
            }
        }
        return entries
    }
}
