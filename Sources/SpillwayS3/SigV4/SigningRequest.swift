/// A request as SigV4 sees it: the raw bytes of its method, path and query, and its header
/// values by lower-case name. Built once per verified request from the head (one pass), so that
/// looking up each signed header costs one dictionary probe, however many fields the head has.
public struct SigningRequest: Sendable {
    public var method: [UInt8]
    /// The path as sent (still percent-encoded), without the query.
    public var path: [UInt8]
    /// The query as sent, without its `?`.
    public var query: [UInt8]
    /// Every value of each header field, by lower-case name, in the order they came.
    public var headers: [String: [[UInt8]]]
    public var authorization: Substring?

    public init(method: [UInt8], path: [UInt8], query: [UInt8], headers: [String: [[UInt8]]], authorization: Substring?) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.authorization = authorization
    }

    /// From text, for tests and callers that hold strings. `target` is split at its first `?`.
    public init(method: String, target: String, headers: [(name: String, value: String)], authorization: String?) {
        let bytes = Array(target.utf8)
        let q = bytes.firstIndex(of: 63)
        var index: [String: [[UInt8]]] = [:]
        for (name, value) in headers { index[name.lowercased(), default: []].append(Array(value.utf8)) }
        self.init(
            method: Array(method.utf8), path: Array(bytes[..<(q ?? bytes.count)]), query: q.map { Array(bytes[($0 + 1)...]) } ?? [],
            headers: index, authorization: authorization.map { Substring($0) })
    }

    /// The first value of a header, as text (for dates and hashes, which are ASCII).
    public func first(_ name: String) -> String? {
        headers[name]?.first.map { String(decoding: $0, as: UTF8.self) }
    }
}
