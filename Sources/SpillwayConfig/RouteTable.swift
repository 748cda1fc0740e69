import SpillwayPolicy
import SpillwayS3

/// First-match routing from a classified request to a pool. Pure; built once per snapshot.
public struct RouteTable: Sendable {
    public struct Entry: Sendable {
        public let name: String
        public let match: RouteMatch
        /// The route's pools, in order of preference.
        public let poolIndices: [Int]
        public let timeouts: Timeouts
        /// The same limits, compiled for the request path.
        public let deadlines: AttemptDeadlines
        /// The priority class the route gives its requests, if it names one.
        public let priorityClass: String?
        /// Identical concurrent GETs share one fetch (nil: off).
        public let coalesce: CoalesceConfig?
        /// Large GETs are fetched in ranged parts from several nodes (nil: off).
        public let split: SplitConfig?
        let bucketIsGlob: Bool

        init(name: String, match: RouteMatch, poolIndices: [Int], timeouts: Timeouts, priorityClass: String?, coalesce: CoalesceConfig?,
             split: SplitConfig?, bucketIsGlob: Bool) {
            self.coalesce = coalesce
            self.split = split
            self.name = name
            self.match = match
            self.poolIndices = poolIndices
            self.timeouts = timeouts
            deadlines = AttemptDeadlines(connect: timeouts.connect, firstByte: timeouts.firstByte, idle: timeouts.idle, attempt: timeouts.attempt)
            self.priorityClass = priorityClass
            self.bucketIsGlob = bucketIsGlob
        }
    }

    public let entries: [Entry]
    /// Where a request goes when no route matches.
    public let fallback: Entry

    public init(routes: [RouteConfig], defaultPool: String, poolNames: [String], timeouts: Timeouts) {
        func index(_ name: String) -> Int { poolNames.firstIndex(of: name) ?? 0 }
        entries = routes.map { route in
            Entry(
                name: route.name, match: route.match, poolIndices: route.pools.map(index),
                timeouts: route.timeouts.applied(to: timeouts), priorityClass: route.priorityClass,
                coalesce: route.coalesce, split: route.split, bucketIsGlob: route.match.bucket.map { $0.contains("*") || $0.contains("?") } ?? false)
        }
        fallback = Entry(name: "default", match: RouteMatch(), poolIndices: [index(defaultPool)], timeouts: timeouts, priorityClass: nil, coalesce: nil, split: nil, bucketIsGlob: false)
    }

    public func route(for request: S3Request, method: S3Method) -> Entry {
        for entry in entries where Self.matches(entry, request, method) { return entry }
        return fallback
    }

    static func matches(_ entry: Entry, _ request: S3Request, _ method: S3Method) -> Bool {
        let m = entry.match
        if let methods = m.methods, methods & method.bit == 0 { return false }
        if let ops = m.operations, ops & request.operation.bit == 0 { return false }
        if let bucket = m.bucket {
            guard let actual = request.bucket else { return false }
            if entry.bucketIsGlob {
                guard ValueParsers.globMatches(bucket[...], actual) else { return false }
            } else if actual != bucket {
                return false
            }
        }
        if let prefix = m.prefix, !request.keyHasPrefix(prefix) { return false }
        return true
    }
}
