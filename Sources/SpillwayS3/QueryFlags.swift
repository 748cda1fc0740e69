/// The query parameter names that decide an S3 operation, found in one pass over the bytes, without
/// allocating.
struct QueryFlags: Sendable {
    enum Flag: UInt32 {
        case uploads, uploadId, partNumber, listType2, versions, delete, restore, select, signature
        case configuration
    }

    private var bits: UInt32 = 0

    init(_ q: UnsafeBufferPointer<UInt8>) {
        var start = 0
        while start < q.count {
            var end = start
            while end < q.count, q[end] != 38 { end += 1 }  // '&'
            var eq = start
            while eq < end, q[eq] != 61 { eq += 1 }  // '='
            if let flag = Self.flag(q, name: start..<eq, value: eq < end ? (eq + 1)..<end : end..<end) {
                bits |= 1 << flag.rawValue
            }
            start = end + 1
        }
    }

    func has(_ flag: Flag) -> Bool { bits & (1 << flag.rawValue) != 0 }

    /// Sub-resources that address a bucket's or object's configuration rather than its data.
    static let configurationNames: [StaticString] = [
        "acl", "policy", "policyStatus", "location", "versioning", "tagging", "lifecycle", "cors", "website",
        "logging", "notification", "replication", "encryption", "accelerate", "requestPayment",
        "ownershipControls", "publicAccessBlock", "object-lock", "analytics", "inventory", "metrics",
        "intelligent-tiering", "retention", "legal-hold", "attributes", "torrent",
    ]

    private static func flag(_ q: UnsafeBufferPointer<UInt8>, name: Range<Int>, value: Range<Int>) -> Flag? {
        func equals(_ r: Range<Int>, _ s: StaticString) -> Bool {
            guard r.count == s.utf8CodeUnitCount else { return false }
            return s.withUTF8Buffer { b in
                var i = 0
                while i < b.count, q[r.lowerBound + i] == b[i] { i += 1 }
                return i == b.count
            }
        }
        switch name.count {
        case 6: return equals(name, "delete") ? .delete : equals(name, "select") ? .select : configuration(q, name)
        case 7: return equals(name, "uploads") ? .uploads : equals(name, "restore") ? .restore : configuration(q, name)
        case 8: return equals(name, "uploadId") ? .uploadId : equals(name, "versions") ? .versions : configuration(q, name)
        case 9 where equals(name, "list-type"): return equals(value, "2") ? .listType2 : nil
        case 10 where equals(name, "partNumber"): return .partNumber
        case 15 where equals(name, "X-Amz-Signature"): return .signature
        default: return configuration(q, name)
        }

        func configuration(_ q: UnsafeBufferPointer<UInt8>, _ name: Range<Int>) -> Flag? {
            // Configuration names are short and start lower-case; skip the list for everything else.
            guard name.count >= 3, name.count <= 19, q[name.lowerBound] >= 97, q[name.lowerBound] <= 122 else { return nil }
            return configurationNames.contains { equals(name, $0) } ? .configuration : nil
        }
    }
}
