/// The query parameter names that decide an S3 operation, found in one pass without allocating.
struct QueryFlags: Sendable {
    enum Flag: UInt32 {
        case uploads, uploadId, partNumber, listType2, versions, delete, restore, select, signature
        case configuration
    }

    private var bits: UInt32 = 0

    init(_ query: Substring) {
        var rest = query.utf8[...]
        while !rest.isEmpty {
            let end = rest.firstIndex(of: UInt8(ascii: "&")) ?? rest.endIndex
            let pair = rest[rest.startIndex..<end]
            let eq = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
            let name = pair[pair.startIndex..<eq]
            let value = eq == pair.endIndex ? pair[pair.endIndex...] : pair[pair.index(after: eq)...]
            if let flag = Self.flag(name: name, value: value) { bits |= 1 << flag.rawValue }
            rest = end == rest.endIndex ? rest[rest.endIndex...] : rest[rest.index(after: end)...]
        }
    }

    func has(_ flag: Flag) -> Bool { bits & (1 << flag.rawValue) != 0 }

    /// Sub-resources that address a bucket's or object's configuration rather than its data.
    static let configurationNames: Set<String> = [
        "acl", "policy", "policyStatus", "location", "versioning", "tagging", "lifecycle", "cors", "website",
        "logging", "notification", "replication", "encryption", "accelerate", "requestPayment",
        "ownershipControls", "publicAccessBlock", "object-lock", "analytics", "inventory", "metrics",
        "intelligent-tiering", "retention", "legal-hold", "attributes", "torrent",
    ]

    private static func flag(name: Substring.UTF8View.SubSequence, value: Substring.UTF8View.SubSequence) -> Flag? {
        switch name.count {
        case 6 where name.elementsEqual("delete".utf8): return .delete
        case 6 where name.elementsEqual("select".utf8): return .select
        case 7 where name.elementsEqual("uploads".utf8): return .uploads
        case 7 where name.elementsEqual("restore".utf8): return .restore
        case 8 where name.elementsEqual("uploadId".utf8): return .uploadId
        case 8 where name.elementsEqual("versions".utf8): return .versions
        case 9 where name.elementsEqual("list-type".utf8): return value.elementsEqual("2".utf8) ? .listType2 : nil
        case 10 where name.elementsEqual("partNumber".utf8): return .partNumber
        case 15 where name.elementsEqual("X-Amz-Signature".utf8): return .signature
        default:
            // Configuration names are short lowercase words; skip the set lookup for everything else.
            guard name.count <= 19, let first = name.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z")
            else { return nil }
            return configurationNames.contains(String(Substring(name))) ? .configuration : nil
        }
    }
}
